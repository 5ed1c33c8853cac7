/**
 * The kill storm (issue: "never lose a write"): `passes` passes of the built CLI bundle over one
 * runs directory of `runs` runs, against the fake Usage API over real HTTP, each killed with
 * SIGTERM or SIGKILL at a random moment of its run (some finish first). Every pass re-reads every
 * run (`--force`), so each one writes every file and a kill often lands in the middle of the
 * writes. After every pass, whatever happened to it, the directory is checked from the outside
 * (runs-state.ts): every file parses and validates, no reading already written is lost, and after
 * a SIGTERM no temporary file and no lock is left. After every pass that finished, there is no
 * temporary file at all (it swept what the SIGKILLs left) and the manifest agrees with the files.
 * The admin key must appear in no output and no file.
 */
import { watch } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type CliExit, spawnCli } from "./cli-process.ts";
import {
  allEvents,
  generateExperiment,
  keyIdFor,
  manifestText,
  metricsText,
  tempDir,
} from "./experiment.ts";
import { mulberry32 } from "./fake-usage-api/faults.ts";
import { startFakeUsageApi } from "./fake-usage-api.ts";
import { inspectRunsDir, type RunsDirState, tempFilePid } from "./runs-state.ts";

export interface KillStormOptions {
  passes: number;
  runs: number;
  seed: number;
  /** Share of passes killed with SIGKILL (the rest get SIGTERM); default 0.5. */
  sigkillShare?: number;
  log?: (line: string) => void;
}

export interface KillStormFigures {
  passes: number;
  runs: number;
  frameworks: number;
  sigterm: number;
  sigkill: number;
  /** Passes that finished before their kill came (or were let finish: the first and the last). */
  finished: number;
  /** Kills aimed at the writes (after the pass's first temporary file) that came before it ended. */
  aimedAtWrites: number;
  /** Killed passes that had written some files but not all: the kill came mid-write. */
  killedMidWrite: number;
  /** Temporary files found right after a SIGKILL (left for the next pass to sweep). */
  tempFilesAfterSigkill: number;
  /** Stale locks found right after a SIGKILL (taken over by the next pass). */
  locksAfterSigkill: number;
  readingsWritten: number;
  /**
   * SIGTERM'd passes that exited 143 through the cleanup handler, and those ended by the signal
   * itself (it came before the pass took the lock: nothing was in flight to clean up).
   */
  sigtermHandled: number;
  sigtermBeforeWriting: number;
  // ---- must all be zero ----
  /** Temporary files found right after a SIGTERM. */
  tempFilesAfterSigterm: number;
  /** Locks found right after a SIGTERM. */
  locksAfterSigterm: number;
  /** Temporary files found after a pass that finished (after its sweep). */
  tempFilesAfterSweep: number;
  /** Files that did not parse or validate, after any pass. */
  invalidFiles: number;
  /** Runs whose manifest entry disagreed with their file, after a pass that finished. */
  manifestMismatches: number;
  /** Readings that disappeared from a file. */
  lostReadings: number;
  /** Finished passes that did not exit 0. */
  failedPasses: number;
  /** Outputs or files in which the admin key appeared. */
  keyPrinted: number;
  violations: string[];
  wallMs: number;
}

export const KILL_STORM_MUST_BE_ZERO = [
  "tempFilesAfterSigterm",
  "locksAfterSigterm",
  "tempFilesAfterSweep",
  "invalidFiles",
  "manifestMismatches",
  "lostReadings",
  "failedPasses",
  "keyPrinted",
] as const satisfies ReadonlyArray<keyof KillStormFigures>;

const ADMIN_KEY = "sk-admin-killstorm-5e1f0c2a9b7d4e6f";
const RUNS_PER_FRAMEWORK = 100;
const START = Date.parse("2025-11-20T00:00:00Z") / 1000;

async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    if ((await readFile(path, "utf8")).includes(needle)) found.push(path);
  }
  return found;
}

export async function runKillStorm(options: KillStormOptions): Promise<KillStormFigures> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const rand = mulberry32(options.seed ^ 0x4b111);
  const frameworkCount = Math.max(1, Math.ceil(options.runs / RUNS_PER_FRAMEWORK));
  const frameworks = Array.from(
    { length: frameworkCount },
    (_, i) => `fw${String(i + 1).padStart(2, "0")}`,
  );
  const runs = frameworks
    .flatMap((f, i) =>
      generateExperiment({
        frameworks: [f],
        runsPerFramework: RUNS_PER_FRAMEWORK,
        seed: options.seed * 1009 + i,
        startAt: 1_762_000_000 + i * 7,
      }),
    )
    .slice(0, options.runs);

  const root = await tempDir("reconcile-usage-kill-storm-");
  const runsDir = join(root, "runs");
  for (const r of runs) {
    await mkdir(dirname(join(runsDir, r.path)), { recursive: true });
    await writeFile(join(runsDir, r.path), metricsText(r));
  }
  await writeFile(join(runsDir, "manifest.json"), manifestText(runs));
  const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events: allEvents(runs) });

  const f: KillStormFigures = {
    passes: 0,
    runs: runs.length,
    frameworks: frameworks.length,
    sigterm: 0,
    sigkill: 0,
    finished: 0,
    aimedAtWrites: 0,
    killedMidWrite: 0,
    tempFilesAfterSigkill: 0,
    locksAfterSigkill: 0,
    readingsWritten: 0,
    sigtermHandled: 0,
    sigtermBeforeWriting: 0,
    tempFilesAfterSigterm: 0,
    locksAfterSigterm: 0,
    tempFilesAfterSweep: 0,
    invalidFiles: 0,
    manifestMismatches: 0,
    lostReadings: 0,
    failedPasses: 0,
    keyPrinted: 0,
    violations: [],
    wallMs: 0,
  };
  const violation = (text: string) => {
    if (f.violations.length < 20) f.violations.push(text);
  };

  const args = (pass: number) => [
    "--runs-dir",
    "runs",
    "--api-base-url",
    api.baseUrl,
    // a new reading for every run in every pass, an hour after the previous one
    "--force",
    "--now",
    new Date((START + pass * 3660) * 1000).toISOString(),
    ...frameworks.flatMap((fw) => ["--api-key-id", `${fw}=${keyIdFor(fw)}`]),
    "--json",
  ];

  let readings: RunsDirState["readings"] = (await inspectRunsDir(runsDir)).readings;
  /** How long the last finished pass took, all of it and from its first temporary file on. */
  let passMs = 0;
  let writeMs = 0;
  // the writes of a pass begin when its first temporary file appears in a run directory
  let writesBegan: number | undefined;
  let onWrites: (() => void) | undefined;
  const watchers = [...new Set(runs.map((r) => dirname(join(runsDir, r.path))))].map((dir) =>
    watch(dir, (_, name) => {
      if (writesBegan !== undefined || !name?.endsWith(".tmp")) return;
      writesBegan = performance.now();
      onWrites?.();
    }),
  );
  try {
    for (let p = 0; p < options.passes; p++) {
      // the first pass and the last run to their end: the first to time a pass, the last to
      // leave the directory as a finished pass leaves it
      const kill: NodeJS.Signals | undefined =
        p === 0 || p === options.passes - 1
          ? undefined
          : rand() < (options.sigkillShare ?? 0.5)
            ? "SIGKILL"
            : "SIGTERM";
      // half the kills come at any moment of the pass (start-up, lock, sweep, reading the files,
      // the requests), half once its writes have begun
      const duringWrites = kill !== undefined && rand() < 0.5;
      const delayMs = kill ? rand() * (duringWrites ? writeMs : passMs) * 1.1 : 0;
      writesBegan = undefined;
      const t0 = performance.now();
      const pass = spawnCli(args(p), { cwd: root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } });
      let killed = false;
      let timer: NodeJS.Timeout | undefined;
      const fire = () => {
        killed = pass.child.kill(kill!);
      };
      onWrites = duringWrites
        ? () => {
            timer = setTimeout(fire, delayMs);
          }
        : undefined;
      if (kill && !duringWrites) timer = setTimeout(fire, delayMs);
      const exit: CliExit = await pass.done;
      clearTimeout(timer);
      onWrites = undefined;
      // kills are drawn over the times of the last pass that finished (files grow pass by pass)
      const endedAt = performance.now();
      if (!killed) {
        passMs = endedAt - t0;
        writeMs = endedAt - (writesBegan ?? t0);
      }
      f.passes++;
      const signalled = killed && !(exit.code === 0 && exit.signal === null);
      if (kill === "SIGTERM" && signalled) f.sigterm++;
      if (kill === "SIGKILL" && signalled) f.sigkill++;
      if (!signalled) f.finished++;
      if (signalled && duringWrites) f.aimedAtWrites++;

      for (const text of [exit.stdout, exit.stderr])
        if (text.includes(ADMIN_KEY)) {
          f.keyPrinted++;
          violation(`pass ${p + 1}: the admin key was printed`);
        }
      const state = await inspectRunsDir(runsDir);
      f.invalidFiles += state.invalid.length;
      for (const path of state.invalid)
        violation(`pass ${p + 1}: ${path} does not parse or validate`);
      let grew = 0;
      for (const [path, n] of state.readings) {
        const before = readings.get(path) ?? 0;
        if (n < before) {
          f.lostReadings += before - n;
          violation(`pass ${p + 1}: ${path} went from ${before} to ${n} readings`);
        }
        if (n > before) grew++;
        f.readingsWritten += Math.max(0, n - before);
      }
      readings = state.readings;

      if (signalled && kill === "SIGTERM") {
        if (exit.code === 143) f.sigtermHandled++;
        else if (exit.signal === "SIGTERM") f.sigtermBeforeWriting++;
        else violation(`pass ${p + 1}: SIGTERM ended it with code ${exit.code}`);
        // only its own: what an earlier SIGKILL left waits for the next pass that gets that far
        const own = state.temps.filter((t) => tempFilePid(t) === pass.pid);
        f.tempFilesAfterSigterm += own.length;
        for (const t of own) violation(`pass ${p + 1}: ${t} left after SIGTERM`);
        if (state.locked && state.lockPid === pass.pid) {
          f.locksAfterSigterm++;
          violation(`pass ${p + 1}: lock left after SIGTERM`);
        }
      } else if (signalled) {
        f.tempFilesAfterSigkill += state.temps.filter((t) => tempFilePid(t) === pass.pid).length;
        if (state.locked && state.lockPid === pass.pid) f.locksAfterSigkill++;
      } else {
        if (exit.code !== 0) {
          f.failedPasses++;
          violation(`pass ${p + 1}: exit ${exit.code}: ${exit.stderr.slice(0, 300)}`);
        }
        f.tempFilesAfterSweep += state.temps.length;
        for (const t of state.temps) violation(`pass ${p + 1}: ${t} left after a finished pass`);
        f.manifestMismatches += state.manifestMismatches.length;
        for (const id of state.manifestMismatches.slice(0, 3))
          violation(`pass ${p + 1}: manifest entry of ${id} disagrees with its file`);
      }
      if (signalled && grew > 0 && grew < runs.length) f.killedMidWrite++;
      log(
        `pass ${p + 1}/${options.passes}: ${signalled ? `${kill} ${Math.round(delayMs)} ms after ${duringWrites ? "its writes began" : "its start"}` : `finished (exit ${exit.code})`}, ${grew} files gained a reading, ${state.temps.length} temp file(s), lock ${state.locked ? "left" : "free"}`,
      );
    }
    for (const w of watchers) w.close();
    const leaked = await filesContaining(root, ADMIN_KEY);
    f.keyPrinted += leaked.length;
    for (const path of leaked) violation(`${path} holds the admin key`);
  } finally {
    for (const w of watchers) w.close();
    await api.close();
    await rm(root, { recursive: true, force: true });
    f.wallMs = Math.round(performance.now() - started);
  }
  return f;
}

/** The figures as `npm run reliability` prints them. */
export function killStormLines(f: KillStormFigures): Array<[string, string]> {
  const n = (x: number) => x.toLocaleString("en-US");
  return [
    ["runs", `${n(f.runs)} (${f.frameworks} frameworks)`],
    [
      "passes",
      `${f.passes}: ${f.sigterm} SIGTERM (${f.sigtermHandled} cleaned up and exited 143, ${f.sigtermBeforeWriting} before they began writing), ${f.sigkill} SIGKILL, ${f.finished} finished`,
    ],
    [
      "killed mid-write",
      `${f.killedMidWrite} (some files written, others not yet; ${f.aimedAtWrites} kills were aimed at the writes)`,
    ],
    ["readings written", n(f.readingsWritten)],
    [
      "left by SIGKILL",
      `${n(f.tempFilesAfterSigkill)} temp files, ${f.locksAfterSigkill} stale locks (for the next pass to sweep and take over)`,
    ],
    ["temp files after SIGTERM", n(f.tempFilesAfterSigterm)],
    ["locks after SIGTERM", n(f.locksAfterSigterm)],
    ["temp files after a sweep", n(f.tempFilesAfterSweep)],
    ["files not parsing", n(f.invalidFiles)],
    ["manifest ≠ files", n(f.manifestMismatches)],
    ["readings lost", n(f.lostReadings)],
    ["finished passes failing", n(f.failedPasses)],
    ["key printed", n(f.keyPrinted)],
    ["wall time", `${(f.wallMs / 1000).toFixed(1)} s`],
  ];
}
