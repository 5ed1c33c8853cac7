import { z } from "zod";

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

export const CompletionsResultSchema = z.looseObject({
  object: z.string().optional(),
  input_tokens: count,
  output_tokens: count,
  num_model_requests: count,
  input_cached_tokens: count.nullable().optional(),
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
