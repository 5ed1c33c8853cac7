/**
 * `npm run reliability`: the figures RELIABILITY.md publishes. Runs the reliability experiment of
 * test/support/reliability.ts (the same code test/reliability/faults.test.ts runs, larger): an
 * experiment still running while the scheduled job reconciles it, `passes` passes with seeded
 * faults of every kind plus late and revised data, then clean passes; every file checked after
 * every pass against answers computed from the events alone.
 *   node scripts/reliability.ts [passes=40] [runs=2000] [seed=1] [storm-passes=20]
 *     [--kill-storm=PASSES:RUNS]
 * Then the hostile-network storm (test/support/network-storm.ts, printed by ./network-storm.ts),
 * and the kill storm of test/support/kill-storm.ts (default 100 passes over 2,000 runs;
 * `--kill-storm=0` skips it): the built CLI killed with SIGTERM/SIGKILL at random moments.
 * Exits 1 when any figure that must be zero is not, or a run did not reach its true totals.
 */
import setupBundle from "../test/global-setup.ts";
import {
  KILL_STORM_MUST_BE_ZERO,
  killStormLines,
  runKillStorm,
} from "../test/support/kill-storm.ts";
import {
  MUST_BE_ZERO,
  type ReliabilityFigures,
  runReliability,
} from "../test/support/reliability.ts";
import { printNetworkStorm } from "./network-storm.ts";

const positional = process.argv.slice(2).filter((a) => !a.startsWith("--"));
function arg(i: number, fallback: number, name: string): number {
  const text = positional[i];
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`${name}: expected a whole number ≥ 1, got "${text}"`);
    process.exit(2);
  }
  return n;
}

const passes = arg(0, 40, "passes");
const runs = arg(1, 2000, "runs");
const seed = arg(2, 1, "seed");
const stormPasses = arg(3, 20, "storm-passes");
const verbose = process.env.RELIABILITY_VERBOSE === "1";

console.log(`reliability: ${passes} passes with faults × ${runs} runs, seed ${seed}`);
const f: ReliabilityFigures = await runReliability({
  passes,
  runs,
  seed,
  log: verbose ? (line) => console.log(`  ${line}`) : undefined,
});

const n = (x: number) => x.toLocaleString("en-US");
const lines: Array<[string, string]> = [
  ["runs", `${n(f.runs)} (${f.frameworks} frameworks, one key each)`],
  [
    "passes run",
    `${f.faultyPasses + f.cleanPasses} (${f.faultyPasses} with faults, then ${f.cleanPasses} clean)`,
  ],
  ["requests", `${n(f.requests)} (${n(f.retries)} of them retries)`],
  [
    "faults injected",
    `${n(f.faultsTotal)}: ${Object.entries(f.faults)
      .map(([kind, count]) => `${kind} ${count}`)
      .join(", ")}`,
  ],
  [
    "late and revised data",
    `${n(f.lateEvents)} late events (${f.fullyLateRuns} runs entirely late), ${n(f.revisedEvents)} revised events, ${n(f.strayEvents)} events outside every window`,
  ],
  ["runs checked", `${n(f.runsChecked)} (every run's files after every pass)`],
  [
    "readings recorded",
    `${n(f.readingsRecorded)} (${n(f.changedReadings)} changed value, ${n(f.zeroReadings)} zero: the API had nothing yet)`,
  ],
  ["readings refused", `${n(f.readingsRefused)} (the API failed: nothing written for the run)`],
  ["reads during writes", n(f.concurrentReads)],
  ["wrong readings", n(f.wrongReadings)],
  ["half-written files", n(f.halfWrittenFiles)],
  ["temp files left", n(f.tempFilesLeft)],
  ["readings lost", n(f.lostReadings)],
  ["written for a failed run", n(f.writtenForFailedRun)],
  ["aggregates set to zero", n(f.zeroOverwrites)],
  ["aggregates ≠ newest reading", n(f.aggregateMismatches)],
  ["unsound verifications", n(f.unsoundVerifications)],
  ["manifest ≠ files", n(f.manifestMismatches)],
  ["duplicate readings", n(f.duplicateReadings)],
  ["report ≠ files", n(f.reportMismatches)],
  ["failed writes", n(f.writeFailures)],
  [
    "after the faults stopped",
    f.allReachedTruth
      ? `every run verified with its true totals (${n(f.verifiedRuns)} of ${n(f.runs)})`
      : `NOT every run reached its true totals (${n(f.verifiedRuns)} of ${n(f.runs)} verified)`,
  ],
  ["wall time", `${(f.wallMs / 1000).toFixed(1)} s`],
];
const width = Math.max(...lines.map(([k]) => k.length));
for (const [k, v] of lines) console.log(`${k.padEnd(width)}  ${v}`);

const killStormOk = await killStorm(process.argv.slice(2), seed);

const broken = MUST_BE_ZERO.filter((k) => f[k] !== 0);
for (const v of f.violations) console.error(`violation: ${v}`);
for (const r of f.notReached) console.error(`not reached: ${r}`);
const stormClean = await printNetworkStorm({ passes: stormPasses, seed });
if (broken.length > 0 || !f.allReachedTruth || !killStormOk || !stormClean) {
  const what = [
    ...broken,
    ...(f.allReachedTruth ? [] : ["not every run reached its true totals"]),
    ...(stormClean ? [] : ["network storm"]),
    ...(killStormOk ? [] : ["kill storm"]),
  ];
  console.error(`FAILED: ${what.join(", ")}`);
  process.exit(1);
}

/** The kill storm on the built CLI bundle (built from src/ first when stale); false when it failed. */
async function killStorm(argv: readonly string[], seed: number): Promise<boolean> {
  const spec = argv.find((a) => a.startsWith("--kill-storm="))?.slice("--kill-storm=".length);
  if (spec === "0") return true;
  const [passes, runs] = spec === undefined ? [100, 2000] : spec.split(":").map(Number);
  if (!Number.isInteger(passes) || !Number.isInteger(runs) || passes! < 2 || runs! < 1) {
    console.error(`--kill-storm: expected PASSES:RUNS (e.g. 100:2000, passes ≥ 2), got "${spec}"`);
    process.exit(2);
  }
  setupBundle();
  console.log(`\nkill storm: ${passes} passes of the CLI × ${runs} runs, seed ${seed}`);
  const k = await runKillStorm({
    passes: passes!,
    runs: runs!,
    seed,
    log: verbose ? (line) => console.log(`  ${line}`) : undefined,
  });
  const rows = killStormLines(k);
  const w = Math.max(...rows.map(([key]) => key.length));
  for (const [key, value] of rows) console.log(`${key.padEnd(w)}  ${value}`);
  for (const v of k.violations) console.error(`violation: ${v}`);
  const failed = KILL_STORM_MUST_BE_ZERO.filter((key) => k[key] !== 0);
  if (failed.length > 0) console.error(`kill storm FAILED: ${failed.join(", ")}`);
  return failed.length === 0 && k.violations.length === 0;
}
