import { cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type PassReport, PassReportSchema, type RunReport } from "../src/report/schema.ts";
import { type CliResult, runCli } from "./support/cli.ts";
import {
  allEvents,
  copySharedData,
  type ExperimentSpec,
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  onSharedData,
  sharedDataPresent,
  tempDir,
  writeExperiment,
} from "./support/experiment.ts";
import { type FakeUsageApi, startFakeUsageApi, type UsageEvent } from "./support/fake-usage-api.ts";

/**
 * What a reading may vouch for, and when a pass gives up on a run or distrusts a key (SPEC §4,
 * §11): every case is a real CLI pass over real files in a temp directory, read from the fake
 * Usage API over HTTP.
 */

const ADMIN_KEY = "sk-admin-vouching-test-01";
const MIN = 60;
const HOUR = 3600;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Experiment {
  root: string;
  runsDir: string;
  runs: GeneratedRun[];
  api: FakeUsageApi;
  lastEnd: number;
}

async function experiment(
  runs: GeneratedRun[],
  events: UsageEvent[] = allEvents(runs),
): Promise<Experiment> {
  const root = await tempDir("reconcile-usage-vouching-");
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const runsDir = await writeExperiment(root, runs);
  const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events });
  cleanups.push(() => api.close());
  return { root, runsDir, runs, api, lastEnd: Math.max(...runs.map((r) => r.end)) };
}

const generate = (spec: ExperimentSpec) =>
  generateExperiment({ frameworks: ["baes", "chatdev"], runsPerFramework: 3, ...spec });

const iso = (t: number): string => new Date(Math.floor(t) * 1000).toISOString();

const rightKeys = (frameworks = ["baes", "chatdev"]) =>
  Object.fromEntries(frameworks.map((f) => [f, keyIdFor(f)]));

interface Pass extends CliResult {
  report: PassReport;
  /** Requests the fake server received during this pass. */
  sent: number;
  /** Minutes [start, end) the pass asked the server for. */
  asked: Array<{ start: number; end: number }>;
}

async function pass(
  exp: Experiment,
  now: number,
  keys: Record<string, string> = rightKeys(),
): Promise<Pass> {
  const before = exp.api.requests.length;
  const keyArgs = Object.entries(keys).flatMap(([f, k]) => ["--api-key-id", `${f}=${k}`]);
  const result = await runCli(
    ["--api-base-url", exp.api.baseUrl, ...keyArgs, "--now", iso(now), "--json"],
    { cwd: exp.root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
  );
  let report: PassReport;
  try {
    report = PassReportSchema.parse(JSON.parse(result.stdout));
  } catch (error) {
    throw new Error(`no valid JSON report (exit ${result.code}): ${result.stderr}\n${error}`);
  }
  const sent = exp.api.requests.slice(before);
  return {
    ...result,
    report,
    sent: sent.length,
    asked: sent.map((r) => ({
      start: Number(r.query.get("start_time")),
      end: Number(r.query.get("end_time")),
    })),
  };
}

/** Passes an interval apart (61 min) from `from`, the last at `from + 122 min`: enough to verify. */
async function verifyAll(exp: Experiment, from: number, keys?: Record<string, string>) {
  let last: Pass | undefined;
  for (const minutes of [0, 61, 122]) last = await pass(exp, from + minutes * MIN, keys);
  return last!;
}

const rowOf = (p: Pass, framework: string, runId: string): RunReport => {
  const r = p.report.runs.find((x) => x.run_id === runId && x.framework === framework);
  if (!r) throw new Error(`no report row for ${framework}/${runId}`);
  return r;
};

interface MetricsJson {
  run_id: string;
  start_timestamp: string;
  end_timestamp: string;
  steps: Array<{ start_timestamp: number; end_timestamp: number }>;
  verification_status: string;
  aggregate_metrics: Record<string, number | null>;
  usage_api_reconciliation?: {
    verification_status: string;
    verification_message: string;
    attempts: Array<{ timestamp: string; total_tokens_in: number }>;
  };
}

const pathOf = (exp: Experiment, framework: string, runId: string) =>
  join(exp.runsDir, framework, runId, "metrics.json");

async function metricsAt(path: string): Promise<MetricsJson> {
  return JSON.parse(await readFile(path, "utf8")) as MetricsJson;
}

const metrics = (exp: Experiment, framework: string, runId: string): Promise<MetricsJson> =>
  metricsAt(pathOf(exp, framework, runId));

async function rewrite(
  exp: Experiment,
  framework: string,
  runId: string,
  change: (m: MetricsJson) => void,
): Promise<void> {
  const m = await metrics(exp, framework, runId);
  change(m);
  await writeFile(pathOf(exp, framework, runId), `${JSON.stringify(m, null, 2)}\n`);
}

const exactWindow = (start: number, end: number) => ({
  start: Math.floor(start / MIN) * MIN,
  end: Math.floor(end / MIN) * MIN + MIN + 120,
});

describe("a reading vouches only for the window it was taken over (issue 9 item 2)", () => {
  it("a verified run directory copied to a new id, steps moved to a day without usage, is read again and never verified at the old numbers", async () => {
    const exp = await experiment(generate({ seed: 21 }));
    const verified = await verifyAll(exp, exp.lastEnd + 40 * MIN);
    const original = exp.runs[2]!;
    expect(rowOf(verified, original.framework, original.runId).status).toBe("verified");

    // The copy: same file, a new run id, every step two days earlier (no usage then).
    const copyId = "0c0ffee0-0000-4000-a000-000000000001";
    const shift = -2 * 86_400;
    const copyDir = join(exp.runsDir, original.framework, copyId);
    await mkdir(dirname(join(copyDir, "metrics.json")), { recursive: true });
    await cp(join(exp.runsDir, original.path), join(copyDir, "metrics.json"));
    await rewrite(exp, original.framework, copyId, (m) => {
      m.run_id = copyId;
      for (const s of m.steps) {
        s.start_timestamp += shift;
        s.end_timestamp += shift;
      }
      m.start_timestamp = iso(Date.parse(m.start_timestamp) / 1000 + shift);
      m.end_timestamp = iso(Date.parse(m.end_timestamp) / 1000 + shift);
    });
    const copied = await metrics(exp, original.framework, copyId);
    expect(copied.usage_api_reconciliation!.verification_status).toBe("verified");
    const copyWindow = exactWindow(
      Math.min(...copied.steps.map((s) => s.start_timestamp)),
      Math.max(...copied.steps.map((s) => s.end_timestamp)),
    );

    const next = await pass(exp, exp.lastEnd + 170 * MIN);
    expect(next.code, next.stderr).toBe(0);
    const row = rowOf(next, original.framework, copyId);
    // read again, at once: a request covered the copy's own window
    expect(row.read).toBe(true);
    expect(next.asked.some((w) => w.start <= copyWindow.start && copyWindow.end <= w.end)).toBe(
      true,
    );
    expect(row.status).toBe("data_not_available");
    expect(row.tokens_in).toBeNull();
    expect(row.message).toMatch(/no usage in the window/);
    const file = await metrics(exp, original.framework, copyId);
    expect(file.verification_status).toBe("data_not_available");
    expect(file.usage_api_reconciliation!.verification_status).toBe("data_not_available");
    expect(file.usage_api_reconciliation!.attempts.at(-1)!.total_tokens_in).toBe(0);
    // the original keeps its verification
    expect(rowOf(next, original.framework, original.runId)).toMatchObject({
      status: "verified",
      tokens_in: original.totals.tokensIn,
    });

    // and it never verifies at the copied numbers, however many passes follow
    for (const minutes of [231, 292, 353]) {
      const later = await pass(exp, exp.lastEnd + minutes * MIN);
      const r = rowOf(later, original.framework, copyId);
      expect(r.status).not.toBe("verified");
      expect(r.tokens_in).toBeNull();
    }
  });

  it("a verified run whose last step end was corrected is no longer verified, is read again at once and verifies at the corrected window's usage", async () => {
    const runs = generate({ seed: 5, gapSeconds: [3000, 3001] });
    const fixed = runs[3]!;
    // The framework's clock lost the last 10 minutes of the run: usage the file's window misses.
    const lateUsage: UsageEvent[] = [0, 4, 8].map((m) => ({
      apiKeyId: fixed.keyId,
      model: "gpt-4o-mini-2024-07-18",
      completedAt: Math.floor(fixed.end) + (3 + m) * MIN,
      inputTokens: 4_000 + m,
      cachedTokens: 0,
      outputTokens: 500,
      requests: 1,
    }));
    const exp = await experiment(runs, [...allEvents(runs), ...lateUsage]);
    const verified = await verifyAll(exp, exp.lastEnd + 40 * MIN);
    expect(rowOf(verified, fixed.framework, fixed.runId)).toMatchObject({
      status: "verified",
      tokens_in: fixed.totals.tokensIn,
    });

    // The correction: the last step really ended 12 minutes later.
    await rewrite(exp, fixed.framework, fixed.runId, (m) => {
      m.steps.at(-1)!.end_timestamp += 12 * MIN;
    });
    const truth = fixed.totals.tokensIn + lateUsage.reduce((n, e) => n + e.inputTokens, 0);

    const next = await pass(exp, exp.lastEnd + 170 * MIN);
    const row = rowOf(next, fixed.framework, fixed.runId);
    expect(row.read).toBe(true);
    expect(row.status).toBe("pending");
    expect(row.tokens_in).toBe(truth);
    expect(row.message).toMatch(/0 of 2 stable checks/);
    expect(row.message).toMatch(/not the run's window now/);
    const file = await metrics(exp, fixed.framework, fixed.runId);
    expect(file.verification_status).toBe("pending");
    expect(file.aggregate_metrics.TOK_IN).toBe(truth);

    const done = await verifyAll(exp, exp.lastEnd + 231 * MIN);
    expect(rowOf(done, fixed.framework, fixed.runId)).toMatchObject({
      status: "verified",
      tokens_in: truth,
    });
    expect((await metrics(exp, fixed.framework, fixed.runId)).aggregate_metrics.TOK_IN).toBe(truth);
  });

  it("old-script readings (±300 s, no tail) that cover the window vouch; readings naming no window do not", async () => {
    const runs = generate({ seed: 8, runsPerFramework: 2 });
    const exp = await experiment(runs);
    const [covered, unnamed] = [runs[0]!, runs[1]!];
    const t = covered.totals;
    const oldReadings = (run: GeneratedRun, withWindow: boolean) =>
      [1, 3, 5].map((h) => ({
        timestamp: `${iso(run.end + h * HOUR).slice(0, 19)}.259428+00:00`,
        total_tokens_in: run.totals.tokensIn,
        total_tokens_out: run.totals.tokensOut,
        total_api_calls: run.totals.requests,
        total_cached_tokens: run.totals.cachedTokens,
        ...(withWindow
          ? {
              query_window: {
                start: Math.floor(run.start) - 300,
                end: Math.floor(run.end) + 300,
                buffer_seconds: 300,
              },
            }
          : {}),
      }));
    for (const [run, withWindow] of [
      [covered, true],
      [unnamed, false],
    ] as const) {
      await rewrite(exp, run.framework, run.runId, (m) => {
        (m as unknown as Record<string, unknown>).usage_api_reconciliation = {
          verification_status: "verified",
          attempts: oldReadings(run, withWindow),
        };
      });
    }
    const list = await runCli(["--list", "--now", iso(exp.lastEnd + 10 * HOUR), "--json"], {
      cwd: exp.root,
      env: {},
    });
    expect(list.code, list.stderr).toBe(0);
    const report = PassReportSchema.parse(JSON.parse(list.stdout));
    const row = (r: GeneratedRun) => report.runs.find((x) => x.run_id === r.runId)!;
    expect(row(covered)).toMatchObject({ status: "verified", tokens_in: t.tokensIn });
    expect(row(unnamed)).toMatchObject({ status: "pending", tokens_in: null });
    expect(row(unnamed).message).toMatch(
      /^no longer verified: the reading of .* does not record the window it was taken over/,
    );
  });
});

describe("giving up is not for ever (issue 9 item 6)", () => {
  it("one empty page does not make old runs no_usage: data_not_available, read again an hour later, then their usage", async () => {
    const runs = generate({ seed: 11 });
    const exp = await experiment(runs);
    exp.api.setEvents([]);
    const late = exp.lastEnd + 100 * HOUR;
    const empty = await pass(exp, late);
    expect(empty.code, empty.stderr).toBe(0);
    for (const r of empty.report.runs) {
      expect(r.status).toBe("data_not_available");
      expect(r.message).toMatch(/no_usage only once zero readings at least 60 min apart/);
    }
    exp.api.setEvents(allEvents(runs));
    const next = await pass(exp, late + 61 * MIN);
    expect(next.sent).toBeGreaterThan(0);
    for (const run of runs)
      expect(rowOf(next, run.framework, run.runId)).toMatchObject({
        status: "pending",
        tokens_in: run.totals.tokensIn,
      });
  });

  it("no_usage after two zero readings an hour apart, without blaming a key other runs used; read again a day later, in the same batch", async () => {
    const runs = generate({ seed: 12 });
    const gone = runs[2]!;
    const exp = await experiment(runs);
    // the run's usage is not in the API (its timestamps are wrong, say)
    exp.api.setEvents(allEvents(runs.filter((r) => r !== gone)));
    const late = exp.lastEnd + 100 * HOUR;
    await pass(exp, late);
    const second = await pass(exp, late + 61 * MIN);
    const row = rowOf(second, gone.framework, gone.runId);
    expect(row.status).toBe("no_usage");
    expect(row.message).not.toMatch(/check the key id/);
    expect(row.message).toContain(`other runs on key ${gone.keyId} have usage`);
    expect(row.message).toMatch(/read again once a day/);
    expect((await metrics(exp, gone.framework, gone.runId)).verification_status).toBe("no_usage");

    // not read again within the day…
    const soon = await pass(exp, late + 20 * HOUR);
    expect(rowOf(soon, gone.framework, gone.runId)).toMatchObject({
      status: "no_usage",
      read: false,
    });
    // …but a day after its last reading, with the others due then, in one batch of requests
    exp.api.setEvents(allEvents(runs));
    const dayLater = await pass(exp, late + 61 * MIN + 24 * HOUR);
    expect(rowOf(dayLater, gone.framework, gone.runId)).toMatchObject({
      status: "pending",
      read: true,
      tokens_in: gone.totals.tokensIn,
    });
    expect(dayLater.report.requests).toBe(dayLater.report.request_lower_bound);
  });
});

describe("swapped and mistyped key ids (issue 9 item 7, issue 15 item 2)", () => {
  it("swapped key ids are named in a warning with their frameworks; a framework in the key list without runs is warned about", async () => {
    const runs = generate({ seed: 13 });
    const exp = await experiment(runs);
    const swapped = {
      baes: keyIdFor("chatdev"),
      chatdev: keyIdFor("baes"),
      autogen: "key_autogenTest01",
    };
    const p = await pass(exp, exp.lastEnd + 40 * MIN, swapped);
    expect(p.code, p.stderr).toBe(0);
    const swapWarnings = p.report.warnings.filter((w) => /may be swapped/.test(w));
    expect(swapWarnings).toHaveLength(2);
    expect(swapWarnings.some((w) => w.startsWith(`key ${keyIdFor("chatdev")} (baes)`))).toBe(true);
    expect(swapWarnings.some((w) => w.startsWith(`key ${keyIdFor("baes")} (chatdev)`))).toBe(true);
    expect(
      p.report.warnings.some((w) =>
        w.startsWith("key list: framework autogen (key key_autogenTest01) has no runs"),
      ),
    ).toBe(true);
    // the terminal shows them too
    const text = await runCli(
      [
        "--api-base-url",
        exp.api.baseUrl,
        ...Object.entries(swapped).flatMap(([f, k]) => ["--api-key-id", `${f}=${k}`]),
        "--now",
        iso(exp.lastEnd + 41 * MIN),
        "--force",
        "--dry-run",
      ],
      { cwd: exp.root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
    );
    expect(text.stdout).toMatch(/warning: key key_chatdevTest01 \(baes\): [\d,]+ tokens/);

    // with the right keys: no warning about keys
    const right = await pass(exp, exp.lastEnd + 101 * MIN);
    expect(right.report.warnings.filter((w) => /^key /.test(w))).toEqual([]);
  });

  it.skipIf(!sharedDataPresent("baes-berk"))(
    `on the real baes-berk layout, swapping baes and chatdev names both keys ${onSharedData("baes-berk")}`,
    async () => {
      const root = await copySharedData("baes-berk");
      cleanups.push(() => rm(root, { recursive: true, force: true }));
      // Usage as the runs recorded it, one completion at the end of each step, on each
      // framework's own key.
      const events: UsageEvent[] = [];
      let lastEnd = 0;
      for (const framework of ["baes", "chatdev", "ghspec"]) {
        for (const runId of await readdir(join(root, "runs", framework))) {
          const m = await metricsAt(join(root, "runs", framework, runId, "metrics.json"));
          const n = m.steps.length;
          for (const step of m.steps) {
            events.push({
              apiKeyId: keyIdFor(framework),
              model: "gpt-4o-mini-2024-07-18",
              completedAt: step.end_timestamp,
              inputTokens: Math.floor(m.aggregate_metrics.TOK_IN! / n),
              outputTokens: Math.floor(m.aggregate_metrics.TOK_OUT! / n),
            });
            lastEnd = Math.max(lastEnd, step.end_timestamp);
          }
        }
      }
      const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events });
      cleanups.push(() => api.close());
      const forced = async (keys: Record<string, string>) => {
        const result = await runCli(
          [
            "--api-base-url",
            api.baseUrl,
            ...Object.entries(keys).flatMap(([f, k]) => ["--api-key-id", `${f}=${k}`]),
            "--now",
            iso(lastEnd + 2 * HOUR),
            "--force",
            "--dry-run",
            "--json",
          ],
          { cwd: root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
        );
        expect(result.code, result.stderr).toBe(0);
        return PassReportSchema.parse(JSON.parse(result.stdout));
      };
      // the right keys: the layout itself raises no key warning
      const right = await forced(rightKeys(["baes", "chatdev", "ghspec"]));
      expect(right.warnings.filter((w) => w.startsWith("key "))).toEqual([]);
      const report = await forced({
        baes: keyIdFor("chatdev"),
        chatdev: keyIdFor("baes"),
        ghspec: keyIdFor("ghspec"),
      });
      const named = report.warnings
        .filter((w) => /may be swapped/.test(w))
        .map((w) => w.split(":")[0]);
      expect(named.sort()).toEqual([
        `key ${keyIdFor("baes")} (chatdev)`,
        `key ${keyIdFor("chatdev")} (baes)`,
      ]);
    },
  );

  it("a framework's runs verified under swapped key ids are all read again at once when the keys are fixed, and reach their true numbers", async () => {
    // Frameworks running side by side: with swapped keys each reads the other's usage, non-zero
    // and stable, and verifies at the wrong numbers.
    const start = 1_761_820_000;
    const baes = generateExperiment({
      frameworks: ["baes"],
      runsPerFramework: 3,
      seed: 31,
      startAt: start,
    });
    const chatdev = generateExperiment({
      frameworks: ["chatdev"],
      runsPerFramework: 3,
      seed: 32,
      startAt: start,
    });
    const runs = [...baes, ...chatdev];
    const exp = await experiment(runs);
    const swapped = { baes: keyIdFor("chatdev"), chatdev: keyIdFor("baes") };
    const wrong = await verifyAll(exp, exp.lastEnd + 40 * MIN, swapped);
    const wronglyVerified = runs.filter(
      (r) => rowOf(wrong, r.framework, r.runId).status === "verified",
    );
    expect(wronglyVerified.length).toBeGreaterThan(0);
    for (const r of wronglyVerified)
      expect(rowOf(wrong, r.framework, r.runId).tokens_in).not.toBe(r.totals.tokensIn);

    // Keys fixed 5 minutes later: every run of both frameworks is read again in this pass.
    const fixed = await pass(exp, exp.lastEnd + 167 * MIN);
    expect(fixed.code, fixed.stderr).toBe(0);
    for (const r of runs) {
      const row = rowOf(fixed, r.framework, r.runId);
      expect(row.read, r.runId).toBe(true);
      expect(row.status, r.runId).not.toBe("verified");
      expect(row.tokens_in, r.runId).toBe(r.totals.tokensIn);
    }
    for (const r of wronglyVerified)
      expect(rowOf(fixed, r.framework, r.runId).message).toMatch(/taken with key/);
    const done = await verifyAll(exp, exp.lastEnd + 228 * MIN);
    for (const r of runs)
      expect(rowOf(done, r.framework, r.runId)).toMatchObject({
        status: "verified",
        tokens_in: r.totals.tokensIn,
      });
  });

  it("a mistyped key id: the warning and the runs say the key had no usage anywhere read; fixing it re-reads every run of the framework at once", async () => {
    const runs = generate({ seed: 14 });
    const exp = await experiment(runs);
    const typo = { ...rightKeys(), baes: "key_baesTset01" };
    const p = await pass(exp, exp.lastEnd + 40 * MIN, typo);
    expect(p.code, p.stderr).toBe(0);
    expect(
      p.report.warnings.some((w) => w.startsWith("key key_baesTset01 (baes) had no usage at all")),
    ).toBe(true);
    const baes = runs.filter((r) => r.framework === "baes");
    for (const r of baes) {
      const row = rowOf(p, "baes", r.runId);
      expect(row.status).toBe("data_not_available");
      expect(row.message).toContain("key key_baesTset01 had no usage anywhere this pass read it");
    }
    for (const r of runs.filter((x) => x.framework === "chatdev"))
      expect(rowOf(p, "chatdev", r.runId)).toMatchObject({
        status: "pending",
        tokens_in: r.totals.tokensIn,
      });

    // fixed 5 minutes later: the baes runs are read at once, not an hour later
    const fixed = await pass(exp, exp.lastEnd + 45 * MIN);
    for (const r of baes)
      expect(rowOf(fixed, "baes", r.runId)).toMatchObject({
        status: "pending",
        read: true,
        tokens_in: r.totals.tokensIn,
      });
    for (const r of runs.filter((x) => x.framework === "chatdev"))
      expect(rowOf(fixed, "chatdev", r.runId).read).toBe(false);
  });
});

describe("--now against the real API (issue 9 item 8)", () => {
  it("is refused with exit 2 before any request when the base URL is the default; allowed with --replay, --list or another base URL", async () => {
    const runs = generate({ seed: 15, runsPerFramework: 1 });
    const exp = await experiment(runs);
    const keys = Object.entries(rightKeys()).flatMap(([f, k]) => ["--api-key-id", `${f}=${k}`]);
    // a clock at which nothing is due yet, so nothing would reach the network either way
    const now = iso(exp.lastEnd + 60);
    const env = { OPENAI_ADMIN_KEY: ADMIN_KEY };
    for (const base of [[], ["--api-base-url", "https://api.openai.com/v1/"]]) {
      const refused = await runCli([...base, ...keys, "--now", now], { cwd: exp.root, env });
      expect(refused.code).toBe(2);
      expect(refused.stdout).toBe("");
      expect(refused.stderr).toMatch(/^reconcile-usage: --now: refused against the real Usage API/);
      expect(refused.stderr).toContain("--replay");
    }
    const listed = await runCli(["--list", "--now", now], { cwd: exp.root, env });
    expect(listed.code, listed.stderr).toBe(0);
    const replay = join(exp.root, "recording");
    await mkdir(replay);
    const replayed = await runCli([...keys, "--now", now, "--replay", replay], {
      cwd: exp.root,
      env: {},
    });
    expect(replayed.code, replayed.stderr).toBe(0);
    const fake = await runCli(["--api-base-url", exp.api.baseUrl, ...keys, "--now", now], {
      cwd: exp.root,
      env,
    });
    expect(fake.code, fake.stderr).toBe(0);
  });
});
