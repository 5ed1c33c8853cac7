import type { Endpoint, PageRequest } from "../../transport/source.ts";
import { COST_REPORT_PATH, MAX_BUCKETS, USAGE_REPORT_PATH } from "./schema.ts";

/** The Admin API endpoints the tool reads, under the base URL (`https://api.anthropic.com/v1`). */
export const ENDPOINT_PATHS: Record<Endpoint, string> = {
  usage: USAGE_REPORT_PATH,
  costs: COST_REPORT_PATH,
};

/**
 * Grouping that lets us attribute by key and tell apart every dimension Claude is billed by: the
 * model, the service tier (batch, priority), the context band (long-context rates), the inference
 * region (US-only costs more) and the speed (fast mode). Usage of a dimension not grouped by would
 * be summed into the standard rows and priced at standard rates without a word.
 */
export const GROUP_BY = [
  "api_key_id",
  "model",
  "service_tier",
  "context_window",
  "inference_geo",
  "speed",
] as const;
/** Grouping by speed needs this beta header (the API refuses it without). */
export const FAST_MODE_BETA = "fast-mode-2026-02-01";
/** The most 1-minute buckets a usage page holds. */
export const MAX_MINUTE_BUCKETS = MAX_BUCKETS["1m"];
/** The most 1-day buckets a page holds (usage and cost report alike). */
export const MAX_DAY_BUCKETS = MAX_BUCKETS["1d"];

/** Unix seconds as RFC 3339 in UTC, whole seconds: `2026-08-03T10:00:00Z`. */
export const rfc3339 = (t: number): string =>
  new Date(t * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");

export const pathOf = (req: PageRequest): string => ENDPOINT_PATHS[req.endpoint ?? "usage"];

/**
 * Query string for a page request, as the Admin API spells it: RFC 3339 `starting_at` /
 * `ending_at`, arrays as repeated `name[]` parameters (the cost report takes no key filter).
 * Order is fixed so recordings match.
 */
export function toSearchParams(req: PageRequest): URLSearchParams {
  const params = new URLSearchParams();
  params.set("starting_at", rfc3339(req.startTime));
  params.set("ending_at", rfc3339(req.endTime));
  params.set("bucket_width", req.bucketWidth);
  params.set("limit", String(req.limit));
  for (const g of req.groupBy) params.append("group_by[]", g);
  for (const k of [...req.apiKeyIds].sort()) params.append("api_key_ids[]", k);
  if (req.page !== undefined) params.set("page", req.page);
  return params;
}

/**
 * A request's identity in a recording: the provider and the query string (and the endpoint for
 * the cost report), so one directory can hold the pages of both providers of a mixed experiment.
 */
export function recordingKey(req: PageRequest): string {
  const endpoint = req.endpoint ?? "usage";
  return `anthropic:${endpoint === "usage" ? "" : `${endpoint}:`}${toSearchParams(req).toString()}`;
}
