/**
 * Runs the built CLI bundle the way a user does (`node cli.js …` in its own process), with only
 * the environment given (no proxy or key leaks in from the test runner's), and a watchdog: a
 * process still running after `killAfterMs` is killed and reported as hung, so a hang fails the
 * test instead of stalling the run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { CLI_BUNDLE } from "./bundle.ts";

export interface CliExit {
  /** Exit status; null when the process was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Whether the watchdog had to kill it. */
  hung: boolean;
  /** Wall time, ms (for reports; tests do not assert on speed). */
  ms: number;
}
/** The same, under the name the network tests use. */
export type CliProcessResult = CliExit;

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
  /** Kill the process as hung after this long (default 60 s). */
  killAfterMs?: number;
  /** Another bundle to run (default the test bundle's cli.js). */
  bundle?: string;
  /** Options for node itself, before the bundle (e.g. `--import …`). */
  nodeArgs?: readonly string[];
  /** A file descriptor to write standard output to instead of a pipe (e.g. one on /dev/full). */
  stdout?: number;
}

/** Starts the built CLI bundle in its own process. */
export function spawnCli(args: readonly string[], options: SpawnCliOptions): CliProcess {
  const started = performance.now();
  const bundle = options.bundle ?? CLI_BUNDLE;
  const env = { PATH: process.env.PATH ?? "", HOME: options.cwd, ...options.env };
  const node = [...(options.nodeArgs ?? []), bundle, ...args];
  const stdio: ["ignore", "pipe" | number, "pipe"] = ["ignore", options.stdout ?? "pipe", "pipe"];
  const child = options.shellPrefix
    ? spawn(
        "/bin/sh",
        ["-c", `${options.shellPrefix}; exec "$0" "$@"`, process.execPath, ...node],
        {
          cwd: options.cwd,
          env,
          stdio,
        },
      )
    : spawn(process.execPath, node, { cwd: options.cwd, env, stdio });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on("data", (b: Buffer) => out.push(b));
  child.stderr?.on("data", (b: Buffer) => err.push(b));
  let hung = false;
  const watchdog = setTimeout(() => {
    hung = true;
    child.kill("SIGKILL");
  }, options.killAfterMs ?? 60_000);
  const done = new Promise<CliExit>((resolve, reject) => {
    child.on("error", (error) => {
      clearTimeout(watchdog);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(watchdog);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        hung,
        ms: performance.now() - started,
      });
    });
  });
  if (child.pid === undefined) throw new Error("the CLI process did not start");
  return { child, pid: child.pid, done };
}

/** Runs the built CLI bundle to its end (also as `runCliBundle`). */
export const runCliProcess = (
  args: readonly string[],
  options: SpawnCliOptions,
): Promise<CliExit> => spawnCli(args, options).done;
export const runCliBundle = runCliProcess;
