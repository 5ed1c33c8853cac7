import { Agent, errors, request } from "undici";
import { redact } from "../util/redact.ts";
import { isRetryable, UsageApiError } from "./errors.ts";
import { type PageRequest, type PageSource, pathOf, toSearchParams } from "./query.ts";
import { ApiErrorBodySchema } from "./schema.ts";

export interface HttpSourceOptions {
  baseUrl: string;
  adminKey: string;
  /** Limit for the response headers and for each gap in the body. */
  timeoutMs?: number;
  /** Tries per page, the first included. */
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A Retry-After longer than this ends the retries: a scheduled job should not sleep for an hour. */
  maxRetryAfterMs?: number;
  userAgent?: string;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

export interface HttpPageSource extends PageSource {
  /** HTTP requests sent, retries included. */
  readonly stats: { requests: number; retries: number };
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

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

function apiMessage(text: string): { message: string; code?: string } {
  try {
    const body = ApiErrorBodySchema.safeParse(JSON.parse(text));
    if (body.success) {
      const e = body.data.error;
      if (typeof e === "string") return { message: e };
      return {
        message: e.message ?? e.type ?? "(no message)",
        code: e.code ?? e.type ?? undefined,
      };
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return { message: text.slice(0, 200) || "(empty body)" };
}

function classifyStatus(status: number, text: string): UsageApiError {
  const { message, code } = apiMessage(text);
  if (status === 401) {
    return new UsageApiError(
      "auth",
      `401 Unauthorized: ${message} (is OPENAI_ADMIN_KEY an admin key with the api.usage.read scope?)`,
      status,
    );
  }
  if (status === 403) {
    return new UsageApiError(
      "forbidden",
      `403 Forbidden: ${message} (the admin key needs the api.usage.read scope)`,
      status,
    );
  }
  if (status === 429 && (code === "insufficient_quota" || /insufficient_quota/.test(text))) {
    return new UsageApiError("quota", `429 insufficient_quota: ${message}`, status);
  }
  if (status === 429)
    return new UsageApiError("rate_limited", `429 Too Many Requests: ${message}`, status);
  if (status >= 500)
    return new UsageApiError("server", `${status} server error: ${message}`, status);
  return new UsageApiError("bad_request", `${status}: ${message}`, status);
}

function classifyThrown(error: unknown): UsageApiError {
  if (error instanceof UsageApiError) return error;
  if (
    error instanceof errors.HeadersTimeoutError ||
    error instanceof errors.BodyTimeoutError ||
    error instanceof errors.ConnectTimeoutError
  ) {
    return new UsageApiError("timeout", `timed out: ${error.message}`);
  }
  const message =
    error instanceof Error
      ? `${error.message}${"code" in error && error.code ? ` (${String(error.code)})` : ""}`
      : String(error);
  return new UsageApiError("network", `network error: ${message}`);
}

/**
 * The Usage API over HTTP (undici), with timeouts and retries: exponential backoff with full
 * jitter on 429, 5xx, network errors, timeouts and unparsable bodies, never sooner than the
 * server's Retry-After. 401, 403, insufficient_quota and other 4xx are final. Messages are
 * redacted: the admin key never appears in an error.
 */
export function createHttpPageSource(options: HttpSourceOptions): HttpPageSource {
  const {
    adminKey,
    timeoutMs = 30_000,
    maxAttempts = 6,
    backoffBaseMs = 500,
    backoffMaxMs = 30_000,
    maxRetryAfterMs = 120_000,
    userAgent = "reconcile-usage",
    sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    random = Math.random,
  } = options;
  const base = options.baseUrl.replace(/\/+$/, "");
  const dispatcher = new Agent({
    connections: 8,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: timeoutMs,
  });
  const stats = { requests: 0, retries: 0 };

  async function once(
    req: PageRequest,
  ): Promise<{ value: unknown } | { error: UsageApiError; retryAfterMs?: number }> {
    stats.requests++;
    try {
      const res = await request(`${base}${pathOf(req)}?${toSearchParams(req)}`, {
        method: "GET",
        dispatcher,
        headers: {
          authorization: `Bearer ${adminKey}`,
          accept: "application/json",
          "user-agent": userAgent,
        },
      });
      const length = Number(res.headers["content-length"] ?? 0);
      if (length > MAX_BODY_BYTES) {
        res.body.destroy();
        return {
          error: new UsageApiError(
            "protocol",
            `response of ${length} bytes is larger than expected`,
          ),
        };
      }
      const text = await res.body.text();
      if (res.statusCode === 200) {
        try {
          return { value: JSON.parse(text) };
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
        error: classifyStatus(res.statusCode, text),
        retryAfterMs: parseRetryAfter(res.headers["retry-after"], Date.now()),
      };
    } catch (error) {
      return { error: classifyThrown(error) };
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
        redact(outcome.error.message, [adminKey]),
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
      stats.retries++;
      options.onRetry?.({ attempt, delayMs, reason: error.message });
      await sleep(delayMs);
    }
  }

  return { fetchPage, stats, close: () => dispatcher.close() };
}
