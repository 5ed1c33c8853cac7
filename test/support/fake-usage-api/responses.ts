/** Response bodies: OpenAI-style errors and schema-breaking pages. */
import type { UsagePage } from "./store.ts";

export function errorBody(
  message: string,
  type: string,
  param: string | null = null,
  code: string | null = null,
): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

export function defaultStatusBody(status: number): string {
  if (status === 429) {
    return errorBody(
      "Rate limit reached for requests to the usage API. Please try again later.",
      "requests",
      null,
      "rate_limit_exceeded",
    );
  }
  if (status >= 500) {
    return errorBody(
      `The server had an error while processing your request (status ${status}).`,
      "server_error",
    );
  }
  return errorBody(`Request failed with status ${status}.`, "invalid_request_error");
}

export function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Turns a correct page into valid JSON that breaks the response schema. */
export function violateSchema(
  page: UsagePage,
  variant: "string-tokens" | "data-not-array" | undefined,
) {
  const firstResult = page.data.find((b) => b.results.length > 0)?.results[0];
  const chosen = variant ?? (firstResult ? "string-tokens" : "data-not-array");
  if (chosen === "string-tokens" && firstResult) {
    return {
      ...page,
      data: page.data.map((bucket) => ({
        ...bucket,
        results: bucket.results.map((r) =>
          r === firstResult ? { ...r, input_tokens: String(r.input_tokens) } : r,
        ),
      })),
    };
  }
  return { ...page, data: { buckets: page.data } };
}
