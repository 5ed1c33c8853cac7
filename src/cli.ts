#!/usr/bin/env node
import { main } from "./cli/main.ts";
import { cliSecrets } from "./cli/output.ts";
import { debugRequested, describeUnexpected, stackLines } from "./util/failure.ts";
import { neutraliseCommands } from "./util/printable.ts";

/**
 * Last resort: an error that escapes main() (a stream that fails, a promise nobody awaited) still
 * ends in one clear line and exit status 1; never Node's default print of the stack and the
 * source line, which in the bundle is the whole minified program.
 */
let failing = false;
function lastResort(error: unknown): never {
  if (!failing) {
    failing = true;
    try {
      const secrets = cliSecrets(process.env, process.cwd());
      const debug = debugRequested(process.env, process.argv.includes("--debug"));
      const lines = [
        `reconcile-usage: unexpected error: ${describeUnexpected(error, secrets)}${debug ? "" : " (--debug shows where)"}`,
        ...(debug ? stackLines(error, secrets).map((l) => `  ${l}`) : []),
      ];
      process.stderr.write(neutraliseCommands(`${lines.join("\n")}\n`));
    } catch {
      // nothing more can be said
    }
  }
  process.exit(1);
}
process.on("uncaughtException", lastResort);
process.on("unhandledRejection", lastResort);

/**
 * Resolves once the stream's queue is below its mark (a pipe is written asynchronously: without
 * waiting, a 100,000-run report piled up 237 MB of pending writes), or once it closes or fails
 * (stdout's error handler below ends the process on a closed pipe).
 */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  if (!stream.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done).off("close", done).off("error", done);
      resolve();
    };
    stream.on("drain", done).on("close", done).on("error", done);
  });
}

// A closed pipe (`reconcile-usage --list | head`) is not an error worth a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  lastResort(error);
});

try {
  process.exitCode = await main(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    drained: () => drained(process.stdout),
    env: process.env,
    cwd: process.cwd(),
    interactive: Boolean(process.stderr.isTTY),
    columns: process.stdout.isTTY ? process.stdout.columns : undefined,
  });
} catch (error) {
  lastResort(error);
}
