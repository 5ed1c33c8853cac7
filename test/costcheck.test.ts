import { rm } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { nodeFiles } from "../src/fs/node.ts";
import { builtinSource } from "../src/pricing/prices.ts";
import { createHttpPageSource } from "../src/providers/openai/http.ts";
import { runPass } from "../src/reconcile/pass.ts";
import { PassReportSchema } from "../src/report/schema.ts";
import { TOOL, VERSION } from "../src/version.ts";
import {
  allEvents,
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  tempDir,
  writeExperiment,
} from "./support/experiment.ts";
import {
  type CostsOptions,
  expectedCosts,
  type FakeUsageApiOptions,
  startFakeUsageApi,
  type UsageEvent,
} from "./support/fake-usage-api.ts";
import { testSettings } from "./support/settings.ts";

/**
 * The Costs API cross-check against the fake server's Costs endpoint. The expected amounts come
 * from the fake's own exact arithmetic (expectedCosts), not from the code under test.
 */

const ADMIN_KEY = "sk-admin-costs-0001";
const DAY = 86_400;
const FRAMEWORKS = ["baes", "ghspec"];
/** The same per-1M prices as the built-in table's gpt-4o-mini snapshot. */
const MINI = { input: 0.15, cachedInput: 0.075, output: 0.6 };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setUp(options: {
  daysAgo: number;
  costs: CostsOptions;
  extraEvents?: UsageEvent[];
  server?: FakeUsageApiOptions;
}) {
  const now = Math.floor(Date.UTC(2026, 0, 20, 12) / 1000);
  const runs = generateExperiment({
    frameworks: FRAMEWORKS,
    runsPerFramework: 3,
    startAt: now - options.daysAgo * DAY,
    seed: 4,
    durationSeconds: [300, 900],
    gapSeconds: [300, 900],
  });
  const root = await tempDir();
  const runsDir = await writeExperiment(root, runs);
  const events = [...allEvents(runs), ...(options.extraEvents ?? [])];
  const api = await startFakeUsageApi({
    events,
    adminKey: ADMIN_KEY,
    costs: options.costs,
    ...options.server,
  });
  const http = createHttpPageSource({
    baseUrl: api.baseUrl,
    adminKey: ADMIN_KEY,
    sleep: async () => {},
  });
  cleanups.push(async () => {
    await http.close();
    await api.close();
    await rm(root, { recursive: true, force: true });
  });
  const settings = testSettings(runsDir, FRAMEWORKS, {
    dryRun: true,
    crossCheckCosts: true,
    costTolerancePercent: 1,
  });
  const pass = async () => {
    const before = api.requests.length;
    const outcome = await runPass(settings, {
      files: nodeFiles,
      now,
      prices: [builtinSource()],
      source: http,
      requestCount: () => http.stats.requests,
      tool: TOOL,
      version: VERSION,
    });
    return { report: PassReportSchema.parse(outcome.report), sent: api.requests.length - before };
  };
  return { runs, events, api, pass, now };
}

/** Σ of the fake's exact amounts per (day, key), in USD. */
function truthByDayKey(events: UsageEvent[], costs: CostsOptions): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of expectedCosts(events, costs)) {
    const key = `${new Date(c.day * 1000).toISOString().slice(0, 10)}|${c.apiKeyId}`;
    out.set(key, (out.get(key) ?? 0) + Number(c.amount));
  }
  return out;
}

const daysOf = (runs: GeneratedRun[]) =>
  new Set(
    runs.map((r) => new Date(Math.floor(r.start / DAY) * DAY * 1000).toISOString().slice(0, 10)),
  );

describe("costs cross-check", () => {
  it("matches the Costs API when the prices agree, with both amounts as in the API and full coverage", async () => {
    const costs: CostsOptions = { prices: { "gpt-4o-mini-2024-07-18": MINI } };
    const { report, events, runs } = await setUp({ daysAgo: 5, costs }).then(async (s) => ({
      ...(await s.pass()),
      events: s.events,
      runs: s.runs,
    }));
    const check = report.cost_check!;
    expect(check.tolerance_percent).toBe(1);
    const truth = truthByDayKey(events, costs);
    expect(check.days.length).toBeGreaterThan(0);
    expect(new Set(check.days.map((d) => d.date))).toEqual(daysOf(runs));
    for (const d of check.days) {
      expect(d.theirs_usd).toBeCloseTo(truth.get(`${d.date}|${d.api_key_id}`) ?? 0, 9);
      expect(Math.abs(d.difference_percent!)).toBeLessThan(0.001);
      expect(d.settled).toBe(true);
      expect(d.flagged).toBe(false);
      expect(d.framework).toBe(FRAMEWORKS.find((f) => keyIdFor(f) === d.api_key_id));
    }
    expect(report.warnings.filter((w) => w.startsWith("costs "))).toEqual([]);
  });

  it("flags a settled day whose billed amount differs by more than the tolerance, and says why", async () => {
    const costs: CostsOptions = {
      prices: {
        "gpt-4o-mini-2024-07-18": {
          input: 0.15 * 1.1,
          cachedInput: 0.075 * 1.1,
          output: 0.6 * 1.1,
        },
      },
    };
    const s = await setUp({ daysAgo: 5, costs });
    const { report } = await s.pass();
    const days = report.cost_check!.days;
    expect(days.every((d) => d.flagged)).toBe(true);
    for (const d of days) expect(d.difference_percent!).toBeCloseTo((1 / 1.1 - 1) * 100, 2);
    expect(days[0]!.causes.join(" ")).toMatch(/price table differs/);
    expect(report.warnings.some((w) => /^costs .* Costs API \$.*tolerance 1%/.test(w))).toBe(true);
  });

  it("reports days younger than 48 h as not yet settled, never as mismatches", async () => {
    const costs: CostsOptions = {
      prices: { "gpt-4o-mini-2024-07-18": { input: 1, cachedInput: 1, output: 1 } },
    };
    const s = await setUp({ daysAgo: 0.8, costs });
    const { report } = await s.pass();
    expect(report.cost_check!.days.length).toBeGreaterThan(0);
    for (const d of report.cost_check!.days) {
      expect(d.settled).toBe(false);
      expect(d.flagged).toBe(false);
    }
  });

  it("names unknown line items and usage outside the runs as likely causes; amounts as JSON numbers parse too", async () => {
    const key = keyIdFor("baes");
    const costs: CostsOptions = {
      prices: { "gpt-4o-mini-2024-07-18": MINI },
      amountAs: "number",
      extraLines: [],
    };
    const probe = await setUp({ daysAgo: 5, costs });
    const firstBaes = probe.runs.find((r) => r.framework === "baes")!;
    // the key used outside the experiment, two hours after its first run, and a web search line
    const stray: UsageEvent = {
      apiKeyId: key,
      model: "gpt-4o-mini-2024-07-18",
      completedAt: Math.floor(firstBaes.end) + 2 * 3600,
      inputTokens: 5_000_000,
      outputTokens: 100_000,
    };
    costs.extraLines = [
      {
        apiKeyId: key,
        at: Math.floor(firstBaes.end),
        lineItem: "web search tool calls",
        amount: "0.25",
      },
    ];
    const s = await setUp({ daysAgo: 5, costs, extraEvents: [stray] });
    const { report } = await s.pass();
    const day = report.cost_check!.days.find(
      (d) =>
        d.api_key_id === key &&
        d.date ===
          new Date(Math.floor(firstBaes.start / DAY) * DAY * 1000).toISOString().slice(0, 10),
    )!;
    expect(day.coverage!).toBeLessThan(0.9);
    expect(day.flagged).toBe(true);
    expect(day.causes.join("; ")).toMatch(/web search tool calls/);
    expect(day.causes.join("; ")).toMatch(/usage outside the runs/);
  });

  it("costs few requests: one day-bucket usage query and one costs query per stretch of days", async () => {
    const costs: CostsOptions = { prices: { "gpt-4o-mini-2024-07-18": MINI } };
    const s = await setUp({ daysAgo: 5, costs });
    const { report, sent } = await s.pass();
    const costsRequests = s.api.requests.filter((r) => r.path.endsWith("/organization/costs"));
    expect(costsRequests).toHaveLength(1);
    const dayRequests = s.api.requests.filter(
      (r) => r.query.get("bucket_width") === "1d" && r.path.endsWith("/completions"),
    );
    expect(dayRequests).toHaveLength(1);
    expect(report.requests).toBe(sent);
  });

  it("sees a late restatement on the next pass: the day's billed amount changes and is flagged", async () => {
    const passNow = Math.floor(Date.UTC(2026, 0, 20, 12) / 1000);
    const day = Math.floor((passNow - 5 * DAY) / DAY) * DAY;
    // the server's clock: the restatement lands between the two passes
    let serverNow = passNow;
    const costs: CostsOptions = {
      prices: { "gpt-4o-mini-2024-07-18": MINI },
      restatements: [{ apiKeyId: keyIdFor("baes"), day, at: passNow + 1_000, factor: 1.05 }],
    };
    const s = await setUp({ daysAgo: 5, costs, server: { now: () => serverNow } });
    const before = await s.pass();
    serverNow = passNow + 2_000;
    const after = await s.pass();
    const date = new Date(day * 1000).toISOString().slice(0, 10);
    const row = (r: typeof before) =>
      r.report.cost_check!.days.find((d) => d.api_key_id === keyIdFor("baes") && d.date === date)!;
    expect(row(before).flagged).toBe(false);
    expect(row(before).theirs_usd!).toBeGreaterThan(0);
    expect(row(after).theirs_usd!).toBeCloseTo(row(before).theirs_usd! * 1.05, 9);
    expect(row(after).flagged).toBe(true);
    expect(row(after).difference_percent!).toBeCloseTo((1 / 1.05 - 1) * 100, 2);
  });

  it("a failing Costs API is a warning of the pass, not an error (no run errored: exit 0, issue 15), and writes nothing", async () => {
    const costs: CostsOptions = { prices: { "gpt-4o-mini-2024-07-18": MINI } };
    const s = await setUp({ daysAgo: 5, costs });
    s.api.setFaults((ctx) =>
      ctx.path.endsWith("/organization/costs") ? { kind: "unauthorized" } : undefined,
    );
    const { report } = await s.pass();
    expect(report.cost_check).toBeNull();
    expect(report.errors).toBe(0);
    expect(report.warnings.join("\n")).toMatch(/cross-check-costs failed \(.*\): 401/);
    expect(report.runs.every((r) => r.status !== "error")).toBe(true);
  });
});
