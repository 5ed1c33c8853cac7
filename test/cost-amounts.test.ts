import { rm } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { nodeFiles } from "../src/fs/node.ts";
import { builtinSource } from "../src/pricing/prices.ts";
import { createHttpPageSource } from "../src/providers/openai/http.ts";
import { runPass } from "../src/reconcile/pass.ts";
import { PassReportSchema } from "../src/report/schema.ts";
import { renderSummary } from "../src/report/summary.ts";
import { summaryLines } from "../src/report/table.ts";
import { parseAmount, picoToUsd } from "../src/util/decimal.ts";
import { TOOL, VERSION } from "../src/version.ts";
import {
  allEvents,
  generateExperiment,
  keyIdFor,
  tempDir,
  writeExperiment,
} from "./support/experiment.ts";
import { startFakeUsageApi } from "./support/fake-usage-api.ts";
import { testSettings } from "./support/settings.ts";

/**
 * SPEC §11: amounts from the Costs API must be finite and plain, and parsing one costs time in
 * proportion to its length; a bad amount is an error of that day's check, never "ok".
 */

describe("parseAmount", () => {
  const good: Array<[number | string, bigint]> = [
    ["0.25", 250_000_000_000n],
    ["0.000000150000", 150_000n],
    [1.5e-7, 150_000n],
    ["-0.25", -250_000_000_000n],
    [" 12 ", 12_000_000_000_000n],
    ["1e2", 100_000_000_000_000n],
    ["0.0000000000005", 1n],
    ["0.0000000000004", 0n],
    ["999999999999.999999999999", 999_999_999_999_999_999_999_999n],
  ];
  for (const [value, pico] of good) {
    it(`reads ${JSON.stringify(value)} exactly`, () => {
      expect(parseAmount(value)).toEqual({ pico });
    });
  }

  const bad: Array<[number | string, RegExp]> = [
    ["1e400", /amount "1e400" is out of range/],
    ["1e-100000000", /amount "1e-100000000" is not a plain decimal number/],
    ["1e99", /amount "1e99" is out of range/],
    ["1000000000000", /out of range \(a trillion USD or more\)/],
    [Number.POSITIVE_INFINITY, /amount "Infinity" is not a finite number/],
    [Number.NaN, /not a finite number/],
    ["Infinity", /not a plain decimal number/],
    ["0x10", /not a plain decimal number/],
    ["1_000", /not a plain decimal number/],
    ["", /not a plain decimal number/],
    [".", /not a plain decimal number/],
    [`0.${"1".repeat(10_000_000)}`, /amount of 10000002 characters is not a plain decimal number/],
  ];
  for (const [value, problem] of bad) {
    const shown = typeof value === "string" && value.length > 30 ? "a 10 MB string" : String(value);
    it(`refuses ${JSON.stringify(shown)} and says why`, () => {
      const parsed = parseAmount(value);
      expect(parsed).toEqual({ problem: expect.stringMatching(problem) });
      expect(("problem" in parsed ? parsed.problem : "").length).toBeLessThan(120);
    });
  }

  it("every accepted amount converts to a finite number of USD", () => {
    const parsed = parseAmount("999999999999.9999");
    expect("pico" in parsed && Number.isFinite(picoToUsd(parsed.pico))).toBe(true);
  });
});

const ADMIN_KEY = "sk-admin-amounts-0001";
const DAY = 86_400;
const MINI = { input: 0.15, cachedInput: 0.075, output: 0.6 };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A cross-checking pass whose Costs API sends `value` as the amount of every baes line. */
async function passWithBaesAmount(value: string) {
  const now = Math.floor(Date.UTC(2026, 0, 20, 12) / 1000);
  const runs = generateExperiment({
    frameworks: ["baes", "ghspec"],
    runsPerFramework: 3,
    startAt: now - 5 * DAY,
    seed: 4,
    durationSeconds: [300, 900],
    gapSeconds: [300, 900],
  });
  const root = await tempDir();
  const runsDir = await writeExperiment(root, runs);
  const baes = keyIdFor("baes");
  const api = await startFakeUsageApi({
    adminKey: ADMIN_KEY,
    events: allEvents(runs),
    costs: { prices: { "gpt-4o-mini-2024-07-18": MINI } },
    faults: ({ path }) =>
      path.endsWith("/organization/costs")
        ? {
            kind: "rewrite",
            rewrite: (page) => ({
              ...page,
              data: page.data.map((b) => ({
                ...b,
                results: b.results.map((r) =>
                  r.api_key_id === baes && "amount" in r
                    ? { ...r, amount: { ...r.amount, value } }
                    : r,
                ),
              })),
            }),
          }
        : undefined,
  });
  const http = createHttpPageSource({ baseUrl: api.baseUrl, adminKey: ADMIN_KEY });
  cleanups.push(async () => {
    await http.close();
    await api.close();
    await rm(root, { recursive: true, force: true });
  });
  const settings = testSettings(runsDir, ["baes", "ghspec"], {
    dryRun: true,
    crossCheckCosts: true,
    costTolerancePercent: 1,
  });
  const outcome = await runPass(settings, {
    files: nodeFiles,
    now,
    prices: [builtinSource()],
    source: http,
    tool: TOOL,
    version: VERSION,
  });
  return PassReportSchema.parse(outcome.report);
}

describe("a bad amount is an error of that day's check", () => {
  for (const [value, problem] of [
    ["1e400", /amount "1e400" is out of range/],
    ["1e-100000000", /amount "1e-100000000" is not a plain decimal number/],
    ["12345678901234567890", /is out of range/],
  ] as const) {
    it(`"${value}": the baes day is an error, shown as such; ghspec's day is checked as usual`, async () => {
      const report = await passWithBaesAmount(value);
      const days = report.cost_check!.days;
      const baes = days.filter((d) => d.framework === "baes");
      const ghspec = days.filter((d) => d.framework === "ghspec");
      expect(baes.length).toBeGreaterThan(0);
      for (const d of baes) {
        expect(d.error).toMatch(problem);
        expect(d.error).toMatch(/^the Costs API's line ".*": .*; the day is not checked$/);
        expect(d.theirs_usd).toBeNull();
        expect(d.difference_percent).toBeNull();
        expect(d.flagged).toBe(false);
      }
      for (const d of ghspec) {
        expect(d.error).toBeNull();
        expect(d.flagged).toBe(false);
        expect(d.theirs_usd!).toBeGreaterThan(0);
      }
      // a day that cannot be checked is a warning; no run errored (issue 15)
      expect(report.errors).toBe(0);
      expect(
        report.warnings.filter((w) => /^costs \S+ baes: the Costs API's line/.test(w)),
      ).toHaveLength(baes.length);

      const text = summaryLines(report).join("\n");
      expect(text).not.toMatch(/Infinity|NaN/);
      const baesLines = text.split("\n").filter((l) => /^\d{4}-\d{2}-\d{2}\s+baes\s/.test(l));
      expect(baesLines.length).toBe(baes.length);
      for (const l of baesLines) expect(l).toMatch(/ERROR$/);
      const summary = renderSummary(report);
      expect(summary).toMatch(/\*\*error\*\*: the Costs API's line/);
      expect(summary).not.toMatch(/Infinity|NaN/);
    });
  }
});
