import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { actionsCacheStore } from "../src/action/held-cache.ts";
import { workspaceDelivery } from "../src/delivery/deliveries.ts";
import { nodeFiles } from "../src/fs/node.ts";
import { builtinSource } from "../src/pricing/prices.ts";
import { createHttpPageSource } from "../src/providers/openai/http.ts";
import { type HeldStore, heldCount } from "../src/reconcile/held.ts";
import { runPass } from "../src/reconcile/pass.ts";
import { reconcile } from "../src/reconcile/pipeline.ts";
import type { PassSettings } from "../src/reconcile/settings.ts";
import { MetricsFileSchema } from "../src/runs/schema.ts";
import { TOOL, VERSION } from "../src/version.ts";
import { runAction } from "./support/action.ts";
import { runCli } from "./support/cli.ts";
import {
  allEvents,
  generateExperiment,
  keyIdFor,
  tempDir,
  writeExperiment,
} from "./support/experiment.ts";
import { type FakeCacheService, startFakeCacheService } from "./support/fake-cache-service.ts";
import { type FakeUsageApi, startFakeUsageApi } from "./support/fake-usage-api.ts";
import {
  type GitSandbox,
  isolateGitConfig,
  makeSandbox,
  remoteFile,
  remoteHead,
  sh,
} from "./support/git.ts";
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
    try {
      const outcome = await reconcile(settings, {
        files: nodeFiles,
        now: lastEnd + minutesAfterLastRun * 60,
        source: http,
        requestCount: () => http.stats.requests,
        tool: TOOL,
        version: VERSION,
        delivery: workspaceDelivery({ runsDir: settings.runsDir, tool: TOOL }),
        heldStore: store,
      });
      // every change was written
      expect(outcome.report.runs.filter((r) => r.message.startsWith("not written"))).toEqual([]);
      return outcome;
    } finally {
      await http.close();
    }
  }

  const readFileState = async (path: string) =>
    MetricsFileSchema.parse(JSON.parse(await readFile(join(settings.runsDir, path), "utf8")));

  it("commits on the first reading and on verification only, and the verified file lists every reading", async () => {
    const store = memoryStore();
    const first = await pass(40, store);
    // the workspace writer takes the changes as they are made: the report names every file written
    expect(first.changes).toEqual([]);
    expect(first.report.changed_files.filter((p) => p.endsWith("metrics.json"))).toHaveLength(
      runs.length,
    );

    const second = await pass(101, store);
    expect(second.report.runs.map((r) => r.status)).toEqual(runs.map(() => "pending"));
    expect(second.report.runs.every((r) => r.stable_checks === 1 && r.read)).toBe(true);
    expect(second.report.changed_files).toEqual([]);
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
    expect(third.report.changed_files).toEqual([]);
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
    expect(third.report.changed_files).toContain(join(settings.runsDir, target.path));
    const attempts = (await readFileState(target.path)).usage_api_reconciliation?.attempts ?? [];
    expect(attempts.map((a) => a.total_tokens_in)).toEqual([
      target.totals.tokensIn,
      target.totals.tokensIn,
      target.totals.tokensIn + 1000,
    ]);
  });
});

/** Points @actions/cache in this process at `service`, and at nothing of the other protocol. */
function useCacheService(service: FakeCacheService, temp: string) {
  for (const name of [
    "ACTIONS_CACHE_URL",
    "ACTIONS_RESULTS_URL",
    "ACTIONS_CACHE_SERVICE_V2",
    "ACTIONS_RUNTIME_TOKEN",
  ])
    delete process.env[name];
  Object.assign(process.env, service.env, {
    RUNNER_TEMP: temp,
    GITHUB_SERVER_URL: "https://github.com",
  });
}

/** The protocol the requests show @actions/cache really spoke. */
function spoken(service: FakeCacheService) {
  const paths = service.requests.map((r) => r.path);
  return {
    twirp: paths.filter((p) => p.startsWith("/twirp/")).map((p) => p.split("/").at(-1)),
    v1: paths.filter((p) => p.startsWith("/_apis/")).length,
    blobPuts: service.requests.filter(
      (r) => r.method === "PUT" && r.path.includes("/actions-cache/"),
    ),
  };
}

for (const protocol of ["v2", "v1"] as const) {
  describe(`held readings in the Actions cache (@actions/cache against a local cache service, ${protocol === "v2" ? "v2: Twirp and a blob store, as on GitHub.com" : "v1: the retired REST protocol"})`, () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    it("saves and restores the newest entry by prefix, scoped to the runs directory", async () => {
      const service = await startFakeCacheService({ protocol });
      const temp = await tempDir();
      useCacheService(service, temp);
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
            [
              "baes/run-1",
              [reading, { ...reading, timestamp: "2025-11-01T11:00:00.000000+00:00" }],
            ],
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
        const talk = spoken(service);
        if (protocol === "v2") {
          expect(talk.v1).toBe(0);
          expect(talk.twirp).toEqual(
            expect.arrayContaining([
              "GetCacheEntryDownloadURL",
              "CreateCacheEntry",
              "FinalizeCacheEntryUpload",
            ]),
          );
          // one Put Blob per save, as the Azure SDK sends archives under 128 MiB
          expect(talk.blobPuts.map((r) => [r.query.includes("comp="), r.blobType])).toEqual([
            [false, "BlockBlob"],
            [false, "BlockBlob"],
          ]);
        } else {
          expect(talk.twirp).toEqual([]);
          expect(talk.v1).toBeGreaterThan(0);
        }
      } finally {
        await service.close();
        await rm(temp, { recursive: true, force: true });
      }
    });

    it("a cache entry of the wrong shape is ignored, not trusted", async () => {
      const service = await startFakeCacheService({ protocol });
      const temp = await tempDir();
      useCacheService(service, temp);
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
        expect(service.keys()).toHaveLength(1);
        await rm(join(temp, "held"), { recursive: true, force: true });
        expect(await store.restore()).toBeUndefined();
        expect(log.join("\n")).toMatch(/not in the expected shape/);
      } finally {
        await service.close();
        await rm(temp, { recursive: true, force: true });
      }
    });
  });
}

describe("held readings without a cache service", () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it("restoring gives nothing and saving does nothing, without failing", async () => {
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
});

/**
 * The feature as a user gets it: the action bundle run as the runner runs it (each job on a fresh
 * runner: RUNNER_TEMP at the same path, emptied, as on GitHub-hosted runners; @actions/cache
 * versions an entry by the paths it holds), with a git remote, the fake Usage API and the cache
 * service in the environment the runner sets up. The action reads the clock, and readings count only an
 * interval apart, so one test has the action hold readings and reads them back through the cache
 * store, and the other has the store hold readings an hour old that the action must restore to
 * verify: a restore that failed would leave the runs one stable pair short, still pending.
 */
for (const protocol of ["v2", "v1"] as const) {
  describe(`held readings end to end: the action bundle with cache service ${protocol}`, () => {
    const ADMIN_KEY = "sk-admin-HELDE2E0123456789";
    const FRAMEWORKS = ["baes", "chatdev"];
    const now = Math.floor(Date.now() / 1000);
    const saved = { ...process.env };
    let restoreGit: () => void;
    let sandbox: GitSandbox;
    let api: FakeUsageApi;
    let service: FakeCacheService;
    let temp: string;
    const runs = generateExperiment({
      frameworks: FRAMEWORKS,
      runsPerFramework: 2,
      startAt: now - 8 * 3600,
      seed: 5,
      durationSeconds: [300, 900],
      gapSeconds: [120, 300],
    });

    beforeAll(() => {
      restoreGit = isolateGitConfig();
    });
    afterAll(() => restoreGit());
    beforeEach(async () => {
      sandbox = await makeSandbox();
      temp = await tempDir();
      api = await startFakeUsageApi({ events: allEvents(runs), adminKey: ADMIN_KEY });
      service = await startFakeCacheService({ protocol });
    });
    afterEach(async () => {
      process.env = { ...saved };
      await api.close();
      await service.close();
      await sandbox.cleanup();
      await rm(temp, { recursive: true, force: true });
    });

    /** The experiment on the remote, with one reading `minutesAgo` committed in every file. */
    async function commitExperiment(minutesAgo: number) {
      await writeExperiment(sandbox.clone, runs);
      const cli = await runCli(
        [
          "--api-base-url",
          api.baseUrl,
          ...FRAMEWORKS.flatMap((f) => ["--api-key-id", `${f}=${keyIdFor(f)}`]),
          "--now",
          new Date((now - minutesAgo * 60) * 1000).toISOString(),
        ],
        { cwd: sandbox.clone, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
      );
      expect(cli.code, cli.stderr).toBe(0);
      await sh(sandbox.clone, ["add", "--all"]);
      await sh(sandbox.clone, ["commit", "--quiet", "-m", "experiment runs"]);
      await sh(sandbox.clone, ["push", "--quiet", "origin", "HEAD:refs/heads/main"]);
    }

    /** RUNNER_TEMP of a fresh runner: the same path every job, nothing left in it. */
    async function freshRunner(): Promise<string> {
      const runner = join(temp, "runner-temp");
      await rm(runner, { recursive: true, force: true });
      await mkdir(runner);
      return runner;
    }

    /** The store the action uses for runs/, in this process, on a fresh runner. */
    async function store() {
      const runner = await freshRunner();
      useCacheService(service, runner);
      // archives hold paths relative to the workspace, as the action's do
      process.env.GITHUB_WORKSPACE = sandbox.clone;
      return actionsCacheStore({
        dir: join(runner, "reconcile-usage-held"),
        runsDir: "runs",
        log: () => {},
      });
    }

    async function actionPass() {
      const runner = await freshRunner();
      return runAction({
        workspace: sandbox.clone,
        temp: runner,
        inputs: {
          "admin-key": ADMIN_KEY,
          "api-key-ids": FRAMEWORKS.map((f) => `${f}=${keyIdFor(f)}`).join("\n"),
          "api-base-url": api.baseUrl,
          "hold-identical-readings": "true",
        },
        env: service.env,
      });
    }

    function expectProtocolSpoken() {
      const talk = spoken(service);
      if (protocol === "v2") {
        expect(talk.v1).toBe(0);
        expect(talk.twirp.length).toBeGreaterThan(0);
        expect(talk.blobPuts.every((r) => r.blobType === "BlockBlob")).toBe(true);
      } else {
        expect(talk.twirp).toEqual([]);
        expect(talk.v1).toBeGreaterThan(0);
      }
    }

    it("holds an identical reading in the cache instead of committing it, where the next runner finds it", async () => {
      await commitExperiment(65);
      const before = await remoteHead(sandbox.bare);
      const result = await actionPass();
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.outputs.pending).toBe(String(runs.length));
      expect(result.outputs["commit-sha"]).toBe("");
      expect(await remoteHead(sandbox.bare)).toBe(before);
      expect(result.stdout).not.toMatch(/::(warning|error)::/);
      expect(service.keys()).toHaveLength(1);

      const held = await (await store()).restore();
      expect(held).toBeDefined();
      expect([...held!.keys()].sort()).toEqual(runs.map((r) => `${r.framework}/${r.runId}`).sort());
      for (const run of runs) {
        const [reading] = held!.get(`${run.framework}/${run.runId}`)!;
        expect(reading!.total_tokens_in).toBe(run.totals.tokensIn);
        expect(Date.parse(reading!.timestamp) / 1000).toBeGreaterThan(now - 60);
      }
      expectProtocolSpoken();
    });

    it("restores readings held an hour ago and commits the verified files with every reading", async () => {
      await commitExperiment(125);
      // a pass an hour ago, on another runner, held its identical readings in the cache
      const http = createHttpPageSource({ baseUrl: api.baseUrl, adminKey: ADMIN_KEY });
      const earlier = await runPass(testSettings(join(sandbox.clone, "runs"), FRAMEWORKS), {
        files: nodeFiles,
        now: now - 62 * 60,
        prices: [builtinSource()],
        source: http,
        requestCount: () => http.stats.requests,
        tool: TOOL,
        version: VERSION,
        held: undefined,
        holdIdentical: true,
      });
      await http.close();
      expect(earlier.changes).toEqual([]);
      expect(heldCount(earlier.held)).toBe(runs.length);
      await (await store()).save(earlier.held);
      expect(service.keys()).toHaveLength(1);
      process.env = { ...saved };

      const result = await actionPass();
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.outputs.verified).toBe(String(runs.length));
      expect(result.outputs["commit-sha"]).toBe(await remoteHead(sandbox.bare));
      for (const run of runs) {
        const file = MetricsFileSchema.parse(
          JSON.parse((await remoteFile(sandbox.bare, `runs/${run.path}`))!),
        );
        expect(file.verification_status).toBe("verified");
        const attempts = file.usage_api_reconciliation?.attempts ?? [];
        // the committed reading, the one the cache held, and the verifying one
        expect(attempts).toHaveLength(3);
        expect(attempts.every((a) => a.total_tokens_in === run.totals.tokensIn)).toBe(true);
      }
      expectProtocolSpoken();
    });
  });
}
