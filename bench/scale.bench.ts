/**
 * How a pass grows with the experiment: the CLI bundle run as a user runs it (`node cli.js`, its
 * own process) against the project's fake Usage API (real HTTP on 127.0.0.1), on
 * - the 300 real runs of ../shared/data/baes-berk (a copy; usage generated from each run's
 *   recorded tokens), or a generated 300-run experiment when that data is not beside the checkout;
 * - 10,000 generated runs, fresh (every run due), then the same directory again with nothing due;
 * - with BENCH_BIG=1 (or --big), 30,000 and 100,000 generated runs too (generated, never committed).
 * Generated experiments keep one density (about 333 runs a day, 3 frameworks), so a point's size
 * is its only difference. Each point prints wall time (spawn to exit), peak RSS of the CLI process,
 * requests against the lower bound, and whether every reading is exact; the median of the
 * repetitions (BENCH_REPEAT, default 1), taken interleaved. Not a test: it asserts nothing.
 * BENCH_SIZES=10000,50000 picks the generated sizes instead.
 * BENCH_LATENCY_MS=300 makes the fake API answer each request that much later (the real Usage API
 * takes about 0.3 s a request): a pass then edits the runs already read while it waits.
 * After each nothing-due pass, bench/floor.ts reads the same directory in a bare process (reading
 * and JSON.parse only, then with the schema check too): what no pass can go below.
 * `--against DIR` runs a second build (an older one) on the same fixtures, interleaved with the first.
 *   node bench/scale.bench.ts [--big] [--repeat N] [--bundle DIR|FILE] [--against DIR]
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { PassReportSchema } from "../src/report/schema.ts";
import { MetricsFileSchema } from "../src/runs/schema.ts";
import { activityWindow } from "../src/runs/window.ts";
import { ROOT } from "../test/support/bundle.ts";
import { spawnCli } from "../test/support/cli-process.ts";
import {
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  manifestText,
  metricsText,
  SHARED_DATA,
  sharedDataPresent,
  tempDir,
} from "../test/support/experiment.ts";
import { startFakeUsageApi, type UsageEvent } from "../test/support/fake-usage-api.ts";

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const big = argv.includes("--big") || process.env.BENCH_BIG === "1";
/** A whole number of at least `min` from an option or variable, or a clear stop naming it. */
function whole(name: string, text: string, min: number): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isInteger(n) || n < min)
    throw new Error(`${name} must be a whole number of at least ${min}, not "${text}"`);
  return n;
}
const repeat = whole(
  "--repeat / BENCH_REPEAT",
  flag("--repeat") ?? process.env.BENCH_REPEAT ?? "1",
  1,
);
const latencyMs = whole("BENCH_LATENCY_MS", process.env.BENCH_LATENCY_MS ?? "0", 0);
/**
 * The CLI bundle built from today's src/ into a directory of the bench's own (a test run rebuilds
 * its bundle while it starts, which must not pull the bench's from under it), reused while newer
 * than every source file.
 */
function benchBundle(): string {
  const dir = join(ROOT, ".cache", "bench-bundle");
  const newest = (path: string): number => {
    const s = statSync(path);
    return s.isDirectory()
      ? Math.max(0, ...readdirSync(path).map((n) => newest(join(path, n))))
      : s.mtimeMs;
  };
  const sources = Math.max(
    ...["src", "scripts/build.ts", "package-lock.json"].map((p) => newest(join(ROOT, p))),
  );
  let built = 0;
  try {
    built = statSync(join(dir, "cli.js")).mtimeMs;
  } catch {
    built = 0;
  }
  if (built <= sources)
    execFileSync(process.execPath, [join(ROOT, "scripts", "build.ts"), "--out", dir], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "inherit"],
    });
  return join(dir, "cli.js");
}

// a bundle directory (its cli.js), or a file to run (src/entry/cli.ts runs the sources, for profiles)
const given = flag("--bundle");
const bundle = given
  ? /\.[jt]s$/.test(given)
    ? resolve(given)
    : resolve(given, "cli.js")
  : benchBundle();
const against = flag("--against");
const bundles: Array<{ label: string; path: string }> = [
  { label: given ?? "this build", path: bundle },
  ...(against ? [{ label: against, path: resolve(against, "cli.js") }] : []),
];
/** Options for node running the CLI, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
const nodeArgs = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);

const ADMIN_KEY = "sk-admin-bench";
const FRAMEWORKS = ["baes", "chatdev", "ghspec"];
const RUNS_PER_DAY = 10_000 / 30;

interface Truth {
  tokensIn: number;
  tokensOut: number;
  cachedTokens: number;
  requests: number;
}

interface Fixture {
  name: string;
  /** A directory holding `runs/`, copied afresh for each repetition. */
  template: string;
  events: UsageEvent[];
  truth: Map<string, Truth>;
  args: string[];
  /** Also measure a second pass on the same directory (nothing due by then). */
  again: boolean;
}

interface Sample {
  wallMs: number;
  cpuMs: number;
  rssBytes: number;
  requests: number;
  lowerBound: number;
  runs: number;
  wrong: number;
  changed: number;
  code: number | null;
  /** A floor's time loading the schema (bench/floor.ts). */
  loadMs?: number;
}

/** Writes files with a few in flight: a 100,000-run fixture one file at a time takes minutes. */
async function writeAll(files: Array<[string, string]>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const [path, text] = files[next++]!;
      await mkdir(join(path, ".."), { recursive: true });
      await writeFile(path, text);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

async function generatedFixture(total: number): Promise<Fixture> {
  const days = total / RUNS_PER_DAY;
  const slot = (days * 86_400) / total;
  const runs: GeneratedRun[] = generateExperiment({
    frameworks: FRAMEWORKS,
    runsPerFramework: Math.ceil(total / FRAMEWORKS.length),
    startAt: 1_760_000_000,
    seed: 2025,
    durationSeconds: [Math.floor(slot * 0.3), Math.floor(slot * 0.7)],
    gapSeconds: [Math.floor(slot * 0.2), Math.floor(slot * 0.6)],
  }).slice(0, total);
  const template = await tempDir("reconcile-usage-scale-");
  const runsDir = join(template, "runs");
  await writeAll(runs.map((r) => [join(runsDir, r.path), metricsText(r)]));
  await writeFile(join(runsDir, "manifest.json"), manifestText(runs));
  const now = Math.max(...runs.map((r) => r.end)) + 3 * 3600;
  return {
    name: `${total.toLocaleString("en-US")} runs`,
    template,
    events: runs.flatMap((r) => r.events),
    truth: new Map(runs.map((r) => [`${r.framework}/${r.runId}`, r.totals])),
    args: [
      "--now",
      new Date(now * 1000).toISOString(),
      ...FRAMEWORKS.flatMap((f) => ["--api-key-id", `${f}=${keyIdFor(f)}`]),
    ],
    again: true,
  };
}

/**
 * The 300 real runs with usage made from what their files recorded: each run's last reading (or,
 * with none, its own aggregate counts) in the middle minute of its window, so the answer is known.
 */
async function realFixture(): Promise<Fixture> {
  const template = await tempDir("reconcile-usage-scale-real-");
  execFileSync("cp", ["-r", join(SHARED_DATA, "baes-berk", "runs"), template]);
  execFileSync("chmod", ["-R", "u+w", template]);
  const events: UsageEvent[] = [];
  const truth = new Map<string, Truth>();
  const keyOf = (f: string) => `key_${f}Real01`;
  for (const framework of FRAMEWORKS) {
    for (const runId of await readdir(join(template, "runs", framework))) {
      const path = join(template, "runs", framework, runId, "metrics.json");
      const file = MetricsFileSchema.parse(JSON.parse(await readFile(path, "utf8")));
      const window = activityWindow(file, undefined, Number.POSITIVE_INFINITY);
      if (!("ok" in window)) continue;
      const last = file.usage_api_reconciliation?.attempts?.at(-1);
      const t: Truth = last
        ? {
            tokensIn: last.total_tokens_in,
            tokensOut: last.total_tokens_out,
            cachedTokens: last.total_cached_tokens,
            requests: last.total_api_calls ?? 0,
          }
        : {
            tokensIn: file.aggregate_metrics?.TOK_IN ?? 0,
            tokensOut: file.aggregate_metrics?.TOK_OUT ?? 0,
            cachedTokens: 0,
            requests: file.aggregate_metrics?.API_CALLS ?? 0,
          };
      truth.set(`${framework}/${runId}`, t);
      const middle = Math.floor((window.ok.start + window.ok.end) / 2);
      events.push({
        apiKeyId: keyOf(framework),
        model: "gpt-4o-mini-2024-07-18",
        completedAt: middle,
        inputTokens: t.tokensIn,
        cachedTokens: t.cachedTokens,
        outputTokens: t.tokensOut,
        requests: t.requests,
      });
    }
  }
  return {
    name: "300 real runs",
    template,
    events,
    truth,
    args: [
      "--now",
      "2025-11-05T00:00:00Z",
      ...FRAMEWORKS.flatMap((f) => ["--api-key-id", `${f}=${keyOf(f)}`]),
    ],
    again: false,
  };
}

/** Written by the CLI process as it exits: its peak RSS (bytes) and CPU time (µs, user + system). */
const RSS_PROBE = `data:text/javascript,import{writeFileSync}from"node:fs";process.on("exit",()=>{const u=process.resourceUsage();writeFileSync(process.env.BENCH_RSS_FILE,JSON.stringify([u.maxRSS*1024,u.userCPUTime+u.systemCPUTime]))})`;

/** Runs `script` in its own node process in `dir`, with RSS_PROBE: its exit, wall, CPU and peak RSS. */
async function probed(
  script: string,
  args: string[],
  dir: string,
  env: Record<string, string> = {},
  extraNodeArgs: readonly string[] = [],
) {
  const rssFile = join(dir, "rss.txt");
  const exit = await spawnCli(args, {
    cwd: dir,
    env: { ...env, BENCH_RSS_FILE: rssFile },
    bundle: script,
    nodeArgs: [`--import=${RSS_PROBE}`, ...extraNodeArgs],
    killAfterMs: 600_000,
  }).done;
  let probe: [number, number];
  try {
    probe = JSON.parse(readFileSync(rssFile, "utf8")) as [number, number];
  } catch {
    // the probe writes at exit: a process killed or crashed before it left no figures
    throw new Error(
      `${script} ${args.join(" ")}: no peak RSS recorded (exit ${exit.code}, signal ${exit.signal}): ${exit.stderr.slice(0, 2000)}`,
    );
  }
  return { exit, wallMs: exit.ms, rssBytes: probe[0], cpuMs: probe[1] / 1000 };
}

async function pass(
  fixture: Fixture,
  dir: string,
  api: Awaited<ReturnType<typeof startFakeUsageApi>>,
  bundle: string,
): Promise<Sample> {
  const before = api.requests.length;
  const { exit, wallMs, cpuMs, rssBytes } = await probed(
    bundle,
    ["--runs-dir", "runs", "--api-base-url", api.baseUrl, "--json", ...fixture.args],
    dir,
    { OPENAI_ADMIN_KEY: ADMIN_KEY },
    nodeArgs,
  );
  if (exit.code !== 0 && exit.code !== 1)
    throw new Error(`${fixture.name}: exit ${exit.code}: ${exit.stderr.slice(0, 2000)}`);
  if (!exit.stdout.trim())
    throw new Error(`${fixture.name}: no report: ${exit.stderr.slice(0, 2000)}`);
  const report = PassReportSchema.parse(JSON.parse(exit.stdout));
  let wrong = 0;
  for (const r of report.runs) {
    if (r.tokens_in === null) continue;
    const t = fixture.truth.get(`${r.framework}/${r.run_id}`);
    if (
      !t ||
      r.tokens_in !== t.tokensIn ||
      r.tokens_out !== t.tokensOut ||
      r.cached_tokens !== t.cachedTokens ||
      r.api_calls !== t.requests
    )
      wrong++;
  }
  return {
    wallMs,
    cpuMs,
    rssBytes,
    requests: api.requests.length - before,
    lowerBound: report.request_lower_bound,
    runs: report.runs.length,
    wrong,
    changed: report.changed_files.length,
    code: exit.code,
  };
}

/**
 * The floor (bench/floor.ts) on the directory a nothing-due pass just read: reading and parsing
 * every file, and with `validate` checking it with the pass's schema too, in a bare process.
 */
async function floor(fixture: Fixture, dir: string, validate: boolean): Promise<Sample> {
  const { exit, wallMs, cpuMs, rssBytes } = await probed(
    join(ROOT, "bench", "floor.ts"),
    [join(dir, "runs"), ...(validate ? ["--validate"] : [])],
    dir,
  );
  if (exit.code !== 0)
    throw new Error(`${fixture.name}: floor exit ${exit.code}: ${exit.stderr.slice(0, 2000)}`);
  const { runs, invalid, loadMs } = JSON.parse(exit.stdout) as {
    runs: number;
    invalid: number;
    loadMs: number;
  };
  return {
    wallMs,
    cpuMs,
    rssBytes,
    requests: 0,
    lowerBound: 0,
    runs,
    wrong: invalid,
    changed: 0,
    code: exit.code,
    loadMs,
  };
}

const sizes = process.env.BENCH_SIZES
  ? process.env.BENCH_SIZES.split(",").map((n) => whole("each of BENCH_SIZES", n, 1))
  : [10_000, ...(big ? [30_000, 100_000] : [])];
const fixtures: Fixture[] = [];
const real = sharedDataPresent("baes-berk");
fixtures.push(real ? await realFixture() : await generatedFixture(300));
if (!real) fixtures[0]!.name = "300 generated runs (../shared/data/baes-berk absent)";
for (const n of sizes) fixtures.push(await generatedFixture(n));

/** The label the floors are printed under, after the builds. */
const FLOOR = "floor (bench/floor.ts: no pass, only reading every file)";
const samples = new Map<string, Sample[]>();
const record = (name: string, s: Sample) => samples.set(name, [...(samples.get(name) ?? []), s]);
for (let i = 0; i < repeat; i++) {
  for (const fixture of fixtures) {
    // the builds take turns going first
    for (const b of i % 2 === 0 ? bundles : [...bundles].reverse()) {
      const api = await startFakeUsageApi({
        events: fixture.events,
        adminKey: ADMIN_KEY,
        ...(latencyMs > 0 ? { faults: () => ({ kind: "slow", delayMs: latencyMs }) } : {}),
      });
      const dir = await tempDir("reconcile-usage-scale-run-");
      try {
        execFileSync("cp", ["-r", join(fixture.template, "runs"), dir]);
        record(`${b.label}\u0000${fixture.name}`, await pass(fixture, dir, api, b.path));
        if (fixture.again) {
          record(
            `${b.label}\u0000${fixture.name}, nothing due`,
            await pass(fixture, dir, api, b.path),
          );
          // the floor does not depend on the build: measured once a repetition, with the first
          if (b === bundles[0])
            for (const validate of [false, true])
              record(
                `${FLOOR}\u0000${fixture.name}, ${validate ? "read+parse+zod" : "read+parse"}`,
                await floor(fixture, dir, validate),
              );
        }
      } finally {
        await api.close();
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
}
for (const f of fixtures) await rm(f.template, { recursive: true, force: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;
console.log(
  `reconcile-usage scale bench: CLI bundle in its own process, median of ${repeat} interleaved repetition(s)${latencyMs > 0 ? `, the fake API answering each request ${latencyMs} ms late` : ""}`,
);
const walls = new Map<string, number>();
let shown: string | undefined;
// the builds' points first, then the floors under a heading of their own
const ordered = [...samples].sort(
  ([a], [b]) => Number(a.startsWith(FLOOR)) - Number(b.startsWith(FLOOR)),
);
for (const [key, list] of ordered) {
  const [label, name] = key.split("\u0000") as [string, string];
  const isFloor = label === FLOOR;
  if ((bundles.length > 1 || isFloor) && label !== shown) console.log(`${label}:`);
  shown = label;
  const last = list.at(-1)!;
  const wall = median(list.map((s) => s.wallMs));
  const size = sizes.find((n) => name === `${n.toLocaleString("en-US")} runs`);
  if (size) walls.set(`${label}\u0000${size}`, wall);
  const what = isFloor
    ? `${last.runs} files kept, ${last.wrong} refused by the schema${last.loadMs! >= 1 ? `, ${(median(list.map((s) => s.loadMs!)) / 1000).toFixed(2)} s of the wall loading it` : ""}`
    : `requests ${last.requests} (bound ${last.lowerBound}), ${last.runs} runs, ${last.changed} files changed, readings not exact: ${last.wrong}`;
  console.log(
    `  ${name.padEnd(isFloor ? 40 : 28)} wall ${(wall / 1000).toFixed(2).padStart(6)} s (${list.map((s) => (s.wallMs / 1000).toFixed(2)).join(", ")}), CPU ${(median(list.map((s) => s.cpuMs)) / 1000).toFixed(2)} s, peak RSS ${mib(median(list.map((s) => s.rssBytes))).padStart(8)}, ${what}`,
  );
}
for (const { label } of bundles)
  for (const [from, to] of [
    [10_000, 30_000],
    [30_000, 100_000],
    [10_000, 100_000],
  ] as const) {
    const a = walls.get(`${label}\u0000${from}`);
    const b = walls.get(`${label}\u0000${to}`);
    if (a && b)
      console.log(
        `  growth ${from / 1000}k → ${to / 1000}k runs${bundles.length > 1 ? ` (${label})` : ""}: ${(b / a).toFixed(2)}× wall for ${to / from}× runs`,
      );
  }
