import { z } from "zod";
import type { ModelUsage } from "../runs/schema.ts";
import { ClassTokensSchema, type TokenClass } from "../token-classes.ts";

// the schema lives below runs/ (a reading records classes); kept importable from here too
export { type ClassTokens, ClassTokensSchema } from "../token-classes.ts";

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
