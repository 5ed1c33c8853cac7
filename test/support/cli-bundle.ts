import { spawn } from "node:child_process";
import { CLI_BUNDLE } from "./bundle.ts";

export interface CliBundleResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI the way a user does, `node cli.js …` (of the bundle built from today's src/),
 * in its own process: what it prints, byte for byte, and its exit status. `stdout` may be a file
 * descriptor to write to instead of a pipe (e.g. one opened on /dev/full).
 */
export function runCliBundle(
  args: readonly string[],
  options: {
    cwd: string;
    env?: Record<string, string>;
    nodeArgs?: readonly string[];
    stdout?: number;
  },
): Promise<CliBundleResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI_BUNDLE, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? "", HOME: options.cwd, ...options.env },
      stdio: ["ignore", options.stdout ?? "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (b: Buffer) => out.push(b));
    child.stderr?.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
  });
}
