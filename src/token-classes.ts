import { z } from "zod";

/**
 * The token classes every part of a pass shares: a reading records its usage in them, a
 * provider's rows carry them, prices are kept per class (docs/design.md#token-classes). Below
 * runs/, usage/ and pricing/, so none of them imports another for the vocabulary.
 */

/**
 * The disjoint token classes a reading is priced by (docs/design.md#token-classes). For each:
 * `rate`, its key in a model's price entry (with a `batch_`, `flex_` or `priority_` prefix for
 * those rates); `config`, its USD-per-1M key in config.yaml and pricing files (same prefixes);
 * `label`, how a warning names it. The first three are today's classes, named as the old script
 * named them.
 */
export const TOKEN_CLASSES = {
  uncached_text_input: { rate: "input", config: "input_price", label: "input" },
  cached_input: { rate: "cached_input", config: "cached_price", label: "cached input" },
  cache_write_input: {
    rate: "cache_write_input",
    config: "cache_write_price",
    label: "cache-write input",
  },
  cache_write_1h_input: {
    rate: "cache_write_1h_input",
    config: "cache_write_1h_price",
    label: "1-hour cache-write input",
  },
  audio_input: { rate: "input_audio", config: "input_audio_price", label: "audio input" },
  image_input: { rate: "input_image", config: "input_image_price", label: "image input" },
  text_output: { rate: "output", config: "output_price", label: "output" },
  audio_output: { rate: "output_audio", config: "output_audio_price", label: "audio output" },
  image_output: { rate: "output_image", config: "output_image_price", label: "image output" },
} as const;
export type TokenClass = keyof typeof TOKEN_CLASSES;
export const TOKEN_CLASS_NAMES = Object.keys(TOKEN_CLASSES) as TokenClass[];

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
