/** Public types of the fake Usage API server (re-exported by ../fake-usage-api.ts). */

/** One completed model call (or a pre-aggregated group of calls) the fake server reports. */
export interface UsageEvent {
  apiKeyId: string;
  model: string;
  /** Unix seconds; attributed to the bucket containing it. */
  completedAt: number;
  /** Includes cachedTokens, as in the real API. */
  inputTokens: number;
  /** Default 0. */
  cachedTokens?: number;
  outputTokens: number;
  /** num_model_requests, default 1. */
  requests?: number;
  /** Default false. */
  batch?: boolean;
  /** Default "default". */
  serviceTier?: string;
  /** Default "proj_default". */
  projectId?: string;
  /** Reported as user_id when grouped by user_id; default none (null). */
  userId?: string;
  /** Server-clock time from which the event is reported (late data); default completedAt + lagSeconds. */
  visibleAt?: number;
  /**
   * From server-clock time `at` on, the event reports these values instead (revised buckets).
   * The latest applicable revision wins; fields it leaves out keep the event's original values.
   */
  revisions?: Array<{
    at: number;
    inputTokens?: number;
    cachedTokens?: number;
    outputTokens?: number;
    requests?: number;
  }>;
}

export type Fault =
  /** Any status; `retryAfter` is sent verbatim as Retry-After; `body` replaces the default error JSON. */
  | { kind: "status"; status: number; retryAfter?: string; body?: string }
  /** 429 with error.code "insufficient_quota" (clients must not retry it). */
  | { kind: "insufficient-quota" }
  /** 401 with an OpenAI-style error object. */
  | { kind: "unauthorized" }
  /** 403 whose `error` is a bare string (key lacks api.usage.read). */
  | { kind: "forbidden-bare" }
  /** The socket is destroyed without any response. */
  | { kind: "reset" }
  /** The correct answer, but only after delayMs. */
  | { kind: "slow"; delayMs: number }
  /** 200 with a real page's JSON cut in half (Content-Length matches the bytes sent). */
  | { kind: "truncated" }
  /**
   * 200 with valid JSON that breaks the schema. `variant` picks how; by default the first result's
   * input_tokens becomes a string, or `data` becomes an object when the page has no results.
   */
  | { kind: "schema-violation"; variant?: "string-tokens" | "data-not-array" }
  /** 200 with a correct page whose next_page repeats the cursor just sent (or the first page's). */
  | { kind: "repeat-cursor" };

export interface FaultContext {
  requestIndex: number;
  path: string;
  query: URLSearchParams;
}

export type FaultPlan = (ctx: FaultContext) => Fault | undefined;

export interface FakeUsageApiOptions {
  events?: UsageEvent[];
  /** Default "sk-admin-test"; any other bearer token gets 401. */
  adminKey?: string;
  /** Server clock (Unix seconds) for visibleAt/revisions; default: always Infinity. */
  now?: () => number;
  /** Default 0. */
  lagSeconds?: number;
  /** Empty time buckets come back with `results: []` ("include", default) or are left out. */
  emptyBuckets?: "include" | "omit";
  /** Server-side cap on time buckets per page, below the client's limit. */
  maxBucketsPerPage?: number;
  faults?: FaultPlan;
}

export interface RecordedRequest {
  index: number;
  method: string;
  path: string;
  query: URLSearchParams;
  authorized: boolean;
  fault?: Fault["kind"];
  /** Status sent; 0 when the connection was reset without a response. */
  status: number;
}

export interface FakeUsageApi {
  /** e.g. "http://127.0.0.1:54321/v1"; clients append "/organization/usage/completions". */
  baseUrl: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  setEvents(events: UsageEvent[]): void;
  addEvents(events: UsageEvent[]): void;
  setFaults(plan: FaultPlan | undefined): void;
  close(): Promise<void>;
}
