/** Public types of the fake Usage API server (re-exported by ../fake-usage-api.ts). */
import type { CostsPage } from "./costs.ts";
import type { UsagePage } from "./store.ts";

/** One completed model call (or a pre-aggregated group of calls) the fake server reports. */
export interface UsageEvent {
  apiKeyId: string;
  model: string;
  /** Unix seconds; attributed to the bucket containing it. */
  completedAt: number;
  /**
   * Every input token, as the 2026-07 generation's input_tokens counts them: text, audio and
   * image, uncached, cached (cachedTokens) and cache writes (cacheWriteTokens).
   */
  inputTokens: number;
  /** Cache reads of any modality, part of inputTokens. Default 0. */
  cachedTokens?: number;
  /** Tokens written to the cache, part of inputTokens. Default 0. */
  cacheWriteTokens?: number;
  /** Uncached audio input, part of inputTokens. Default 0. */
  audioInputTokens?: number;
  /** Cached audio input, part of cachedTokens. Default 0. */
  cachedAudioTokens?: number;
  /** Uncached image input, part of inputTokens. Default 0. */
  imageInputTokens?: number;
  /** Cached image input, part of cachedTokens. Default 0. */
  cachedImageTokens?: number;
  /** Every output token: text, audio and image. */
  outputTokens: number;
  /** Audio output, part of outputTokens. Default 0. */
  audioOutputTokens?: number;
  /** Image output, part of outputTokens. Default 0. */
  imageOutputTokens?: number;
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
    cacheWriteTokens?: number;
    audioInputTokens?: number;
    cachedAudioTokens?: number;
    imageInputTokens?: number;
    cachedImageTokens?: number;
    outputTokens?: number;
    audioOutputTokens?: number;
    imageOutputTokens?: number;
    requests?: number;
  }>;
}

/**
 * Which generation of the completions result a bucket is answered in (see usageResult in
 * store.ts): one for every bucket, or chosen per bucket from its start (and the server's clock),
 * e.g. newSchemaFrom(NEW_USAGE_SCHEMA_AT).
 */
export type UsageSchemaOption =
  | "2024-12"
  | "2026-07"
  | ((bucketStart: number, now: number) => "2024-12" | "2026-07");

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
   * input_tokens becomes a string (on the costs endpoint: its `amount` object becomes a bare
   * string), or `data` becomes an object when the page has no results.
   */
  | { kind: "schema-violation"; variant?: "string-tokens" | "data-not-array" }
  /** 200 with a correct page whose next_page repeats the cursor just sent (or the first page's). */
  | { kind: "repeat-cursor" }
  /**
   * Hostile network: 200 headers at once (chunked, no Content-Length), then the correct page one
   * byte every `intervalMs`; a client that only bounds the gap between bytes waits for ever.
   */
  | { kind: "drip"; intervalMs: number }
  /**
   * A body of `bytes` bytes, chunked without Content-Length, streamed as fast as the client reads
   * (status 200 unless given): `{"padding":"xxxx…"}`. RecordedRequest.bytesSent says how much left.
   */
  | { kind: "huge-body"; bytes: number; status?: number }
  /** An OpenAI-style error (status 400 unless given) whose error.message is `chars` characters long. */
  | { kind: "huge-error"; chars: number; status?: number }
  /** Headers and half of the correct page, then the connection is destroyed. */
  | { kind: "reset-mid-body" }
  /** The correct page with the first result of its first non-empty bucket sent twice. */
  | { kind: "duplicate-row" }
  /**
   * The correct page passed through `rewrite`, sent as JSON: whatever a test needs the API to
   * say (a bucket outside the span, a negative count, an amount of "1e400").
   */
  | { kind: "rewrite"; rewrite: (page: UsagePage | CostsPage) => unknown };

export interface FaultContext {
  requestIndex: number;
  path: string;
  query: URLSearchParams;
}

export type FaultPlan = (ctx: FaultContext) => Fault | undefined;

/**
 * USD per 1M tokens, as decimal numbers (e.g. 0.15); converted exactly via their decimal string.
 * `input` prices uncached text input, `cachedInput` every cache read, `output` text output; a
 * class without its price here gets no cost line (like an unpriced model).
 */
export interface TokenPrices {
  input: number;
  cachedInput: number;
  output: number;
  cacheWrite?: number;
  audioInput?: number;
  imageInput?: number;
  audioOutput?: number;
  imageOutput?: number;
}

/** An extra cost line not derived from events (e.g. tool calls): a line item the product may not know. */
export interface ExtraCostLine {
  apiKeyId: string;
  /** Unix seconds; placed in the bucket containing it (and visible from at + lagSeconds). */
  at: number;
  /** e.g. "web search tool calls". */
  lineItem: string;
  /** USD as a decimal string, e.g. "0.25". */
  amount: string;
  /** Default "proj_default". */
  projectId?: string;
}

/** A late restatement of one UTC day's costs for one API key. */
export interface CostRestatement {
  apiKeyId: string;
  /** Any Unix time inside the UTC day whose cost lines are restated. */
  day: number;
  /** Server-clock time from which the restatement applies. */
  at: number;
  /** Multiplies every cost line of that day and key (e.g. 1.02); several applicable ones compound. */
  factor: number;
}

/** How the fake `GET /v1/organization/costs` prices the server's events. */
export interface CostsOptions {
  /**
   * USD per 1M tokens by model name as the events carry it (e.g. "gpt-4o-mini-2024-07-18"). Events
   * whose model has no price here contribute no cost line at all: they are simply absent from the
   * costs (the real API would still bill them; tests of "unknown model" rely on this absence).
   */
  prices: Record<string, TokenPrices>;
  /** Costs of an event are reported only this many seconds after its completion (default 0); the real API settles costs days late. */
  lagSeconds?: number;
  /** "string" (default; what the API sends lately) or "number" for amount.value. */
  amountAs?: "string" | "number";
  /** Extra cost lines not derived from events, e.g. { apiKeyId, at, lineItem: "web search tool calls", amount: "0.25" } — unknown line items. */
  extraLines?: ExtraCostLine[];
  /** Late restatements: from server-clock time `at`, the cost lines of the UTC day containing `day` for `apiKeyId` are multiplied by `factor` (e.g. 1.02). */
  restatements?: CostRestatement[];
  /**
   * Quantities of line items (grouped by line_item): "with-unit" (default, since 2026-08:
   * `quantity` and `quantity_unit: "tokens"`), "without-unit" (`quantity` only, the field
   * `quantity_unit` left out, as before 2026-08), or "absent" (neither field).
   */
  quantities?: "with-unit" | "without-unit" | "absent";
}

export interface FakeUsageApiOptions {
  events?: UsageEvent[];
  /** Default "sk-admin-test"; any other bearer token gets 401. */
  adminKey?: string;
  /** Server clock (Unix seconds) for visibleAt/revisions; default: always Infinity. */
  now?: () => number;
  /** Default 0. Usage only; the costs endpoint has its own `costs.lagSeconds`. */
  lagSeconds?: number;
  /** Empty time buckets come back with `results: []` ("include", default) or are left out (both endpoints). */
  emptyBuckets?: "include" | "omit";
  /** Server-side cap on time buckets per page, below the client's limit (both endpoints). */
  maxBucketsPerPage?: number;
  /** Faults apply to every request, whichever endpoint; FaultContext.path tells them apart. */
  faults?: FaultPlan;
  /**
   * Prices for `GET /v1/organization/costs`, whose lines are derived from `events`. Without it,
   * the costs endpoint answers buckets with empty results.
   */
  costs?: CostsOptions;
  /** The generation of the completions results (default "2026-07" for every bucket). */
  usageSchema?: UsageSchemaOption;
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
  /** Body bytes written for a streamed fault (drip, huge-body) before it ended or the client left. */
  bytesSent?: number;
}

export interface FakeUsageApi {
  /** e.g. "http://127.0.0.1:54321/v1"; clients append "/organization/usage/completions" or "/organization/costs". */
  baseUrl: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  setEvents(events: UsageEvent[]): void;
  addEvents(events: UsageEvent[]): void;
  setFaults(plan: FaultPlan | undefined): void;
  close(): Promise<void>;
}
