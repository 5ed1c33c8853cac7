import { type ChildProcess, spawn } from "node:child_process";
import { CLI_BUNDLE } from "./bundle.ts";

export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  pid: number;
  /** Resolves when the process has exited and its output is closed. */
  done: Promise<CliExit>;
}

export interface SpawnCliOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  /** A shell line run before the CLI, e.g. `ulimit -f 64` (the CLI is exec'd by /bin/sh). */
  shellPrefix?: string;
}

/** Runs the built CLI bundle as a user does (`node cli.js …`), in its own process. */
export function spawnCli(args: readonly string[], options: SpawnCliOptions): CliProcess {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env };
  const child = options.shellPrefix
    ? spawn(
        "/bin/sh",
        ["-c", `${options.shellPrefix}; exec "$0" "$@"`, process.execPath, CLI_BUNDLE, ...args],
        { cwd: options.cwd, env, stdio: ["ignore", "pipe", "pipe"] },
      )
    : spawn(process.execPath, [CLI_BUNDLE, ...args], {
        cwd: options.cwd,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (t: string) => {
    stdout += t;
  });
  child.stderr?.setEncoding("utf8").on("data", (t: string) => {
    stderr += t;
  });
  const done = new Promise<CliExit>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  if (child.pid === undefined) throw new Error("the CLI process did not start");
  return { child, pid: child.pid, done };
}

/** Runs the built CLI bundle to its end. */
export const runCliProcess = (
  args: readonly string[],
  options: SpawnCliOptions,
): Promise<CliExit> => spawnCli(args, options).done;
