/**
 * The GitHub REST client, loaded lazily: `@actions/github` (Octokit and its plugins) is only
 * needed on pull request events (the sticky comment) and for `commit: api`, so it stays out of
 * the action's main bundle and is imported on first use (the bundler makes it a separate chunk).
 */
export async function githubClient(token: string, baseUrl: string) {
  const { getOctokit } = await import("@actions/github");
  return getOctokit(token, { baseUrl: baseUrl.replace(/\/+$/, "") });
}

export type GitHub = Awaited<ReturnType<typeof githubClient>>;

/**
 * The HTTP status of an Octokit request error; 0 when no answer came (Octokit calls a network
 * failure a 500 without a response); undefined for any other error.
 */
export function httpStatus(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("status" in error)) return undefined;
  const { status, response } = error as { status: unknown; response?: unknown };
  if (typeof status !== "number") return undefined;
  return response === undefined ? 0 : status;
}

/**
 * What the API said, without Octokit's documentation link: `message` from the response body
 * when there is one, else the error's own message.
 */
export function apiMessage(error: unknown): string {
  const data = (error as { response?: { data?: unknown } } | null)?.response?.data;
  if (typeof data === "object" && data !== null && "message" in data) {
    const message = String((data as { message: unknown }).message);
    const errors = (data as { errors?: unknown }).errors;
    return Array.isArray(errors) && errors.length > 0
      ? `${message} (${errors.map((e) => (typeof e === "string" ? e : JSON.stringify(e))).join("; ")})`
      : message;
  }
  return error instanceof Error ? error.message : String(error);
}
