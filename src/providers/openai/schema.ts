import { z } from "zod";
import type { ClassTokens, TokenClass } from "../../token-classes.ts";

/**
 * Usage API responses (`GET /organization/usage/completions`), after the OpenAPI description in
 * the project's reference data. Loose objects: the API keeps adding fields, and a new field must
 * never break a pass. Only what attribution needs is required.
 */

/** A count: a non-negative safe integer (z.int() refuses anything past 2^53 - 1). */
const count = z.int().nonnegative();
/**
 * Names the API returns are short (`gpt-4o-mini-2024-07-18`, `key_…`) and printable; a longer
 * one, or one with a line break or other control character, is not a name, and would travel into
 * files, tables, messages and the runner's log.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
export const apiName = z
  .string()
  .max(200)
  .refine((s) => !CONTROL.test(s), "a control character");

/**
 * A token field the API may leave out (older answers) or send as null: both mean "not reported".
 * Which fields are there decides the schema generation (see classesOfResult).
 */
const optionalCount = count.nullable().optional();

export const CompletionsResultSchema = z.looseObject({
  object: z.string().optional(),
  input_tokens: count,
  output_tokens: count,
  num_model_requests: count,
  input_cached_tokens: optionalCount,
  // the 2026-07 generation (openai/openai-openapi, spec sync of 2026-07-15)
  input_cache_write_tokens: optionalCount,
  input_uncached_tokens: optionalCount,
  input_text_tokens: optionalCount,
  input_cached_text_tokens: optionalCount,
  input_cached_audio_tokens: optionalCount,
  input_image_tokens: optionalCount,
  input_cached_image_tokens: optionalCount,
  output_text_tokens: optionalCount,
  output_image_tokens: optionalCount,
  // in both generations, with a different meaning (see classesOfResult)
  input_audio_tokens: optionalCount,
  output_audio_tokens: optionalCount,
  api_key_id: apiName.nullable().optional(),
  model: apiName.nullable().optional(),
  batch: z.boolean().nullable().optional(),
  service_tier: apiName.nullable().optional(),
  project_id: apiName.nullable().optional(),
});
export type CompletionsResult = z.infer<typeof CompletionsResultSchema>;

export const UsageBucketSchema = z.looseObject({
  object: z.string().optional(),
  start_time: z.int(),
  end_time: z.int(),
  results: z.array(CompletionsResultSchema),
});

export const UsagePageSchema = z.looseObject({
  object: z.string().optional(),
  data: z.array(UsageBucketSchema),
  has_more: z.boolean(),
  next_page: z.string().nullable().optional(),
});
export type UsagePage = z.infer<typeof UsagePageSchema>;

/** Both shapes of error body seen from the API: `{"error": {"message": …}}` and `{"error": "…"}`. */
export const ApiErrorBodySchema = z.looseObject({
  error: z.union([
    z.string(),
    z.looseObject({
      message: z.string().optional(),
      type: z.string().nullable().optional(),
      code: z.string().nullable().optional(),
    }),
  ]),
});

/**
 * The generations of the completions usage result, as recorded in a reading (`usage_schema`).
 * `openai-2024-12`: the Usage API as launched; `input_tokens` is text input including cached,
 * `input_cached_tokens` cached text, `input_audio_tokens` audio input including cached,
 * `output_tokens` text output, `output_audio_tokens` audio output. `openai-2026-07`: from the spec
 * sync of 2026-07-15; `input_tokens` counts every input token (text, audio, image; uncached,
 * cached and cache writes) and is split into `input_uncached_tokens`, `input_cached_tokens` and
 * `input_cache_write_tokens`; `input_audio_tokens` and `input_image_tokens` are uncached only;
 * `output_tokens` counts text, audio and image output.
 */
export const USAGE_SCHEMA_2024 = "openai-2024-12";
export const USAGE_SCHEMA_2026 = "openai-2026-07";

export type ResultClasses =
  | { classes: ClassTokens; schema: string; problem?: undefined }
  | { problem: string };

/** Only classes with tokens: an absent class holds none (see ClassTokensSchema). */
function nonZero(tokens: Partial<Record<TokenClass, number>>): ClassTokens {
  const out: ClassTokens = {};
  for (const [c, n] of Object.entries(tokens) as Array<[TokenClass, number]>) if (n > 0) out[c] = n;
  return out;
}

/** The names and values of the parts a total divides into, for messages. */
const listed = (parts: Array<[string, number]>): string =>
  parts.map(([name, n]) => `${name} (${n})`).join(" + ");

/** What is left of `total` once the given parts are taken out (negative: the parts sum past it). */
function remainder(total: number, parts: Array<[string, number | null | undefined]>): number {
  return parts.reduce((rest, [, n]) => rest - (n ?? 0), total);
}

/**
 * The disjoint token classes of one result (docs/design.md#token-classes), and the generation they
 * were read with: the 2026-07 generation when the result carries `input_uncached_tokens` or
 * `input_cache_write_tokens`, the 2024-12 one otherwise. Text is what is left of a total once its
 * audio and image parts are taken out. A result whose parts contradict their total (more cached
 * than input tokens; uncached, cached and cache-write tokens that do not make up the input; audio
 * and image parts past their total) is a problem: the page is refused, never priced.
 */
export function classesOfResult(r: CompletionsResult): ResultClasses {
  const cached = r.input_cached_tokens ?? 0;
  if (cached > r.input_tokens)
    return {
      problem: `reports more cached tokens (${cached}) than input tokens (${r.input_tokens})`,
    };
  const isNew = r.input_uncached_tokens != null || r.input_cache_write_tokens != null;
  if (!isNew) {
    return {
      schema: USAGE_SCHEMA_2024,
      classes: nonZero({
        uncached_text_input: r.input_tokens - cached,
        cached_input: cached,
        audio_input: r.input_audio_tokens ?? 0,
        text_output: r.output_tokens,
        audio_output: r.output_audio_tokens ?? 0,
      }),
    };
  }

  const writes = r.input_cache_write_tokens ?? 0;
  const uncached = r.input_uncached_tokens ?? r.input_tokens - cached - writes;
  const inputParts: Array<[string, number]> = [
    ["input_uncached_tokens", uncached],
    ["input_cached_tokens", cached],
    ["input_cache_write_tokens", writes],
  ];
  if (uncached < 0 || uncached + cached + writes !== r.input_tokens)
    return {
      problem: `divides its ${r.input_tokens} input_tokens into ${listed(inputParts.filter(([, n]) => n >= 0))}, which do not add up to them`,
    };
  const splits: Array<[string, number, Array<[string, number | null | undefined]>]> = [
    [
      "input_uncached_tokens",
      uncached,
      [
        ["input_text_tokens", r.input_text_tokens],
        ["input_audio_tokens", r.input_audio_tokens],
        ["input_image_tokens", r.input_image_tokens],
      ],
    ],
    [
      "input_cached_tokens",
      cached,
      [
        ["input_cached_text_tokens", r.input_cached_text_tokens],
        ["input_cached_audio_tokens", r.input_cached_audio_tokens],
        ["input_cached_image_tokens", r.input_cached_image_tokens],
      ],
    ],
    [
      "output_tokens",
      r.output_tokens,
      [
        ["output_text_tokens", r.output_text_tokens],
        ["output_audio_tokens", r.output_audio_tokens],
        ["output_image_tokens", r.output_image_tokens],
      ],
    ],
  ];
  for (const [name, total, parts] of splits) {
    if (remainder(total, parts) < 0)
      return {
        problem: `reports ${listed(parts.filter(([, n]) => n != null) as Array<[string, number]>)} past its ${total} ${name}`,
      };
  }
  const audioIn = r.input_audio_tokens ?? 0;
  const imageIn = r.input_image_tokens ?? 0;
  const audioOut = r.output_audio_tokens ?? 0;
  const imageOut = r.output_image_tokens ?? 0;
  return {
    schema: USAGE_SCHEMA_2026,
    classes: nonZero({
      uncached_text_input: uncached - audioIn - imageIn,
      cached_input: cached,
      cache_write_input: writes,
      audio_input: audioIn,
      image_input: imageIn,
      text_output: r.output_tokens - audioOut - imageOut,
      audio_output: audioOut,
      image_output: imageOut,
    }),
  };
}
