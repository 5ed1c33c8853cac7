/**
 * `npm run bench`: reconciles 10,000 synthetic runs across 3 frameworks over 30 days against the
 * project's fake Usage API server (real HTTP on 127.0.0.1) and prints what issue #2 asks to
 * measure: requests sent vs the lower bound Σ ceil(span_minutes/1440), the same workload queried
 * one run at a time, wall time and peak memory. Not a test: it asserts nothing about speed.
 *   node bench/reconcile.bench.ts [runs=10000] [days=30]
 */
import { rm } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { writeChanges } from "../src/delivery/write.ts";
import { nodeFiles } from "../src/fs/node.ts";
import { builtinSource } from "../src/pricing/prices.ts";
import { createHttpPageSource } from "../src/providers/openai/http.ts";
import { fetchSpan } from "../src/providers/openai/pages.ts";
import { MAX_MINUTE_BUCKETS } from "../src/providers/openai/query.ts";
import { runPass } from "../src/reconcile/pass.ts";
import { buildRunStates } from "../src/reconcile/state.ts";
import { discoverRuns } from "../src/runs/discover.ts";
import { planSpans, requestLowerBound } from "../src/usage/plan.ts";
import { TOOL, VERSION } from "../src/version.ts";
import {
  allEvents,
  generateExperiment,
  tempDir,
  writeExperiment,
} from "../test/support/experiment.ts";
import { startFakeUsageApi } from "../test/support/fake-usage-api.ts";
import { testSettings } from "../test/support/settings.ts";

const totalRuns = Number(process.argv[2] ?? 10_000);
const days = Number(process.argv[3] ?? 30);
const frameworks = ["baes", "chatdev", "ghspec"];
const perFramework = Math.ceil(totalRuns / frameworks.length);
// spread the runs over `days`: average slot per run, split between the run and the pause after it
const slot = (days * 86_400) / (perFramework * frameworks.length);
const runs = generateExperiment({
  frameworks,
  runsPerFramework: perFramework,
  startAt: 1_760_000_000,
  seed: 2025,
  durationSeconds: [Math.floor(slot * 0.3), Math.floor(slot * 0.7)],
  gapSeconds: [Math.floor(slot * 0.2), Math.floor(slot * 0.6)],
}).slice(0, totalRuns);
const events = allEvents(runs);
const lastEnd = Math.max(...runs.map((r) => r.end));
const now = lastEnd + 3 * 3600;

let peakRss = 0;
const sample = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);

const root = await tempDir("reconcile-usage-bench-");
const tWrite = performance.now();
const runsDir = await writeExperiment(root, runs);
const writeMs = performance.now() - tWrite;
const adminKey = "sk-admin-bench";
const api = await startFakeUsageApi({ events, adminKey });
const settings = testSettings(runsDir, frameworks);

// one batched pass, as the tool runs it
const http = createHttpPageSource({ baseUrl: api.baseUrl, adminKey });
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
const outcome = await runPass(settings, {
  files: nodeFiles,
  now,
  prices: [builtinSource()],
  source: http,
  requestCount: () => http.stats.requests,
  tool: TOOL,
  version: VERSION,
});
const tPass = performance.now();
const failed = await writeChanges(nodeFiles, outcome.changes);
const t1 = performance.now();
const batchedRequests = api.requests.length;
const report = outcome.report;

// correctness of the figures: every run's reading equals its true totals
const truth = new Map(runs.map((r) => [`${r.framework}/${r.runId}`, r.totals]));
let wrong = 0;
for (const r of report.runs) {
  const t = truth.get(`${r.framework}/${r.run_id}`);
  if (
    !t ||
    r.tokens_in !== t.tokensIn ||
    r.tokens_out !== t.tokensOut ||
    r.cached_tokens !== t.cachedTokens ||
    r.api_calls !== t.requests
  )
    wrong++;
}

// the same workload queried one run at a time (what the old script did), for real
const discovery = await discoverRuns(nodeFiles, runsDir);
const { states } = buildRunStates(discovery, settings, now);
const perRunSpans = states.map((s) => ({
  span: { start: s.window!.start, end: s.window!.end },
  key: s.keyId!,
}));
const perRunLowerBound = perRunSpans.reduce(
  (n, x) => n + requestLowerBound([x.span], MAX_MINUTE_BUCKETS),
  0,
);
const before = api.requests.length;
const t2 = performance.now();
const queue = [...perRunSpans];
await Promise.all(
  Array.from({ length: 4 }, async () => {
    for (let x = queue.shift(); x; x = queue.shift()) await fetchSpan(http, x.span, [x.key]);
  }),
);
const t3 = performance.now();
const perRunRequests = api.requests.length - before;
clearInterval(sample);
await http.close();
await api.close();
await rm(root, { recursive: true, force: true });

const spans = planSpans(
  states.map((s) => s.window!),
  MAX_MINUTE_BUCKETS,
);
const fmt = (n: number) => n.toLocaleString("en-US");
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;
console.log(
  `reconcile-usage bench: ${fmt(runs.length)} runs, ${frameworks.length} frameworks, ${days} days, ${fmt(events.length)} usage events`,
);
console.log(
  `  batched pass:     ${fmt(batchedRequests)} requests over ${fmt(report.spans)} spans; lower bound Σ ceil(span/1440) = ${fmt(report.request_lower_bound)} (recomputed: ${fmt(requestLowerBound(spans, MAX_MINUTE_BUCKETS))})`,
);
console.log(
  `  one run at a time: ${fmt(perRunRequests)} requests (lower bound for that shape ${fmt(perRunLowerBound)}), ${(perRunRequests / batchedRequests).toFixed(0)}× more`,
);
console.log(
  `  wall time:        pass ${((tPass - t0) / 1000).toFixed(2)} s (discover, fetch, attribute, verify, price, edit) + write ${((t1 - tPass) / 1000).toFixed(2)} s for ${fmt(outcome.changes.length)} files; one-run-at-a-time fetch alone ${((t3 - t2) / 1000).toFixed(2)} s`,
);
console.log(
  `  memory:           peak RSS ${mib(Math.max(peakRss, process.resourceUsage().maxRSS * 1024))} (RSS before the pass ${mib(rssBefore)}; writing the fixture took ${(writeMs / 1000).toFixed(1)} s)`,
);
console.log(
  `  statuses:         ${Object.entries(report.totals.by_status)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s} ${fmt(n)}`)
    .join(
      ", ",
    )}; runs whose reading differs from the truth: ${wrong}; write failures: ${failed.length}`,
);
