/**
 * The reliability experiment shared by test/reliability/faults.test.ts and scripts/reliability.ts:
 * an experiment that is still running while a scheduled job reconciles it, every pass a real
 * `runPass` + `writeChanges` against the fake Usage API over real HTTP, with seeded faults of every
 * kind, late events and revised buckets, then clean passes until every run is verified. After EVERY
 * pass the files are checked against answers computed here, from the events alone (never by the
 * code under test): a reading that is not the API's answer for the run's whole window at the time
 * of the pass, a lost reading, a reading written for a run whose request failed, a torn or invalid
 * file, a leftover temp file, an aggregate set back to zero or a verification without its stable
 * pairs is counted and described.
 */
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writeChanges } from "../../src/delivery/write.ts";
import { nodeFiles } from "../../src/fs/node.ts";
import { loadPriceSources } from "../../src/pricing/load.ts";
import { createHttpPageSource } from "../../src/providers/openai/http.ts";
import { runPass } from "../../src/reconcile/pass.ts";
import type { PassSettings } from "../../src/reconcile/settings.ts";
import { ManifestSchema, MetricsFileSchema } from "../../src/runs/schema.ts";
import { defaultPassSettings } from "../../src/settings/resolve.ts";
import type { PageSource } from "../../src/transport/source.ts";
import { TOOL, VERSION } from "../../src/version.ts";
import {
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  manifestText,
  metricsText,
  tempDir,
} from "./experiment.ts";
import { mulberry32 } from "./fake-usage-api/faults.ts";
import {
  type Fault,
  type FaultPlan,
  seededFaults,
  startFakeUsageApi,
  type UsageEvent,
} from "./fake-usage-api.ts";

export interface ReliabilityOptions {
  /** Passes run while faults are injected. */
  passes: number;
  /** Runs in the experiment. */
  runs: number;
  seed: number;
  /** Share of requests that fault while faults are on; default 0.1. */
  faultRate?: number;
  /** Clean passes allowed after the faults stop before giving up on verification; default 8. */
  maxCleanPasses?: number;
  /** Progress lines (one per pass). */
  log?: (line: string) => void;
  /**
   * Stands between the passes and the HTTP client. Only for proving that the checks catch a broken
   * client (the old script's zero-on-failure, a miscounted bucket): never set when measuring.
   */
  wrapSource?: (source: PageSource) => PageSource;
}

export interface Totals {
  tokensIn: number;
  tokensOut: number;
  cachedTokens: number;
  requests: number;
}

export interface ReliabilityFigures {
  seed: number;
  runs: number;
  frameworks: number;
  faultyPasses: number;
  cleanPasses: number;
  /** HTTP requests the fake Usage API received (retries included). */
  requests: number;
  /** Retries the client made (a subset of requests). */
  retries: number;
  /** Faults the server injected, by kind. */
  faults: Record<string, number>;
  faultsTotal: number;
  /** Events reported later than their completion / revised after first being reported. */
  lateEvents: number;
  revisedEvents: number;
  /** Runs all of whose usage arrived after the first reading could be taken. */
  fullyLateRuns: number;
  /** Usage on a run's key in minutes no run owns (must never be counted for a run). */
  strayEvents: number;
  /** Σ over passes of the runs whose files were checked after that pass. */
  runsChecked: number;
  /** Readings written to files. */
  readingsRecorded: number;
  /** Of those: zero readings (the API answered, no usage yet) and readings that changed value. */
  zeroReadings: number;
  changedReadings: number;
  /** Run readings the pass refused to record because the Usage API failed (status error). */
  readingsRefused: number;
  /** Reads of files while they were being rewritten (each must see a whole file). */
  concurrentReads: number;
  // ---- must all be zero ----
  wrongReadings: number;
  halfWrittenFiles: number;
  tempFilesLeft: number;
  lostReadings: number;
  writtenForFailedRun: number;
  zeroOverwrites: number;
  aggregateMismatches: number;
  unsoundVerifications: number;
  manifestMismatches: number;
  duplicateReadings: number;
  reportMismatches: number;
  writeFailures: number;
  /** The first violations, described. */
  violations: string[];
  // ---- after the faults stopped ----
  verifiedRuns: number;
  /** Every run verified, with aggregates and newest reading equal to its true totals. */
  allReachedTruth: boolean;
  /** Runs that did not (at most 20 listed). */
  notReached: string[];
  wallMs: number;
}

const MIN = 60;
const HOUR = 3600;
const INTERVAL_MINUTES = 60;
const STABLE_CHECKS = 2;
const MIN_AGE_MINUTES = 30;
const TAIL_SECONDS = 120;
const ADMIN_KEY = "sk-admin-reliability-0000";
const API_MODEL = "gpt-4o-mini-2024-07-18";
/** Per framework: a run lasts 200–1200 s and the next starts 300–900 s after it ends. */
const AVERAGE_SLOT_SECONDS = 1300;
const T_START = 1_762_000_000;
/** How late data and revisions may come after a run ends: always settled before 2 h. */
const SETTLE_MINUTES: [number, number] = [35, 115];

/** Every fault kind the fake server has for a page that should have been served. */
export const FAULT_KINDS: Fault[] = [
  { kind: "status", status: 429, retryAfter: "1" },
  { kind: "status", status: 429 },
  { kind: "status", status: 500 },
  { kind: "status", status: 502 },
  { kind: "status", status: 503 },
  { kind: "reset" },
  { kind: "slow", delayMs: 1500 },
  { kind: "truncated" },
  { kind: "schema-violation" },
  { kind: "repeat-cursor" },
];

export const faultLabel = (f: Fault): string =>
  f.kind === "status" ? `${f.status}${f.retryAfter !== undefined ? " Retry-After" : ""}` : f.kind;

const zero = (): Totals => ({ tokensIn: 0, tokensOut: 0, cachedTokens: 0, requests: 0 });
const sameTotals = (a: Totals, b: Totals) =>
  a.tokensIn === b.tokensIn &&
  a.tokensOut === b.tokensOut &&
  a.cachedTokens === b.cachedTokens &&
  a.requests === b.requests;
const show = (t: Totals) =>
  `${t.tokensIn} in/${t.tokensOut} out/${t.cachedTokens} cached/${t.requests} req`;

interface AttemptJson {
  timestamp: string;
  total_tokens_in: number;
  total_tokens_out: number;
  total_cached_tokens: number;
  total_api_calls: number;
  query_window?: { start: number; end: number };
  api_key_id?: string;
  models?: Array<{
    tokens_in: number;
    tokens_out: number;
    cached_tokens: number;
    api_calls: number;
  }>;
}
interface MetricsJson {
  verification_status?: string;
  steps?: Array<{ start_timestamp?: number | null; end_timestamp?: number | null }>;
  aggregate_metrics?: Record<string, unknown>;
  usage_api_reconciliation?: { attempts?: AttemptJson[] };
}

const totalsOfAttempt = (a: AttemptJson): Totals => ({
  tokensIn: a.total_tokens_in,
  tokensOut: a.total_tokens_out,
  cachedTokens: a.total_cached_tokens,
  requests: a.total_api_calls,
});
const isZero = (t: Totals) => sameTotals(t, zero());
const secondsOf = (timestamp: string) => Date.parse(timestamp) / 1000;

/** The experiment: frameworks side by side, each its own key, runs back to back on each. */
export interface ReliabilityExperiment {
  runs: GeneratedRun[];
  events: UsageEvent[];
  frameworks: string[];
  /** When each run's metrics.json is committed (the experiment pushes it after the run). */
  commitAt: Map<GeneratedRun, number>;
  late: number;
  revised: number;
  fullyLate: number;
  stray: number;
}

export function buildExperiment(options: { runs: number; passes: number; seed: number }) {
  const rand = mulberry32(options.seed ^ 0x51f15eed);
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  // the experiment runs through the first three quarters of the faulty passes (one an hour)
  const perFramework = Math.max(
    1,
    Math.floor((0.75 * options.passes * HOUR) / AVERAGE_SLOT_SECONDS),
  );
  const count = Math.max(1, Math.ceil(options.runs / perFramework));
  const base = ["baes", "chatdev", "ghspec"];
  const frameworks = Array.from({ length: count }, (_, i) =>
    i < base.length ? base[i]! : `fw${String(i + 1).padStart(2, "0")}`,
  );
  let runs: GeneratedRun[] = [];
  frameworks.forEach((framework, i) => {
    runs.push(
      ...generateExperiment({
        frameworks: [framework],
        runsPerFramework: perFramework,
        seed: options.seed * 7919 + i,
        startAt: T_START + between(0, 1800),
        durationSeconds: [200, 1200],
        // ≥ 300 s: the next run's window starts at least two whole minutes after this one's ends
        gapSeconds: [300, 900],
        apiModel: API_MODEL,
      }),
    );
  });
  runs = runs.slice(0, options.runs);
  if (new Set(runs.map((r) => r.runId)).size !== runs.length)
    throw new Error("generated run ids collide; pick another seed");

  let late = 0;
  let revised = 0;
  let fullyLate = 0;
  let stray = 0;
  const events: UsageEvent[] = [];
  const commitAt = new Map<GeneratedRun, number>();
  for (const run of runs) {
    const end = Math.floor(run.end);
    const settle = () => end + between(...SETTLE_MINUTES) * MIN;
    const evs = run.events.map((e) => ({ ...e }));
    const pick = () => evs[Math.floor(rand() * evs.length)]!;
    const roll = rand();
    if (roll < 0.03) {
      // nothing of this run is reported before the first reading can be taken
      for (const e of evs) e.visibleAt = settle();
      fullyLate++;
      late += evs.length;
    } else if (roll < 0.23) {
      const chosen = new Set(Array.from({ length: between(1, 3) }, pick));
      for (const e of chosen) e.visibleAt = settle();
      late += chosen.size;
    }
    if (rand() < 0.2) {
      const chosen = new Set(Array.from({ length: between(1, 2) }, pick));
      for (const e of chosen) {
        // a bucket revised after it was first reported: more input, or less output
        e.revisions =
          rand() < 0.5
            ? [{ at: settle(), inputTokens: e.inputTokens + between(1, 400) }]
            : [{ at: settle(), outputTokens: Math.max(0, e.outputTokens - between(1, 100)) }];
      }
      revised += chosen.size;
    }
    events.push(...evs);
    if (rand() < 0.1) {
      // usage on the key in an unowned minute between this run's window and the next one's
      const windowEnd = Math.floor(end / MIN) * MIN + MIN + TAIL_SECONDS;
      events.push({
        apiKeyId: run.keyId,
        model: API_MODEL,
        completedAt: windowEnd + between(0, 119),
        inputTokens: between(100, 5000),
        cachedTokens: 0,
        outputTokens: between(10, 500),
      });
      stray++;
    }
    commitAt.set(run, end + between(1, 25) * MIN);
  }
  return { runs, events, frameworks, commitAt, late, revised, fullyLate, stray };
}

/** The minutes a run owns: [floor60(first step start), floor60(last step end) + 60 + tail). */
function windowOfFile(file: MetricsJson): { start: number; end: number } {
  const steps = file.steps ?? [];
  const start = Math.min(...steps.map((s) => s.start_timestamp ?? Number.POSITIVE_INFINITY));
  const end = Math.max(...steps.map((s) => s.end_timestamp ?? Number.NEGATIVE_INFINITY));
  return {
    start: Math.floor(start / MIN) * MIN,
    end: Math.floor(end / MIN) * MIN + MIN + TAIL_SECONDS,
  };
}

/**
 * The fake server's answer for a key and window at server time `now`, from the events alone: every
 * event completed inside the window and visible by `now`, with its latest revision due by `now`.
 */
function answerOf(
  events: readonly UsageEvent[],
  window: { start: number; end: number },
  now: number,
): Totals {
  const t = zero();
  for (const e of events) {
    if (e.completedAt < window.start || e.completedAt >= window.end) continue;
    if ((e.visibleAt ?? e.completedAt) > now) continue;
    let v = {
      inputTokens: e.inputTokens,
      cachedTokens: e.cachedTokens ?? 0,
      outputTokens: e.outputTokens,
      requests: e.requests ?? 1,
    };
    const due = (e.revisions ?? []).filter((r) => r.at <= now).sort((a, b) => a.at - b.at);
    for (const r of due) {
      v = {
        inputTokens: r.inputTokens ?? v.inputTokens,
        cachedTokens: r.cachedTokens ?? v.cachedTokens,
        outputTokens: r.outputTokens ?? v.outputTokens,
        requests: r.requests ?? v.requests,
      };
    }
    t.tokensIn += v.inputTokens;
    t.cachedTokens += v.cachedTokens;
    t.tokensOut += v.outputTokens;
    t.requests += v.requests;
  }
  return t;
}

/** Files under `dir` whose name marks an unfinished atomic write. */
async function tempFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(".tmp")) found.push(join(e.parentPath, e.name));
  }
  return found;
}

/** Whether the newest identical readings hold `needed` pairs at least `interval` apart. */
function stablePairsAtEnd(attempts: readonly AttemptJson[], interval: number): number {
  let pairs = 0;
  for (let i = attempts.length - 1; i >= 1; i--) {
    const newer = attempts[i]!;
    const older = attempts[i - 1]!;
    if (!sameTotals(totalsOfAttempt(newer), totalsOfAttempt(older))) break;
    if (secondsOf(newer.timestamp) - secondsOf(older.timestamp) >= interval) pairs++;
  }
  return pairs;
}

export async function runReliability(options: ReliabilityOptions): Promise<ReliabilityFigures> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const exp = buildExperiment(options);
  const rand = mulberry32(options.seed ^ 0x0dd5eed);
  const eventsByKey = new Map<string, UsageEvent[]>();
  for (const e of exp.events)
    eventsByKey.set(e.apiKeyId, [...(eventsByKey.get(e.apiKeyId) ?? []), e]);

  const root = await tempDir("reconcile-usage-reliability-");
  const runsDir = join(root, "runs");
  await mkdir(runsDir, { recursive: true });
  // the experiment planned every run up front: the manifest lists them all from the start
  await writeFile(join(runsDir, "manifest.json"), manifestText(exp.runs));

  let clock = 0;
  const faults: Record<string, number> = {};
  for (const f of FAULT_KINDS) faults[faultLabel(f)] = 0;
  const seeded = seededFaults(options.seed, options.faultRate ?? 0.1, FAULT_KINDS);
  const counting: FaultPlan = (ctx) => {
    const f = seeded(ctx);
    if (f) faults[faultLabel(f)]!++;
    return f;
  };
  const api = await startFakeUsageApi({
    adminKey: ADMIN_KEY,
    events: exp.events,
    now: () => clock,
    // pages of 15 minutes: every pass pages through its spans with the cursor
    maxBucketsPerPage: 15,
  });
  const source = createHttpPageSource({
    baseUrl: api.baseUrl,
    adminKey: ADMIN_KEY,
    timeoutMs: 300,
    maxAttempts: 4,
    backoffBaseMs: 1,
    backoffMaxMs: 4,
    // retries do not wait for real (Retry-After included): the clock of the passes is simulated
    sleep: async () => undefined,
    random: mulberry32(options.seed ^ 0xbac0ff),
  });

  const settings: PassSettings = {
    ...defaultPassSettings(),
    runsDir,
    apiKeyIds: Object.fromEntries(exp.frameworks.map((f) => [f, keyIdFor(f)])),
    minAgeMinutes: MIN_AGE_MINUTES,
    verificationIntervalMinutes: INTERVAL_MINUTES,
    stableChecks: STABLE_CHECKS,
    windowTailSeconds: TAIL_SECONDS,
  };
  const prices = await loadPriceSources(nodeFiles, runsDir, undefined);

  const figures: ReliabilityFigures = {
    seed: options.seed,
    runs: exp.runs.length,
    frameworks: exp.frameworks.length,
    faultyPasses: 0,
    cleanPasses: 0,
    requests: 0,
    retries: 0,
    faults,
    faultsTotal: 0,
    lateEvents: exp.late,
    revisedEvents: exp.revised,
    fullyLateRuns: exp.fullyLate,
    strayEvents: exp.stray,
    runsChecked: 0,
    readingsRecorded: 0,
    zeroReadings: 0,
    changedReadings: 0,
    readingsRefused: 0,
    concurrentReads: 0,
    wrongReadings: 0,
    halfWrittenFiles: 0,
    tempFilesLeft: 0,
    lostReadings: 0,
    writtenForFailedRun: 0,
    zeroOverwrites: 0,
    aggregateMismatches: 0,
    unsoundVerifications: 0,
    manifestMismatches: 0,
    duplicateReadings: 0,
    reportMismatches: 0,
    writeFailures: 0,
    violations: [],
    verifiedRuns: 0,
    allReachedTruth: false,
    notReached: [],
    wallMs: 0,
  };
  const violation = (text: string) => {
    if (figures.violations.length < 20) figures.violations.push(text);
  };

  interface Seen {
    text: string;
    attempts: AttemptJson[];
    tokIn: number;
  }
  const committed = new Set<GeneratedRun>();
  const seen = new Map<GeneratedRun, Seen>();
  const passTimes = new Set<number>();
  const pathOf = (run: GeneratedRun) => join(runsDir, run.path);
  const idOf = (run: GeneratedRun) => `${run.framework}/${run.runId}`;

  async function commitFinishedRuns(now: number): Promise<void> {
    for (const run of exp.runs) {
      if (committed.has(run) || exp.commitAt.get(run)! > now) continue;
      const text = metricsText(run);
      await mkdir(dirname(pathOf(run)), { recursive: true });
      await writeFile(pathOf(run), text);
      committed.add(run);
      seen.set(run, {
        text,
        attempts: [],
        tokIn: JSON.parse(text).aggregate_metrics.TOK_IN,
      });
    }
  }

  /** Writes the changes while another reader keeps reading them: it must always see a whole file. */
  async function writeWatched(changes: Awaited<ReturnType<typeof runPass>>["changes"]) {
    let writing = true;
    const reader = (async () => {
      for (let i = 0; writing && changes.length > 0; i++) {
        const path = changes[i % changes.length]!.path;
        const text = await readFile(path, "utf8");
        figures.concurrentReads++;
        try {
          JSON.parse(text);
        } catch {
          figures.halfWrittenFiles++;
          violation(`${path}: read while being written, not a whole JSON file`);
        }
      }
    })();
    const failed = await writeChanges(nodeFiles, changes);
    writing = false;
    await reader;
    figures.writeFailures += failed.length;
    for (const f of failed) violation(`${f.path}: write failed: ${f.reason}`);
  }

  async function checkFiles(now: number, report: Awaited<ReturnType<typeof runPass>>["report"]) {
    const rows = new Map(report.runs.map((r) => [`${r.framework}/${r.run_id}`, r]));
    const manifestRaw = await readFile(join(runsDir, "manifest.json"), "utf8");
    let manifest: ReturnType<typeof ManifestSchema.parse> | undefined;
    try {
      manifest = ManifestSchema.parse(JSON.parse(manifestRaw));
    } catch (error) {
      figures.halfWrittenFiles++;
      violation(`manifest.json does not parse or validate: ${error}`);
    }
    const entries = new Map(manifest?.runs.map((e) => [`${e.framework}/${e.run_id}`, e]) ?? []);
    for (const run of committed) {
      figures.runsChecked++;
      const id = idOf(run);
      const before = seen.get(run)!;
      const text = await readFile(pathOf(run), "utf8");
      let file: MetricsJson;
      try {
        file = JSON.parse(text) as MetricsJson;
        const valid = MetricsFileSchema.safeParse(file);
        if (!valid.success) throw new Error(valid.error.message);
      } catch (error) {
        figures.halfWrittenFiles++;
        violation(`${id}: metrics.json no longer parses or validates: ${error}`);
        continue;
      }
      const row = rows.get(id);
      if (row?.status === "error") {
        figures.readingsRefused++;
        if (text !== before.text) {
          figures.writtenForFailedRun++;
          violation(`${id}: its reading failed (${row.message}) but its file changed`);
        }
      }
      const attempts = file.usage_api_reconciliation?.attempts ?? [];
      // nothing recorded before is lost or changed
      const kept = attempts.slice(0, before.attempts.length);
      if (JSON.stringify(kept) !== JSON.stringify(before.attempts)) {
        figures.lostReadings++;
        violation(`${id}: readings recorded before this pass were lost or changed`);
      }
      const fresh = attempts.slice(before.attempts.length);
      if (fresh.length > 1) {
        figures.duplicateReadings += fresh.length - 1;
        violation(`${id}: ${fresh.length} readings added in one pass`);
      }
      if (fresh.length > 0 !== (row?.read === true)) {
        figures.reportMismatches++;
        violation(
          `${id}: ${fresh.length} new reading(s) in the file, but the report says read=${row?.read}`,
        );
      }
      const stamps = attempts.map((a) => a.timestamp);
      if (new Set(stamps).size !== stamps.length) {
        figures.duplicateReadings++;
        violation(`${id}: two readings with the same timestamp`);
      }
      const window = windowOfFile(file);
      for (const a of fresh) {
        figures.readingsRecorded++;
        const at = secondsOf(a.timestamp);
        const got = totalsOfAttempt(a);
        const truth = answerOf(eventsByKey.get(run.keyId) ?? [], window, at);
        const models = (a.models ?? []).reduce(
          (t, m) => ({
            tokensIn: t.tokensIn + m.tokens_in,
            tokensOut: t.tokensOut + m.tokens_out,
            cachedTokens: t.cachedTokens + m.cached_tokens,
            requests: t.requests + m.api_calls,
          }),
          zero(),
        );
        const wrong =
          at !== now ||
          !passTimes.has(at) ||
          !sameTotals(got, truth) ||
          !sameTotals(models, got) ||
          a.query_window?.start !== window.start ||
          a.query_window?.end !== window.end ||
          a.api_key_id !== run.keyId;
        if (wrong) {
          figures.wrongReadings++;
          violation(
            `${id}: reading at ${a.timestamp} says ${show(got)} over ${a.query_window?.start}–${a.query_window?.end}; the API's answer for ${window.start}–${window.end} then was ${show(truth)}`,
          );
        }
        if (isZero(got)) figures.zeroReadings++;
        const previous = attempts[attempts.indexOf(a) - 1];
        if (previous && !sameTotals(totalsOfAttempt(previous), got)) figures.changedReadings++;
      }
      // aggregates: never set back to zero; once a non-zero reading exists, they are its totals
      const agg = file.aggregate_metrics ?? {};
      const tokIn = Number(agg.TOK_IN ?? 0);
      if (before.tokIn > 0 && tokIn === 0) {
        figures.zeroOverwrites++;
        violation(`${id}: TOK_IN went from ${before.tokIn} to 0`);
      }
      const basis = [...attempts].reverse().find((a) => !isZero(totalsOfAttempt(a)));
      if (basis) {
        const b = totalsOfAttempt(basis);
        const fileTotals = {
          tokensIn: tokIn,
          tokensOut: Number(agg.TOK_OUT),
          cachedTokens: Number(agg.CACHED_TOKENS),
          requests: Number(agg.API_CALLS),
        };
        if (!sameTotals(fileTotals, b)) {
          figures.aggregateMismatches++;
          violation(`${id}: aggregates ${show(fileTotals)} are not its newest reading ${show(b)}`);
        }
      }
      if (file.verification_status === "verified") {
        const last = attempts.at(-1);
        const pairs = stablePairsAtEnd(attempts, INTERVAL_MINUTES * MIN);
        if (!last || isZero(totalsOfAttempt(last)) || pairs < STABLE_CHECKS) {
          figures.unsoundVerifications++;
          violation(`${id}: verified with ${pairs} stable pair(s) at the end of its readings`);
        }
      }
      const entry = entries.get(id);
      if (
        manifest &&
        (!entry ||
          entry.verification_status !== file.verification_status ||
          entry.total_tokens_in !== agg.TOK_IN ||
          entry.total_tokens_out !== agg.TOK_OUT)
      ) {
        figures.manifestMismatches++;
        violation(`${id}: manifest entry disagrees with metrics.json`);
      }
      seen.set(run, { text, attempts, tokIn });
    }
    const temps = await tempFiles(runsDir);
    figures.tempFilesLeft += temps.length;
    for (const t of temps) violation(`${t}: temporary file left behind`);
  }

  async function pass(now: number, label: string): Promise<number> {
    clock = now;
    passTimes.add(now);
    await commitFinishedRuns(now);
    const sent = api.requests.length;
    const outcome = await runPass(settings, {
      files: nodeFiles,
      now,
      prices,
      source: options.wrapSource ? options.wrapSource(source) : source,
      requestCount: () => source.stats.requests,
      tool: TOOL,
      version: VERSION,
    });
    await writeWatched(outcome.changes);
    await checkFiles(now, outcome.report);
    const by = outcome.report.totals.by_status;
    const read = outcome.collected?.readings.size ?? 0;
    log(
      `${label} ${new Date(now * 1000).toISOString().slice(0, 16)}: ${committed.size} runs, ${read} read, ${by.error} refused (API failed), ${by.verified} verified, ${api.requests.length - sent} requests`,
    );
    return by.verified;
  }

  try {
    let now = T_START + 45 * MIN;
    api.setFaults(counting);
    for (let p = 0; p < options.passes; p++) {
      if (p > 0) now += pickBetween(rand, 30, 90) * MIN;
      await pass(now, `pass ${p + 1}/${options.passes} (faults)`);
      figures.faultyPasses++;
    }
    api.setFaults(undefined);
    const maxClean = options.maxCleanPasses ?? 8;
    for (let c = 0; c < maxClean; c++) {
      now += INTERVAL_MINUTES * MIN;
      const verified = await pass(now, `clean pass ${c + 1}`);
      figures.cleanPasses++;
      if (committed.size === exp.runs.length && verified === exp.runs.length) break;
    }

    // after the faults: every run verified with its true totals
    for (const run of exp.runs) {
      const id = idOf(run);
      const s = seen.get(run);
      if (!s) {
        figures.notReached.push(`${id}: never committed`);
        continue;
      }
      const file = JSON.parse(s.text) as MetricsJson;
      const truth = answerOf(eventsByKey.get(run.keyId) ?? [], windowOfFile(file), now);
      const agg = file.aggregate_metrics ?? {};
      const aggregates = {
        tokensIn: Number(agg.TOK_IN),
        tokensOut: Number(agg.TOK_OUT),
        cachedTokens: Number(agg.CACHED_TOKENS),
        requests: Number(agg.API_CALLS),
      };
      const last = s.attempts.at(-1);
      if (file.verification_status === "verified") figures.verifiedRuns++;
      if (
        file.verification_status !== "verified" ||
        !sameTotals(aggregates, truth) ||
        !last ||
        !sameTotals(totalsOfAttempt(last), truth)
      ) {
        if (figures.notReached.length < 20)
          figures.notReached.push(
            `${id}: ${file.verification_status}, aggregates ${show(aggregates)}, truth ${show(truth)}`,
          );
      }
    }
    figures.allReachedTruth =
      figures.notReached.length === 0 && figures.verifiedRuns === exp.runs.length;
  } finally {
    figures.requests = api.requests.length;
    figures.retries = source.stats.retries;
    figures.faultsTotal = Object.values(faults).reduce((a, b) => a + b, 0);
    await source.close();
    await api.close();
    await rm(root, { recursive: true, force: true });
    figures.wallMs = Math.round(performance.now() - started);
  }
  return figures;
}

function pickBetween(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

/** The figures that must be zero, by name. */
export const MUST_BE_ZERO = [
  "wrongReadings",
  "halfWrittenFiles",
  "tempFilesLeft",
  "lostReadings",
  "writtenForFailedRun",
  "zeroOverwrites",
  "aggregateMismatches",
  "unsoundVerifications",
  "manifestMismatches",
  "duplicateReadings",
  "reportMismatches",
  "writeFailures",
] as const satisfies ReadonlyArray<keyof ReliabilityFigures>;
