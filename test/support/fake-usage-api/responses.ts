/** Response bodies: OpenAI-style errors and schema-breaking pages. */
import type { CostsPage, CostsResult } from "./costs.ts";
import type { Bucket, CompletionsResult, UsagePage } from "./store.ts";

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

/** The first result made invalid: completions' input_tokens a string, costs' amount a bare string. */
function breakResult(result: CompletionsResult | CostsResult): Record<string, unknown> {
  if (result.object === "organization.costs.result") {
    return { ...result, amount: String(result.amount.value) };
  }
  return { ...result, input_tokens: String(result.input_tokens) };
}

/** Turns a correct page (of either endpoint) into valid JSON that breaks the response schema. */
export function violateSchema(
  page: UsagePage | CostsPage,
  variant: "string-tokens" | "data-not-array" | undefined,
) {
  const buckets: Array<Bucket<CompletionsResult | CostsResult>> = page.data;
  const firstResult = buckets.find((b) => b.results.length > 0)?.results[0];
  const chosen = variant ?? (firstResult ? "string-tokens" : "data-not-array");
  if (chosen === "string-tokens" && firstResult) {
    return {
      ...page,
      data: buckets.map((bucket) => ({
        ...bucket,
        results: bucket.results.map((r) => (r === firstResult ? breakResult(r) : r)),
      })),
    };
  }
  return { ...page, data: { buckets: page.data } };
}
