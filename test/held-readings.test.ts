import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { actionsCacheStore, type HeldStore } from "../src/action/held-cache.ts";
import { nodeFiles } from "../src/fs/node.ts";
import { builtinSource } from "../src/pricing/prices.ts";
import { type HeldReadings, heldCount } from "../src/reconcile/held.ts";
import { runPass, writeChanges } from "../src/reconcile/pass.ts";
import type { PassSettings } from "../src/reconcile/settings.ts";
import { MetricsFileSchema } from "../src/runs/schema.ts";
import { createHttpPageSource } from "../src/usage/http.ts";
import { TOOL, VERSION } from "../src/version.ts";
import { allEvents, generateExperiment, tempDir, writeExperiment } from "./support/experiment.ts";
import { startFakeCacheService } from "./support/fake-cache-service.ts";
import { type FakeUsageApi, startFakeUsageApi } from "./support/fake-usage-api.ts";
import { testSettings } from "./support/settings.ts";

/** Held readings kept in memory: the cache layer behind its interface. */
function memoryStore(): HeldStore & { lose(): void } {
  let saved: string | undefined;
  return {
    async restore() {
      return saved ? new Map(Object.entries(JSON.parse(saved))) : undefined;
    },
    async save(held) {
      saved = JSON.stringify(Object.fromEntries(held));
    },
    lose() {
      saved = undefined;
    },
  };
}

describe("commit noise control: identical readings wait outside the files", () => {
  let api: FakeUsageApi;
  let root: string;
  let settings: PassSettings;
  const runs = generateExperiment({
    frameworks: ["baes", "ghspec"],
    runsPerFramework: 2,
    seed: 11,
  });
  const lastEnd = Math.max(...runs.map((r) => r.end));

  beforeEach(async () => {
    api = await startFakeUsageApi({ events: allEvents(runs), adminKey: "sk-admin-held" });
    root = await tempDir();
    const runsDir = await writeExperiment(root, runs);
    settings = testSettings(runsDir, ["baes", "ghspec"]);
  });
  afterEach(async () => {
    await api.close();
    await rm(root, { recursive: true, force: true });
  });

  /** One scheduled pass: restore held readings, reconcile, write, save held readings. */
  async function pass(minutesAfterLastRun: number, store: HeldStore) {
    const http = createHttpPageSource({ baseUrl: api.baseUrl, adminKey: "sk-admin-held" });
    const held = await store.restore();
    const outcome = await runPass(settings, {
      files: nodeFiles,
      now: lastEnd + minutesAfterLastRun * 60,
      prices: [builtinSource()],
      source: http,
      requestCount: () => http.stats.requests,
      tool: TOOL,
      version: VERSION,
      held: held as HeldReadings | undefined,
      holdIdentical: true,
    });
    await http.close();
    expect(await writeChanges(nodeFiles, outcome.changes)).toEqual([]);
    await store.save(outcome.held);
    return outcome;
  }

  const readFileState = async (path: string) =>
    MetricsFileSchema.parse(JSON.parse(await readFile(join(settings.runsDir, path), "utf8")));

  it("commits on the first reading and on verification only, and the verified file lists every reading", async () => {
    const store = memoryStore();
    const first = await pass(40, store);
    expect(first.changes.filter((c) => c.path.endsWith("metrics.json"))).toHaveLength(runs.length);

    const second = await pass(101, store);
    expect(second.report.runs.map((r) => r.status)).toEqual(runs.map(() => "pending"));
    expect(second.report.runs.every((r) => r.stable_checks === 1 && r.read)).toBe(true);
    expect(second.changes).toEqual([]);
    expect(heldCount(second.held)).toBe(runs.length);

    const third = await pass(162, store);
    expect(third.report.runs.map((r) => r.status)).toEqual(runs.map(() => "verified"));
    expect(heldCount(third.held)).toBe(0);
    for (const run of runs) {
      const file = await readFileState(run.path);
      const attempts = file.usage_api_reconciliation?.attempts ?? [];
      expect(attempts).toHaveLength(3);
      expect(new Set(attempts.map((a) => a.total_tokens_in))).toEqual(
        new Set([run.totals.tokensIn]),
      );
      expect(file.verification_status).toBe("verified");
    }
  });

  it("a lost cache only costs another reading: no reading is invented and none is lost from the files", async () => {
    const store = memoryStore();
    await pass(40, store);
    await pass(101, store);
    store.lose();
    const third = await pass(162, store);
    // without the held reading, only one stable pair exists: still pending, held again
    expect(third.report.runs.map((r) => r.status)).toEqual(runs.map(() => "pending"));
    expect(third.changes).toEqual([]);
    const fourth = await pass(223, store);
    expect(fourth.report.runs.map((r) => r.status)).toEqual(runs.map(() => "verified"));
    for (const run of runs) {
      const attempts = (await readFileState(run.path)).usage_api_reconciliation?.attempts ?? [];
      // the first reading, the one held after the loss, and the verifying one
      expect(attempts).toHaveLength(3);
      expect(attempts.every((a) => a.total_tokens_in === run.totals.tokensIn)).toBe(true);
    }
  });

  it("a reading that differs from the file is written at once, with the readings held before it", async () => {
    const store = memoryStore();
    await pass(40, store);
    await pass(101, store);
    const target = runs[0]!;
    // the API revises the run's usage upwards (late data for a minute of its window)
    api.addEvents([{ ...target.events[0]!, inputTokens: 1000, cachedTokens: 0, outputTokens: 10 }]);
    const third = await pass(162, store);
    const row = third.report.runs.find((r) => r.run_id === target.runId)!;
    expect(row.status).toBe("pending");
    expect(row.tokens_in).toBe(target.totals.tokensIn + 1000);
    expect(third.changes.map((c) => c.path)).toContain(join(settings.runsDir, target.path));
    const attempts = (await readFileState(target.path)).usage_api_reconciliation?.attempts ?? [];
    expect(attempts.map((a) => a.total_tokens_in)).toEqual([
      target.totals.tokensIn,
      target.totals.tokensIn,
      target.totals.tokensIn + 1000,
    ]);
  });
});

describe("held readings in the Actions cache (@actions/cache against a local cache service)", () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it("saves and restores the newest entry by prefix, scoped to the runs directory", async () => {
    const service = await startFakeCacheService();
    const temp = await tempDir();
    process.env.ACTIONS_CACHE_URL = service.url;
    process.env.ACTIONS_RUNTIME_TOKEN = "runtime-token";
    process.env.RUNNER_TEMP = temp;
    delete process.env.ACTIONS_CACHE_SERVICE_V2;
    const log: string[] = [];
    const store = actionsCacheStore({
      dir: join(temp, "held"),
      runsDir: "runs",
      log: (l) => log.push(l),
    });
    const other = actionsCacheStore({
      dir: join(temp, "held-other"),
      runsDir: "other-runs",
      log: (l) => log.push(l),
    });
    try {
      expect(await store.restore()).toBeUndefined();
      const reading = {
        timestamp: "2025-11-01T10:00:00.000000+00:00",
        total_tokens_in: 5,
        total_tokens_out: 6,
        total_api_calls: 1,
        total_cached_tokens: 0,
      };
      await store.save(new Map([["baes/run-1", [reading]]]));
      await new Promise((r) => setTimeout(r, 5));
      await store.save(
        new Map([
          ["baes/run-1", [reading, { ...reading, timestamp: "2025-11-01T11:00:00.000000+00:00" }]],
        ]),
      );
      expect(service.keys()).toHaveLength(2);
      await rm(join(temp, "held"), { recursive: true, force: true });
      const restored = await store.restore();
      expect(restored?.get("baes/run-1")?.map((a) => a.timestamp)).toEqual([
        "2025-11-01T10:00:00.000000+00:00",
        "2025-11-01T11:00:00.000000+00:00",
      ]);
      expect(await other.restore()).toBeUndefined();
    } finally {
      await service.close();
      await rm(temp, { recursive: true, force: true });
    }
  });

  it("without a cache service, restoring gives nothing and saving does nothing, without failing", async () => {
    delete process.env.ACTIONS_CACHE_URL;
    delete process.env.ACTIONS_RESULTS_URL;
    const log: string[] = [];
    const temp = await tempDir();
    const store = actionsCacheStore({
      dir: join(temp, "held"),
      runsDir: "runs",
      log: (l) => log.push(l),
    });
    expect(await store.restore()).toBeUndefined();
    await store.save(new Map());
    expect(log.join("\n")).toMatch(/cache not available/i);
    await rm(temp, { recursive: true, force: true });
  });

  it("a cache entry of the wrong shape is ignored, not trusted", async () => {
    const service = await startFakeCacheService();
    const temp = await tempDir();
    Object.assign(process.env, {
      ACTIONS_CACHE_URL: service.url,
      ACTIONS_RUNTIME_TOKEN: "t",
      RUNNER_TEMP: temp,
    });
    const log: string[] = [];
    const store = actionsCacheStore({
      dir: join(temp, "held"),
      runsDir: "runs",
      log: (l) => log.push(l),
    });
    try {
      // a held reading with a negative count does not validate
      await store.save(
        new Map([
          [
            "baes/run-1",
            [
              {
                timestamp: "2025-11-01T10:00:00Z",
                total_tokens_in: -1,
                total_tokens_out: 0,
                total_api_calls: 0,
                total_cached_tokens: 0,
              },
            ],
          ],
        ]),
      );
      await rm(join(temp, "held"), { recursive: true, force: true });
      expect(await store.restore()).toBeUndefined();
      expect(log.join("\n")).toMatch(/not in the expected shape/);
    } finally {
      await service.close();
      await rm(temp, { recursive: true, force: true });
    }
  });
});
