/** Public types of the fake Anthropic Admin API server (re-exported by ../fake-anthropic-api.ts). */

/** The token counts of one call (or a pre-aggregated group of calls), as the usage report splits them. */
export interface ClaudeTokens {
  uncachedInputTokens: number;
  /** Default 0. */
  cacheReadInputTokens?: number;
  /** Tokens written to 5-minute cache entries; default 0. */
  cacheWrite5mInputTokens?: number;
  /** Tokens written to 1-hour cache entries; default 0. */
  cacheWrite1hInputTokens?: number;
  outputTokens: number;
  /** server_tool_use.web_search_requests; default 0. */
  webSearchRequests?: number;
}

/** One completed Messages API call the fake server reports. */
export interface ClaudeUsageEvent extends ClaudeTokens {
  /** `apikey_…`; null for Console (Playground) usage, which has no key. */
  apiKeyId: string | null;
  model: string;
  /** Unix seconds; attributed to the bucket containing it. */
  completedAt: number;
  /** Default "standard"; also "batch", "priority", "priority_on_demand", "flex", "flex_discount". */
  serviceTier?: string;
  /** Default "0-200k". */
  contextWindow?: string;
  /** Default "global"; "us" or "not_available". */
  inferenceGeo?: string;
  /** Default "standard"; "fast" (research preview). */
  speed?: string;
  /** `wrkspc_…`; default null, the default workspace. */
  workspaceId?: string | null;
  /** Server-clock time from which the event is reported (late data); default completedAt + lagSeconds. */
  visibleAt?: number;
  /**
   * From server-clock time `at` on, the event reports these counts instead (revised buckets). The
   * latest applicable revision wins; counts it leaves out keep the event's original values.
   */
  revisions?: Array<{ at: number } & Partial<ClaudeTokens>>;
}

/** The error types of the API's error body, by HTTP status. */
export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "billing_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "api_error"
  | "timeout_error"
  | "overloaded_error";

export type Fault =
  /**
   * Any status with the API's error body for it (400 invalid_request_error … 529
   * overloaded_error); `retryAfter` is sent verbatim as retry-after; `body` replaces the JSON.
   */
  | { kind: "status"; status: number; retryAfter?: string; body?: string }
  /** 401 authentication_error: the admin key was revoked. */
  | { kind: "unauthorized" }
  /** 403 permission_error: a key that may not read the organization's usage. */
  | { kind: "forbidden" }
  /** 429 rate_limit_error without retry-after: the usage tier's spend cap, which retrying does not cure. */
  | { kind: "spend-cap" }
  /** The socket is destroyed without any response. */
  | { kind: "reset" }
  /** The correct answer, but only after delayMs. */
  | { kind: "slow"; delayMs: number }
  /** 200 with a real page's JSON cut in half (Content-Length matches the bytes sent). */
  | { kind: "truncated" }
  /**
   * 200 with valid JSON that breaks the response schema: by default the first result's
   * uncached_input_tokens (on the cost report: its amount) becomes a number of the wrong kind, or
   * `data` an object when the page has no results.
   */
  | { kind: "schema-violation"; variant?: "wrong-type" | "no-cache-creation" | "data-not-array" }
  /** 200 with a correct page whose next_page repeats the cursor just sent (or the first page's). */
  | { kind: "repeat-cursor" };

export interface FaultContext {
  requestIndex: number;
  path: string;
  query: URLSearchParams;
}

export type FaultPlan = (ctx: FaultContext) => Fault | undefined;

/** USD per 1M tokens, as decimals (e.g. 0.3); converted exactly through their decimal string. */
export interface ClaudeTokenPrices {
  input: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
  output: number;
}

/** A cost line not derived from token usage (code execution, sessions), in cents. */
export interface ExtraCostLine {
  /** Unix seconds; placed in the day containing it (visible from at + lagSeconds). */
  at: number;
  /** e.g. "code_execution". */
  costType: string;
  /** e.g. "Code Execution Usage". */
  description: string;
  /** Cents as a decimal string, e.g. "25.5". */
  amountCents: string;
  workspaceId?: string | null;
}

/** How the fake cost report prices the server's events. */
export interface CostsOptions {
  /**
   * Standard rates by model name as the events carry it. Events of a model without a price add no
   * cost lines (the real API would bill them; tests of unknown models rely on the absence).
   */
  prices: Record<string, ClaudeTokenPrices>;
  /** Batch rates by model; batch events of a model without one add no lines. Default: none. */
  batchPrices?: Record<string, ClaudeTokenPrices>;
  /** USD per web search; default 0.01 ($10 per 1,000 searches). */
  webSearchUsd?: number;
  /** Costs of an event are reported this many seconds after its completion (default 0). */
  lagSeconds?: number;
  extraLines?: ExtraCostLine[];
}

export interface FakeAnthropicApiOptions {
  events?: ClaudeUsageEvent[];
  /** The admin key (`x-api-key`); default "sk-ant-admin01-test". Any other key gets 401. */
  adminKey?: string;
  /** Server clock (Unix seconds) for visibleAt, revisions and open-ended queries; default Infinity. */
  now?: () => number;
  /** Usage is reported this many seconds after completion (default 0). */
  lagSeconds?: number;
  /**
   * Empty time buckets come back with `results: []` ("include", the default: the API reference of
   * August 2026 says every interval is returned) or are left out ("omit"), on both endpoints.
   */
  emptyBuckets?: "include" | "omit";
  /** Server-side cap on buckets per page, below the client's limit (both endpoints). */
  maxBucketsPerPage?: number;
  /** Faults apply to every request, whichever endpoint; FaultContext.path tells them apart. */
  faults?: FaultPlan;
  /** Prices for the cost report. Without it, the cost report answers buckets with no results. */
  costs?: CostsOptions;
}

export interface RecordedRequest {
  index: number;
  method: string;
  path: string;
  query: URLSearchParams;
  /** The anthropic-version header as sent, or null. */
  version: string | null;
  /** The anthropic-beta header as sent, or null. */
  beta: string | null;
  authorized: boolean;
  fault?: Fault["kind"];
  /** Status sent; 0 when the connection was reset without a response. */
  status: number;
}

export interface FakeAnthropicApi {
  /** e.g. "http://127.0.0.1:54321/v1"; clients append "/organizations/usage_report/messages". */
  baseUrl: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  setEvents(events: ClaudeUsageEvent[]): void;
  addEvents(events: ClaudeUsageEvent[]): void;
  setFaults(plan: FaultPlan | undefined): void;
  close(): Promise<void>;
}
