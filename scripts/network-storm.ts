/**
 * The hostile-network part of `npm run reliability`: builds the CLI bundle from today's src/ if
 * it is stale (as the test run does), runs the storm of test/support/network-storm.ts with it and
 * prints the figures RELIABILITY.md publishes. Returns whether every must-be-zero figure was zero
 * and every run was verified once the network was clean again.
 */
import buildTestBundle from "../test/global-setup.ts";
import { runNetworkStorm, STORM_MUST_BE_ZERO } from "../test/support/network-storm.ts";

/** 200 runs: spans of four pages, so one hostile answer can cost a whole span. */
const RUNS = 200;
/** 6 s a pass: each try then gets 1.5 s, so a drip is cut both per try and per pass. */
const DEADLINE_MINUTES = 0.1;

export async function printNetworkStorm(options: {
  passes: number;
  seed: number;
}): Promise<boolean> {
  buildTestBundle();
  console.log(
    `\nhostile-network storm: ${options.passes} passes of the built CLI × ${RUNS} runs, seed ${options.seed}, pass deadline ${DEADLINE_MINUTES * 60} s`,
  );
  const f = await runNetworkStorm({
    passes: options.passes,
    runs: RUNS,
    seed: options.seed,
    deadlineMinutes: DEADLINE_MINUTES,
    log: process.env.RELIABILITY_VERBOSE === "1" ? (l) => console.log(`  ${l}`) : undefined,
  });
  const n = (x: number) => x.toLocaleString("en-US");
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const lines: Array<[string, string]> = [
    ["runs", n(f.runs)],
    [
      "passes run",
      `${f.stormPasses + f.cleanPasses} (${f.stormPasses} hostile with --force, then ${f.cleanPasses} clean)`,
    ],
    [
      "exit statuses",
      Object.entries(f.exitCodes)
        .map(([code, count]) => `${code}: ${count}`)
        .join(", "),
    ],
    ["requests", n(f.requests)],
    [
      "hostile answers",
      `${n(Object.values(f.faults).reduce((a, b) => a + b, 0))}: ${Object.entries(f.faults)
        .map(([kind, count]) => `${kind} ${count}`)
        .join(", ")}`,
    ],
    [
      "longest pass",
      `${s(f.longestPassMs)} (deadline ${s(f.deadlineMs)} + ${s(f.slackMs)} for start-up and writing)`,
    ],
    ["files checked", `${n(f.filesChecked)} (every file after every pass)`],
    ["readings checked", `${n(f.readingsChecked)} (each against the run's true totals)`],
    ["passes over deadline", n(f.passesOverDeadline)],
    ["passes hung (killed)", n(f.hungPasses)],
    ["crashes or stacks", n(f.crashes)],
    ["--json reports unparsable", n(f.unparsableReports)],
    ["files unparsable/invalid", n(f.invalidFiles)],
    ["wrong readings", n(f.wrongReadings)],
    ["key printed or written", n(f.keyLeaks)],
    [
      "after the storm",
      f.allVerified
        ? `every run verified with its true totals (${n(f.verifiedRuns)} of ${n(f.runs)})`
        : `NOT every run verified (${n(f.verifiedRuns)} of ${n(f.runs)})`,
    ],
    ["wall time", s(f.wallMs)],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  for (const [k, v] of lines) console.log(`${k.padEnd(width)}  ${v}`);
  for (const v of f.violations) console.error(`violation: ${v}`);
  const broken = STORM_MUST_BE_ZERO.filter((k) => f[k] !== 0);
  if (broken.length > 0 || !f.allVerified) {
    console.error(`STORM FAILED: ${broken.join(", ") || "not every run was verified"}`);
    return false;
  }
  return true;
}
