import type { Endpoint, PageRequest } from "../../transport/source.ts";

/** The organization endpoints the tool reads. */
export const ENDPOINT_PATHS: Record<Endpoint, string> = {
  usage: "/organization/usage/completions",
  costs: "/organization/costs",
};

/** Grouping that lets us attribute by key and price by model, batch and service tier. */
export const GROUP_BY = ["api_key_id", "model", "batch", "service_tier"] as const;
/** The most 1-minute buckets the API returns in one page. */
export const MAX_MINUTE_BUCKETS = 1440;
/** The most 1-day buckets the usage endpoint returns in one page. */
export const MAX_DAY_BUCKETS = 31;
/** The most 1-day buckets the costs endpoint returns in one page. */
export const MAX_COST_BUCKETS = 180;

export const pathOf = (req: PageRequest): string => ENDPOINT_PATHS[req.endpoint ?? "usage"];

/** Query string for a page request; arrays as repeated parameters. Order is fixed so recordings match. */
export function toSearchParams(req: PageRequest): URLSearchParams {
  const params = new URLSearchParams();
  params.set("start_time", String(req.startTime));
  params.set("end_time", String(req.endTime));
  params.set("bucket_width", req.bucketWidth);
  params.set("limit", String(req.limit));
  for (const g of req.groupBy) params.append("group_by", g);
  for (const k of [...req.apiKeyIds].sort()) params.append("api_key_ids", k);
  if (req.page !== undefined) params.set("page", req.page);
  return params;
}

/**
 * A request's identity in a recording: the query string, prefixed by the endpoint for anything
 * but usage (so recordings made before the costs endpoint existed still match).
 */
export function recordingKey(req: PageRequest): string {
  const query = toSearchParams(req).toString();
  return (req.endpoint ?? "usage") === "usage" ? query : `${req.endpoint}:${query}`;
}
