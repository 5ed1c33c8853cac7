import { rm } from "node:fs/promises";
import { afterEach, expect, it } from "vitest";
import { nodeFiles } from "../src/fs/node.ts";
import { builtinSource } from "../src/pricing/prices.ts";
import { createHttpPageSource } from "../src/providers/openai/http.ts";
import { runPass } from "../src/reconcile/pass.ts";
import { TOOL, VERSION } from "../src/version.ts";
import { allEvents, generateExperiment, tempDir, writeExperiment } from "./support/experiment.ts";
import { startFakeUsageApi } from "./support/fake-usage-api.ts";
import { testSettings } from "./support/settings.ts";

const ADMIN_KEY = "sk-admin-split-0001";
const PAGE = 1440 * 60;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it("a page that keeps failing costs only the runs in its own minutes, not the whole span", async () => {
  // three days of back-to-back runs: one span of three pages
  const runs = generateExperiment({
    frameworks: ["baes"],
    runsPerFramework: 60,
    seed: 13,
    durationSeconds: [1800, 2400],
    gapSeconds: [600, 900],
  });
  const root = await tempDir();
  const runsDir = await writeExperiment(root, runs);
  const spanStart = Math.floor(Math.floor(Math.min(...runs.map((r) => r.start))) / 60) * 60;
  const badPiece = { start: spanStart + PAGE, end: spanStart + 2 * PAGE };
  const api = await startFakeUsageApi({
    events: allEvents(runs),
    adminKey: ADMIN_KEY,
    // the whole span fails at its second page, and so does the second page asked for on its own
    faults: ({ query }) =>
      query.has("page") || Number(query.get("start_time")) === badPiece.start
        ? { kind: "status", status: 500 }
        : undefined,
  });
  const http = createHttpPageSource({
    baseUrl: api.baseUrl,
    adminKey: ADMIN_KEY,
    sleep: async () => {},
    maxAttempts: 2,
  });
  cleanups.push(async () => {
    await http.close();
    await api.close();
    await rm(root, { recursive: true, force: true });
  });
  const now = Math.max(...runs.map((r) => r.end)) + 3600;
  const { report } = await runPass(testSettings(runsDir, ["baes"], { dryRun: true }), {
    files: nodeFiles,
    now,
    prices: [builtinSource()],
    source: http,
    tool: TOOL,
    version: VERSION,
  });

  const touchesBadPiece = (start: number, end: number) =>
    start < badPiece.end && badPiece.start < end;
  let read = 0;
  let failed = 0;
  for (const row of report.runs) {
    const truth = runs.find((r) => r.runId === row.run_id)!;
    const start = Date.parse(row.window!.start) / 1000;
    const end = Date.parse(row.window!.end) / 1000;
    if (touchesBadPiece(start, end)) {
      expect(row.status, row.run_id).toBe("error");
      expect(row.message).toMatch(/500/);
      failed++;
    } else {
      expect(row.status, row.run_id).toBe("pending");
      expect([row.tokens_in, row.tokens_out]).toEqual([
        truth.totals.tokensIn,
        truth.totals.tokensOut,
      ]);
      read++;
    }
  }
  expect(read).toBeGreaterThan(20);
  expect(failed).toBeGreaterThan(10);
});
