import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseEnv } from "node:util";
import { commandGuard } from "../util/printable.ts";
import { redactSecrets } from "../util/redact.ts";

/** Variables that may hold a secret the CLI must never print (the admin key, a token). */
const SECRET_VARIABLES = [
  "OPENAI_ADMIN_KEY",
  "OPENAI_API_KEY_USAGE_TRACKING",
  "GITHUB_TOKEN",
  "GH_TOKEN",
] as const;

/** The secrets the CLI could know: from the environment and from `.env` in the working directory. */
export function cliSecrets(env: Record<string, string | undefined>, cwd: string): string[] {
  let fromFile: Record<string, string | undefined> = {};
  try {
    fromFile = parseEnv(readFileSync(resolve(cwd, ".env"), "utf8"));
  } catch {
    fromFile = {};
  }
  return SECRET_VARIABLES.flatMap((name) => [env[name], fromFile[name]]).filter((s): s is string =>
    Boolean(s),
  );
}

/**
 * A writer for everything the CLI prints to one stream: secrets removed, and no line a GitHub
 * runner would take for a workflow command (the CLI may run in a workflow step), even when a
 * hostile run directory's name leads a table line.
 */
export function guardedWriter(
  write: (text: string) => void,
  secrets: () => readonly string[],
): (text: string) => void {
  const guard = commandGuard();
  return (text) => write(guard(redactSecrets(text, secrets())));
}
