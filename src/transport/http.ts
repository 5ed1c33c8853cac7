import { ConfigError, isRetryable, UsageApiError } from "../errors.ts";
import { parseJson } from "../util/json-read.ts";
import { redact } from "../util/redact.ts";
import { quoteApiText } from "./quote.ts";
import type { PageRequest, PageSource } from "./source.ts";

/**
 * How one provider's HTTP API is called (docs/design.md#providers): everything else about a
 * request (deadlines, retries, the body cap, proxies, redaction) is the same for every provider
 * and lives here.
 */
export interface HttpApi {
  /** The URL of a page request, on the base URL (no trailing slash). */
  url(base: string, req: PageRequest): string;
  /** The headers that authenticate with the admin key (and any the API requires). */
  headers(adminKey: string): Record<string, string>;
  /**
   * An error status as a UsageApiError of its kind (auth, forbidden, quota, rate_limited, server,
   * bad_request), its message quoting the API's own (through quoteApiText) and naming what the
   * user should check.
   */
  classifyStatus(
    status: number,
    body: string,
    secrets: readonly string[],
    /** The response's headers: a 429 with a retry-after and one without can mean different things. */
    headers?: Record<string, string | string[] | undefined>,
  ): UsageApiError;
  /** A request, for a progress line: `Usage API page 2025-11-01 00:00 – …`. */
  describe(req: PageRequest): string;
}

export interface HttpSourceOptions {
  /** How the provider's API is called. */
  api: HttpApi;
  baseUrl: string;
  adminKey: string;
  /**
   * Time the pass may spend reading the API, counted from the source's creation. Past it no
   * request is sent, requests in flight are abandoned, and every page still wanted fails with a
   * `deadline` error (its runs are `error` for this pass and read again by the next).
   */
  passDeadlineMs?: number;
  /**
   * Overall deadline of one try: connecting, the headers and the whole body (a server dripping
   * one byte at a time cannot stretch it). Never longer than what is left of the pass deadline.
   */
  timeoutMs?: number;
  /** Largest body read, counted while it streams, whatever Content-Length says. */
  maxBodyBytes?: number;
  /** Tries per page, the first included. */
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A Retry-After longer than this ends the retries: a scheduled job should not sleep for an hour. */
  maxRetryAfterMs?: number;
  userAgent?: string;
  /**
   * Where HTTPS_PROXY, HTTP_PROXY and NO_PROXY (or their lower-case forms) are read from: the
   * environment the CLI or action was started with. Without it, requests go direct.
   */
  proxyEnv?: Record<string, string | undefined>;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Milliseconds on a monotonic-enough clock (deadlines). */
  clock?: () => number;
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
  /** How often a request still waiting is reported through onWaiting. */
  waitingNoticeMs?: number;
  /** A request has waited `waitedMs` so far and gives up at `limitMs`: for a progress line. */
  onWaiting?: (info: { what: string; waitedMs: number; limitMs: number }) => void;
}

export interface HttpPageSource extends PageSource {
  /** HTTP requests sent, retries included. */
  readonly stats: { requests: number; retries: number };
  close(): Promise<void>;
}

/**
 * Defaults, and why:
 * - a pass reads the API for at most 10 minutes: a normal pass needs seconds (a page per day of
 *   runs, four at a time); a backlog of a year is a few minutes; anything left is read by the
 *   next pass, and a scheduled job never sits out GitHub's 6-hour limit on a stalled server;
 * - one try gets at most 60 s, headers and body together (a full page of 1440 minute buckets
 *   arrives in a few seconds), and at most a quarter of the pass deadline, so one stalled
 *   connection cannot use the whole budget and a retry still has time;
 * - a body is capped at 64 MiB: the largest real page (1440 buckets × every model, tier and key)
 *   is a few MiB, and 64 MiB still parses comfortably in memory;
 * - a request still waiting after 15 s is reported, then every 15 s, so a long wait shows in the
 *   action log and on the terminal instead of looking like a hang.
 */
export const DEFAULT_PASS_DEADLINE_MS = 10 * 60_000;
const MAX_TRY_MS = 60_000;
const MIN_TRY_MS = 1_000;
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
const WAITING_NOTICE_MS = 15_000;

/** The default deadline of one try for a given pass deadline. */
export const tryTimeoutFor = (passDeadlineMs: number): number =>
  Math.min(MAX_TRY_MS, Math.max(MIN_TRY_MS, Math.round(passDeadlineMs / 4)));

/** "750 ms", "12 s", "10 min": how long, for messages. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 100) / 10} s`;
  return `${Math.round(ms / 6000) / 10} min`;
}

const mib = (bytes: number): string => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;

/** Seconds or an HTTP date, as RFC 9110 allows; undefined when absent or unreadable. */
export function parseRetryAfter(
  value: string | string[] | undefined,
  nowMs: number,
): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Number(v.trim()) * 1000;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * undici, loaded with the first request: a pass that sends none (nothing due, a listing, a replay)
 * does not pay for loading it and the Node modules it needs, a tenth of a second at start.
 */
type Undici = typeof import("undici");
let undici: Promise<Undici> | undefined;
const loadUndici = (): Promise<Undici> => {
  undici ??= import("undici");
  return undici;
};

function classifyThrown(
  error: unknown,
  secrets: readonly string[],
  /** undici, when it was loaded before the error (its timeouts are told apart by class). */
  loaded: Undici | undefined,
): UsageApiError {
  if (error instanceof UsageApiError) return error;
  const errors = loaded?.errors;
  if (
    errors &&
    (error instanceof errors.HeadersTimeoutError ||
      error instanceof errors.BodyTimeoutError ||
      error instanceof errors.ConnectTimeoutError)
  ) {
    return new UsageApiError("timeout", `timed out: ${quoteApiText(error.message, secrets)}`);
  }
  const message =
    error instanceof Error
      ? `${error.message}${"code" in error && error.code ? ` (${String(error.code)})` : ""}`
      : String(error);
  return new UsageApiError("network", `network error: ${quoteApiText(message, secrets)}`);
}

/** A proxy variable's value as a URL; curl's habit of a bare `host:port` is taken as http. */
function proxyUrl(name: string, value: string | undefined): string {
  const text = value?.trim() ?? "";
  if (text === "") return "";
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  try {
    const url = new URL(withScheme);
    if (["http:", "https:", "socks:", "socks5:"].includes(url.protocol)) return url.href;
  } catch {
    // reported below
  }
  throw new ConfigError(
    `${name}: expected a proxy URL such as http://proxy.example:3128, got "${redact(text)}"`,
  );
}

/**
 * The dispatcher: direct, or through the proxy the environment names (NO_PROXY honoured). The
 * variables are checked at once (a bad one stops the pass before any request); the agent is made
 * with the first request.
 */
function dispatcherFor(
  env: Record<string, string | undefined>,
  timeoutMs: number,
): { get(): Promise<import("undici").Dispatcher>; close(): Promise<void> } {
  const pick = (lower: string, upper: string) =>
    env[lower] !== undefined ? ([lower, env[lower]] as const) : ([upper, env[upper]] as const);
  const [httpName, http] = pick("http_proxy", "HTTP_PROXY");
  const [httpsName, https] = pick("https_proxy", "HTTPS_PROXY");
  const [, noProxy] = pick("no_proxy", "NO_PROXY");
  const options = {
    // explicit values (never process.env behind our back): "" means no proxy
    httpProxy: proxyUrl(httpName, http),
    httpsProxy: proxyUrl(httpsName, https),
    noProxy: noProxy ?? "",
    connections: 8,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: timeoutMs,
  };
  let agent: Promise<import("undici").Dispatcher> | undefined;
  return {
    get() {
      agent ??= loadUndici().then((u) => new u.EnvHttpProxyAgent(options));
      return agent;
    },
    // no request, no agent: nothing to close (undici is not loaded only to close it)
    close: async () => (await agent)?.close(),
  };
}

type Outcome = { value: unknown } | { error: UsageApiError; retryAfterMs?: number };

/**
 * A provider's usage API over HTTP (undici), with deadlines, a size cap and retries: exponential backoff
 * with full jitter on 429, 5xx, network errors, timeouts and unparsable bodies, never sooner than
 * the server's Retry-After. 401, 403, insufficient_quota, other 4xx, an oversized body and the
 * pass deadline are final. Messages are redacted and cut: the admin key never appears in an
 * error, and nothing the server sends can make one longer than a few hundred characters.
 */
export function createHttpSource(options: HttpSourceOptions): HttpPageSource {
  const {
    api,
    adminKey,
    passDeadlineMs = DEFAULT_PASS_DEADLINE_MS,
    timeoutMs = tryTimeoutFor(passDeadlineMs),
    maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
    maxAttempts = 6,
    backoffBaseMs = 500,
    backoffMaxMs = 30_000,
    maxRetryAfterMs = 120_000,
    userAgent = "reconcile-usage",
    sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    random = Math.random,
    clock = Date.now,
    waitingNoticeMs = WAITING_NOTICE_MS,
  } = options;
  const secrets = [adminKey];
  const base = options.baseUrl.replace(/\/+$/, "");
  const dispatcher = dispatcherFor(options.proxyEnv ?? {}, timeoutMs);
  const stats = { requests: 0, retries: 0 };

  const passEndsAt = clock() + passDeadlineMs;
  const pass = new AbortController();
  // setTimeout fires at once past 2^31 - 1 ms (24.8 days): no pass deadline is that long anyway
  const passTimer = setTimeout(() => pass.abort(), Math.min(passDeadlineMs, 2 ** 31 - 1));
  passTimer.unref();
  const deadlineError = () =>
    new UsageApiError(
      "deadline",
      `the pass's time for the API (${duration(passDeadlineMs)}, pass-deadline-minutes) ran out before this page was read; the next pass reads it again`,
    );
  const passOver = () => pass.signal.aborted || clock() >= passEndsAt;

  /** The body, counted while it streams; past the cap, the connection is dropped. */
  async function readBody(body: AsyncIterable<Buffer> & { destroy(): void }, status: number) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += chunk.length;
      if (size > maxBodyBytes) {
        body.destroy();
        throw new UsageApiError(
          "too_large",
          `the ${status === 200 ? "response" : `${status} error`} body passed ${mib(maxBodyBytes)} while it was read; stopped (a page is a few MiB at most)`,
          status === 200 ? undefined : status,
        );
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, size).toString("utf8");
  }

  async function once(req: PageRequest): Promise<Outcome> {
    const limitMs = Math.min(timeoutMs, passEndsAt - clock());
    if (passOver() || limitMs <= 0) return { error: deadlineError() };
    stats.requests++;
    const controller = new AbortController();
    let why: UsageApiError | undefined;
    const abort = (reason: UsageApiError) => {
      why ??= reason;
      controller.abort(reason);
    };
    const tryTimer = setTimeout(
      () =>
        abort(
          new UsageApiError(
            "timeout",
            `timed out: no complete answer within ${duration(limitMs)} (connection, headers and body)`,
          ),
        ),
      limitMs,
    );
    const onPassOver = () => abort(deadlineError());
    pass.signal.addEventListener("abort", onPassOver, { once: true });
    const started = clock();
    const waiting = options.onWaiting
      ? setInterval(
          () =>
            options.onWaiting?.({ what: api.describe(req), waitedMs: clock() - started, limitMs }),
          waitingNoticeMs,
        )
      : undefined;
    let u: Undici | undefined;
    try {
      const agent = await dispatcher.get();
      u = await loadUndici();
      const res = await u.request(api.url(base, req), {
        method: "GET",
        dispatcher: agent,
        signal: controller.signal,
        headers: {
          ...api.headers(adminKey),
          accept: "application/json",
          "user-agent": userAgent,
        },
      });
      const declared = Number(res.headers["content-length"]);
      if (Number.isFinite(declared) && declared > maxBodyBytes) {
        res.body.destroy();
        return {
          error: new UsageApiError(
            "too_large",
            `the response announces ${mib(declared)}, more than the ${mib(maxBodyBytes)} a page may be; not read`,
          ),
        };
      }
      const text = await readBody(res.body, res.statusCode);
      if (res.statusCode === 200) {
        try {
          return { value: parseJson(text) };
        } catch {
          return {
            error: new UsageApiError(
              "malformed",
              `response body is not valid JSON (${text.length} characters)`,
            ),
          };
        }
      }
      return {
        error: api.classifyStatus(res.statusCode, text, secrets, res.headers),
        retryAfterMs: parseRetryAfter(res.headers["retry-after"], Date.now()),
      };
    } catch (error) {
      // an abort surfaces as undici's own error; the reason we aborted for is the truth
      return { error: why ?? classifyThrown(error, secrets, u) };
    } finally {
      clearTimeout(tryTimer);
      clearInterval(waiting);
      pass.signal.removeEventListener("abort", onPassOver);
    }
  }

  async function fetchPage(req: PageRequest): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await once(req);
      if ("value" in outcome) return outcome.value;
      const { retryAfterMs } = outcome;
      // a fresh error carrying only the redacted text: nothing of the key survives in its stack
      const error = new UsageApiError(
        outcome.error.kind,
        redact(outcome.error.message, secrets),
        outcome.error.status,
      );
      if (!isRetryable(error) || attempt >= maxAttempts) {
        const gaveUp = attempt > 1 && isRetryable(error) ? ` (gave up after ${attempt} tries)` : "";
        throw new UsageApiError(error.kind, `${error.message}${gaveUp}`, error.status);
      }
      if (retryAfterMs !== undefined && retryAfterMs > maxRetryAfterMs) {
        throw new UsageApiError(
          error.kind,
          `${error.message} (the API asks to wait ${Math.round(retryAfterMs / 1000)} s, longer than the ${Math.round(maxRetryAfterMs / 1000)} s allowed)`,
          error.status,
        );
      }
      const exponential = Math.min(backoffMaxMs, backoffBaseMs * 2 ** (attempt - 1));
      const delayMs = Math.max(retryAfterMs ?? 0, Math.round(random() * exponential));
      // a wait that outlasts the pass would only end in the deadline: say so now
      if (clock() + delayMs >= passEndsAt)
        throw new UsageApiError("deadline", `${deadlineError().message} (last: ${error.message})`);
      stats.retries++;
      options.onRetry?.({ attempt, delayMs, reason: error.message });
      await sleep(delayMs);
    }
  }

  return {
    fetchPage,
    stats,
    close: () => {
      clearTimeout(passTimer);
      return dispatcher.close();
    },
  };
}
