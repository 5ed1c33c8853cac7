/** One request for a page of minute buckets. */
export interface PageRequest {
  startTime: number;
  endTime: number;
  apiKeyIds: readonly string[];
  groupBy: readonly string[];
  bucketWidth: "1m";
  limit: number;
  page?: string;
}

/** Grouping that lets us attribute by key and price by model, batch and service tier. */
export const GROUP_BY = ["api_key_id", "model", "batch", "service_tier"] as const;
/** The most 1-minute buckets the API returns in one page. */
export const MAX_MINUTE_BUCKETS = 1440;

export const USAGE_PATH = "/organization/usage/completions";

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

/** What answers page requests: the HTTP client, a recording of it, or a replay of a recording. */
export interface PageSource {
  /** Returns the parsed JSON body of one page; throws UsageApiError when it cannot. */
  fetchPage(req: PageRequest): Promise<unknown>;
}
