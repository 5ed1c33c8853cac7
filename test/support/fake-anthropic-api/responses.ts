/** Response bodies: the API's error shape and schema-breaking pages. */
import type { CostPage } from "./costs.ts";
import type { Page, UsageResult } from "./store.ts";
import type { ErrorType } from "./types.ts";

/** The error type the API names for each status it documents. */
export const ERROR_TYPES: Record<number, ErrorType> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

const DEFAULT_MESSAGES: Record<ErrorType, string> = {
  invalid_request_error: "There was an issue with the format or content of your request.",
  authentication_error: "invalid x-api-key",
  billing_error: "There is an issue with your billing.",
  permission_error: "Your API key does not have permission to use the specified resource.",
  not_found_error: "The requested resource could not be found.",
  rate_limit_error: "Number of requests has exceeded your rate limit.",
  api_error: "Internal server error",
  timeout_error: "The request timed out.",
  overloaded_error: "Overloaded",
};

export function errorBody(type: ErrorType, message: string, requestId: string): string {
  return JSON.stringify({ type: "error", error: { type, message }, request_id: requestId });
}

/** The body the API sends with a status: its documented error type, or api_error for others. */
export function defaultStatusBody(status: number, requestId: string): string {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
  return errorBody(type, DEFAULT_MESSAGES[type], requestId);
}

export function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A correct page of either report made into valid JSON that breaks the response schema. */
export function violateSchema(
  page: Page<UsageResult> | CostPage,
  variant: "wrong-type" | "no-cache-creation" | "data-not-array" | undefined,
): unknown {
  const buckets = page.data as unknown as Array<{ results: Array<Record<string, unknown>> }>;
  const first = buckets.find((b) => b.results.length > 0)?.results[0];
  const chosen = variant ?? (first ? "wrong-type" : "data-not-array");
  if (chosen === "data-not-array" || !first) return { ...page, data: { buckets: page.data } };
  const broken: Record<string, unknown> = { ...first };
  if ("amount" in first) broken.amount = Number(first.amount);
  else if (chosen === "no-cache-creation") delete broken.cache_creation;
  else broken.uncached_input_tokens = String(first.uncached_input_tokens);
  return {
    ...page,
    data: buckets.map((b) => ({
      ...b,
      results: b.results.map((r) => (r === first ? broken : r)),
    })),
  };
}
