import { execFile } from "node:child_process";

/** What a `git` invocation left behind. `code` is git's exit status (never thrown). */
export interface GitResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface GitRunOptions {
  /** Working directory; for a bare repository, pass `--git-dir` in the arguments instead. */
  cwd: string;
  /** Extra environment on top of process.env and the defaults below. */
  env?: Record<string, string | undefined>;
  /** Written to git's standard input (e.g. for `--pathspec-from-file=-`); otherwise stdin is empty. */
  input?: string;
}

const MAX_OUTPUT = 64 * 1024 * 1024;

/**
 * Runs the `git` binary with the given arguments, without a shell, so no argument is ever
 * interpreted. Output is in English (`LC_ALL=C`: callers read push results), and git never asks
 * for credentials on a terminal (`GIT_TERMINAL_PROMPT=0`): a scheduled job must fail, not hang.
 * Resolves with the exit status even when git fails; rejects only when git cannot be started.
 */
export function git(args: readonly string[], options: GitRunOptions): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "git",
      [...args],
      {
        cwd: options.cwd,
        env: { ...process.env, LC_ALL: "C", GIT_TERMINAL_PROMPT: "0", ...options.env },
        maxBuffer: MAX_OUTPUT,
        encoding: "utf8",
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") {
          // ENOENT (no git binary), output over maxBuffer, killed by a signal… The message names
          // the subcommand only: the arguments may hold a remote URL with a token in it.
          const reason =
            typeof error.code === "string"
              ? error.code
              : error.signal
                ? `killed by ${error.signal}`
                : "failed to start";
          reject(new Error(`git ${subcommand(args)} could not run (${reason})`));
          return;
        }
        resolve({ stdout, stderr, code: error ? (error.code as number) : 0 });
      },
    );
    // git exits before reading all of stdin when it fails early; that EPIPE is not our error.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(options.input ?? "");
  });
}

/** The subcommand among git's global options (`-c name=value`, `-C dir`, `--git-dir=…`). */
function subcommand(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-c" || a === "-C") i++;
    else if (!a.startsWith("-")) return a;
  }
  return "";
}
