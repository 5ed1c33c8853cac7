/**
 * Runs the built CLI bundle the way a user does (`node cli.js …` in its own process), with only
 * the environment given (no proxy or key leaks in from the test runner's), and a watchdog: a
 * process still running after `killAfterMs` is killed and reported as hung, so a hang fails the
 * test instead of stalling the run.
 */
import { spawn } from "node:child_process";
import { CLI_BUNDLE } from "./bundle.ts";

export interface CliProcessResult {
  /** Exit status; null when the process was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Whether the watchdog had to kill it. */
  hung: boolean;
  /** Wall time, ms (for reports; tests do not assert on speed). */
  ms: number;
}

export function runCliProcess(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; killAfterMs?: number; bundle?: string },
): Promise<CliProcessResult> {
  const started = performance.now();
  const child = spawn(process.execPath, [options.bundle ?? CLI_BUNDLE, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "", HOME: options.cwd, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (b: Buffer) => out.push(b));
  child.stderr.on("data", (b: Buffer) => err.push(b));
  let hung = false;
  const watchdog = setTimeout(() => {
    hung = true;
    child.kill("SIGKILL");
  }, options.killAfterMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(watchdog);
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        hung,
        ms: performance.now() - started,
      });
    });
  });
}
