/**
 * The hostile-network storm of `npm run reliability` (and, smaller, test/reliability/network-storm
 * .test.ts): passes of the built CLI bundle, run as a user runs it (`node cli.js`, its own process,
 * `--force` so every pass reads every run), against the fake Usage API while a seeded share of its
 * answers are hostile: a body dripping one byte every 100 ms, 600 MB chunked bodies without
 * Content-Length, 10 MB error messages, connections reset before or in the middle of a body.
 * Then clean passes until every run is verified.
 *
 * After every pass it checks, from outside the code under test: the process ended by itself
 * within its pass deadline plus a few seconds of start-up and file writing; it exited 0 or 1
 * with no stack or "unexpected error"; a --json report parses; every metrics.json and the
 * manifest parse and validate; every reading in a file equals the run's true totals (a hostile
 * page never becomes a number); and the admin key appears nowhere (output or files) in any
 * encoding or as any run of 12 of its characters.
 */
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { ManifestSchema, MetricsFileSchema } from "../../src/runs/schema.ts";
import { runCliProcess } from "./cli-process.ts";
import {
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  tempDir,
  writeExperiment,
} from "./experiment.ts";
import { type Fault, seededFaults, startFakeUsageApi } from "./fake-usage-api.ts";

export interface StormOptions {
  /** Passes while the network is hostile. */
  passes: number;
  runs: number;
  seed: number;
  /** --pass-deadline-minutes of every pass (fractions allowed). */
  deadlineMinutes: number;
  /** Share of requests answered with a hostile fault; default 0.3. */
  faultRate?: number;
  /** Clean passes allowed afterwards to verify every run; default 4. */
  maxCleanPasses?: number;
  /** The CLI bundle to run (default: the test bundle). */
  bundle?: string;
  log?: (line: string) => void;
}

export interface StormFigures {
  runs: number;
  stormPasses: number;
  cleanPasses: number;
  requests: number;
  faults: Record<string, number>;
  exitCodes: Record<string, number>;
  deadlineMs: number;
  /** Allowed on top of the deadline: node start-up, discovery, writing the files. */
  slackMs: number;
  longestPassMs: number;
  filesChecked: number;
  readingsChecked: number;
  // ---- must all be zero ----
  passesOverDeadline: number;
  hungPasses: number;
  crashes: number;
  unparsableReports: number;
  invalidFiles: number;
  wrongReadings: number;
  keyLeaks: number;
  violations: string[];
  // ---- after the storm ----
  verifiedRuns: number;
  allVerified: boolean;
  wallMs: number;
}

export const STORM_MUST_BE_ZERO = [
  "passesOverDeadline",
  "hungPasses",
  "crashes",
  "unparsableReports",
  "invalidFiles",
  "wrongReadings",
  "keyLeaks",
] as const satisfies ReadonlyArray<keyof StormFigures>;

const MIB = 1024 * 1024;
/** The hostile answers, each as likely as the others. */
export const STORM_FAULTS: Fault[] = [
  { kind: "drip", intervalMs: 100 },
  { kind: "huge-body", bytes: 600 * MIB },
  { kind: "huge-body", bytes: 200 * MIB, status: 502 },
  { kind: "huge-error", chars: 10 * MIB },
  { kind: "huge-error", chars: 10 * MIB, status: 503 },
  { kind: "reset" },
  { kind: "reset-mid-body" },
];

const ADMIN_KEY = "sk-admin-storm-Q7vX2mK9pL4wR8tY3nB6";
const SLACK_MS = 5_000;
const FRAMEWORKS = ["baes", "chatdev", "ghspec", "metagpt", "openhands"];

/** Every form the key could leak in: plain, URL, base64, base64url, hex, and any 12 of its characters. */
function keyTraces(key: string): string[] {
  const traces = new Set([
    key,
    encodeURIComponent(key),
    Buffer.from(key).toString("base64").replace(/=+$/, ""),
    Buffer.from(key).toString("base64url"),
    Buffer.from(key).toString("hex"),
  ]);
  for (let i = 0; i + 12 <= key.length; i++) traces.add(key.slice(i, i + 12));
  return [...traces];
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out;
}

export async function runNetworkStorm(options: StormOptions): Promise<StormFigures> {
  const started = performance.now();
  const perFramework = Math.max(1, Math.round(options.runs / FRAMEWORKS.length));
  const runs: GeneratedRun[] = generateExperiment({
    frameworks: FRAMEWORKS,
    runsPerFramework: perFramework,
    seed: options.seed,
  });
  const truth = new Map(runs.map((r) => [r.runId, r.totals]));
  const root = await tempDir("reconcile-usage-storm-");
  const runsDir = await writeExperiment(root, runs);
  const api = await startFakeUsageApi({
    adminKey: ADMIN_KEY,
    events: runs.flatMap((r) => r.events),
  });
  const traces = keyTraces(ADMIN_KEY);
  const deadlineMs = options.deadlineMinutes * 60_000;
  const f: StormFigures = {
    runs: runs.length,
    stormPasses: 0,
    cleanPasses: 0,
    requests: 0,
    faults: {},
    exitCodes: {},
    deadlineMs,
    slackMs: SLACK_MS,
    longestPassMs: 0,
    filesChecked: 0,
    readingsChecked: 0,
    passesOverDeadline: 0,
    hungPasses: 0,
    crashes: 0,
    unparsableReports: 0,
    invalidFiles: 0,
    wrongReadings: 0,
    keyLeaks: 0,
    violations: [],
    verifiedRuns: 0,
    allVerified: false,
    wallMs: 0,
  };
  const violation = (text: string) => {
    if (f.violations.length < 20) f.violations.push(text);
  };
  const leaks = (text: string) => traces.some((t) => text.includes(t));

  /** Checks every file after a pass; returns how many runs are verified. */
  async function checkFiles(label: string): Promise<number> {
    let verified = 0;
    for (const path of await filesUnder(runsDir)) {
      const text = await readFile(path, "utf8");
      f.filesChecked++;
      if (leaks(text)) {
        f.keyLeaks++;
        violation(`${label}: the key is in ${path}`);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        f.invalidFiles++;
        violation(`${label}: ${path} does not parse`);
        continue;
      }
      if (path.endsWith("manifest.json")) {
        if (!ManifestSchema.safeParse(json).success) {
          f.invalidFiles++;
          violation(`${label}: the manifest does not validate`);
        }
        continue;
      }
      const parsed = MetricsFileSchema.safeParse(json);
      if (!parsed.success) {
        f.invalidFiles++;
        violation(`${label}: ${path} does not validate`);
        continue;
      }
      const file = parsed.data;
      const t = truth.get(String(file.run_id));
      for (const a of file.usage_api_reconciliation?.attempts ?? []) {
        f.readingsChecked++;
        const got = [
          a.total_tokens_in,
          a.total_tokens_out,
          a.total_cached_tokens,
          a.total_api_calls,
        ];
        const want = t ? [t.tokensIn, t.tokensOut, t.cachedTokens, t.requests] : [];
        if (got.join() !== want.join()) {
          f.wrongReadings++;
          violation(`${label}: ${path} has a reading ${got.join("/")} ≠ truth ${want.join("/")}`);
        }
      }
      if (file.verification_status === "verified") verified++;
    }
    return verified;
  }

  const lastEnd = Math.max(...runs.map((r) => r.end));
  const keyArgs = FRAMEWORKS.flatMap((fw) => ["--api-key-id", `${fw}=${keyIdFor(fw)}`]);
  async function pass(index: number, extra: string[], label: string) {
    const now = new Date((lastEnd + 3600 + index * 61 * 60) * 1000).toISOString();
    const json = index % 2 === 0;
    const result = await runCliProcess(
      [
        "--api-base-url",
        api.baseUrl,
        ...keyArgs,
        "--now",
        now,
        "--pass-deadline-minutes",
        String(options.deadlineMinutes),
        json ? "--json" : "--verbose",
        ...extra,
      ],
      {
        cwd: root,
        env: { OPENAI_ADMIN_KEY: ADMIN_KEY },
        killAfterMs: deadlineMs + 60_000,
        bundle: options.bundle,
      },
    );
    f.longestPassMs = Math.max(f.longestPassMs, result.ms);
    f.exitCodes[String(result.code)] = (f.exitCodes[String(result.code)] ?? 0) + 1;
    if (result.hung) {
      f.hungPasses++;
      violation(`${label}: killed after ${Math.round(result.ms)} ms`);
    } else if (result.ms > deadlineMs + SLACK_MS) {
      f.passesOverDeadline++;
      violation(`${label}: took ${Math.round(result.ms)} ms, deadline ${deadlineMs} ms`);
    }
    const output = `${result.stdout}\n${result.stderr}`;
    if (
      (result.code !== 0 && result.code !== 1) ||
      /unexpected error|RangeError|Invalid string length|\n\s+at \S/.test(output)
    ) {
      f.crashes++;
      violation(`${label}: exit ${result.code}: ${output.slice(0, 300)}`);
    }
    if (json) {
      try {
        JSON.parse(result.stdout);
      } catch {
        f.unparsableReports++;
        violation(`${label}: the --json report does not parse`);
      }
    }
    if (leaks(output)) {
      f.keyLeaks++;
      violation(`${label}: the key was printed`);
    }
    const verified = await checkFiles(label);
    options.log?.(
      `${label}: exit ${result.code}, ${(result.ms / 1000).toFixed(1)} s, ${verified} verified`,
    );
    return verified;
  }

  try {
    const hostile = seededFaults(options.seed, options.faultRate ?? 0.3, STORM_FAULTS);
    api.setFaults(hostile);
    for (let i = 0; i < options.passes; i++) {
      await pass(i, ["--force"], `storm pass ${i + 1}`);
      f.stormPasses++;
    }
    api.setFaults(undefined);
    for (let i = 0; i < (options.maxCleanPasses ?? 4); i++) {
      f.verifiedRuns = await pass(options.passes + i, [], `clean pass ${i + 1}`);
      f.cleanPasses++;
      if (f.verifiedRuns === runs.length) break;
    }
    f.allVerified = f.verifiedRuns === runs.length;
    f.requests = api.requests.length;
    for (const r of api.requests) if (r.fault) f.faults[r.fault] = (f.faults[r.fault] ?? 0) + 1;
  } finally {
    await api.close();
    await rm(root, { recursive: true, force: true });
  }
  f.wallMs = performance.now() - started;
  return f;
}
