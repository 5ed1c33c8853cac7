import { z } from "zod";

/**
 * Anthropic Admin API responses: the Messages usage report
 * (`GET /v1/organizations/usage_report/messages`), the cost report
 * (`GET /v1/organizations/cost_report`) and the error body, after the API reference as published
 * in August 2026. Loose objects throughout: the reports keep gaining dimensions
 * (`inference_geo`, `speed`, `account_id`, `service_account_id` so far), and a new field must
 * never break a pass. What a reading is made of is required, so a page that lacks it is refused
 * rather than read as zero.
 */

/** The API version the endpoints are called with (header `anthropic-version`). */
export const ANTHROPIC_VERSION = "2023-06-01";
export const USAGE_REPORT_PATH = "/organizations/usage_report/messages";
export const COST_REPORT_PATH = "/organizations/cost_report";

/** Buckets a page may hold at most, by width (usage report); the cost report has only `1d`. */
export const MAX_BUCKETS = { "1m": 1440, "1h": 168, "1d": 31 } as const;
/** Buckets a page holds when `limit` is left out. */
export const DEFAULT_BUCKETS = { "1m": 60, "1h": 24, "1d": 7 } as const;

/** A token count: whole, non-negative and exact in a double (zod's `int` is a safe integer). */
const count = z.int().nonnegative();

/** An RFC 3339 instant with its offset (`2025-08-01T00:00:00Z`); fractions of a second allowed. */
export const Rfc3339Schema = z.iso.datetime({ offset: true });

/** Unix seconds of an RFC 3339 instant the schema accepted. */
export const unixSeconds = (instant: string): number => Date.parse(instant) / 1000;

const nullableString = z.string().nullable().optional();

/** Tokens written to the prompt cache, by how long the entry lives. */
export const CacheCreationSchema = z.looseObject({
  ephemeral_5m_input_tokens: count,
  ephemeral_1h_input_tokens: count,
});

/**
 * One result of a usage bucket: the usage of one group (the `group_by[]` dimensions; a dimension
 * not grouped by is null or absent). The four input classes are disjoint: uncached, read from the
 * cache, written to a 5-minute and to a 1-hour cache entry. There is no request count.
 */
export const UsageResultSchema = z.looseObject({
  uncached_input_tokens: count,
  cache_read_input_tokens: count,
  cache_creation: CacheCreationSchema,
  output_tokens: count,
  /** Web searches are billed per search beside the tokens. Absent: none reported. */
  server_tool_use: z.looseObject({ web_search_requests: count.optional() }).nullable().optional(),
  api_key_id: nullableString,
  workspace_id: nullableString,
  model: nullableString,
  /** `standard`, `batch`, `priority`, `priority_on_demand`, `flex`, `flex_discount`, … */
  service_tier: nullableString,
  /** `0-200k` or `200k-1M`: the input size band a request was billed in. */
  context_window: nullableString,
  /** `global`, `us` or `not_available`: US-only inference costs more on the models that offer it. */
  inference_geo: nullableString,
  /** `standard` or `fast` (grouping by it needs the fast-mode beta header). */
  speed: nullableString,
  account_id: nullableString,
  service_account_id: nullableString,
});
export type UsageResult = z.infer<typeof UsageResultSchema>;

/** A time bucket: `[starting_at, ending_at)`, RFC 3339. */
export const UsageBucketSchema = z.looseObject({
  starting_at: Rfc3339Schema,
  ending_at: Rfc3339Schema,
  results: z.array(UsageResultSchema),
});
export type UsageBucket = z.infer<typeof UsageBucketSchema>;

export const UsageReportPageSchema = z.looseObject({
  data: z.array(UsageBucketSchema),
  has_more: z.boolean(),
  next_page: z.string().nullable().optional(),
});
export type UsageReportPage = z.infer<typeof UsageReportPageSchema>;

/**
 * An amount in the currency's lowest unit (cents for USD) as a plain decimal string: digits, an
 * optional fraction and sign; no exponent, no spaces. Bounded so parsing it costs little.
 */
export const AmountSchema = z
  .string()
  .max(64)
  .regex(/^-?\d+(\.\d+)?$/, 'expected a plain decimal string such as "123.45"');

export const CostResultSchema = z.looseObject({
  amount: AmountSchema,
  currency: z.string(),
  /** e.g. "Claude Sonnet 4 Usage - Input Tokens"; null unless grouped by description. */
  description: nullableString,
  /** `tokens`, `web_search`, `code_execution`, `session_usage`, … */
  cost_type: nullableString,
  /** `uncached_input_tokens`, `output_tokens`, `cache_read_input_tokens`, `cache_creation.ephemeral_5m_input_tokens`, `cache_creation.ephemeral_1h_input_tokens`. */
  token_type: nullableString,
  model: nullableString,
  service_tier: nullableString,
  context_window: nullableString,
  inference_geo: nullableString,
  speed: nullableString,
  workspace_id: nullableString,
});
export type CostResult = z.infer<typeof CostResultSchema>;

export const CostBucketSchema = z.looseObject({
  starting_at: Rfc3339Schema,
  ending_at: Rfc3339Schema,
  results: z.array(CostResultSchema),
});

export const CostReportPageSchema = z.looseObject({
  data: z.array(CostBucketSchema),
  has_more: z.boolean(),
  next_page: z.string().nullable().optional(),
});
export type CostReportPage = z.infer<typeof CostReportPageSchema>;

/**
 * `{"type": "error", "error": {"type": "rate_limit_error", "message": "…"}, "request_id": "req_…"}`.
 * The error types documented so far: invalid_request_error (400), authentication_error (401),
 * billing_error (402), permission_error (403), not_found_error (404), rate_limit_error (429),
 * api_error (500), timeout_error (504), overloaded_error (529); the list may grow.
 */
export const ErrorBodySchema = z.looseObject({
  type: z.literal("error").optional(),
  error: z.looseObject({
    type: z.string(),
    message: z.string(),
  }),
  request_id: z.string().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
