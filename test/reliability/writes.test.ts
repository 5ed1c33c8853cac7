import { execFileSync } from "node:child_process";
import { existsSync, type FSWatcher, statfsSync, watch } from "node:fs";
import { mkdir, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { changeWriter } from "../../src/delivery/write.ts";
import { unreadableEdit, unwritableValue } from "../../src/edit/metrics.ts";
import { contentDigest } from "../../src/fs/digest.ts";
import { nodeFiles } from "../../src/fs/node.ts";
import { sweepStaleTempFiles } from "../../src/fs/sweep.ts";
import { type PassReport, PassReportSchema } from "../../src/report/schema.ts";
import { runCli } from "../support/cli.ts";
import { type CliExit, type CliProcess, spawnCli } from "../support/cli-process.ts";
import {
  allEvents,
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  manifestText,
  metricsText,
  tempDir,
} from "../support/experiment.ts";
import { type FakeUsageApi, startFakeUsageApi } from "../support/fake-usage-api.ts";
import { KILL_STORM_MUST_BE_ZERO, runKillStorm } from "../support/kill-storm.ts";
import { inspectRunsDir } from "../support/runs-state.ts";

/**
 * How a pass's changes reach the disk (SPEC §11: "One pass at a time per runs directory", "Data
 * already in a file stays", "A write either happens whole or leaves no trace"), tried on the built
 * CLI bundle the way a user runs it: two passes at once, a file edited during a pass, a full disk,
 * SIGTERM and SIGKILL in the middle of the writes.
 */

const ADMIN_KEY = "sk-admin-writes-0000000001";
const FRAMEWORKS = ["baes", "chatdev", "ghspec"];
const NOW = "2025-11-20T00:00:00Z";
/** Generous bound for waiting on another process; never an assertion about speed. */
const PATIENCE_MS = 60_000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Experiment {
  root: string;
  runsDir: string;
  runs: GeneratedRun[];
  /** The files as written, by path relative to the runs dir. */
  texts: Map<string, string>;
}

async function makeExperiment(
  runsPerFramework: number,
  options: { root?: string; seed?: number; pad?: (i: number) => number } = {},
): Promise<Experiment> {
  const root = options.root ?? (await tempDir("reconcile-usage-writes-"));
  if (!options.root) cleanups.push(() => rm(root, { recursive: true, force: true }));
  const runs = generateExperiment({
    frameworks: FRAMEWORKS,
    runsPerFramework,
    seed: options.seed ?? 7,
  });
  const runsDir = join(root, "runs");
  const texts = new Map<string, string>();
  for (const [i, r] of runs.entries()) {
    let text = metricsText(r);
    const pad = options.pad?.(i) ?? 0;
    if (pad > 0) text = text.replace("{\n", `{\n  "notes": "${"n".repeat(pad)}",\n`);
    await mkdir(dirname(join(runsDir, r.path)), { recursive: true });
    await writeFile(join(runsDir, r.path), text);
    texts.set(r.path, text);
  }
  const manifest = manifestText(runs);
  await writeFile(join(runsDir, "manifest.json"), manifest);
  texts.set("manifest.json", manifest);
  return { root, runsDir, runs, texts };
}

async function fakeApi(
  runs: readonly GeneratedRun[],
  options: Parameters<typeof startFakeUsageApi>[0] = {},
): Promise<FakeUsageApi> {
  const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events: allEvents(runs), ...options });
  cleanups.push(() => api.close());
  return api;
}

const passArgs = (api: FakeUsageApi, extra: string[] = []): string[] => [
  "--runs-dir",
  "runs",
  "--api-base-url",
  api.baseUrl,
  "--now",
  NOW,
  ...FRAMEWORKS.flatMap((f) => ["--api-key-id", `${f}=${keyIdFor(f)}`]),
  "--json",
  ...extra,
];

const cliEnv = { OPENAI_ADMIN_KEY: ADMIN_KEY };

function spawnPass(exp: Experiment, api: FakeUsageApi, shellPrefix?: string): CliProcess {
  const p = spawnCli(passArgs(api), { cwd: exp.root, env: cliEnv, shellPrefix });
  cleanups.push(() => {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  });
  return p;
}

const runPass = (exp: Experiment, api: FakeUsageApi, shellPrefix?: string): Promise<CliExit> =>
  spawnPass(exp, api, shellPrefix).done;

const reportOf = (exit: CliExit): PassReport => PassReportSchema.parse(JSON.parse(exit.stdout));

async function until(what: string, ready: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The pid of a process that has exited (so no process has it, barring reuse). */
function deadPid(): number {
  const out = execFileSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
    encoding: "utf8",
  });
  return Number(out);
}

describe("one pass at a time per runs directory", () => {
  it("a second CLI pass on the same directory stops at once with exit 3, naming the holder; the first pass's 300 readings all land", async () => {
    const exp = await makeExperiment(100);
    // the first pass holds the lock while its (slow) requests are answered
    const slow = await fakeApi(exp.runs, { faults: () => ({ kind: "slow", delayMs: 1500 }) });
    const other = await fakeApi(exp.runs);
    const first = spawnPass(exp, slow);
    await until("the first pass to send its first request", () => slow.requests.length > 0);

    const second = await runPass(exp, other);
    expect(second.code).toBe(3);
    expect(second.stderr).toContain("another pass is already writing to");
    expect(second.stderr).toContain(`pid ${first.pid} on this machine`);
    expect(second.stderr).toContain(".reconcile-usage.lock");
    expect(other.requests).toHaveLength(0);

    const done = await first.done;
    expect(done.code).toBe(0);
    const state = await inspectRunsDir(exp.runsDir);
    expect([...state.readings.values()].filter((n) => n === 1)).toHaveLength(300);
    expect(state.locked).toBe(false);
    expect(state.temps).toEqual([]);
    expect(state.manifestMismatches).toEqual([]);
  });

  it("a lock left by a pass that is no longer running is taken over and said so; the pass removes its own lock at the end", async () => {
    const exp = await makeExperiment(2);
    const api = await fakeApi(exp.runs);
    const stale = { pid: deadPid(), host: hostname(), started_at: new Date().toISOString() };
    await writeFile(join(exp.runsDir, ".reconcile-usage.lock"), JSON.stringify(stale));

    const exit = await runPass(exp, api);
    expect(exit.code).toBe(0);
    const report = reportOf(exit);
    expect(report.warnings.join("\n")).toContain(
      `took over a stale lock (pid ${stale.pid}, started ${stale.started_at}, no longer running)`,
    );
    expect(report.totals.by_status.pending).toBe(6);
    expect((await inspectRunsDir(exp.runsDir)).locked).toBe(false);
  });

  it("a lock held on another host is not taken over while it is young: the pass stops with exit 3 and names the host", async () => {
    const exp = await makeExperiment(1);
    const api = await fakeApi(exp.runs);
    const lockPath = join(exp.runsDir, ".reconcile-usage.lock");
    const holder = { pid: process.pid, host: "build-box-7", started_at: new Date().toISOString() };
    await writeFile(lockPath, JSON.stringify(holder));
    const exit = await runPass(exp, api);
    expect(exit.code).toBe(3);
    expect(exit.stderr).toContain(
      `reconcile-usage: another pass is already writing to runs (pid ${process.pid} on host build-box-7, started ${holder.started_at}; lock file runs/.reconcile-usage.lock)`,
    );
    expect(api.requests).toHaveLength(0);
    expect(await readFile(lockPath, "utf8")).toBe(JSON.stringify(holder));
    for (const r of exp.runs)
      expect(await readFile(join(exp.runsDir, r.path), "utf8")).toBe(exp.texts.get(r.path));

    // no pass holds a lock for 6 hours: an older one (here: committed by mistake and checked out
    // again, so the file itself is new) is stale whatever its host
    const old = { ...holder, started_at: new Date(Date.now() - 7 * 3600_000).toISOString() };
    await writeFile(lockPath, JSON.stringify(old));
    const next = await runPass(exp, api);
    expect(next.code).toBe(0);
    expect(reportOf(next).warnings).toContain(
      `took over a stale lock (pid ${process.pid}, started ${old.started_at}, older than 6 hours)`,
    );
  });
});

describe("data already in a file stays", () => {
  it("an edit another process makes to a metrics.json during the pass is kept, with this pass's reading added on top; a file broken meanwhile is reported and left as it is", async () => {
    const exp = await makeExperiment(3);
    const api = await fakeApi(exp.runs, { faults: () => ({ kind: "slow", delayMs: 1500 }) });
    const pass = spawnPass(exp, api);
    await until("the pass to send its first request", () => api.requests.length > 0);

    // the pass has read every file; now someone edits two of them
    const [edited, broken] = [exp.runs[0]!, exp.runs[4]!];
    const editedText = exp.texts
      .get(edited.path)!
      .replace("{\n", '{\n  "notes": "annotated by hand while the pass ran",\n');
    await writeFile(join(exp.runsDir, edited.path), editedText);
    const brokenText = `${exp.texts.get(broken.path)!.slice(0, 200)}\n<<<<<<< HEAD\n`;
    await writeFile(join(exp.runsDir, broken.path), brokenText);

    const exit = await pass.done;
    expect(exit.code).toBe(1);
    const report = reportOf(exit);

    const after = JSON.parse(await readFile(join(exp.runsDir, edited.path), "utf8"));
    expect(after.notes).toBe("annotated by hand while the pass ran");
    expect(after.usage_api_reconciliation.attempts).toHaveLength(1);
    expect(after.aggregate_metrics.TOK_IN).toBe(edited.totals.tokensIn);
    const editedRow = report.runs.find((r) => r.run_id === edited.runId)!;
    expect(editedRow.status).toBe("pending");

    expect(await readFile(join(exp.runsDir, broken.path), "utf8")).toBe(brokenText);
    const brokenRow = report.runs.find((r) => r.run_id === broken.runId)!;
    expect(brokenRow.status).toBe("error");
    expect(brokenRow.message).toContain("changed by another process during the pass");

    const state = await inspectRunsDir(exp.runsDir);
    expect(state.invalid).toEqual([broken.path]);
    expect(state.manifestMismatches).toEqual([]);
    expect(state.temps).toEqual([]);
  });

  it("an edit another process makes to the manifest during the pass is kept, with this pass's entries updated on top", async () => {
    const exp = await makeExperiment(2);
    const api = await fakeApi(exp.runs, { faults: () => ({ kind: "slow", delayMs: 1500 }) });
    const pass = spawnPass(exp, api);
    await until("the pass to send its first request", () => api.requests.length > 0);

    // the pass has read the manifest; now someone annotates it (no run file changes)
    const annotated = exp.texts
      .get("manifest.json")!
      .replace("{\n", '{\n  "notes": "annotated by hand while the pass ran",\n');
    await writeFile(join(exp.runsDir, "manifest.json"), annotated);

    const exit = await pass.done;
    expect(exit.code).toBe(0);
    expect(reportOf(exit).changed_files).toContain("runs/manifest.json");
    const manifest = JSON.parse(await readFile(join(exp.runsDir, "manifest.json"), "utf8"));
    expect(manifest.notes).toBe("annotated by hand while the pass ran");
    const state = await inspectRunsDir(exp.runsDir);
    expect(state.manifestMismatches).toEqual([]);
    expect(manifest.runs.map((e: { total_tokens_in?: number }) => e.total_tokens_in)).toEqual(
      exp.runs.map((r) => r.totals.tokensIn),
    );
  });
});

describe("a write either happens whole or leaves no trace", () => {
  it("a disk that refuses big files (ulimit -f, EFBIG on write): the runs not written are errors, no temporary file is left, and the manifest is updated only for the runs written", async () => {
    // every other run's file is 200 KB, over the 64 KB a file may reach
    const exp = await makeExperiment(4, { pad: (i) => (i % 2 === 1 ? 200_000 : 0) });
    const api = await fakeApi(exp.runs);
    const exit = await runPass(exp, api, "ulimit -f 128");
    expect(exit.code).toBe(1);
    const report = reportOf(exit);

    const state = await inspectRunsDir(exp.runsDir);
    expect(state.temps).toEqual([]);
    expect(state.invalid).toEqual([]);
    expect(state.manifestMismatches).toEqual([]);
    for (const [i, r] of exp.runs.entries()) {
      const row = report.runs.find((x) => x.run_id === r.runId)!;
      if (i % 2 === 1) {
        expect(row.status).toBe("error");
        expect(row.message).toMatch(/^not written: EFBIG/);
        expect(await readFile(join(exp.runsDir, r.path), "utf8")).toBe(exp.texts.get(r.path));
        expect(state.readings.get(r.path)).toBe(0);
      } else {
        expect(row.status).toBe("pending");
        expect(state.readings.get(r.path)).toBe(1);
      }
    }
    expect(report.errors).toBe(6);
    expect(report.changed_files).toHaveLength(7); // six runs and the manifest
  });

  it("a full disk for real (a small tmpfs): failed writes leave no temporary file, every file stays whole, and the next pass with space finishes the job", async (ctx) => {
    const mnt = await tempDir("reconcile-usage-tmpfs-");
    cleanups.push(() => rm(mnt, { recursive: true, force: true }));
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt], { stdio: "ignore" });
    } catch {
      ctx.skip(); // mounting needs root (Linux); the ulimit test above covers the same paths
    }
    cleanups.push(() => {
      execFileSync("umount", [mnt]);
    });
    const exp = await makeExperiment(10, { root: mnt, seed: 8 });
    const api = await fakeApi(exp.runs);
    // leave about six pages free: fewer than the writes in flight need
    const { bavail, bsize } = statfsSync(mnt);
    const filler = join(mnt, "filler");
    await writeFile(filler, Buffer.alloc(Math.max(0, (bavail - 6) * bsize)));

    const full = await runPass(exp, api);
    const report = reportOf(full);
    const refused = report.runs.filter((r) => r.status === "error");
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.message).toMatch(/ENOSPC/);
    const state = await inspectRunsDir(exp.runsDir);
    expect(state.temps).toEqual([]);
    expect(state.invalid).toEqual([]);
    for (const r of refused) {
      const path = `${r.framework}/${r.run_id}/metrics.json`;
      expect(await readFile(join(exp.runsDir, path), "utf8")).toBe(exp.texts.get(path));
      expect(state.manifestMismatches).not.toContain(`${r.framework}/${r.run_id}`);
    }
    const manifestNow = await readFile(join(exp.runsDir, "manifest.json"), "utf8");
    if (report.warnings.some((w) => w.includes("manifest.json: could not be written")))
      expect(manifestNow).toBe(exp.texts.get("manifest.json"));
    else expect(state.manifestMismatches).toEqual([]);

    await rm(filler);
    const next = await runPass(exp, api);
    expect(next.code).toBe(0);
    const settled = await inspectRunsDir(exp.runsDir);
    expect(settled.temps).toEqual([]);
    expect(settled.manifestMismatches).toEqual([]);
    expect([...settled.readings.values()].every((n) => n >= 1)).toBe(true);
  });

  /**
   * Stops the pass (SIGSTOP) as soon as a temporary file appears, and again until one is seen while
   * it is stopped: then the pass is caught with a write in flight, and `kill` is sent.
   */
  async function killMidWrite(exp: Experiment, pass: CliProcess, signal: NodeJS.Signals) {
    const watchers: FSWatcher[] = [];
    let caught = false;
    let checking = false;
    const onEvent = async (_: string, name: string | null) => {
      if (caught || checking || !name?.endsWith(".tmp")) return;
      checking = true;
      try {
        pass.child.kill("SIGSTOP");
        const { temps } = await inspectRunsDir(exp.runsDir);
        if (temps.length > 0) {
          caught = true;
          pass.child.kill(signal);
        }
        pass.child.kill("SIGCONT");
      } catch {
        // the process ended meanwhile
      } finally {
        checking = false;
      }
    };
    for (const f of FRAMEWORKS)
      for (const d of await readdir(join(exp.runsDir, f)))
        watchers.push(watch(join(exp.runsDir, f, d), (e, n) => void onEvent(e, n)));
    try {
      return { exit: await pass.done, caught: () => caught };
    } finally {
      for (const w of watchers) w.close();
    }
  }

  it("SIGTERM in the middle of the writes: the temporary files in flight and the lock are removed, the exit code is 143, and every file is whole", async () => {
    for (let attempt = 1; ; attempt++) {
      const exp = await makeExperiment(150);
      const api = await fakeApi(exp.runs);
      const { exit, caught } = await killMidWrite(exp, spawnPass(exp, api), "SIGTERM");
      if (!caught()) {
        // the writes all finished before one could be caught: try again
        if (attempt < 5) continue;
        throw new Error("never caught the pass with a write in flight");
      }
      expect(exit.signal).toBeNull();
      expect(exit.code).toBe(143);
      const state = await inspectRunsDir(exp.runsDir);
      expect(state.temps).toEqual([]);
      expect(state.locked).toBe(false);
      expect(state.invalid).toEqual([]);
      // the interrupted pass's files are whole; the next pass brings the manifest up to date
      const next = await runPass(exp, api);
      expect(next.code).toBe(0);
      expect((await inspectRunsDir(exp.runsDir)).manifestMismatches).toEqual([]);
      return;
    }
  });

  it("SIGKILL in the middle of the writes: the next pass takes over the stale lock and sweeps the temporary files left behind", async () => {
    for (let attempt = 1; ; attempt++) {
      const exp = await makeExperiment(150);
      const api = await fakeApi(exp.runs);
      const { exit, caught } = await killMidWrite(exp, spawnPass(exp, api), "SIGKILL");
      if (!caught()) {
        if (attempt < 5) continue;
        throw new Error("never caught the pass with a write in flight");
      }
      expect(exit.signal).toBe("SIGKILL");
      const killed = await inspectRunsDir(exp.runsDir);
      // what SIGKILL leaves: temporary files, a lock whose holder is gone (whole files, still)
      expect(killed.temps.length).toBeGreaterThan(0);
      expect(killed.locked).toBe(true);
      expect(killed.invalid).toEqual([]);

      // a temporary file of a live writer (this test process) is left alone by the sweep
      const live = join(exp.runsDir, "baes", `.metrics.json.${process.pid}-0123456789ab.tmp`);
      await writeFile(live, "{");

      const next = await runPass(exp, api);
      expect(next.code).toBe(0);
      const warnings = reportOf(next).warnings.join("\n");
      expect(warnings).toContain("took over a stale lock");
      expect(warnings).toContain(
        `removed ${killed.temps.length} temporary file(s) left by an interrupted earlier pass`,
      );
      const swept = await inspectRunsDir(exp.runsDir);
      expect(swept.temps).toEqual([`baes/.metrics.json.${process.pid}-0123456789ab.tmp`]);
      expect(swept.locked).toBe(false);
      expect(swept.invalid).toEqual([]);
      expect(swept.manifestMismatches).toEqual([]);
      return;
    }
  });
});

describe("nothing invalid is written", () => {
  it("a price of 1e300 never writes Infinity: the cost is unknown (null) with a warning naming the price, every file reads back, and a sane price then prices every run", async () => {
    const exp = await makeExperiment(2);
    const api = await fakeApi(exp.runs);
    const prices = join(exp.root, "prices.yaml");
    await writeFile(
      prices,
      "pricing:\n  models:\n    gpt-4o-mini-2024-07-18:\n      input_price: 1e300\n      cached_price: 0.075\n      output_price: 0.6\n",
    );
    const exit = await runCli([...passArgs(api), "--pricing-file", "prices.yaml"], {
      cwd: exp.root,
      env: cliEnv,
    });
    expect(exit.code).toBe(0);
    const report = PassReportSchema.parse(JSON.parse(exit.stdout));
    expect(report.runs).toHaveLength(6);
    for (const row of report.runs) {
      expect(row.status).toBe("pending");
      expect(row.cost_usd).toBeNull();
    }
    expect(report.warnings.join("\n")).toMatch(/a mistyped price\?/);
    for (const path of exp.texts.keys()) {
      const text = await readFile(join(exp.runsDir, path), "utf8");
      expect(text).not.toMatch(/Infinity|NaN/);
      if (path.endsWith("metrics.json")) expect(unreadableEdit(text), path).toBeUndefined();
      else expect(() => JSON.parse(text), path).not.toThrow();
    }

    // with a sane price the same files reconcile: nothing unreadable was left in them
    await writeFile(prices, "pricing:\n  models: {}\n");
    const next = await runCli([...passArgs(api), "--force"], { cwd: exp.root, env: cliEnv });
    expect(next.code).toBe(0);
    const again = PassReportSchema.parse(JSON.parse(next.stdout));
    expect(again.runs.every((r) => r.cost_usd !== null && Number.isFinite(r.cost_usd))).toBe(true);
  });

  it("refuses to write a cost that is not a finite number of USD, naming the field (the last check before a file is edited)", () => {
    const cost = (total: number) => ({
      total,
      uncachedInputCost: total,
      cachedInputCost: 0,
      outputCost: 0,
      cacheSavings: 0,
      models: [],
      unknown: [],
      warnings: [],
      provenance: [],
    });
    const target = (total: number) =>
      ({
        newAttempts: [],
        status: "pending",
        message: "",
        verifiedAt: null,
        cost: cost(total),
      }) as unknown as Parameters<typeof unwritableValue>[0];
    expect(unwritableValue(target(Number.POSITIVE_INFINITY))).toMatch(
      /^aggregate_metrics\.COST_USD would be Infinity, not a finite number of USD/,
    );
    expect(unwritableValue(target(Number.NaN))).toMatch(/COST_USD would be NaN/);
    expect(unwritableValue(target(1e300))).toMatch(/COST_USD would be 1e\+300/);
    expect(unwritableValue(target(12.5))).toBeUndefined();
  });

  it("two counts that sum past 2^53 make that run an error, its file untouched; every file still validates", async () => {
    const exp = await makeExperiment(2);
    const [big] = exp.runs;
    // two requests of 2^52 + 5 input tokens each, in different minutes: each bucket is exact,
    // their sum is not
    const huge = 2 ** 52 + 5;
    const events = [
      ...allEvents(exp.runs),
      ...[0, 1].map((k) => ({
        apiKeyId: big!.keyId,
        model: "gpt-4o-mini-2024-07-18",
        completedAt: Math.floor(big!.start) + 60 * (k + 1),
        inputTokens: huge,
        outputTokens: 1,
      })),
    ];
    const api = await fakeApi([], { events });
    const exit = await runCli(passArgs(api), { cwd: exp.root, env: cliEnv });
    expect(exit.code).toBe(1);
    const report = PassReportSchema.parse(JSON.parse(exit.stdout));
    const row = report.runs.find((r) => r.run_id === big!.runId)!;
    expect(row.status).toBe("error");
    expect(row.message).toMatch(/2\^53/);
    expect(await readFile(join(exp.runsDir, big!.path), "utf8")).toBe(exp.texts.get(big!.path));
    const state = await inspectRunsDir(exp.runsDir);
    expect(state.invalid).toEqual([]);
    expect(state.manifestMismatches).toEqual([]);
  });
});

describe("the kill storm (npm run reliability, small)", () => {
  it("passes of the built CLI killed at random moments leave every file whole, no temp file after a sweep, the manifest true and the key unprinted", async () => {
    const f = await runKillStorm({ passes: 8, runs: 300, seed: 3 });
    expect(f.violations).toEqual([]);
    for (const key of KILL_STORM_MUST_BE_ZERO) expect(f[key], key).toBe(0);
    expect(f.passes).toBe(8);
    expect(f.readingsWritten).toBeGreaterThanOrEqual(600); // the first and the last pass finish
  });
});

describe("the sweep of temporary files", () => {
  it("removes only our own temporary files whose writer is gone (or that are over an hour old), nothing else", async () => {
    const exp = await makeExperiment(1);
    const runDir = dirname(join(exp.runsDir, exp.runs[0]!.path));
    const dead = deadPid();
    const files = {
      deadWriter: join(runDir, `.metrics.json.${dead}-0123456789ab.tmp`),
      liveWriter: join(runDir, `.metrics.json.${process.ppid}-0123456789ab.tmp`),
      oldFormatYoung: join(runDir, ".metrics.json.0123456789ab.tmp"),
      oldFormatOld: join(exp.runsDir, ".manifest.json.ba9876543210.tmp"),
      lockTemp: join(exp.runsDir, `.reconcile-usage.lock.${dead}-0123456789ab.tmp`),
      notOurs: join(runDir, ".notes.md.0123456789ab.tmp"),
      notOursEither: join(runDir, "metrics.json.tmp"),
    };
    for (const path of Object.values(files)) await writeFile(path, "{");
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(files.oldFormatOld, twoHoursAgo, twoHoursAgo);

    const removed = await sweepStaleTempFiles(exp.runsDir);
    expect(removed).toEqual([files.oldFormatOld, files.lockTemp, files.deadWriter].sort());
    for (const path of [files.liveWriter, files.oldFormatYoung, files.notOurs, files.notOursEither])
      expect(existsSync(path)).toBe(true);
  });
});

describe("the writer's batches", () => {
  /** 600 files in a temp dir, and changes to each, made on their digests. */
  async function filesAndChanges() {
    const dir = await tempDir("reconcile-usage-batches-");
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const changes = [];
    for (let i = 0; i < 600; i++) {
      const path = join(dir, `f${i}.json`);
      await writeFile(path, `{"n": ${i}}\n`);
      changes.push({
        path,
        before: contentDigest(Buffer.from(`{"n": ${i}}\n`)),
        after: `{"n": -${i}}\n`,
      });
    }
    return { dir, changes };
  }
  /** Real files whose writes wait at a gate until it opens. */
  function gatedFiles() {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let started = 0;
    const files = {
      ...nodeFiles,
      writeAtomic: async (path: string, text: string) => {
        started++;
        await gate;
        await nodeFiles.writeAtomic(path, text);
      },
    };
    return { files, open, started: () => started };
  }
  const written = async (dir: string) =>
    (await Promise.all((await readdir(dir)).map((n) => readFile(join(dir, n), "utf8")))).filter(
      (t) => t.includes("-"),
    ).length;

  it("every change lands, a batch written while the next one is filled", async () => {
    const { dir, changes } = await filesAndChanges();
    const { files, open, started } = gatedFiles();
    const writer = changeWriter(files);
    for (const c of changes.slice(0, 256)) await writer.put(c);
    // the first batch is under way (held at the gate) and the pass goes on filling the next
    expect(started()).toBeGreaterThan(0);
    for (const c of changes.slice(256, 300)) await writer.put(c);
    open();
    for (const c of changes.slice(300)) await writer.put(c);
    expect(await writer.finish()).toEqual([]);
    expect(await written(dir)).toBe(600);
  });

  it("a pass that fails while a batch waits for the one before writes nothing more", async () => {
    const { dir, changes } = await filesAndChanges();
    const { files, open } = gatedFiles();
    const writer = changeWriter(files);
    for (const c of changes.slice(0, 256)) await writer.put(c);
    for (const c of changes.slice(256, 511)) await writer.put(c);
    // the 512th change fills the second batch, which waits for the first (held at the gate)
    const waiting = writer.put(changes[511]!);
    const settled = writer.settle();
    open();
    await Promise.all([waiting, settled]);
    // the first batch, under way, finished whole; the second never started
    expect(await written(dir)).toBe(256);
  });
});
