import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BUILTIN_PRICES } from "../src/pricing/builtin-prices.ts";
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
import {
  type FakeUsageApi,
  type FakeUsageApiOptions,
  type Fault,
  startFakeUsageApi,
  type UsageEvent,
} from "./support/fake-usage-api.ts";
import { fewestPages } from "./support/oracle.ts";

const ADMIN_KEY = "sk-admin-cli-test-000001";
const MIN = 60;
const FRAMEWORKS = ["baes", "chatdev", "ghspec"];

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
  spec: ExperimentSpec = {},
  server: FakeUsageApiOptions = {},
): Promise<Experiment> {
  const runs = generateExperiment({ frameworks: FRAMEWORKS, runsPerFramework: 3, ...spec });
  const root = await tempDir("reconcile-usage-cli-");
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const runsDir = await writeExperiment(root, runs);
  const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events: allEvents(runs), ...server });
  cleanups.push(() => api.close());
  return { root, runsDir, runs, api, lastEnd: Math.max(...runs.map((r) => r.end)) };
}

const iso = (t: number): string => new Date(Math.floor(t) * 1000).toISOString();

function keyArgs(frameworks: readonly string[] = FRAMEWORKS): string[] {
  return frameworks.flatMap((f) => ["--api-key-id", `${f}=${keyIdFor(f)}`]);
}

interface Pass extends CliResult {
  report: PassReport;
  /** Requests the fake server received during this pass. */
  sent: number;
}

/** One CLI pass with --json at `now`; the report is validated against its schema. */
async function pass(
  exp: Experiment,
  now: number,
  extra: readonly string[] = [],
  env: Record<string, string | undefined> = { OPENAI_ADMIN_KEY: ADMIN_KEY },
): Promise<Pass> {
  const before = exp.api.requests.length;
  const result = await runCli(
    [...extra, "--api-base-url", exp.api.baseUrl, ...keyArgs(), "--now", iso(now), "--json"],
    { cwd: exp.root, env },
  );
  let report: PassReport;
  try {
    report = PassReportSchema.parse(JSON.parse(result.stdout));
  } catch (error) {
    throw new Error(`no valid JSON report (exit ${result.code}): ${result.stderr}\n${error}`);
  }
  return { ...result, report, sent: exp.api.requests.length - before };
}

/** Every file under a directory, by path relative to it. */
async function snapshot(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(dir, p), await readFile(p));
    }
  };
  await walk(dir);
  return out;
}

/** Paths whose bytes differ between two snapshots (or exist in only one). */
function changedPaths(a: Map<string, Buffer>, b: Map<string, Buffer>): string[] {
  const paths = new Set([...a.keys(), ...b.keys()]);
  return [...paths].filter((p) => !a.get(p) || !b.get(p) || !a.get(p)!.equals(b.get(p)!)).sort();
}

interface MetricsJson {
  run_id: string;
  verification_status: string;
  aggregate_metrics: Record<string, number | null>;
  cost_breakdown: Record<string, unknown>;
  usage_api_reconciliation?: {
    verification_status: string;
    verification_message: string;
    verified_at: string | null;
    attempts: Array<Record<string, unknown> & { timestamp: string; total_tokens_in: number }>;
  };
}

async function metrics(exp: Experiment, run: GeneratedRun): Promise<MetricsJson> {
  return JSON.parse(await readFile(join(exp.runsDir, run.path), "utf8")) as MetricsJson;
}

interface ManifestJson {
  runs: Array<{
    run_id: string;
    verification_status: string;
    total_tokens_in: number;
    total_tokens_out: number;
  }>;
}

async function manifest(exp: Experiment): Promise<ManifestJson> {
  return JSON.parse(await readFile(join(exp.runsDir, "manifest.json"), "utf8")) as ManifestJson;
}

const reportOf = (p: Pass, run: GeneratedRun): RunReport => {
  const r = p.report.runs.find((x) => x.run_id === run.runId && x.framework === run.framework);
  if (!r) throw new Error(`no report row for ${run.path}`);
  return r;
};

/** gpt-4o-mini at the built-in price, as SPEC §5 defines the cost. */
function expectedCost(t: GeneratedRun["totals"]): number {
  const p = BUILTIN_PRICES.models["gpt-4o-mini"]!;
  return (
    ((t.tokensIn - t.cachedTokens) * p.input +
      t.cachedTokens * p.cached_input! +
      t.tokensOut * p.output) /
    1e6
  );
}

/** Each run's exact query window, SPEC §3 with the default tail of 120 s. */
const windowOf = (r: { start: number; end: number }) => ({
  start: Math.floor(r.start / MIN) * MIN,
  end: Math.floor(r.end / MIN) * MIN + MIN + 120,
});

describe("three passes to verified", () => {
  it("pending(0) → pending(1) → verified with exact tokens, cost and manifest; a 4th pass does nothing", async () => {
    const exp = await experiment();
    const passes: Pass[] = [];
    const expectations = [
      { minutes: 40, status: "pending", checks: 0 },
      { minutes: 101, status: "pending", checks: 1 },
      { minutes: 162, status: "verified", checks: 2 },
    ];
    for (const [i, e] of expectations.entries()) {
      const p = await pass(exp, exp.lastEnd + e.minutes * MIN);
      passes.push(p);
      expect(p.code, p.stderr).toBe(0);
      expect(p.stderr).toBe("");
      expect(p.report.errors).toBe(0);
      expect(p.report.runs).toHaveLength(exp.runs.length);
      // one request for the whole experiment, not one per run
      expect(p.sent).toBe(1);
      expect(p.report.requests).toBe(p.sent);
      expect(p.report.request_lower_bound).toBe(1);
      // the manifest changes when a status or a total does: not between two pending readings
      expect(p.report.changed_files.sort()).toEqual(
        [
          ...exp.runs.map((r) => join("runs", r.path)),
          ...(e.checks === 1 ? [] : [join("runs", "manifest.json")]),
        ].sort(),
      );
      expect(p.report.unattributed).toEqual([]);

      const m = await manifest(exp);
      for (const run of exp.runs) {
        const t = run.totals;
        const row = reportOf(p, run);
        expect(row).toMatchObject({
          status: e.status,
          stable_checks: e.checks,
          tokens_in: t.tokensIn,
          tokens_out: t.tokensOut,
          cached_tokens: t.cachedTokens,
          api_calls: t.requests,
          read: true,
          changed: true,
          shared: null,
        });
        expect(row.cost_usd).toBeGreaterThan(0);
        expect(row.cost_usd).toBeCloseTo(expectedCost(t), 12);

        const file = await metrics(exp, run);
        expect(file.verification_status).toBe(e.status);
        expect(file.aggregate_metrics).toMatchObject({
          TOK_IN: t.tokensIn,
          TOK_OUT: t.tokensOut,
          CACHED_TOKENS: t.cachedTokens,
          API_CALLS: t.requests,
          COST_USD: row.cost_usd,
        });
        expect(file.cost_breakdown.output_cost).toBeCloseTo(
          (t.tokensOut * BUILTIN_PRICES.models["gpt-4o-mini"]!.output) / 1e6,
          12,
        );
        const rec = file.usage_api_reconciliation!;
        expect(rec.verification_status).toBe(e.status);
        expect(rec.attempts).toHaveLength(i + 1);
        expect(rec.attempts.at(-1)).toMatchObject({
          timestamp: expect.stringMatching(
            new RegExp(`^${iso(exp.lastEnd + e.minutes * MIN).slice(0, 19)}`),
          ),
          total_tokens_in: t.tokensIn,
          total_tokens_out: t.tokensOut,
          total_cached_tokens: t.cachedTokens,
          total_api_calls: t.requests,
          api_key_id: keyIdFor(run.framework),
        });
        expect(rec.verified_at).toBe(e.status === "verified" ? rec.attempts[2]!.timestamp : null);

        const entry = m.runs.find((x) => x.run_id === run.runId)!;
        expect(entry).toMatchObject({
          verification_status: e.status,
          total_tokens_in: t.tokensIn,
          total_tokens_out: t.tokensOut,
        });
      }
    }

    const before = await snapshot(exp.root);
    const fourth = await pass(exp, exp.lastEnd + 223 * MIN);
    expect(fourth.code).toBe(0);
    expect(fourth.sent).toBe(0);
    expect(fourth.report.requests).toBe(0);
    expect(fourth.report.changed_files).toEqual([]);
    expect(fourth.report.runs.every((r) => r.status === "verified" && !r.read)).toBe(true);
    expect(changedPaths(before, await snapshot(exp.root))).toEqual([]);
  });

  it("a run's request retried after a 500 is counted in the report's requests", async () => {
    const exp = await experiment({ runsPerFramework: 1 });
    exp.api.setFaults(({ requestIndex }) =>
      requestIndex === 0 ? { kind: "status", status: 500 } : undefined,
    );
    const p = await pass(exp, exp.lastEnd + 40 * MIN);
    expect(p.code, p.stderr).toBe(0);
    expect(p.sent).toBe(2);
    expect(p.report.requests).toBe(2);
    expect(p.report.request_lower_bound).toBe(1);
    for (const run of exp.runs) expect(reportOf(p, run).tokens_in).toBe(run.totals.tokensIn);
  });
});

describe("requests per pass", () => {
  it("a 30-day experiment with gaps takes exactly the fewest 1440-minute pages", async () => {
    const exp = await experiment({
      frameworks: ["baes", "chatdev"],
      runsPerFramework: 22,
      gapSeconds: [4 * 3600, 30 * 3600],
      seed: 30,
    });
    const first = Math.min(...exp.runs.map((r) => r.start));
    expect(exp.lastEnd - first).toBeGreaterThan(30 * 86_400);
    const expected = fewestPages(exp.runs.map(windowOf));
    expect(expected).toBeGreaterThan(20);
    expect(expected).toBeLessThan(exp.runs.length);

    const now = exp.lastEnd + 40 * MIN;
    const before = exp.api.requests.length;
    const result = await runCli(
      [
        "--api-base-url",
        exp.api.baseUrl,
        ...keyArgs(["baes", "chatdev"]),
        "--now",
        iso(now),
        "--json",
      ],
      { cwd: exp.root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
    );
    expect(result.code, result.stderr).toBe(0);
    const report = PassReportSchema.parse(JSON.parse(result.stdout));
    const sent = exp.api.requests.length - before;
    expect(sent).toBe(expected);
    expect(report.requests).toBe(expected);
    expect(report.request_lower_bound).toBe(expected);
    for (const run of exp.runs) {
      const row = report.runs.find((r) => r.run_id === run.runId)!;
      expect(row.status).toBe("pending");
      expect(row.tokens_in).toBe(run.totals.tokensIn);
      expect(row.api_calls).toBe(run.totals.requests);
    }
  });
});

describe("--dry-run and --list", () => {
  it("--dry-run writes nothing but reports the would-be changes", async () => {
    const exp = await experiment();
    const before = await snapshot(exp.root);
    const p = await pass(exp, exp.lastEnd + 40 * MIN, ["--dry-run"]);
    expect(p.code, p.stderr).toBe(0);
    expect(changedPaths(before, await snapshot(exp.root))).toEqual([]);
    expect(p.report.dry_run).toBe(true);
    expect(p.sent).toBe(1);
    expect(p.report.changed_files.sort()).toEqual(
      [...exp.runs.map((r) => join("runs", r.path)), join("runs", "manifest.json")].sort(),
    );
    for (const run of exp.runs) {
      expect(reportOf(p, run)).toMatchObject({
        status: "pending",
        changed: true,
        read: true,
        tokens_in: run.totals.tokensIn,
      });
    }
    // table output says so too
    const text = await runCli(
      [
        "--api-base-url",
        exp.api.baseUrl,
        ...keyArgs(),
        "--now",
        iso(exp.lastEnd + 40 * MIN),
        "--dry-run",
      ],
      { cwd: exp.root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
    );
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/would change 10 file\(s\) \(dry run: nothing written\)/);
    expect(changedPaths(before, await snapshot(exp.root))).toEqual([]);
  });

  it("--list sends no request and writes nothing; --list --verbose shows every reading", async () => {
    const exp = await experiment();
    await pass(exp, exp.lastEnd + 40 * MIN);
    await pass(exp, exp.lastEnd + 101 * MIN);
    const sent = exp.api.requests.length;
    const before = await snapshot(exp.root);

    const listed = await pass(exp, exp.lastEnd + 500 * MIN, ["--list"]);
    expect(listed.code).toBe(0);
    expect(exp.api.requests.length).toBe(sent);
    expect(listed.report.mode).toBe("list");
    expect(listed.report.requests).toBe(0);
    expect(listed.report.changed_files).toEqual([]);
    expect(listed.report.runs.map((r) => r.status)).toEqual(exp.runs.map(() => "pending"));
    expect(changedPaths(before, await snapshot(exp.root))).toEqual([]);

    // without an admin key or key ids too: listing needs neither
    const bare = await runCli(["--list", "--now", iso(exp.lastEnd + 500 * MIN)], {
      cwd: exp.root,
      env: {},
    });
    expect(bare.code, bare.stderr).toBe(0);

    const verbose = await runCli(["--list", "--verbose", "--now", iso(exp.lastEnd + 500 * MIN)], {
      cwd: exp.root,
      env: {},
    });
    expect(verbose.code, verbose.stderr).toBe(0);
    expect(exp.api.requests.length).toBe(sent);
    for (const run of exp.runs) {
      const file = await metrics(exp, run);
      const attempts = file.usage_api_reconciliation!.attempts;
      expect(attempts).toHaveLength(2);
      const section = verbose.stdout.split(`\n${run.framework}/${run.runId}  window`)[1];
      expect(section, run.path).toBeDefined();
      const lines = section!.split("\n\n")[0]!;
      const fmt = (n: number) => n.toLocaleString("en-US");
      for (const a of attempts) {
        expect(lines).toContain(
          `${a.timestamp}  ${fmt(run.totals.tokensIn)} in, ${fmt(run.totals.tokensOut)} out, ${fmt(run.totals.requests)} requests, ${fmt(run.totals.cachedTokens)} cached`,
        );
      }
      // full run ids in the verbose table
      expect(verbose.stdout).toMatch(new RegExp(`\\n${run.framework} +${run.runId} +pending`));
    }
    expect(changedPaths(before, await snapshot(exp.root))).toEqual([]);
  });
});

describe("positional <framework> [<run-id>]", () => {
  it("<framework> reconciles only that framework's runs", async () => {
    const exp = await experiment();
    const before = await snapshot(exp.runsDir);
    const manifestBefore = await manifest(exp);
    const p = await pass(exp, exp.lastEnd + 40 * MIN, ["chatdev"]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.sent).toBe(1);
    expect(p.report.runs.map((r) => r.framework)).toEqual(["chatdev", "chatdev", "chatdev"]);
    expect(exp.api.requests.at(-1)!.query.getAll("api_key_ids")).toEqual([keyIdFor("chatdev")]);
    const chatdev = exp.runs.filter((r) => r.framework === "chatdev");
    expect(changedPaths(before, await snapshot(exp.runsDir))).toEqual(
      [...chatdev.map((r) => r.path), "manifest.json"].sort(),
    );
    for (const run of chatdev)
      expect((await metrics(exp, run)).aggregate_metrics.TOK_IN).toBe(run.totals.tokensIn);
    const m = await manifest(exp);
    for (const [i, entry] of m.runs.entries()) {
      const run = exp.runs.find((r) => r.runId === entry.run_id)!;
      if (run.framework === "chatdev") expect(entry.total_tokens_in).toBe(run.totals.tokensIn);
      else expect(entry).toEqual(manifestBefore.runs[i]);
    }
  });

  it("<framework> <run-id> reconciles only that run, prints its table and exits 0 after saving", async () => {
    const exp = await experiment();
    const target = exp.runs.find((r) => r.framework === "ghspec")!;
    const before = await snapshot(exp.runsDir);
    const manifestBefore = await manifest(exp);
    const result = await runCli(
      [
        "ghspec",
        target.runId,
        "--api-base-url",
        exp.api.baseUrl,
        ...keyArgs(),
        "--now",
        iso(exp.lastEnd + 40 * MIN),
        "--verbose",
      ],
      { cwd: exp.root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain(target.runId);
    expect(result.stdout).toMatch(/1 run\(s\): pending 1/);
    expect(result.stdout).toMatch(/changed 2 file\(s\)/);
    expect(changedPaths(before, await snapshot(exp.runsDir))).toEqual(
      [target.path, "manifest.json"].sort(),
    );
    const file = await metrics(exp, target);
    expect(file.aggregate_metrics.TOK_IN).toBe(target.totals.tokensIn);
    const m = await manifest(exp);
    for (const [i, entry] of m.runs.entries()) {
      if (entry.run_id === target.runId) expect(entry.total_tokens_in).toBe(target.totals.tokensIn);
      else expect(entry).toEqual(manifestBefore.runs[i]);
    }
  });
});

describe("exit codes", () => {
  it("1 when a run errors; the good runs beside it are still reconciled and written", async () => {
    const exp = await experiment();
    const brokenPath = join(exp.runsDir, "baes", "broken-run", "metrics.json");
    await mkdir(join(brokenPath, ".."), { recursive: true });
    const brokenText = '{"run_id": "broken-run", "steps": [';
    await writeFile(brokenPath, brokenText);
    const p = await pass(exp, exp.lastEnd + 40 * MIN);
    expect(p.code).toBe(1);
    expect(p.report.errors).toBe(1);
    const broken = p.report.runs.find((r) => r.run_id === "broken-run")!;
    expect(broken).toMatchObject({
      status: "error",
      framework: "baes",
      path: join("runs", "baes", "broken-run", "metrics.json"),
    });
    expect(broken.message).toMatch(/not valid JSON/);
    expect(await readFile(brokenPath, "utf8")).toBe(brokenText);
    for (const run of exp.runs) {
      expect(reportOf(p, run).status).toBe("pending");
      expect((await metrics(exp, run)).aggregate_metrics.TOK_IN).toBe(run.totals.tokensIn);
    }
  });

  const usage: Array<{
    name: string;
    args: string[];
    env?: Record<string, string>;
    message: RegExp;
  }> = [
    { name: "an unknown option", args: ["--bogus"], message: /unknown option '--bogus'/ },
    {
      name: "--min-age-minutes -1",
      args: ["--min-age-minutes", "-1"],
      message: /--min-age-minutes: expected a whole number ≥ 0, got "-1"/,
    },
    {
      name: "--stable-checks 0",
      args: ["--stable-checks", "0"],
      message: /--stable-checks: expected a whole number ≥ 1/,
    },
    {
      name: "a malformed --api-key-id",
      args: ["--api-key-id", "baes:key_baesTest01"],
      message: /--api-key-id: expected framework=key_… ?, got "baes:key_baesTest01"/,
    },
    {
      name: "a secret key given as --api-key-id",
      args: ["--api-key-id", "baes=sk-proj-abcdef123456"],
      message: /--api-key-id: .* is not an API key id/,
    },
    {
      name: "one key id for two frameworks",
      args: ["--api-key-id", `nosuch=${keyIdFor("baes")}`],
      message: /--api-key-id: key id key_baesTest01 is given for both baes and nosuch/,
    },
    { name: "an unknown framework", args: ["nosuch"], message: /framework nosuch not found/ },
    {
      name: "an unknown run id",
      args: ["baes", "00000000-0000-0000-0000-000000000000"],
      message: /run id 00000000-0000-0000-0000-000000000000 not found/,
    },
    { name: "a bad --now", args: ["--now", "yesterday"], message: /--now: expected an ISO-8601/ },
    {
      name: "a missing admin key when runs are due",
      args: [],
      env: {},
      message: /no admin key to read the Usage API with: set OPENAI_ADMIN_KEY/,
    },
    {
      // every user error names paths as the user typed them, relative to the working directory
      name: "a missing runs dir",
      args: ["--runs-dir", "nowhere"],
      message: /^reconcile-usage: runs directory nowhere does not exist \(runs-dir\)\n$/,
    },
    {
      name: "a replay directory that cannot be read",
      args: ["--replay", "no-recording"],
      message: /^reconcile-usage: replay directory no-recording cannot be read\n$/,
    },
  ];
  for (const c of usage) {
    it(`2 for ${c.name}, before any request, with a message naming it`, async () => {
      const exp = await experiment({ runsPerFramework: 1 });
      const before = await snapshot(exp.root);
      // --now comes first so a test's own --now wins (commander keeps the last value)
      const result = await runCli(
        [
          "--now",
          iso(exp.lastEnd + 40 * MIN),
          "--api-base-url",
          exp.api.baseUrl,
          ...keyArgs(),
          ...c.args,
        ],
        { cwd: exp.root, env: c.env ?? { OPENAI_ADMIN_KEY: ADMIN_KEY } },
      );
      expect(result.code, result.stdout + result.stderr).toBe(2);
      expect(result.stderr).toMatch(c.message);
      expect(result.stderr).not.toMatch(/unexpected error/);
      expect(exp.api.requests).toEqual([]);
      expect(changedPaths(before, await snapshot(exp.root))).toEqual([]);
      expect(result.stderr).not.toContain("abcdef123456");
    });
  }

  it("a malformed --api-key-id is named as the CLI option --api-key-id", async () => {
    const exp = await experiment({ runsPerFramework: 1 });
    const result = await runCli(["--api-key-id", "baes:key_baesTest01", "--list"], {
      cwd: exp.root,
      env: {},
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--api-key-id: /);
    expect(result.stderr).not.toMatch(/--api-key-ids/);
  });

  it("2 for a framework without a key id when its runs are due", async () => {
    const exp = await experiment({ runsPerFramework: 1 });
    const result = await runCli(
      [
        "--api-base-url",
        exp.api.baseUrl,
        ...keyArgs(["baes", "chatdev"]),
        "--now",
        iso(exp.lastEnd + 40 * MIN),
      ],
      { cwd: exp.root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no API key id for framework\(s\) ghspec, .*--api-key-id/);
    expect(result.stderr).toMatch(/OPENAI_API_KEY_GHSPEC_ID/);
    expect(exp.api.requests).toEqual([]);
  });
});

describe("API failures are never readings", () => {
  const failures: Array<{ name: string; fault: Fault; message: RegExp }> = [
    { name: "401", fault: { kind: "unauthorized" }, message: /401 Unauthorized/ },
    {
      name: "403 without the usage scope",
      fault: { kind: "forbidden-bare" },
      message: /403 Forbidden: .*api\.usage\.read/,
    },
    {
      name: "insufficient_quota",
      fault: { kind: "insufficient-quota" },
      message: /insufficient_quota/,
    },
    {
      // retryable, but longer than the client waits: fails at once instead of sleeping an hour
      name: "429 asking to wait an hour",
      fault: { kind: "status", status: 429, retryAfter: "3600" },
      message: /429 Too Many Requests.*wait 3600 s/,
    },
  ];
  for (const f of failures) {
    it(`${f.name}: runs are errors, exit 1, files byte-identical; a later pass reads them`, async () => {
      const exp = await experiment();
      exp.api.setFaults(() => f.fault);
      const before = await snapshot(exp.root);
      const failed = await pass(exp, exp.lastEnd + 40 * MIN);
      expect(failed.code).toBe(1);
      expect(failed.sent).toBe(1);
      expect(failed.report.errors).toBe(exp.runs.length);
      for (const run of exp.runs) {
        const row = reportOf(failed, run);
        expect(row.status).toBe("error");
        expect(row.message).toMatch(f.message);
        expect(row.tokens_in).toBeNull();
      }
      expect(failed.report.changed_files).toEqual([]);
      expect(changedPaths(before, await snapshot(exp.root))).toEqual([]);

      exp.api.setFaults(undefined);
      const later = await pass(exp, exp.lastEnd + 45 * MIN);
      expect(later.code, later.stderr).toBe(0);
      for (const run of exp.runs) {
        expect(reportOf(later, run)).toMatchObject({ status: "pending", stable_checks: 0 });
        const file = await metrics(exp, run);
        expect(file.usage_api_reconciliation!.attempts).toHaveLength(1);
        expect(file.aggregate_metrics.TOK_IN).toBe(run.totals.tokensIn);
      }
    });
  }

  it("a span that fails turns only the runs it covers into errors", async () => {
    // two groups of runs a week apart: two spans
    const early = generateExperiment({ frameworks: FRAMEWORKS, runsPerFramework: 1, seed: 1 });
    const late = generateExperiment({
      frameworks: FRAMEWORKS,
      runsPerFramework: 1,
      seed: 2,
      startAt: 1_761_820_000 + 7 * 86_400,
    });
    const runs = [...early, ...late];
    const root = await tempDir("reconcile-usage-cli-");
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const runsDir = await writeExperiment(root, runs);
    const firstStart = String(Math.min(...early.map((r) => windowOf(r).start)));
    const api = await startFakeUsageApi({
      adminKey: ADMIN_KEY,
      events: allEvents(runs),
      faults: ({ query }) =>
        query.get("start_time") === firstStart ? { kind: "forbidden-bare" } : undefined,
    });
    cleanups.push(() => api.close());
    const exp: Experiment = {
      root,
      runsDir,
      runs,
      api,
      lastEnd: Math.max(...runs.map((r) => r.end)),
    };
    const before = await snapshot(root);
    const p = await pass(exp, exp.lastEnd + 40 * MIN);
    expect(p.code).toBe(1);
    expect(p.report.request_lower_bound).toBe(2);
    for (const run of early) {
      expect(reportOf(p, run).status).toBe("error");
      expect(
        (await readFile(join(runsDir, run.path))).equals(before.get(join("runs", run.path))!),
      ).toBe(true);
    }
    for (const run of late) {
      expect(reportOf(p, run)).toMatchObject({ status: "pending", tokens_in: run.totals.tokensIn });
      expect((await metrics(exp, run)).aggregate_metrics.TOK_IN).toBe(run.totals.tokensIn);
    }
  });
});

describe(".env", () => {
  it("supplies OPENAI_ADMIN_KEY and OPENAI_API_KEY_{FW}_ID", async () => {
    const exp = await experiment({ runsPerFramework: 1 });
    await writeFile(
      join(exp.root, ".env"),
      [
        `OPENAI_ADMIN_KEY=${ADMIN_KEY}`,
        ...FRAMEWORKS.map((f) => `OPENAI_API_KEY_${f.toUpperCase()}_ID=${keyIdFor(f)}`),
        "",
      ].join("\n"),
    );
    const result = await runCli(
      ["--api-base-url", exp.api.baseUrl, "--now", iso(exp.lastEnd + 40 * MIN), "--json"],
      {
        cwd: exp.root,
        env: {},
      },
    );
    expect(result.code, result.stderr).toBe(0);
    const report = PassReportSchema.parse(JSON.parse(result.stdout));
    expect(report.runs.map((r) => r.status)).toEqual(exp.runs.map(() => "pending"));
    expect(exp.api.requests).toHaveLength(1);
    expect(exp.api.requests[0]!.authorized).toBe(true);
    expect(exp.api.requests[0]!.query.getAll("api_key_ids").sort()).toEqual(
      FRAMEWORKS.map(keyIdFor).sort(),
    );
  });

  it("a real environment variable wins over .env", async () => {
    const exp = await experiment({ runsPerFramework: 1 });
    await writeFile(
      join(exp.root, ".env"),
      "OPENAI_ADMIN_KEY=sk-admin-from-dotenv-wrong\nOPENAI_API_KEY_BAES_ID=key_fromDotenvWrong\n",
    );
    const args = [
      "--api-base-url",
      exp.api.baseUrl,
      ...keyArgs(["chatdev", "ghspec"]),
      "--now",
      iso(exp.lastEnd + 40 * MIN),
      "--json",
    ];
    // with .env alone, its (wrong) values are used: proof that .env is read
    const fromDotenv = await runCli(args, { cwd: exp.root, env: {} });
    expect(fromDotenv.code).toBe(1);
    expect(exp.api.requests).toHaveLength(1);
    expect(exp.api.requests[0]!.authorized).toBe(false);
    expect(exp.api.requests[0]!.query.getAll("api_key_ids")).toContain("key_fromDotenvWrong");

    const result = await runCli(args, {
      cwd: exp.root,
      env: { OPENAI_ADMIN_KEY: ADMIN_KEY, OPENAI_API_KEY_BAES_ID: keyIdFor("baes") },
    });
    expect(result.code, result.stderr).toBe(0);
    const last = exp.api.requests.at(-1)!;
    expect(last.authorized).toBe(true);
    expect(last.query.getAll("api_key_ids").sort()).toEqual(FRAMEWORKS.map(keyIdFor).sort());
    const report = PassReportSchema.parse(JSON.parse(result.stdout));
    for (const run of exp.runs)
      expect(report.runs.find((r) => r.run_id === run.runId)?.tokens_in).toBe(run.totals.tokensIn);
  });
});

describe("shared minutes", () => {
  it("two runs of one framework sharing a minute are both ambiguous, their shared tokens counted for neither, never verified", async () => {
    const exp = await experiment({
      frameworks: ["baes"],
      runsPerFramework: 2,
      gapSeconds: [20, 21],
      seed: 9,
    });
    const [a, b] = exp.runs as [GeneratedRun, GeneratedRun];
    const wa = windowOf(a);
    const wb = windowOf(b);
    const shared = { start: Math.max(wa.start, wb.start), end: Math.min(wa.end, wb.end) };
    expect(shared.end).toBeGreaterThan(shared.start);
    const minuteOf = (e: UsageEvent) => Math.floor(e.completedAt / MIN) * MIN;
    const inShared = (e: UsageEvent) => minuteOf(e) >= shared.start && minuteOf(e) < shared.end;
    const events = allEvents(exp.runs);
    const sum = (es: UsageEvent[], f: (e: UsageEvent) => number) =>
      es.reduce((n, e) => n + f(e), 0);
    const sharedEvents = events.filter(inShared);
    expect(sharedEvents.length).toBeGreaterThan(0);
    const own = (w: { start: number; end: number }) =>
      events.filter((e) => !inShared(e) && minuteOf(e) >= w.start && minuteOf(e) < w.end);
    const originalTokIn = new Map<string, number | null>();
    for (const run of exp.runs)
      originalTokIn.set(run.runId, (await metrics(exp, run)).aggregate_metrics.TOK_IN ?? null);

    for (const minutes of [40, 101, 162, 223]) {
      const p = await pass(exp, exp.lastEnd + minutes * MIN);
      expect(p.code, p.stderr).toBe(0);
      expect(p.report.totals.tokens_in).toBe(0);
      for (const [run, other, w] of [
        [a, b, wa],
        [b, a, wb],
      ] as const) {
        const row = reportOf(p, run);
        expect(row.status).toBe("ambiguous");
        expect(row.tokens_in).toBeNull();
        expect(row.message).toContain(other.runId);
        expect(row.shared).toEqual({
          with_runs: [`baes/${other.runId}`],
          minutes: (shared.end - shared.start) / MIN,
          tokens_in: sum(sharedEvents, (e) => e.inputTokens),
          tokens_out: sum(sharedEvents, (e) => e.outputTokens),
          cached_tokens: sum(sharedEvents, (e) => e.cachedTokens ?? 0),
          api_calls: sum(sharedEvents, (e) => e.requests ?? 1),
        });
        const file = await metrics(exp, run);
        expect(file.verification_status).toBe("ambiguous");
        expect(file.usage_api_reconciliation!.verified_at).toBeNull();
        expect(file.aggregate_metrics.TOK_IN).toBe(originalTokIn.get(run.runId));
        const attempt = file.usage_api_reconciliation!.attempts.at(-1)!;
        expect(attempt.total_tokens_in).toBe(sum(own(w), (e) => e.inputTokens));
        expect(attempt.total_api_calls).toBe(sum(own(w), (e) => e.requests ?? 1));
      }
      // nothing lost and nothing counted twice
      const attempts = await Promise.all(
        [a, b].map(async (r) => (await metrics(exp, r)).usage_api_reconciliation!.attempts.at(-1)!),
      );
      expect(
        attempts[0]!.total_tokens_in +
          attempts[1]!.total_tokens_in +
          sum(sharedEvents, (e) => e.inputTokens),
      ).toBe(a.totals.tokensIn + b.totals.tokensIn);
    }
  });
});

describe("a zero reading never overwrites aggregates", () => {
  it("usage gone from the API after a reading: warning, TOK_IN kept", async () => {
    const exp = await experiment();
    const first = await pass(exp, exp.lastEnd + 40 * MIN);
    expect(first.code).toBe(0);
    const gone = exp.runs[4]!;
    exp.api.setEvents(allEvents(exp.runs.filter((r) => r !== gone)));
    const second = await pass(exp, exp.lastEnd + 101 * MIN);
    expect(second.code, second.stderr).toBe(0);
    const row = reportOf(second, gone);
    expect(row.status).toBe("warning");
    expect(row.message).toMatch(/no usage/);
    expect(row.tokens_in).toBe(gone.totals.tokensIn);
    const file = await metrics(exp, gone);
    expect(file.verification_status).toBe("warning");
    expect(file.aggregate_metrics).toMatchObject({
      TOK_IN: gone.totals.tokensIn,
      TOK_OUT: gone.totals.tokensOut,
      API_CALLS: gone.totals.requests,
      CACHED_TOKENS: gone.totals.cachedTokens,
    });
    expect(file.aggregate_metrics.COST_USD).toBeGreaterThan(0);
    const attempts = file.usage_api_reconciliation!.attempts;
    expect(attempts.map((x) => x.total_tokens_in)).toEqual([gone.totals.tokensIn, 0]);
    const entry = (await manifest(exp)).runs.find((e) => e.run_id === gone.runId)!;
    expect(entry).toMatchObject({
      verification_status: "warning",
      total_tokens_in: gone.totals.tokensIn,
    });
    for (const run of exp.runs.filter((r) => r !== gone))
      expect(reportOf(second, run)).toMatchObject({ status: "pending", stable_checks: 1 });
  });
});

describe("the admin key stays secret", () => {
  it("a 401 whose body echoes the key never shows it on stdout or stderr", async () => {
    const secret = "sk-admin-SECRET123456";
    const exp = await experiment({ runsPerFramework: 1 }, { adminKey: secret });
    exp.api.setFaults(() => ({
      kind: "status",
      status: 401,
      body: JSON.stringify({
        error: {
          message: `Incorrect API key provided: ${secret}. You can find your API key at https://platform.openai.com/account/api-keys.`,
          type: "invalid_request_error",
          code: "invalid_api_key",
        },
      }),
    }));
    for (const extra of [["--json"], [], ["--verbose"]]) {
      const result = await runCli(
        [
          "--api-base-url",
          exp.api.baseUrl,
          ...keyArgs(),
          "--now",
          iso(exp.lastEnd + 40 * MIN),
          ...extra,
        ],
        { cwd: exp.root, env: { OPENAI_ADMIN_KEY: secret } },
      );
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/Incorrect API key provided/);
      for (const text of [result.stdout, result.stderr]) {
        expect(text).not.toContain("SECRET123456");
        expect(text).not.toContain("sk-admin-SECRET");
      }
    }
  });

  it("a key pasted into a run directory's name is masked in every output, the JSON report's pieces included", async () => {
    // the last line of defence: nothing before the printer removes it (the name is the user's)
    const secret = "sk-admin-PASTED9876543210";
    const exp = await experiment({ runsPerFramework: 300 }, { adminKey: secret });
    const dir = join(exp.runsDir, "baes", `notes-${secret}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "metrics.json"), "{ not json");
    for (const extra of [["--json"], [], ["--verbose"]]) {
      const result = await runCli(
        ["--api-base-url", exp.api.baseUrl, ...keyArgs(), "--now", iso(exp.lastEnd), ...extra],
        { cwd: exp.root, env: { OPENAI_ADMIN_KEY: secret } },
      );
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/notes-/);
      for (const text of [result.stdout, result.stderr]) {
        expect(text).not.toContain("PASTED9876543210");
        expect(text).not.toContain("sk-admin-PASTED");
      }
      // the JSON report is printed in pieces of 256 runs: it still parses, with the name masked
      if (extra[0] === "--json")
        expect(JSON.stringify(JSON.parse(result.stdout).runs)).toContain("notes-***");
    }
  });
});

describe("pricing names do not depend on the checkout directory", () => {
  it("the same pass over two copies of an experiment writes identical bytes", async () => {
    const runs = generateExperiment({ frameworks: FRAMEWORKS, runsPerFramework: 1, seed: 4 });
    const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events: allEvents(runs) });
    cleanups.push(() => api.close());
    const pricing =
      "pricing:\n  models:\n    gpt-4o-mini:\n      input_price: 0.2\n      cached_price: 0.1\n      output_price: 0.8\n";
    const outputs: Array<Map<string, Buffer>> = [];
    for (const name of ["checkout-one", "another-clone"]) {
      const parent = await tempDir("reconcile-usage-cli-");
      cleanups.push(() => rm(parent, { recursive: true, force: true }));
      const root = join(parent, name);
      await writeExperiment(root, runs);
      await writeFile(join(root, "config.yaml"), pricing);
      await writeFile(join(root, "prices.yaml"), pricing.replace("0.8", "0.9"));
      for (const extra of [[], ["--pricing-file", "prices.yaml"]]) {
        const result = await runCli(
          [
            ...extra,
            "--api-base-url",
            api.baseUrl,
            ...keyArgs(),
            "--now",
            iso(Math.max(...runs.map((r) => r.end)) + (extra.length ? 101 : 40) * MIN),
          ],
          { cwd: root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
        );
        expect(result.code, result.stderr).toBe(0);
      }
      outputs.push(await snapshot(join(root, "runs")));
      const file = JSON.parse(
        await readFile(join(root, "runs", runs[0]!.path), "utf8"),
      ) as MetricsJson;
      expect(JSON.stringify(file.cost_breakdown)).not.toContain(name);
    }
    expect(changedPaths(outputs[0]!, outputs[1]!)).toEqual([]);
  });
});

/** Line diff (LCS): the indices of removed lines of `a` and added lines of `b`. */
function lineDiff(a: string[], b: string[]): { removed: number[]; added: number[] } {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] =
        a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const removed: number[] = [];
  const added: number[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) added.push(j++);
    else removed.push(i++);
  }
  return { removed, added };
}

/** Whether line `k` lies inside the top-level `cost_breakdown` object. */
function inCostBreakdown(lines: string[], k: number): boolean {
  const start = lines.findIndex((l) => l.startsWith('  "cost_breakdown": {'));
  if (start < 0 || k <= start) return false;
  const end = lines.findIndex((l, i) => i > start && /^ {2}\}/.test(l));
  return k < end;
}

describe("the real baes-berk experiment", () => {
  it.skipIf(!sharedDataPresent("baes-berk"))(
    `--list loads all 300 runs: 286 verified, and pending exactly the 14 whose old ±300 s readings overlap a neighbour ${onSharedData("baes-berk")}`,
    async () => {
      const root = await copySharedData("baes-berk");
      cleanups.push(() => rm(root, { recursive: true, force: true }));
      const before = await snapshot(root);
      const result = await runCli(["--list", "--now", "2025-11-05T00:00:00Z", "--json"], {
        cwd: root,
        env: {},
      });
      expect(result.code, result.stderr).toBe(0);
      const report = PassReportSchema.parse(JSON.parse(result.stdout));
      expect(report.runs).toHaveLength(300);
      expect(report.errors).toBe(0);
      expect(report.warnings).toEqual([]);
      expect(changedPaths(before, await snapshot(root))).toEqual([]);

      // Derive the expected statuses from the files, independently of src/:
      // the walk of SPEC §4 over the old readings, and which readings' windows (rounded out to
      // whole minutes) take in a minute of another run of the same framework.
      const runs: Array<{
        framework: string;
        runId: string;
        start: number;
        end: number;
        attempts: Array<{
          t: number;
          key: string;
          window: { start: number; end: number };
        }>;
      }> = [];
      for (const framework of ["baes", "chatdev", "ghspec"]) {
        for (const runId of await readdir(join(root, "runs", framework))) {
          const f = JSON.parse(
            await readFile(join(root, "runs", framework, runId, "metrics.json"), "utf8"),
          ) as {
            steps: Array<{ start_timestamp: number; end_timestamp: number }>;
            usage_api_reconciliation: {
              attempts: Array<{
                timestamp: string;
                total_tokens_in: number;
                total_tokens_out: number;
                total_api_calls: number;
                total_cached_tokens: number;
                query_window: { start: number; end: number };
              }>;
            };
          };
          runs.push({
            framework,
            runId,
            start: Math.min(...f.steps.map((s) => s.start_timestamp)),
            end: Math.max(...f.steps.map((s) => s.end_timestamp)),
            attempts: f.usage_api_reconciliation.attempts
              .map((a) => ({
                t: Date.parse(a.timestamp) / 1000,
                key: [
                  a.total_tokens_in,
                  a.total_tokens_out,
                  a.total_api_calls,
                  a.total_cached_tokens,
                ].join(),
                window: {
                  start: Math.floor(a.query_window.start / MIN) * MIN,
                  end: Math.ceil(a.query_window.end / MIN) * MIN,
                },
              }))
              .sort((x, y) => x.t - y.t),
          });
        }
      }
      const stablePairs = (attempts: (typeof runs)[number]["attempts"]) => {
        let pairs = 0;
        for (let i = attempts.length - 1; i >= 1; i--) {
          if (attempts[i]!.key !== attempts[i - 1]!.key) break;
          if (attempts[i]!.t - attempts[i - 1]!.t >= 3600) pairs++;
        }
        return pairs;
      };
      const overlaps = (x: { start: number; end: number }, y: { start: number; end: number }) =>
        x.start < y.end && y.start < x.end;
      const overlapping = new Set(
        runs
          .filter((r) =>
            runs.some(
              (o) =>
                o !== r &&
                o.framework === r.framework &&
                r.attempts.some((a) => overlaps(a.window, windowOf(o))),
            ),
          )
          .map((r) => r.runId),
      );
      // every real run had ≥ 2 stable pairs by the walk; only the overlap takes some back
      expect(runs.filter((r) => stablePairs(r.attempts) >= 2)).toHaveLength(300);
      expect(overlapping.size).toBe(14);

      for (const row of report.runs)
        expect([row.run_id, row.status]).toEqual([
          row.run_id,
          overlapping.has(row.run_id) ? "pending" : "verified",
        ]);
      expect(report.totals.by_status.verified).toBe(286);
      expect(report.totals.by_status.pending).toBe(14);
    },
  );

  it.skipIf(!sharedDataPresent("baes-berk"))(
    `a pass over the real baes files changes only the top-level status, COST_USD and cost_breakdown ${onSharedData("baes-berk")}`,
    async () => {
      const root = await copySharedData("baes-berk");
      cleanups.push(() => rm(root, { recursive: true, force: true }));
      const api = await startFakeUsageApi({ adminKey: ADMIN_KEY });
      cleanups.push(() => api.close());
      const before = await snapshot(root);
      // every baes run is verified (none overlaps a neighbour): nothing is due, no request
      const result = await runCli(
        [
          "baes",
          "--api-base-url",
          api.baseUrl,
          "--api-key-id",
          "baes=key_baesReal01",
          "--now",
          "2025-11-05T00:00:00Z",
          "--json",
        ],
        { cwd: root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
      );
      expect(result.code, result.stderr).toBe(0);
      expect(api.requests).toEqual([]);
      const report = PassReportSchema.parse(JSON.parse(result.stdout));
      expect(report.runs).toHaveLength(100);
      expect(report.runs.every((r) => r.status === "verified")).toBe(true);

      const after = await snapshot(root);
      const changed = changedPaths(before, after);
      expect(changed.filter((p) => p.startsWith("runs/baes/"))).toHaveLength(100);
      expect(changed.every((p) => p.startsWith("runs/baes/") || p === "runs/manifest.json")).toBe(
        true,
      );
      for (const path of changed) {
        const a = before.get(path)!.toString("utf8").split("\n");
        const b = after.get(path)!.toString("utf8").split("\n");
        const { removed, added } = lineDiff(a, b);
        const unexpected = [
          ...removed.map((k) => ({ side: "-", line: a[k]!, ok: allowed(a, k, path) })),
          ...added.map((k) => ({ side: "+", line: b[k]!, ok: allowed(b, k, path) })),
        ].filter((x) => !x.ok);
        expect(unexpected, path).toEqual([]);
        if (path.endsWith("metrics.json")) {
          const old = JSON.parse(a.join("\n")) as MetricsJson;
          const now = JSON.parse(b.join("\n")) as MetricsJson;
          expect(old.aggregate_metrics.COST_USD).toBe(0);
          expect(now.aggregate_metrics.COST_USD).toBeGreaterThan(0);
          expect(now.verification_status).toBe("verified");
          expect(now.usage_api_reconciliation).toEqual(old.usage_api_reconciliation);
        }
      }
    },
  );
});

function allowed(lines: string[], k: number, path: string): boolean {
  const line = lines[k]!;
  if (path === "runs/manifest.json") return /^ {6}"verification_status": "\w+",?$/.test(line);
  return (
    /^ {2}"verification_status": "\w+",?$/.test(line) ||
    /^ {4}"COST_USD": [\d.e-]+,?$/.test(line) ||
    inCostBreakdown(lines, k)
  );
}
