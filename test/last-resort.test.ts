import { closeSync, openSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runAction } from "./support/action.ts";
import { runCliBundle } from "./support/cli-process.ts";
import { generateExperiment, tempDir, writeExperiment } from "./support/experiment.ts";

/**
 * The last-resort handlers of both entry points (built bundles): an error nobody expected, thrown
 * late in the pass or by a promise nobody awaited, still ends in one clear line, never a stack or
 * the minified source (a stack only in debug mode, without secrets); the action still writes its
 * summary, its outputs and exactly one `::error::`, and both exit with status 1.
 */

const KEY = "sk-admin-LASTRESORT0123456789";
/**
 * A fault from outside the program: a promise nobody awaits rejects while the process runs, its
 * message quoting the admin key (as an error from a library might).
 */
const stray = (variable: string) => [
  "--import",
  `data:text/javascript,setTimeout(() => Promise.reject(new Error("stray failure for " + process.env[${JSON.stringify(variable)}])), 0);`,
];
const STACK_LINE = /^\s+at /m;

let root: string;
let temp: string;
beforeEach(async () => {
  root = await tempDir("reconcile-usage-last-resort-");
  temp = await tempDir("reconcile-usage-last-resort-temp-");
  await writeExperiment(root, generateExperiment({ frameworks: ["baes"], runsPerFramework: 2 }));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(temp, { recursive: true, force: true });
});

describe("the action's last-resort handler", () => {
  it("an error late in the pass (the report cannot be written): summary, outputs, one error", async () => {
    await mkdir(join(root, "report-is-a-directory"));
    const result = await runAction({
      workspace: root,
      temp,
      inputs: { "admin-key": KEY, mode: "list", "report-path": "report-is-a-directory" },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(result.stderr.length).toBeLessThan(500);
    const errors = result.issues.filter((a) => a.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/^reconcile-usage stopped on an unexpected error: .*EISDIR/);
    expect(errors[0]!.message).not.toContain("\n");
    // the pass's report was complete: the summary and the outputs still say what it found
    expect(result.summary).toMatch(/The step failed: .*EISDIR/);
    expect(result.summary).toContain("### Status");
    expect(result.outputs.pending).toBe("2");
    expect(result.outputs.errors).toBe("1");
  });

  it("a promise nobody awaited: one line without the key, the stack only in debug mode", async () => {
    for (const debug of [false, true]) {
      const result = await runAction({
        workspace: root,
        temp,
        inputs: { "admin-key": KEY, mode: "list" },
        env: debug ? { RUNNER_DEBUG: "1" } : {},
        nodeArgs: stray("INPUT_ADMIN-KEY"),
      });
      expect(result.code).toBe(1);
      expect(result.stderr).not.toMatch(STACK_LINE);
      const errors = result.issues.filter((a) => a.level === "error");
      expect(errors.map((e) => e.message)).toEqual([
        expect.stringMatching(
          /^reconcile-usage stopped on an unexpected error: stray failure for \*\*\*/,
        ),
      ]);
      const printed = `${result.stdout}\n${result.stderr}\n${result.summary}`
        .split("\n")
        .filter((l) => !l.startsWith("::add-mask::"));
      expect(printed.filter((l) => l.includes(KEY))).toEqual([]);
      expect(result.summary).toContain("The step failed");
      expect(result.outputs.errors).toBe("1");
      const stack = result.commands.filter((c) => c.name === "debug" && /^at /.test(c.data));
      if (debug) expect(stack.length).toBeGreaterThan(0);
      else expect(stack).toEqual([]);
    }
  });
});

describe("the CLI's last-resort handler", () => {
  const oneLine = /^reconcile-usage: unexpected error: [^\n]+\n$/;

  it("an unexpected error in a command: one line, the stack only with --debug", async () => {
    await mkdir(join(root, "out-is-a-directory"));
    const plain = await runCliBundle(["export", "--output", "out-is-a-directory"], { cwd: root });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(oneLine);
    expect(plain.stderr).toMatch(/EISDIR.*\(--debug shows where\)/);
    const debug = await runCliBundle(["export", "--output", "out-is-a-directory", "--debug"], {
      cwd: root,
    });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(STACK_LINE);
  });

  it("standard output on a full disk: one line, exit status 1", async () => {
    const full = openSync("/dev/full", "w");
    try {
      const r = await runCliBundle(["--list"], { cwd: root, stdout: full });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(oneLine);
      expect(r.stderr).toMatch(/ENOSPC/);
    } finally {
      closeSync(full);
    }
  });

  it("a promise nobody awaited: one line, without the key", async () => {
    const r = await runCliBundle(["--list"], {
      cwd: root,
      env: { OPENAI_ADMIN_KEY: KEY },
      nodeArgs: stray("OPENAI_ADMIN_KEY"),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(oneLine);
    expect(r.stderr).toMatch(/stray failure for \*\*\*/);
    expect(r.stderr).not.toContain(KEY);
  });
});
