import { z } from "zod";
import { ClassTokensSchema } from "../token-classes.ts";
import { escapeControl } from "../util/control-chars.ts";
import { parseIsoSeconds } from "../util/time.ts";

/**
 * Shapes of `metrics.json`, as the experiment frameworks and the old reconciliation script wrote
 * them (both the current format and legacy v1). Objects are loose: experiment-specific keys are
 * kept untouched, and we only constrain what we read.
 */

/** Token and request counts: whole, non-negative and exact in a double (no silent rounding). */
const count = z.int().nonnegative();
const isoTimestamp = z
  .string()
  .refine((s) => parseIsoSeconds(s) !== undefined, { message: "expected an ISO-8601 timestamp" });
/** Step times are integer Unix seconds; one legacy step has them null. */
const stepTime = z.number().nonnegative().nullable().optional();

export const LEGACY_STEP_TOKEN_FIELDS = [
  "tokens_in",
  "tokens_out",
  "api_calls",
  "cached_tokens",
] as const;

export const StepSchema = z.looseObject({
  step: z.number().int().optional(),
  step_number: z.number().int().optional(),
  start_timestamp: stepTime,
  end_timestamp: stepTime,
  tokens_in: count.optional(),
  tokens_out: count.optional(),
  api_calls: count.optional(),
  cached_tokens: count.optional(),
});

/**
 * Usage of one model (and batch / service tier) inside a reading. `classes`
 * (docs/design.md#token-classes: the same tokens in disjoint classes, only those with tokens) and
 * `usage_schema` (the generation of the provider's usage fields they were read from, e.g.
 * `openai-2026-07`; two joined by `+` when the model's minutes came in both) are written since
 * token classes exist; older readings lack both and are read, compared and priced as before.
 */
export const ModelUsageSchema = z.looseObject({
  model: z.string(),
  batch: z.boolean().nullable().optional(),
  service_tier: z.string().nullable().optional(),
  tokens_in: count,
  tokens_out: count,
  cached_tokens: count,
  /** Null where the provider gives no request count (Anthropic). */
  api_calls: count.nullable(),
  classes: ClassTokensSchema.optional(),
  usage_schema: z.string().optional(),
  /**
   * Why the provider's usage cannot be priced per token (a tier, context band, region or speed
   * billed otherwise); such a model's cost is unknown.
   */
  unpriced: z.string().optional(),
});
export type ModelUsage = z.infer<typeof ModelUsageSchema>;

/** Usage in minutes this run shares with other runs on its key: reported, never added. */
export const SharedUsageSchema = z.looseObject({
  with_runs: z.array(z.string()),
  minutes: count,
  tokens_in: count,
  tokens_out: count,
  cached_tokens: count,
  api_calls: count.nullable(),
});
export type SharedUsage = z.infer<typeof SharedUsageSchema>;

export const QueryWindowSchema = z.looseObject({
  start: z.number(),
  end: z.number(),
  buffer_seconds: z.number().optional(),
  tail_seconds: z.number().optional(),
});

/**
 * One reading of the Usage API for a run. The first six keys are the old script's; the rest are
 * ours, added beside them. Legacy attempts also carry per-step breakdowns, which we keep as is.
 */
export const AttemptSchema = z.looseObject({
  timestamp: isoTimestamp,
  total_tokens_in: count,
  total_tokens_out: count,
  /** Null where the provider gives no request count (Anthropic). */
  total_api_calls: count.nullable(),
  total_cached_tokens: count,
  query_window: QueryWindowSchema.optional(),
  api_key_id: z.string().optional(),
  models: z.array(ModelUsageSchema).optional(),
  shared: SharedUsageSchema.optional(),
  tool: z.string().optional(),
});
export type Attempt = z.infer<typeof AttemptSchema>;

/**
 * Most readings a file may hold. Real runs hold up to a dozen (one an hour until verified); the
 * verification walk is quadratic in a run of identical readings, so a file with tens of thousands
 * would stall the pass for minutes. Such a file is that run's error instead.
 */
export const MAX_ATTEMPTS = 1000;

export const ReconciliationSchema = z.looseObject({
  verification_status: z.string().optional(),
  verification_message: z.string().nullable().optional(),
  verified_at: z.string().nullable().optional(),
  attempts: z
    .array(AttemptSchema)
    .max(MAX_ATTEMPTS, {
      message: `more than ${MAX_ATTEMPTS} readings; a run read that often is not settling (check its window and key id) or its file was damaged`,
    })
    .optional(),
});

export const AggregateMetricsSchema = z.looseObject({
  TOK_IN: count.optional(),
  TOK_OUT: count.optional(),
  API_CALLS: count.nullable().optional(),
  CACHED_TOKENS: count.optional(),
  COST_USD: z.number().nonnegative().nullable().optional(),
});

export const MetricsFileSchema = z.looseObject({
  run_id: z.string().min(1),
  model: z.string().optional(),
  start_timestamp: isoTimestamp.nullable().optional(),
  end_timestamp: isoTimestamp.nullable().optional(),
  steps: z.array(StepSchema).optional(),
  aggregate_metrics: AggregateMetricsSchema.optional(),
  cost_breakdown: z.looseObject({}).optional(),
  verification_status: z.string().optional(),
  usage_api_reconciliation: ReconciliationSchema.optional(),
  /** The first reconcile script's block, only ever quoted (src/runs/legacy.ts). */
  usage_api_verification: z.unknown().optional(),
});
export type MetricsFile = z.infer<typeof MetricsFileSchema>;

/**
 * MetricsFileSchema as a pass reads a file: the same checks, but only the keys above are kept at
 * the top and in each step, the rest dropped as the file is read. A pass over 100,000 runs holds
 * every run's content to its end, and the editor needs no other key (it edits the text itself).
 */
export const KeptMetricsSchema = z.object({
  ...MetricsFileSchema.shape,
  steps: z.array(z.object(StepSchema.shape)).optional(),
});

export const ManifestEntrySchema = z.looseObject({
  run_id: z.string(),
  framework: z.string().optional(),
  path: z.string().optional(),
  start_time: isoTimestamp.nullable().optional(),
  end_time: isoTimestamp.nullable().optional(),
  verification_status: z.string().optional(),
  total_tokens_in: count.optional(),
  total_tokens_out: count.optional(),
});
export type ManifestEntry = z.infer<typeof ManifestEntrySchema>;

export const ManifestSchema = z.looseObject({
  runs: z.array(ManifestEntrySchema),
});

/** Turns zod issues into one line that names the field: `steps[2].end_timestamp: expected number`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path
        // keys may come from the file (model names in a price map): shown escaped and cut
        .map((p, i) => {
          if (typeof p === "number") return `[${p}]`;
          const key = escapeControl(String(p), 80);
          return i === 0 ? key : `.${key}`;
        })
        .join("");
      return `${path || "(root)"}: ${issue.message}`;
    })
    .join("; ")
    .concat(error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : "");
}
