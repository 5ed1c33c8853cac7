import { readFile, rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PassReportSchema } from "../src/report/schema.ts";
import { MESSAGE_MAX_CHARS } from "../src/util/printable.ts";
import { runAction } from "./support/action.ts";
import { runCliBundle } from "./support/cli-process.ts";
import {
  allEvents,
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  tempDir,
  writeExperiment,
} from "./support/experiment.ts";
import { type FakeUsageApi, startFakeUsageApi } from "./support/fake-usage-api.ts";

/**
 * An API (or a proxy) that answers with a 10 MB error message: every run of the span errs with it.
 * Quoted whole in 64 runs' messages it made a 640 MB report (`RangeError: Invalid string length`
 * from --json and --verbose; the action died with no summary, no outputs, no annotation and the
 * minified bundle on stderr). Every output cuts quoted messages to a few hundred characters.
 */

const KEY = "sk-admin-BOUNDSTEST0123456789";
const HUGE = 10 * 1024 * 1024;
/** A cut message: MESSAGE_MAX_CHARS and the note saying how much was left out. */
const CUT_MAX = MESSAGE_MAX_CHARS + 60;
const FRAMEWORKS = ["baes", "chatdev"];

let root: string;
let temp: string;
let api: FakeUsageApi;
let runs: GeneratedRun[];

beforeAll(async () => {
  root = await tempDir("reconcile-usage-bounds-");
  temp = await tempDir("reconcile-usage-bounds-temp-");
  runs = generateExperiment({
    frameworks: FRAMEWORKS,
    runsPerFramework: 32,
    startAt: Math.floor(Date.now() / 1000) - 40 * 3600,
    seed: 21,
  });
  await writeExperiment(root, runs);
  const body = JSON.stringify({
    error: { message: `quota check failed: ${"x".repeat(HUGE)}`, type: "server_error" },
  });
  api = await startFakeUsageApi({
    adminKey: KEY,
    events: allEvents(runs),
    faults: () => ({ kind: "status", status: 403, body }),
  });
});
afterAll(async () => {
  await api.close();
  await rm(root, { recursive: true, force: true });
  await rm(temp, { recursive: true, force: true });
});

const keyArgs = FRAMEWORKS.flatMap((f) => ["--api-key-id", `${f}=${keyIdFor(f)}`]);

describe("a 10 MB error message from the API", () => {
  it("the CLI (--json and --verbose) prints every run, each message cut", async () => {
    for (const mode of ["--json", "--verbose"]) {
      const r = await runCliBundle(["--api-base-url", api.baseUrl, "--dry-run", mode, ...keyArgs], {
        cwd: root,
        env: { OPENAI_ADMIN_KEY: KEY },
      });
      expect(r.stderr.slice(0, 2000), mode).not.toMatch(/RangeError|unexpected error|\n\s+at /);
      expect(r.code, mode).toBe(1);
      expect(r.stdout.length, mode).toBeLessThan(200_000);
      if (mode === "--json") {
        const report = PassReportSchema.parse(JSON.parse(r.stdout));
        expect(report.runs).toHaveLength(runs.length);
        for (const run of report.runs) {
          expect(run.status).toBe("error");
          // cut where it is quoted, with the hint after the quote still there
          expect(run.message).toMatch(
            /403 Forbidden: quota check failed: x+… \(\d+ characters in all\) \(the admin key needs the api\.usage\.read scope\)$/,
          );
          expect(run.message.length).toBeLessThanOrEqual(CUT_MAX);
        }
      } else {
        for (const run of runs) expect(r.stdout).toContain(run.runId);
      }
    }
  });

  it("the action writes its summary, outputs, annotations and report, every message cut", async () => {
    const result = await runAction({
      workspace: root,
      temp,
      inputs: {
        "admin-key": KEY,
        "api-key-ids": FRAMEWORKS.map((f) => `${f}=${keyIdFor(f)}`).join("\n"),
        "api-base-url": api.baseUrl,
        "dry-run": "true",
      },
    });
    // the step fails on its errored runs, and says so
    expect(result.code).toBe(1);
    expect(result.stderr.slice(0, 2000)).not.toMatch(/RangeError|\n\s+at /);
    expect(result.stderr.length).toBeLessThan(2000);
    expect(result.outputs.errors).toBe(String(runs.length));
    expect(result.summary).toContain("## Usage reconciliation");
    expect(Buffer.byteLength(result.summary)).toBeLessThan(1024 * 1024);
    expect(result.stdout.length).toBeLessThan(500_000);
    const errors = result.annotations.filter((a) => a.level === "error");
    expect(errors[0]!.message).toMatch(/run\(s\) or file\(s\) failed/);
    expect(errors.length).toBeGreaterThan(1);
    for (const a of result.issues) expect(a.message.length).toBeLessThanOrEqual(CUT_MAX);
    const report = PassReportSchema.parse(
      JSON.parse(await readFile(result.outputs["report-path"]!, "utf8")),
    );
    for (const run of report.runs) expect(run.message.length).toBeLessThanOrEqual(CUT_MAX);
  });
});
