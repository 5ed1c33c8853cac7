import { cutMessage, oneLine } from "./printable.ts";
import { redact } from "./redact.ts";

/**
 * What an error nobody expected is shown as: its message, without secrets, on one line and cut.
 * Never its stack or the source line Node prints for an uncaught error (in a bundle, that line is
 * the whole minified program).
 */
export function describeUnexpected(
  error: unknown,
  secrets: readonly (string | undefined)[],
): string {
  let text: string;
  try {
    text =
      error instanceof Error
        ? `${error.name && error.name !== "Error" ? `${error.name}: ` : ""}${error.message}`
        : String(error);
  } catch {
    text = "(an error that cannot be described)";
  }
  return oneLine(redact(cutMessage(text), secrets)) || "(no message)";
}

/** The stack of an error, for debug output only: without secrets, each line cut, at most 30. */
export function stackLines(error: unknown, secrets: readonly (string | undefined)[]): string[] {
  const stack = error instanceof Error && typeof error.stack === "string" ? error.stack : "";
  return stack
    .split("\n")
    .slice(1, 31)
    .map((l) => oneLine(redact(cutMessage(l.trim(), 300), secrets)))
    .filter(Boolean);
}

/** Whether the user asked for debug output: `--debug`, RECONCILE_USAGE_DEBUG or the runner's step debug. */
export function debugRequested(env: Record<string, string | undefined>, flag?: unknown): boolean {
  return (
    flag === true ||
    ["1", "true"].includes((env.RECONCILE_USAGE_DEBUG ?? "").toLowerCase()) ||
    env.RUNNER_DEBUG === "1" ||
    (env.ACTIONS_STEP_DEBUG ?? "").toLowerCase() === "true"
  );
}
