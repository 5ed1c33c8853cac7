/**
 * What every provider's usage is read through (docs/design.md#providers): a request for one page
 * of time buckets, and whatever answers it (the HTTP client, a recording of it, a replay). The
 * request says what is wanted; the provider says how it is spelt on the wire (its URL and query
 * names, in its http.ts) and what the answer means (its pages.ts).
 */

/** The report a request reads: the provider's token usage, or its cost lines. */
export type Endpoint = "usage" | "costs";

/** One request for a page of time buckets. */
export interface PageRequest {
  /** Default: usage. */
  endpoint?: Endpoint;
  startTime: number;
  endTime: number;
  apiKeyIds: readonly string[];
  groupBy: readonly string[];
  bucketWidth: "1m" | "1d";
  limit: number;
  page?: string;
}

/** What answers page requests: the HTTP client, a recording of it, or a replay of a recording. */
export interface PageSource {
  /** Returns the parsed JSON body of one page; throws UsageApiError when it cannot. */
  fetchPage(req: PageRequest): Promise<unknown>;
}
