import { UsageApiError } from "../../errors.ts";
import type { HttpApi } from "../../transport/http.ts";
import { quoteApiText } from "../../transport/quote.ts";
import type { PageRequest } from "../../transport/source.ts";
import { parseJson } from "../../util/json-read.ts";
import { formatMinute } from "../../util/time.ts";
import { FAST_MODE_BETA, pathOf, toSearchParams } from "./query.ts";
import { ANTHROPIC_VERSION, ErrorBodySchema } from "./schema.ts";

/** The API's own message and error type from an error body, quoted safely (cut, one line, no secrets). */
function apiMessage(text: string, secrets: readonly string[]): { message: string; type?: string } {
  try {
    const body = ErrorBodySchema.safeParse(parseJson(text));
    if (body.success)
      return {
        message: quoteApiText(body.data.error.message, secrets) || "(no message)",
        type: body.data.error.type.slice(0, 100),
      };
  } catch {
    // not JSON: fall through to the raw text
  }
  return { message: quoteApiText(text, secrets) || "(empty body)" };
}

/**
 * An error status as the kind of failure it is. 429 with a retry-after is a rate limit worth
 * waiting for; 429 without one is the organisation's spend cap and 402 a billing error, neither of
 * which a retry cures. 529 (overloaded) and the other 5xx are retried.
 */
function classifyStatus(
  status: number,
  text: string,
  secrets: readonly string[],
  headers?: Record<string, string | string[] | undefined>,
): UsageApiError {
  const { message, type } = apiMessage(text, secrets);
  const said = type ? `${type}: ${message}` : message;
  if (status === 401)
    return new UsageApiError(
      "auth",
      `401 Unauthorized: ${said} (is ANTHROPIC_ADMIN_KEY an Admin API key, sk-ant-admin…?)`,
      status,
    );
  if (status === 403)
    return new UsageApiError(
      "forbidden",
      `403 Forbidden: ${said} (the key must be an organization Admin API key)`,
      status,
    );
  if (status === 402) return new UsageApiError("quota", `402 Payment Required: ${said}`, status);
  if (status === 429 && headers?.["retry-after"] === undefined)
    return new UsageApiError(
      "quota",
      `429 Too Many Requests without retry-after (a spend limit, which waiting does not lift): ${said}`,
      status,
    );
  if (status === 429)
    return new UsageApiError("rate_limited", `429 Too Many Requests: ${said}`, status);
  if (status >= 500) return new UsageApiError("server", `${status} server error: ${said}`, status);
  return new UsageApiError("bad_request", `${status}: ${said}`, status);
}

/** The Anthropic Admin API over HTTP: the admin key in x-api-key, the API version, its error bodies. */
export const anthropicHttp: HttpApi = {
  url: (base, req) => `${base}${pathOf(req)}?${toSearchParams(req)}`,
  headers: (adminKey) => ({
    "x-api-key": adminKey,
    "anthropic-version": ANTHROPIC_VERSION,
    // grouping by speed (fast mode is billed at premium rates) needs it
    "anthropic-beta": FAST_MODE_BETA,
  }),
  classifyStatus,
  describe: (req: PageRequest) =>
    `Admin API ${(req.endpoint ?? "usage") === "costs" ? "cost report" : "usage report"} page ${formatMinute(req.startTime)} – ${formatMinute(req.endTime)}`,
};
