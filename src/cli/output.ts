import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseEnv } from "node:util";
import { UserError } from "../errors.ts";
import type { PassOutcome } from "../reconcile/pass.ts";
import { reportJsonPieces } from "../report/bounded.ts";
import { int } from "../report/format.ts";
import type { PassReport } from "../report/schema.ts";
import { runTable, summaryLines } from "../report/table.ts";
import { describeUnexpected, stackLines } from "../util/failure.ts";
import { commandGuard, oneLine } from "../util/printable.ts";
import { redact, redactSecrets } from "../util/redact.ts";

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /**
   * Resolves once stdout has passed on what it holds (at once when it holds little). A long
   * report is printed piece by piece, each after the last has gone: a reader slower than the pass
   * (a pipe) then never makes the CLI hold the whole text in its write queue.
   */
  drained?: () => Promise<void>;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Whether stderr is a terminal: progress is shown only there. */
  interactive: boolean;
  /** The terminal's width when stdout is one (COLUMNS, when set, wins). */
  columns?: number;
}

/**
 * The width tables are fitted to: COLUMNS when set to a number, else the terminal's; unlimited
 * (one line per run) when stdout is a pipe or a file, so logs and grep see whole messages.
 */
export function outputWidth(io: Pick<CliIo, "env" | "columns">): number {
  const fromEnv = Number(io.env.COLUMNS);
  if (io.env.COLUMNS?.trim() && Number.isInteger(fromEnv) && fromEnv > 0)
    return Math.max(fromEnv, 40);
  return io.columns && io.columns > 0 ? Math.max(io.columns, 40) : Number.POSITIVE_INFINITY;
}

/** Variables that may hold a secret the CLI must never print (the admin key, a token). */
const SECRET_VARIABLES = [
  "OPENAI_ADMIN_KEY",
  "OPENAI_API_KEY_USAGE_TRACKING",
  "ANTHROPIC_ADMIN_KEY",
  "GITHUB_TOKEN",
  "GH_TOKEN",
] as const;

/** The variables of `.env` in the working directory; none when it cannot be read. */
function dotEnv(cwd: string): Record<string, string | undefined> {
  try {
    return parseEnv(readFileSync(resolve(cwd, ".env"), "utf8"));
  } catch {
    return {};
  }
}

/** The environment with `.env`'s variables under it: real variables win. */
export const withDotEnv = (cwd: string, env: Record<string, string | undefined>) => ({
  ...dotEnv(cwd),
  ...env,
});

/** The secrets the CLI could know: from the environment and from `.env` in the working directory. */
export function cliSecrets(env: Record<string, string | undefined>, cwd: string): string[] {
  const fromFile = dotEnv(cwd);
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

/**
 * The streams of `io`, both guarded. `secrets` is read at every write: secrets the caller learns
 * later (a key given as an option) are added to it.
 */
export const guardedIo = (io: CliIo, secrets: readonly string[]): CliIo => ({
  ...io,
  stdout: guardedWriter(io.stdout, () => secrets),
  stderr: guardedWriter(io.stderr, () => secrets),
});

/**
 * A pass's result on standard output: its JSON report, or the tables (and every reading). `io` is
 * guardedIo's, knowing every secret of the pass: it removes them and neutralises commands in
 * whatever is printed, the report's pieces included.
 */
export async function printPass(
  io: CliIo,
  report: PassReport,
  outcome: PassOutcome,
  o: { json: boolean; verbose: boolean },
): Promise<void> {
  if (o.json) {
    for (const piece of reportJsonPieces(report)) {
      io.stdout(piece);
      await io.drained?.();
    }
    return;
  }
  const width = outputWidth(io);
  io.stdout(
    `${runTable(report.runs, o.verbose, width)}\n\n${summaryLines(report, width).join("\n")}\n`,
  );
  if (o.verbose) io.stdout(verboseReadings(outcome));
}

function verboseReadings(outcome: PassOutcome): string {
  const lines: string[] = [];
  for (const r of outcome.report.runs) {
    if (!r.window) continue;
    lines.push(
      `\n${oneLine(r.framework, 200)}/${oneLine(r.run_id, 200)}  window ${r.window.start} – ${r.window.end}`,
    );
    const id = `${r.framework}/${r.run_id}`;
    const fresh = outcome.collected?.readings.get(id);
    const readings = outcome.readings.get(id) ?? [];
    if (readings.length === 0) lines.push("  no readings");
    for (const a of readings) {
      lines.push(
        `  ${a === fresh ? "new " : "    "}${a.timestamp}  ${int(a.total_tokens_in)} in, ${int(a.total_tokens_out)} out, ${a.total_api_calls === null ? "no request count" : `${int(a.total_api_calls)} requests`}, ${int(a.total_cached_tokens)} cached${a.models ? `  [${a.models.map((m) => oneLine(m.model, 200)).join(", ")}]` : ""}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

/**
 * A pass that stopped, on standard error, and its exit status: a user error as its message (exit
 * 2, or 3 for a held lock), anything else as one line of unexpected error (exit 1), where it
 * happened only on request (never the minified source).
 */
export function reportFailure(
  io: CliIo,
  error: unknown,
  o: { secrets: readonly (string | undefined)[]; debug: boolean },
): number {
  if (error instanceof UserError) {
    const message = redact(error.message.replaceAll(`${io.cwd}/`, ""), o.secrets);
    io.stderr(`reconcile-usage: ${oneLine(message, 1000)}\n`);
    return error.exitCode;
  }
  io.stderr(
    `reconcile-usage: unexpected error: ${describeUnexpected(error, o.secrets)}${o.debug ? "" : " (--debug shows where)"}\n`,
  );
  if (o.debug) for (const line of stackLines(error, o.secrets)) io.stderr(`  ${line}\n`);
  return 1;
}
