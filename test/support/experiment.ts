import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import type { ClaudeUsageEvent } from "./fake-anthropic-api.ts";
import { mulberry32 } from "./fake-usage-api/faults.ts";
import type { UsageEvent } from "./fake-usage-api.ts";

/**
 * Synthetic experiments modelled on the real data in ../shared/data/baes-berk: frameworks taking
 * turns, six steps per run, metrics.json written the way the experiment's Python code writes it
 * (indent 2, `1.0` float literals, raw UTF-8). Each run comes with the usage events that make its
 * true totals, so a test knows the exact answer the tool must find.
 */

export interface Totals {
  tokensIn: number;
  tokensOut: number;
  cachedTokens: number;
  requests: number;
}

export interface GeneratedRun {
  framework: string;
  runId: string;
  keyId: string;
  model: string;
  start: number;
  end: number;
  totals: Totals;
  events: UsageEvent[];
  /** Path of metrics.json relative to the runs directory. */
  path: string;
}

export interface ExperimentSpec {
  frameworks?: string[];
  runsPerFramework?: number;
  /** Unix seconds of the first run's start. */
  startAt?: number;
  seed?: number;
  /** Pause between one run's end and the next run's start, seconds. */
  gapSeconds?: [number, number];
  durationSeconds?: [number, number];
  model?: string;
  /** Model name the API reports (a dated snapshot). */
  apiModel?: string;
  format?: "current" | "legacy";
  manifest?: boolean;
}

export const keyIdFor = (framework: string): string =>
  `key_${framework.replace(/[^A-Za-z0-9]/g, "")}Test01`;

const iso = (t: number): string =>
  `${new Date(Math.floor(t) * 1000).toISOString().slice(0, 19)}.${String(Math.round((t % 1) * 1e6)).padStart(6, "0")}Z`;

/** Python's json.dump(indent=2) for our shapes: like JSON.stringify, but floats keep a `.0`. */
export function pythonJson(value: unknown, floats: ReadonlySet<string>): string {
  const text = JSON.stringify(value, null, 2);
  return text.replace(/^(\s*"([A-Za-z_]+)": )(-?\d+)(,?)$/gm, (all, head, key, num, comma) =>
    floats.has(key) ? `${head}${num}.0${comma}` : all,
  );
}

const FLOAT_KEYS = new Set([
  "AUTR",
  "ESR",
  "MC",
  "Q_star",
  "COST_USD",
  "uncached_input_cost",
  "cached_input_cost",
  "output_cost",
  "cache_savings",
  "duration_seconds",
  "T_WALL_seconds",
]);

function uuid(rand: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Splits `total` into `n` non-negative integers that sum to it. */
function split(total: number, n: number, rand: () => number): number[] {
  const weights = Array.from({ length: n }, () => rand() + 0.01);
  const sum = weights.reduce((a, b) => a + b, 0);
  const parts = weights.map((w) => Math.floor((w / sum) * total));
  parts[0]! += total - parts.reduce((a, b) => a + b, 0);
  return parts;
}

export function generateExperiment(spec: ExperimentSpec = {}): GeneratedRun[] {
  const frameworks = spec.frameworks ?? ["baes", "chatdev", "ghspec"];
  const perFramework = spec.runsPerFramework ?? 3;
  const rand = mulberry32(spec.seed ?? 42);
  const [gapMin, gapMax] = spec.gapSeconds ?? [200, 900];
  const [durMin, durMax] = spec.durationSeconds ?? [200, 2000];
  const model = spec.model ?? "gpt-4o-mini";
  const apiModel = spec.apiModel ?? "gpt-4o-mini-2024-07-18";
  let t = spec.startAt ?? 1_761_820_000;
  const runs: GeneratedRun[] = [];
  for (let i = 0; i < perFramework; i++) {
    for (const framework of frameworks) {
      const start = t + rand();
      const end = start + durMin + Math.floor(rand() * (durMax - durMin));
      const requests = 5 + Math.floor(rand() * 60);
      const tokensIn = requests * (1000 + Math.floor(rand() * 3000));
      const cachedShare = rand() * 0.5;
      const tokensOut = requests * (200 + Math.floor(rand() * 800));
      const keyId = keyIdFor(framework);
      const ins = split(tokensIn, requests, rand);
      const cached = ins.map((x) => Math.floor(x * cachedShare));
      const realCached = cached.reduce((a, b) => a + b, 0);
      const outs = split(tokensOut, requests, rand);
      const events: UsageEvent[] = ins.map((inputTokens, k) => ({
        apiKeyId: keyId,
        model: apiModel,
        // completion inside the run; the last request lands in the minute after the run ended
        completedAt:
          k === requests - 1 ? Math.floor(end) + 30 : Math.floor(start + rand() * (end - start)),
        inputTokens,
        cachedTokens: cached[k]!,
        outputTokens: outs[k]!,
        requests: 1,
      }));
      const runId = uuid(rand);
      runs.push({
        framework,
        runId,
        keyId,
        model,
        start,
        end,
        totals: { tokensIn, tokensOut, cachedTokens: realCached, requests },
        events,
        path: `${framework}/${runId}/metrics.json`,
      });
      t = end + gapMin + Math.floor(rand() * (gapMax - gapMin));
    }
  }
  return runs;
}

/** The metrics.json text the experiment framework would have committed for a run. */
export function metricsText(run: GeneratedRun, format: "current" | "legacy" = "current"): string {
  const stepCount = 6;
  const bounds = Array.from({ length: stepCount + 1 }, (_, k) =>
    Math.floor(run.start + ((run.end - run.start) * k) / stepCount),
  );
  bounds[stepCount] = Math.floor(run.end);
  // the framework's own token counting is close to, but not exactly, the API's
  const local = { in: run.totals.tokensIn - 17, out: run.totals.tokensOut + 3 };
  const stepIns = split(local.in, stepCount, mulberry32(run.runId.length + Math.floor(run.start)));
  const steps = Array.from({ length: stepCount }, (_, k) =>
    format === "legacy"
      ? {
          step_number: k + 1,
          command: `Step ${k + 1}: build the “Student/Course/Teacher” app`,
          duration_seconds: bounds[k + 1]! - bounds[k]! + 0.25,
          success: true,
          retry_count: 0,
          hitl_count: 0,
          tokens_in: stepIns[k]!,
          tokens_out: Math.floor(local.out / stepCount),
          api_calls: 3,
          cached_tokens: 0,
          start_timestamp: bounds[k]!,
          end_timestamp: bounds[k + 1]!,
        }
      : {
          step: k + 1,
          duration_seconds: bounds[k + 1]! - bounds[k]! + 0.25,
          start_timestamp: bounds[k]!,
          end_timestamp: bounds[k + 1]!,
          hitl_count: 0,
          retry_count: 0,
          success: true,
        },
  );
  const file: Record<string, unknown> = {
    run_id: run.runId,
    ...(format === "current" ? { model: run.model } : {}),
    start_timestamp: iso(run.start),
    end_timestamp: iso(run.end),
    steps,
    aggregate_metrics: {
      UTT: 6,
      HIT: 0,
      AUTR: 1,
      HEU: 0,
      TOK_IN: local.in,
      TOK_OUT: local.out,
      API_CALLS: run.totals.requests,
      CACHED_TOKENS: 0,
      T_WALL_seconds: 409.4641361236572,
      ESR: 0,
      ...(format === "current" ? { COST_USD: 0 } : {}),
    },
    ...(format === "current"
      ? {
          cost_breakdown: {
            uncached_input_cost: 0,
            cached_input_cost: 0,
            output_cost: 0,
            cache_savings: 0,
            model: run.model,
          },
        }
      : {}),
    usage_api_verification: {
      verified: false,
      error: "Lazy evaluation - metrics will be backfilled by reconciliation script",
    },
    verification_status: "pending",
  };
  return `${pythonJson(file, FLOAT_KEYS)}`;
}

export function manifestText(runs: readonly GeneratedRun[]): string {
  return pythonJson(
    {
      version: "1.0",
      last_updated: "2025-11-01T20:43:04.976063Z",
      total_runs: runs.length,
      runs: runs.map((r) => ({
        run_id: r.runId,
        framework: r.framework,
        path: `${r.framework}/${r.runId}`,
        start_time: iso(r.start),
        end_time: iso(r.end),
        verification_status: "pending",
        total_tokens_in: r.totals.tokensIn - 17,
        total_tokens_out: r.totals.tokensOut + 3,
      })),
    },
    new Set(),
  );
}

/** Every file under `root/dir`, by its path relative to `root`, as UTF-8 text. */
export async function filesUnder(root: string, dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(join(root, dir), { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out[relative(root, path)] = await readFile(path, "utf8");
  }
  return out;
}

export async function tempDir(prefix = "reconcile-usage-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Writes the runs (and a manifest) under `root/runs`; returns the runs directory. */
export async function writeExperiment(
  root: string,
  runs: readonly GeneratedRun[],
  options: { format?: "current" | "legacy"; manifest?: boolean } = {},
): Promise<string> {
  const runsDir = join(root, "runs");
  for (const r of runs) {
    const path = join(runsDir, r.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, metricsText(r, options.format));
  }
  if (options.manifest ?? true) await writeFile(join(runsDir, "manifest.json"), manifestText(runs));
  return runsDir;
}

export const allEvents = (runs: readonly GeneratedRun[]): UsageEvent[] =>
  runs.flatMap((r) => r.events);

/** A run's input split into Anthropic's four disjoint classes, summed over its requests. */
export interface ClaudeTruth {
  uncached: number;
  cacheRead: number;
  write5m: number;
  write1h: number;
  output: number;
}

/**
 * A generated run as if it had called Claude: each request's input split into Anthropic's four
 * classes (the cached tokens read from the cache, a tenth and a twentieth of the rest written to
 * 5-minute and 1-hour cache entries), on the given key and model; with the run's true totals.
 */
export function claudeEventsOf(
  run: GeneratedRun,
  apiKeyId: string,
  model: string,
): { events: ClaudeUsageEvent[]; truth: ClaudeTruth } {
  const truth: ClaudeTruth = { uncached: 0, cacheRead: 0, write5m: 0, write1h: 0, output: 0 };
  const events = run.events.map((e): ClaudeUsageEvent => {
    const cacheRead = e.cachedTokens ?? 0;
    const rest = e.inputTokens - cacheRead;
    const write5m = Math.floor(rest * 0.1);
    const write1h = Math.floor(rest * 0.05);
    const uncached = rest - write5m - write1h;
    truth.uncached += uncached;
    truth.cacheRead += cacheRead;
    truth.write5m += write5m;
    truth.write1h += write1h;
    truth.output += e.outputTokens;
    return {
      apiKeyId,
      model,
      completedAt: e.completedAt,
      uncachedInputTokens: uncached,
      cacheReadInputTokens: cacheRead,
      cacheWrite5mInputTokens: write5m,
      cacheWrite1hInputTokens: write1h,
      outputTokens: e.outputTokens,
    };
  });
  return { events, truth };
}

/** The shared real data, when this checkout sits beside it. */
export const SHARED_DATA = join(import.meta.dirname, "..", "..", "..", "shared", "data");
export const sharedDataPresent = (name: string): boolean => existsSync(join(SHARED_DATA, name));

/**
 * End of a test's title on a real data set: which data it reads, or, when that data is not beside
 * this checkout, that the test is skipped and why.
 */
export const onSharedData = (name: string): string =>
  sharedDataPresent(name)
    ? `(real data: ../shared/data/${name})`
    : `(skipped: ../shared/data/${name} is not beside this checkout)`;

/** Copies a real data set (read-only in ../shared) to a writable temp directory. */
export async function copySharedData(name: string): Promise<string> {
  const dir = await tempDir(`reconcile-usage-${name}-`);
  await cp(join(SHARED_DATA, name), dir, { recursive: true });
  const { chmod } = await import("node:fs/promises");
  const { readdir } = await import("node:fs/promises");
  const walk = async (d: string): Promise<void> => {
    await chmod(d, 0o755);
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else await chmod(p, 0o644);
    }
  };
  await walk(dir);
  return dir;
}
