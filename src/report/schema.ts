import { z } from "zod";
import { StatusSchema } from "../verify/status.ts";

/**
 * The machine-readable report of a pass (`--json`, the action's `report-path`). This schema is its
 * documentation: README's "JSON report" section is checked against it.
 */

const count = z.int().nonnegative();

export const RunReportSchema = z.object({
  framework: z.string(),
  run_id: z.string(),
  path: z.string(),
  status: StatusSchema,
  /** Reconciled totals (the reading the file's aggregates show); null before the first reading. */
  tokens_in: count.nullable(),
  tokens_out: count.nullable(),
  cached_tokens: count.nullable(),
  api_calls: count.nullable(),
  /** Null when unknown: no reading yet, or a model without a price. */
  cost_usd: z.number().nonnegative().nullable(),
  stable_checks: count,
  /** When the run became verified (the reading that completed the walk); null otherwise. */
  verified_at: z.string().nullable(),
  message: z.string(),
  /** Whether this pass changed the run's file (or would have, in a dry run). */
  changed: z.boolean(),
  /** Whether this pass took a new reading for the run. */
  read: z.boolean(),
  window: z.object({ start: z.string(), end: z.string() }).nullable(),
  /**
   * When a pass will next read the run (its due time, or this pass's clock when it is due now);
   * null when no reading is planned (verified, ambiguous). Absent for a file that could not be read.
   */
  next_reading: z.string().nullable().optional(),
  /** Usage in minutes shared with other runs on the same key: reported, counted for no run. */
  shared: z
    .object({
      with_runs: z.array(z.string()),
      minutes: count,
      tokens_in: count,
      tokens_out: count,
      cached_tokens: count,
      /** Null where the provider gives no request count (Anthropic). */
      api_calls: count.nullable(),
    })
    .nullable(),
});
export type RunReport = z.infer<typeof RunReportSchema>;

const NearestRunSchema = z
  .object({
    framework: z.string(),
    run_id: z.string(),
    /** Whole minutes between the usage and the run's window. */
    gap_minutes: count,
    /** "after": the usage came after the run's window (a lag longer than the tail); "before": before it. */
    side: z.enum(["after", "before"]),
  })
  .nullable();

export const UnattributedReportSchema = z.object({
  api_key_id: z.string(),
  framework: z.string().nullable(),
  tokens_in: count,
  tokens_out: count,
  cached_tokens: count,
  /** Null where the provider gives no request count (Anthropic). */
  api_calls: count.nullable(),
  minutes: count,
  first_minute: z.string(),
  last_minute: z.string(),
  /** The run nearest to the largest cluster of this usage. */
  nearest_run: NearestRunSchema,
  /** Nearby minutes grouped, the largest first (at most 10). */
  clusters: z.array(
    z.object({
      first_minute: z.string(),
      last_minute: z.string(),
      minutes: count,
      tokens_in: count,
      tokens_out: count,
      cached_tokens: count,
      api_calls: count.nullable(),
      nearest_run: NearestRunSchema,
    }),
  ),
});

export const CostCheckSchema = z.object({
  tolerance_percent: z.number().nonnegative(),
  /** One row per UTC day and configured key. */
  days: z.array(
    z.object({
      date: z.string(),
      framework: z.string().nullable(),
      api_key_id: z.string(),
      /** Our cost of the key's usage that day, priced from the Usage API's per-model split. */
      ours_usd: z.number().nonnegative(),
      /** The Costs API's amount; null when it reported nothing. */
      theirs_usd: z.number().nullable(),
      difference_usd: z.number().nullable(),
      difference_percent: z.number().nullable(),
      /** Share of our cost the experiment's runs account for. */
      coverage: z.number().nullable(),
      runs: count,
      /** Days younger than 48 h are not settled and never flagged. */
      settled: z.boolean(),
      flagged: z.boolean(),
      /** Likely causes of a flagged difference. */
      causes: z.array(z.string()),
      /**
       * Token classes whose tokens differ from the quantities the Costs API bills them at (its
       * line items' `quantity`, where given): which class is off. Empty when all agree.
       */
      token_differences: z
        .array(
          z.object({
            /** The model as the Costs API's line item names it. */
            model: z.string(),
            /** The token class (docs/design.md#token-classes), e.g. `cache_write_input`. */
            class: z.string(),
            ours: count,
            theirs: count,
          }),
        )
        .optional(),
      /** Why the day could not be checked (a Costs API amount that is not plain and finite); null when it was. */
      error: z.string().nullable(),
    }),
  ),
});

export const PassReportSchema = z.object({
  version: z.string(),
  /** The pass's clock, ISO-8601. */
  now: z.string(),
  mode: z.enum(["reconcile", "list"]),
  dry_run: z.boolean(),
  /** HTTP requests sent to the Usage API, retries included (0 when replaying a recording). */
  requests: count,
  /** Pages of usage read (from the network or a recording). */
  pages: count,
  /** Σ ceil(span_minutes / 1440) over the planned spans: the fewest requests possible. */
  request_lower_bound: count,
  spans: count,
  runs: z.array(RunReportSchema),
  totals: z.object({
    runs: count,
    by_status: z.record(StatusSchema, count),
    tokens_in: count,
    tokens_out: count,
    cached_tokens: count,
    /** Sum over runs with a request count; `api_calls_unknown_runs` says how many have none. */
    api_calls: count,
    /** Runs read from a provider that gives no request count (Anthropic): their api_calls is null. */
    api_calls_unknown_runs: count,
    /** Sum over runs with a known cost; `cost_unknown_runs` says how many were left out. */
    cost_usd: z.number().nonnegative(),
    cost_unknown_runs: count,
  }),
  unattributed: z.array(UnattributedReportSchema),
  /** The Costs API cross-check (`cross-check-costs`); null when not asked for. */
  cost_check: CostCheckSchema.nullable(),
  /** Problems that are not a single run's status (unpriced models, manifest trouble…). */
  warnings: z.array(z.string()),
  changed_files: z.array(z.string()),
  errors: count,
});
export type PassReport = z.infer<typeof PassReportSchema>;
