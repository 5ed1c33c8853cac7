import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExportSchema } from "../src/export/export.ts";
import { runCli } from "./support/cli.ts";
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
 * `reconcile-usage export`: the numbers a paper quotes. The statistics are recomputed here from
 * the generated truth, independently of the code under test.
 */

const ADMIN_KEY = "sk-admin-export-0001";
const FRAMEWORKS = ["baes", "chatdev"];
let root: string;
let api: FakeUsageApi;
let runs: GeneratedRun[];
let verifiedRuns: GeneratedRun[];
let exportNow: string;

const iso = (t: number) => new Date(Math.floor(t) * 1000).toISOString();
const keys = FRAMEWORKS.flatMap((f) => ["--api-key-id", `${f}=${keyIdFor(f)}`]);

beforeAll(async () => {
  runs = generateExperiment({ frameworks: FRAMEWORKS, runsPerFramework: 4, seed: 21 });
  root = await tempDir();
  await writeExperiment(root, runs);
  // the last run of each framework has no usage yet: it is not verified and must be excluded
  const unverified = new Set(FRAMEWORKS.map((f) => runs.filter((r) => r.framework === f).at(-1)!));
  verifiedRuns = runs.filter((r) => !unverified.has(r));
  api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events: allEvents(verifiedRuns) });
  const lastEnd = Math.max(...runs.map((r) => r.end));
  for (const minutes of [40, 101, 162]) {
    const r = await runCli(
      ["--api-base-url", api.baseUrl, ...keys, "--now", iso(lastEnd + minutes * 60)],
      { cwd: root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
    );
    expect(r.code, r.stderr).toBe(0);
  }
  exportNow = iso(lastEnd + 170 * 60);
});
afterAll(async () => {
  await api.close();
  await rm(root, { recursive: true, force: true });
});

const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sdOf = (xs: number[]) =>
  Math.sqrt(xs.reduce((a, b) => a + (b - meanOf(xs)) ** 2, 0) / (xs.length - 1));
const medianOf = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

describe("reconcile-usage export", () => {
  it("json: one row per run, and per framework statistics over verified runs only, others counted and excluded", async () => {
    const r = await runCli(["export", "--format", "json", "--now", exportNow], { cwd: root });
    expect(r.code, r.stderr).toBe(0);
    const data = ExportSchema.parse(JSON.parse(r.stdout));
    expect(data.runs).toHaveLength(runs.length);
    for (const framework of FRAMEWORKS) {
      const truth = verifiedRuns.filter((v) => v.framework === framework);
      const stats = data.frameworks.find((f) => f.framework === framework)!;
      expect(stats.n).toBe(truth.length);
      const ins = truth.map((t) => t.totals.tokensIn);
      expect(stats.tokens_in.mean).toBeCloseTo(meanOf(ins), 6);
      expect(stats.tokens_in.sd).toBeCloseTo(sdOf(ins), 6);
      expect(stats.tokens_in.median).toBe(medianOf(ins));
      expect(stats.tokens_out.median).toBe(medianOf(truth.map((t) => t.totals.tokensOut)));
      expect(stats.cost_n).toBe(truth.length);
      expect(stats.excluded).toEqual({ data_not_available: 1 });
    }
    const verifiedRows = data.runs.filter((row) => row.status === "verified");
    expect(verifiedRows).toHaveLength(verifiedRuns.length);
    for (const row of verifiedRows) {
      const t = verifiedRuns.find((v) => v.runId === row.run_id)!;
      expect([row.tokens_in, row.tokens_out, row.cached_tokens, row.requests]).toEqual([
        t.totals.tokensIn,
        t.totals.tokensOut,
        t.totals.cachedTokens,
        t.totals.requests,
      ]);
      expect(row.verified_at).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(row.window_start).not.toBeNull();
    }
  });

  it("csv: the runs and the per-framework table, parseable, with the same figures", async () => {
    const r = await runCli(
      ["export", "--format", "csv", "--now", exportNow, "--output", "paper.csv"],
      { cwd: root },
    );
    expect(r.code, r.stderr).toBe(0);
    const runsCsv = (await readFile(join(root, "paper.csv"), "utf8")).trim().split("\n");
    const fwCsv = (await readFile(join(root, "paper.frameworks.csv"), "utf8")).trim().split("\n");
    expect(runsCsv[0]).toBe(
      "framework,run_id,window_start,window_end,status,tokens_in,tokens_out,cached_tokens,requests,cost_usd,stable_checks,verified_at",
    );
    expect(runsCsv).toHaveLength(runs.length + 1);
    const header = fwCsv[0]!.split(",");
    const baes = Object.fromEntries(
      fwCsv
        .find((l) => l.startsWith("baes,"))!
        .split(",")
        .map((v, i) => [header[i]!, v]),
    );
    const truth = verifiedRuns.filter((v) => v.framework === "baes").map((t) => t.totals.tokensIn);
    expect(Number(baes.n)).toBe(truth.length);
    expect(Number(baes.tokens_in_median)).toBe(medianOf(truth));
    expect(Number(baes.excluded_data_not_available)).toBe(1);
  });

  it("md: two tables, the second saying what was excluded", async () => {
    const r = await runCli(["export", "--now", exportNow], { cwd: root });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`## Runs (${runs.length})`);
    expect(r.stdout).toContain("## Verified runs per framework");
    expect(r.stdout).toMatch(/\| baes \| 3 \| [\d,]+ ± [\d,]+ \(median [\d,]+\)/);
    expect(r.stdout).toContain("1 data_not_available");
  });

  it("rejects an unknown format before doing anything", async () => {
    const r = await runCli(["export", "--format", "xlsx"], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--format.*xlsx/);
  });
});
