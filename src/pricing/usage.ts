import { z } from "zod";
import type { ModelUsage } from "../runs/schema.ts";
import { TOKEN_CLASS_NAMES, type TokenClass } from "./schema.ts";

/** A token count: whole, non-negative and exact in a double. */
const count = z.int().nonnegative();

/**
 * Tokens of one model per disjoint class (docs/design.md#token-classes): every token is in exactly
 * one class, so the cost is the sum of each class times its own rate. An absent class holds no
 * tokens. Strict: a misspelt class would otherwise drop its tokens from the cost without a word.
 */
export const ClassTokensSchema = z.strictObject(
  Object.fromEntries(TOKEN_CLASS_NAMES.map((c) => [c, count.optional()])) as Record<
    TokenClass,
    z.ZodOptional<typeof count>
  >,
);
export type ClassTokens = z.infer<typeof ClassTokensSchema>;

/** Usage of one model (and batch / service tier) by token class: what a cost is computed from. */
export const TokenClassUsageSchema = z.object({
  model: z.string(),
  batch: z.boolean().nullable().optional(),
  service_tier: z.string().nullable().optional(),
  tokens: ClassTokensSchema,
});
export type TokenClassUsage = z.infer<typeof TokenClassUsageSchema>;

/**
 * A reading's per-model usage as classes: the classes it recorded (docs/design.md#token-classes)
 * when it has them. A reading from before token classes knows only that input includes the cached
 * tokens, so uncached text input is `tokens_in − cached_tokens`, as it was always priced. Undefined
 * when those counts contradict that (more cached than input tokens): such a reading cannot be
 * priced.
 */
export function classesOfModelUsage(u: ModelUsage): TokenClassUsage | undefined {
  if (u.classes)
    return { model: u.model, batch: u.batch, service_tier: u.service_tier, tokens: u.classes };
  if (u.cached_tokens > u.tokens_in) return undefined;
  return {
    model: u.model,
    batch: u.batch,
    service_tier: u.service_tier,
    tokens: {
      uncached_text_input: u.tokens_in - u.cached_tokens,
      cached_input: u.cached_tokens,
      text_output: u.tokens_out,
    },
  };
}

export const tokensOf = (u: TokenClassUsage, cls: TokenClass): number => u.tokens[cls] ?? 0;
