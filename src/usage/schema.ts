import { z } from "zod";

/**
 * Usage API responses (`GET /organization/usage/completions`), after the OpenAPI description in
 * the project's reference data. Loose objects: the API keeps adding fields, and a new field must
 * never break a pass. Only what attribution needs is required.
 */

/** A count: a non-negative safe integer (z.int() refuses anything past 2^53 - 1). */
const count = z.int().nonnegative();
/**
 * Names the API returns are short (`gpt-4o-mini-2024-07-18`, `key_…`); a longer one is not a
 * name, and would travel into files, tables and messages.
 */
const name = z.string().max(200);

export const CompletionsResultSchema = z.looseObject({
  object: z.string().optional(),
  input_tokens: count,
  output_tokens: count,
  num_model_requests: count,
  input_cached_tokens: count.nullable().optional(),
  api_key_id: name.nullable().optional(),
  model: name.nullable().optional(),
  batch: z.boolean().nullable().optional(),
  service_tier: name.nullable().optional(),
  project_id: name.nullable().optional(),
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
