import { UsageApiError } from "../../errors.ts";
import {
  createHttpSource,
  type HttpApi,
  type HttpPageSource,
  type HttpSourceOptions,
} from "../../transport/http.ts";
import { quoteApiText } from "../../transport/quote.ts";
import type { PageRequest } from "../../transport/source.ts";
import { parseJson } from "../../util/json-read.ts";
import { formatMinute } from "../../util/time.ts";
import { pathOf, toSearchParams } from "./query.ts";
import { ApiErrorBodySchema } from "./schema.ts";

/** The API's own message from an error body, quoted safely (cut, one line, no secrets). */
function apiMessage(text: string, secrets: readonly string[]): { message: string; code?: string } {
  try {
    const body = ApiErrorBodySchema.safeParse(parseJson(text));
    if (body.success) {
      const e = body.data.error;
      if (typeof e === "string") return { message: quoteApiText(e, secrets) || "(no message)" };
      return {
        message: quoteApiText(e.message ?? e.type ?? "", secrets) || "(no message)",
        code: (e.code ?? e.type ?? undefined)?.slice(0, 100),
      };
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return { message: quoteApiText(text, secrets) || "(empty body)" };
}

function classifyStatus(status: number, text: string, secrets: readonly string[]): UsageApiError {
  const { message, code } = apiMessage(text, secrets);
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

/** The OpenAI organization API over HTTP: a Bearer admin key, its query names, its error bodies. */
export const openaiHttp: HttpApi = {
  url: (base, req) => `${base}${pathOf(req)}?${toSearchParams(req)}`,
  headers: (adminKey) => ({ authorization: `Bearer ${adminKey}` }),
  classifyStatus,
  describe: (req: PageRequest) =>
    `${(req.endpoint ?? "usage") === "costs" ? "Costs" : "Usage"} API page ${formatMinute(req.startTime)} – ${formatMinute(req.endTime)}`,
};

/** The OpenAI Usage and Costs APIs over HTTP (see transport/http.ts for what every client does). */
export const createHttpPageSource = (options: Omit<HttpSourceOptions, "api">): HttpPageSource =>
  createHttpSource({ ...options, api: openaiHttp });
