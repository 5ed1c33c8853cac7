import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type PassReport, PassReportSchema } from "../src/report/schema.ts";
import { runCliProcess } from "./support/cli-process.ts";
import {
  allEvents,
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  tempDir,
  writeExperiment,
} from "./support/experiment.ts";
import { type Fault, startFakeUsageApi } from "./support/fake-usage-api.ts";

/**
 * The built CLI (`node cli.js`, as a user runs it) against a hostile network (SPEC §11, issue
 * "never hang, crash or leak"): whatever the server does, the pass ends within its deadline with
 * exit status 1, a clear line saying what happened, every file untouched or whole, and no stack,
 * no minified source, no key. The watchdog only turns a hang into a failure.
 */

const ADMIN_KEY = "sk-admin-hostile-cli-7f3a9c1e5b";
const FRAMEWORKS = ["baes", "chatdev"];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function hostilePass(fault: Fault, extra: string[] = []) {
  const runs: GeneratedRun[] = generateExperiment({ frameworks: FRAMEWORKS, runsPerFramework: 2 });
  const root = await tempDir();
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const runsDir = await writeExperiment(root, runs);
  const api = await startFakeUsageApi({
    adminKey: ADMIN_KEY,
    events: allEvents(runs),
    faults: () => fault,
  });
  cleanups.push(() => api.close());
  const before = await Promise.all(runs.map((r) => readFile(join(runsDir, r.path), "utf8")));
  const now = new Date((Math.max(...runs.map((r) => r.end)) + 3 * 3600) * 1000).toISOString();
  const result = await runCliProcess(
    [
      "--api-base-url",
      api.baseUrl,
      ...FRAMEWORKS.flatMap((f) => ["--api-key-id", `${f}=${keyIdFor(f)}`]),
      "--now",
      now,
      ...extra,
    ],
    { cwd: root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY }, killAfterMs: 45_000 },
  );
  const after = await Promise.all(runs.map((r) => readFile(join(runsDir, r.path), "utf8")));
  expect(result.hung, "the CLI had to be killed: it hung").toBe(false);
  for (const text of [result.stdout, result.stderr]) {
    expect(text).not.toContain(ADMIN_KEY);
    expect(text).not.toContain("7f3a9c1e5b");
    expect(text).not.toMatch(/unexpected error|RangeError|Invalid string length|\n\s+at /);
  }
  // nothing was read, so nothing may be written
  expect(after).toEqual(before);
  return { result, api, runs };
}

const jsonReport = (stdout: string): PassReport => PassReportSchema.parse(JSON.parse(stdout));

describe("the built CLI on a hostile network", () => {
  it("a server dripping one byte at a time: the pass ends at its deadline, every run error, exit 1", async () => {
    const { result } = await hostilePass({ kind: "drip", intervalMs: 200 }, [
      "--pass-deadline-minutes",
      "0.05",
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^warning: Usage API: the pass's time for the API ran out \(pass-deadline-minutes\); 4 run\(s\) not read are error for this pass and the next pass reads them again$/m,
    );
    expect(result.stdout).toMatch(/^4 run\(s\): error 4$/m);
  });

  it("the same with --json: one report whose runs say why", async () => {
    const { result } = await hostilePass({ kind: "drip", intervalMs: 200 }, [
      "--pass-deadline-minutes",
      "0.05",
      "--json",
    ]);
    expect(result.code).toBe(1);
    const report = jsonReport(result.stdout);
    expect(report.runs.map((r) => r.status)).toEqual(["error", "error", "error", "error"]);
    for (const r of report.runs)
      expect(r.message).toMatch(
        /^Usage API: (timed out: no complete answer within 1 s|the pass's time for the API \(3 s, pass-deadline-minutes\) ran out)/,
      );
  });

  it("connections reset again and again: retried until the deadline, then every run error", async () => {
    const { result } = await hostilePass({ kind: "reset" }, [
      "--pass-deadline-minutes",
      "0.05",
      "--json",
    ]);
    expect(result.code).toBe(1);
    const report = jsonReport(result.stdout);
    for (const r of report.runs) {
      expect(r.status).toBe("error");
      expect(r.message).toMatch(/^Usage API: (network error|the pass's time for the API)/);
    }
  });

  it("a 600 MB chunked body without Content-Length: read up to the cap once, never again", async () => {
    const { result, api } = await hostilePass({ kind: "huge-body", bytes: 600 * 1024 * 1024 }, [
      "--json",
    ]);
    expect(result.code).toBe(1);
    const report = jsonReport(result.stdout);
    for (const r of report.runs)
      expect(r.message).toBe(
        "Usage API: the response body passed 64 MiB while it was read; stopped (a page is a few MiB at most)",
      );
    // one request per planned span: an oversized body is not asked for again
    expect(api.requests).toHaveLength(report.spans);
    for (const r of api.requests) expect(r.bytesSent!).toBeLessThan(100 * 1024 * 1024);
  });

  for (const mode of ["--json", "--verbose"]) {
    it(`a 10 MB error message (${mode}): cut to one short line in every run's message`, async () => {
      const { result } = await hostilePass({ kind: "huge-error", chars: 10 * 1024 * 1024 }, [mode]);
      expect(result.code).toBe(1);
      expect(result.stdout.length + result.stderr.length).toBeLessThan(20_000);
      const messages =
        mode === "--json"
          ? jsonReport(result.stdout).runs.map((r) => r.message ?? "")
          : result.stdout.split("\n").filter((l) => /Usage API: 400/.test(l));
      // the table says a message many runs share once, under the table (issue 15)
      expect(messages.length).toBeGreaterThanOrEqual(mode === "--json" ? 4 : 1);
      for (const m of messages) {
        expect(m).toMatch(/Usage API: 400: e+… \(10485760 characters in all\)/);
        expect(m.length).toBeLessThan(600);
      }
    });
  }
});

describe("the pass deadline setting", () => {
  for (const bad of ["0", "-1", "ten"]) {
    it(`--pass-deadline-minutes ${bad} stops before any request, exit 2, naming the option`, async () => {
      const root = await tempDir();
      cleanups.push(() => rm(root, { recursive: true, force: true }));
      await writeExperiment(
        root,
        generateExperiment({ frameworks: ["baes"], runsPerFramework: 1 }),
      );
      const api = await startFakeUsageApi({ adminKey: ADMIN_KEY });
      cleanups.push(() => api.close());
      const result = await runCliProcess(
        [
          "--api-base-url",
          api.baseUrl,
          "--api-key-id",
          `baes=${keyIdFor("baes")}`,
          "--pass-deadline-minutes",
          bad,
        ],
        { cwd: root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `reconcile-usage: --pass-deadline-minutes: expected a number > 0, got "${bad}"\n`,
      );
      expect(api.requests).toEqual([]);
    });
  }
});
