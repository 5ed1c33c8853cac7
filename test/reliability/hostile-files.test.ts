import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import {
  chmod,
  mkdir,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  truncate,
  writeFile,
} from "node:fs/promises";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { contentDigest } from "../../src/fs/digest.ts";
import { nodeFiles } from "../../src/fs/node.ts";
import { BUILTIN_PRICES } from "../../src/pricing/builtin-prices.ts";
import { applyReadings } from "../../src/reconcile/apply.ts";
import { type PassReport, PassReportSchema, type RunReport } from "../../src/report/schema.ts";
import { discoverRuns } from "../../src/runs/discover.ts";
import { ManifestSchema } from "../../src/runs/schema.ts";
import { CLI_BUNDLE } from "../support/bundle.ts";
import { type CliResult, runCli } from "../support/cli.ts";
import {
  allEvents,
  copySharedData,
  type ExperimentSpec,
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  metricsText,
  onSharedData,
  sharedDataPresent,
  tempDir,
  writeExperiment,
} from "../support/experiment.ts";
import { type FakeUsageApi, startFakeUsageApi } from "../support/fake-usage-api.ts";
import { testSettings } from "../support/settings.ts";

/**
 * Files that mean something other than they seem (SPEC §11): steps without an end, keys written
 * twice, a run whose clock swallowed its neighbours, legacy counts, unreadable and huge files,
 * links out of the repository and names with control characters. Each through the CLI against
 * the fake Usage API over HTTP, on real files in temporary directories.
 */

const ADMIN_KEY = "sk-admin-hostile-files-000001";
const FRAMEWORKS = ["baes", "chatdev", "ghspec"];
const MIN = 60;
const run$ = promisify(execFile);

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
  options: { format?: "current" | "legacy"; extraEvents?: GeneratedRun[] } = {},
): Promise<Experiment> {
  const runs = generateExperiment({ frameworks: FRAMEWORKS, runsPerFramework: 2, ...spec });
  const root = await tempDir("reconcile-usage-hostile-");
  cleanups.push(async () => {
    await chmodTree(root);
    await rm(root, { recursive: true, force: true });
  });
  const runsDir = await writeExperiment(root, runs, { format: options.format });
  const api = await startFakeUsageApi({
    adminKey: ADMIN_KEY,
    events: allEvents([...runs, ...(options.extraEvents ?? [])]),
  });
  cleanups.push(() => api.close());
  return { root, runsDir, runs, api, lastEnd: Math.max(...runs.map((r) => r.end)) };
}

/** Gives every directory and file back its permissions (a test may have taken them away). */
async function chmodTree(dir: string): Promise<void> {
  await chmod(dir, 0o755).catch(() => undefined);
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await chmodTree(p);
    else if (e.isFile()) await chmod(p, 0o644).catch(() => undefined);
  }
}

const iso = (t: number): string => new Date(Math.floor(t) * 1000).toISOString();
const keyArgs = (): string[] => FRAMEWORKS.flatMap((f) => ["--api-key-id", `${f}=${keyIdFor(f)}`]);

interface Pass extends CliResult {
  report: PassReport;
}

/** One CLI pass with --json at `now`; the report is validated against its schema. */
async function pass(exp: Experiment, now: number, extra: readonly string[] = []): Promise<Pass> {
  const result = await runCli(
    [...extra, "--api-base-url", exp.api.baseUrl, ...keyArgs(), "--now", iso(now), "--json"],
    { cwd: exp.root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
  );
  let report: PassReport;
  try {
    report = PassReportSchema.parse(JSON.parse(result.stdout));
  } catch (error) {
    throw new Error(`no valid JSON report (exit ${result.code}): ${result.stderr}\n${error}`);
  }
  return { ...result, report };
}

const rowOf = (p: Pass, framework: string, runId: string): RunReport => {
  const r = p.report.runs.find((x) => x.run_id === runId && x.framework === framework);
  if (!r) throw new Error(`no report row for ${framework}/${runId}`);
  return r;
};

const pathOf = (exp: Experiment, run: GeneratedRun): string => join(exp.runsDir, run.path);
const readJson = async (path: string) => JSON.parse(await readFile(path, "utf8"));

/** Rewrites a run's metrics.json through its parsed value (2-space JSON, as a framework writes). */
async function rewrite(
  exp: Experiment,
  run: GeneratedRun,
  mutate: (v: Record<string, unknown> & { steps: Array<Record<string, unknown>> }) => void,
): Promise<string> {
  const v = await readJson(pathOf(exp, run));
  mutate(v);
  const text = `${JSON.stringify(v, null, 2)}\n`;
  await writeFile(pathOf(exp, run), text);
  return text;
}

/** The good runs are reconciled exactly as if the odd one were not there. */
function expectExact(p: Pass, runs: readonly GeneratedRun[], status = "pending"): void {
  for (const run of runs)
    expect(rowOf(p, run.framework, run.runId), run.path).toMatchObject({
      status,
      tokens_in: run.totals.tokensIn,
      tokens_out: run.totals.tokensOut,
      cached_tokens: run.totals.cachedTokens,
      api_calls: run.totals.requests,
    });
}

/** No line of a stack trace, and no "unexpected error", in what the CLI printed. */
function expectNoCrash(output: string): void {
  expect(output).not.toMatch(/unexpected error/);
  expect(output).not.toMatch(/^\s+at .+[:(]/m);
  expect(output).not.toMatch(/Maximum call stack|EACCES|RangeError/);
}

// ---------------------------------------------------------------------------------------------

describe("windows come from evidence: a step with a start and no end (SPEC §11)", () => {
  it("a run killed during its last step is read up to its end_timestamp, and verified exact, never low", async () => {
    // long runs: the last step (a sixth of the run) holds usage well after the step before it
    const exp = await experiment({ durationSeconds: [2400, 3000], runsPerFramework: 1 });
    const killed = exp.runs[0]!;
    await rewrite(exp, killed, (v) => {
      v.steps.at(-1)!.end_timestamp = null;
    });
    const lastStepStart = (await readJson(pathOf(exp, killed))).steps.at(-1).start_timestamp;
    // the usage that fell outside the window on main: after step 5 ended (+ the minute and tail)
    const lateTokens = killed.events
      .filter((e) => e.completedAt >= Math.floor(lastStepStart / MIN) * MIN + MIN + 120)
      .reduce((sum, e) => sum + e.inputTokens, 0);
    expect(lateTokens).toBeGreaterThan(0);

    for (const [i, minutes] of [40, 101, 162].entries()) {
      const p = await pass(exp, exp.lastEnd + minutes * MIN);
      expect(p.code, p.stderr).toBe(0);
      expectExact(p, exp.runs, i === 2 ? "verified" : "pending");
      const w = rowOf(p, killed.framework, killed.runId).window!;
      expect([Date.parse(w.start) / 1000, Date.parse(w.end) / 1000]).toEqual([
        Math.floor(killed.start / MIN) * MIN,
        Math.floor(killed.end / MIN) * MIN + MIN + 120,
      ]);
    }
    const file = await readJson(pathOf(exp, killed));
    expect(file.aggregate_metrics.TOK_IN).toBe(killed.totals.tokensIn);
    expect(file.verification_status).toBe("verified");
  });

  it("is the run's error, naming the step, when nothing ends after the step started; its file is untouched", async () => {
    const exp = await experiment();
    const [killed, ...others] = exp.runs;
    const text = await rewrite(exp, killed!, (v) => {
      v.steps.at(-1)!.end_timestamp = null;
      v.end_timestamp = null;
    });
    // …and the manifest entry has no end either
    const manifestPath = join(exp.runsDir, "manifest.json");
    const manifest = await readJson(manifestPath);
    for (const e of manifest.runs) if (e.run_id === killed!.runId) e.end_time = null;
    await writeFile(manifestPath, JSON.stringify(manifest, null, 2));

    const p = await pass(exp, exp.lastEnd + 40 * MIN);
    expect(p.code).toBe(1);
    expectNoCrash(p.stderr);
    const row = rowOf(p, killed!.framework, killed!.runId);
    expect(row.status).toBe("error");
    expect(row.message).toMatch(
      /^step 6 \(steps\[5\]\) starts at \S+ and has no end_timestamp, and no end is known after it/,
    );
    expect(await readFile(pathOf(exp, killed!), "utf8")).toBe(text);
    expectExact(p, others);
  });
});

// ---------------------------------------------------------------------------------------------

describe("a file means one thing: duplicate keys (SPEC §11)", () => {
  it("a metrics.json with aggregate_metrics.TOK_IN twice is that run's error, named, and untouched", async () => {
    const exp = await experiment();
    const [twice, ...others] = exp.runs;
    // a merge conflict kept both sides: JSON readers see the second copy, an editor the first
    const text = (await readFile(pathOf(exp, twice!), "utf8")).replace(
      '"aggregate_metrics": {\n',
      '"aggregate_metrics": {\n    "TOK_IN": 0,\n',
    );
    await writeFile(pathOf(exp, twice!), text);

    const p = await pass(exp, exp.lastEnd + 40 * MIN);
    expect(p.code).toBe(1);
    const row = rowOf(p, twice!.framework, twice!.runId);
    expect(row).toMatchObject({ status: "error", path: join("runs", twice!.path) });
    expect(row.message).toMatch(/^aggregate_metrics\.TOK_IN appears twice/);
    expect(await readFile(pathOf(exp, twice!), "utf8")).toBe(text);
    expectExact(p, others);
    for (const run of others)
      expect((await readJson(pathOf(exp, run))).aggregate_metrics.TOK_IN).toBe(run.totals.tokensIn);
  });

  it("a first copy that is null is the run's error, not a crash of the whole pass", async () => {
    const exp = await experiment();
    const [twice, ...others] = exp.runs;
    const original = await readFile(pathOf(exp, twice!), "utf8");
    const text = original
      .replace("{\n", '{\n  "usage_api_reconciliation": null,\n')
      .replace(
        /\n}\s*$/,
        ',\n  "usage_api_reconciliation": {\n    "verification_status": "pending",\n    "attempts": []\n  }\n}\n',
      );
    expect(JSON.parse(text).usage_api_reconciliation).toEqual({
      verification_status: "pending",
      attempts: [],
    });
    await writeFile(pathOf(exp, twice!), text);

    const p = await pass(exp, exp.lastEnd + 40 * MIN);
    expect(p.code).toBe(1);
    expectNoCrash(p.stderr);
    expect(rowOf(p, twice!.framework, twice!.runId).message).toMatch(
      /^usage_api_reconciliation appears twice/,
    );
    expect(await readFile(pathOf(exp, twice!), "utf8")).toBe(text);
    expectExact(p, others);
  });

  const manifests: Array<{ name: string; damage: (text: string) => string; key: RegExp }> = [
    {
      name: "two runs keys, the first null",
      damage: (t) => t.replace("{\n", '{\n  "runs": null,\n'),
      key: /runs appears twice/,
    },
    {
      name: "a key twice inside an entry",
      damage: (t) =>
        t.replace(
          '"verification_status": "pending",',
          '"verification_status": "pending",\n      "verification_status": "verified",',
        ),
      key: /runs\[0\]\.verification_status appears twice/,
    },
  ];
  for (const m of manifests) {
    it(`a manifest with ${m.name} is reported and left alone; every run is still reconciled and written`, async () => {
      const exp = await experiment();
      const manifestPath = join(exp.runsDir, "manifest.json");
      const text = m.damage(await readFile(manifestPath, "utf8"));
      await writeFile(manifestPath, text);

      const p = await pass(exp, exp.lastEnd + 40 * MIN);
      expectNoCrash(p.stderr);
      expect(p.code).toBe(1);
      expect(p.report.errors).toBe(1);
      expect(p.report.warnings).toContainEqual(
        expect.stringMatching(new RegExp(`^runs/manifest\\.json: .*${m.key.source}`)),
      );
      expect(await readFile(manifestPath, "utf8")).toBe(text);
      expectExact(p, exp.runs);
      for (const run of exp.runs)
        expect((await readJson(pathOf(exp, run))).aggregate_metrics.TOK_IN).toBe(
          run.totals.tokensIn,
        );
    });
  }
});

describe("the editor's refusal is one run's error", () => {
  it("text that changed under the pass into something the editor refuses makes that run an error, not a crash", async () => {
    const exp = await experiment();
    const discovery = await discoverRuns(nodeFiles, exp.runsDir);
    // between reading and editing (a pass re-applied on another head re-reads every file), one
    // file gained a duplicate key: the editor throws a JsonEditError, and the caller owns it
    const victim = discovery.runs[0]!;
    const text = (await readFile(victim.path, "utf8")).replace(
      "{\n",
      '{\n  "verification_status": "x",\n',
    );
    await writeFile(victim.path, text);
    // as if discovery had judged these bytes: the editor, not the re-read, meets the duplicate
    victim.digest = contentDigest(Buffer.from(text));
    const applied = await applyReadings({
      discovery,
      files: nodeFiles,
      settings: testSettings(exp.runsDir, FRAMEWORKS),
      now: exp.lastEnd + 40 * MIN,
      prices: [],
      readings: new Map(),
      failures: new Map(),
    });
    const row = applied.runs.find((r) => r.run_id === victim.runId)!;
    expect(row.status).toBe("error");
    expect(row.message).toMatch(/^verification_status appears twice/);
    expect(applied.changes.map((c) => c.path)).not.toContain(victim.path);
    expect(applied.changes.filter((c) => c.path.endsWith("metrics.json"))).toHaveLength(
      exp.runs.length - 1,
    );
    // the same for the manifest: reported, left alone, the runs' files still written (its
    // first entry out of step with its file, so that it has something to change)
    const manifest = discovery.manifest!;
    manifest.text = manifest.text
      .replace("{\n", '{\n  "runs": null,\n')
      .replace('"verification_status": "pending"', '"verification_status": "stale"');
    manifest.entries = ManifestSchema.parse(JSON.parse(manifest.text)).runs;
    const again = await applyReadings({
      discovery,
      files: nodeFiles,
      settings: testSettings(exp.runsDir, FRAMEWORKS),
      now: exp.lastEnd + 40 * MIN,
      prices: [],
      readings: new Map(),
      failures: new Map(),
    });
    expect(again.otherProblems).toEqual([
      {
        path: discovery.manifest!.path,
        reason: expect.stringMatching(/^not updated: runs appears twice/),
      },
    ]);
    expect(again.changes.map((c) => c.path)).not.toContain(discovery.manifest!.path);
    expect(again.changes).toHaveLength(exp.runs.length - 1);
  });
});

// ---------------------------------------------------------------------------------------------

describe("a run whose window swallows its neighbours (SPEC §11)", () => {
  it("is a timestamp error of that run alone: the verified runs it contains stay verified", async () => {
    const exp = await experiment({ runsPerFramework: 4 });
    for (const minutes of [40, 101, 162]) {
      const p = await pass(exp, exp.lastEnd + minutes * MIN);
      expect(p.code, p.stderr).toBe(0);
    }
    // a new baes run, after all the others, whose first step's clock is 5 days early
    const [late] = generateExperiment({
      frameworks: ["baes"],
      runsPerFramework: 1,
      seed: 77,
      startAt: Math.floor(exp.lastEnd) + 3600,
    });
    await mkdir(join(exp.runsDir, "baes", late!.runId), { recursive: true });
    const text = metricsText(late!);
    const v = JSON.parse(text);
    v.steps[0].start_timestamp -= 5 * 86_400;
    const lateText = JSON.stringify(v, null, 2);
    await writeFile(join(exp.runsDir, late!.path), lateText);
    exp.api.addEvents(late!.events);

    const p = await pass(exp, late!.end + 40 * MIN);
    expect(p.code).toBe(1);
    const row = rowOf(p, "baes", late!.runId);
    expect(row.status).toBe("error");
    const baesRuns = exp.runs.filter((r) => r.framework === "baes").map((r) => r.runId);
    expect(row.message).toMatch(
      new RegExp(`wholly contains run (${baesRuns.join("|")}) and 3 other run\\(s\\) of baes`),
    );
    expect(row.message).toMatch(/timestamp error in this run/);
    expect(await readFile(join(exp.runsDir, late!.path), "utf8")).toBe(lateText);
    // the runs it covers are judged as if it were not there: still verified, exact
    expectExact(p, exp.runs, "verified");
    expect(p.report.totals.by_status.ambiguous).toBe(0);

    // --list says the same without the API
    const list = await runCli(["--list", "--json", "--now", iso(late!.end + 40 * MIN)], {
      cwd: exp.root,
      env: {},
    });
    const listed = PassReportSchema.parse(JSON.parse(list.stdout));
    expect(listed.runs.filter((r) => r.status === "verified")).toHaveLength(exp.runs.length);
    expect(listed.runs.find((r) => r.run_id === late!.runId)?.status).toBe("error");
  });

  it("a run swallowing runs that are errors themselves (a key twice, no end) is still the error, never verified over their minutes", async () => {
    const exp = await experiment({ runsPerFramework: 3 });
    const [first, second, third] = exp.runs.filter((r) => r.framework === "baes");
    // the first baes run's file has a key twice, the second has no end anywhere
    const text = await readFile(pathOf(exp, first!), "utf8");
    await writeFile(
      pathOf(exp, first!),
      text.replace('"aggregate_metrics": {\n', '"aggregate_metrics": {\n    "TOK_IN": 0,\n'),
    );
    await rewrite(exp, second!, (v) => {
      v.steps.at(-1)!.end_timestamp = null;
      v.end_timestamp = null;
    });
    const manifestPath = join(exp.runsDir, "manifest.json");
    const manifest = await readJson(manifestPath);
    for (const e of manifest.runs) if (e.run_id === second!.runId) e.end_time = null;
    await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
    // …and the third's first step is a day early: its window covers both
    await rewrite(exp, third!, (v) => {
      (v.steps[0]!.start_timestamp as number) -= 86_400;
    });

    const p = await pass(exp, exp.lastEnd + 40 * MIN);
    const row = rowOf(p, "baes", third!.runId);
    expect(row.status, row.message).toBe("error");
    expect(row.message).toMatch(/wholly contains run .* and 1 other run\(s\) of baes/);
    expect(rowOf(p, "baes", first!.runId).status).toBe("error");
    expect(rowOf(p, "baes", second!.runId).status).toBe("error");
    expectExact(
      p,
      exp.runs.filter((r) => r.framework !== "baes"),
    );
  });

  it("two runs with the same window are both ambiguous, not errors", async () => {
    const exp = await experiment({ runsPerFramework: 1 });
    const [original] = exp.runs;
    const copyId = "copy-of-the-first-run";
    const copy = JSON.parse(await readFile(pathOf(exp, original!), "utf8"));
    copy.run_id = copyId;
    await mkdir(join(exp.runsDir, original!.framework, copyId));
    await writeFile(
      join(exp.runsDir, original!.framework, copyId, "metrics.json"),
      JSON.stringify(copy, null, 2),
    );
    const p = await pass(exp, exp.lastEnd + 40 * MIN);
    expect(rowOf(p, original!.framework, original!.runId).status).toBe("ambiguous");
    expect(rowOf(p, original!.framework, copyId).status).toBe("ambiguous");
  });
});

// ---------------------------------------------------------------------------------------------

describe("data already in a file stays: legacy step-level counts (SPEC §11)", () => {
  it("a pass keeps every non-zero step count of a legacy file it rewrites", async () => {
    const exp = await experiment({}, { format: "legacy" });
    const before = new Map<string, Array<Record<string, unknown>>>();
    for (const run of exp.runs) before.set(run.path, (await readJson(pathOf(exp, run))).steps);
    const p = await pass(exp, exp.lastEnd + 40 * MIN);
    expect(p.code, p.stderr).toBe(0);
    expectExact(p, exp.runs);
    for (const run of exp.runs) {
      const after = await readJson(pathOf(exp, run));
      expect(after.aggregate_metrics.TOK_IN).toBe(run.totals.tokensIn);
      // the framework's own per-step counts, zeros beside non-zero counts included
      expect(after.steps).toEqual(before.get(run.path));
      expect(after.steps[0].tokens_in).toBeGreaterThan(0);
    }
  });

  it.skipIf(!sharedDataPresent("legacy-v1"))(
    `a pass over the 215 real legacy-v1 files keeps their non-zero step counts ${onSharedData("legacy-v1")}`,
    async () => {
      const root = await copySharedData("legacy-v1");
      cleanups.push(() => rm(root, { recursive: true, force: true }));
      const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events: [] });
      cleanups.push(() => api.close());
      const counted = async () => {
        const out = new Map<string, number>();
        for (const fw of FRAMEWORKS)
          for (const id of await readdir(join(root, "runs", fw))) {
            const f = await readJson(join(root, "runs", fw, id, "metrics.json"));
            f.steps.forEach((s: Record<string, number>, i: number) => {
              for (const k of ["tokens_in", "tokens_out", "api_calls", "cached_tokens"]) {
                const placeholder = ["tokens_in", "tokens_out", "api_calls", "cached_tokens"].every(
                  (x) => (s[x] ?? 0) === 0,
                );
                if (s[k] !== undefined && !placeholder) out.set(`${fw}/${id}/${i}/${k}`, s[k]);
              }
            });
          }
        return out;
      };
      const before = await counted();
      expect(before.size).toBeGreaterThan(1000);
      const result = await runCli(
        ["--api-base-url", api.baseUrl, ...keyArgs(), "--now", "2025-11-05T00:00:00Z", "--json"],
        { cwd: root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
      );
      const report = PassReportSchema.parse(JSON.parse(result.stdout));
      expect(report.changed_files.length).toBeGreaterThan(100);
      expect(await counted()).toEqual(before);
    },
  );
});

// ---------------------------------------------------------------------------------------------

/** How to run a command as a user the filesystem's permissions apply to (root ignores mode 000). */
function unprivileged(): { prefix: string[] } | { skip: string } {
  if (process.getuid?.() !== 0) return { prefix: [] };
  try {
    execFileSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "true"]);
    return { prefix: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] };
  } catch {
    return { skip: "running as root without setpriv: mode 000 cannot be tested here" };
  }
}
const asUser = unprivileged();

describe("one bad file never takes the pass down (issue 10 item 4)", () => {
  it.skipIf("skip" in asUser)(
    `the built CLI, --list, as an unprivileged user: an unreadable run directory and metrics.json are each that run's error, exit 1, no stack ${"skip" in asUser ? `(skipped: ${asUser.skip})` : ""}`,
    async () => {
      const exp = await experiment();
      const [closedDir, closedFile, ...others] = exp.runs;
      // the user the CLI runs as can read everything but these two
      await chmodTree(exp.root);
      await chmod(join(exp.runsDir, closedDir!.framework, closedDir!.runId), 0o000);
      await chmod(pathOf(exp, closedFile!), 0o000);
      const prefix = (asUser as { prefix: string[] }).prefix;
      const cli = async (extra: string[]) => {
        const [cmd, ...args] = [...prefix, process.execPath, CLI_BUNDLE];
        try {
          const r = await run$(
            cmd!,
            [...args, "--list", "--now", iso(exp.lastEnd + 3600), ...extra],
            {
              cwd: exp.root,
              env: { PATH: process.env.PATH ?? "" },
            },
          );
          return { code: 0, stdout: r.stdout, stderr: r.stderr };
        } catch (error) {
          const e = error as { code: number; stdout: string; stderr: string };
          return { code: e.code, stdout: e.stdout, stderr: e.stderr };
        }
      };

      const json = await cli(["--json"]);
      expect(json.code, json.stderr).toBe(1);
      expectNoCrash(json.stdout + json.stderr);
      const report = PassReportSchema.parse(JSON.parse(json.stdout));
      expect(report.errors).toBe(2);
      const dirRow = report.runs.find((r) => r.run_id === closedDir!.runId)!;
      expect(dirRow).toMatchObject({ status: "error", framework: closedDir!.framework });
      expect(dirRow.message).toBe("run directory cannot be listed: permission denied");
      const fileRow = report.runs.find((r) => r.run_id === closedFile!.runId)!;
      expect(fileRow).toMatchObject({ status: "error", path: join("runs", closedFile!.path) });
      expect(fileRow.message).toBe("cannot be read: permission denied");
      for (const run of others)
        expect(report.runs.find((r) => r.run_id === run.runId)?.status).toBe("pending");

      // the table a user reads says the same, without a stack
      const table = await cli([]);
      expect(table.code).toBe(1);
      expectNoCrash(table.stdout + table.stderr);
      expect(table.stdout).toContain("permission denied");
    },
  );

  it.skipIf(process.getuid?.() === 0)(
    `in-process, chmod 000 on a run directory and a metrics.json ${process.getuid?.() === 0 ? "(skipped: running as root, which ignores mode 000; the test above runs the CLI as an unprivileged user instead)" : ""}`,
    async () => {
      const exp = await experiment();
      const [closedDir, closedFile, ...others] = exp.runs;
      await chmod(join(exp.runsDir, closedDir!.framework, closedDir!.runId), 0o000);
      await chmod(pathOf(exp, closedFile!), 0o000);
      const p = await pass(exp, exp.lastEnd + 40 * MIN);
      expect(p.code).toBe(1);
      expectNoCrash(p.stderr);
      expect(rowOf(p, closedDir!.framework, closedDir!.runId).message).toMatch(/permission denied/);
      expect(rowOf(p, closedFile!.framework, closedFile!.runId).message).toMatch(
        /permission denied/,
      );
      expectExact(p, others);
    },
  );

  it("a FIFO or a directory named metrics.json is that run's error; the pass never blocks on it", async () => {
    const exp = await experiment();
    const [fifo, dir, ...others] = exp.runs;
    await rm(pathOf(exp, fifo!));
    execFileSync("mkfifo", [pathOf(exp, fifo!)]);
    await rm(pathOf(exp, dir!));
    await mkdir(pathOf(exp, dir!));
    const p = await pass(exp, exp.lastEnd + 40 * MIN);
    expect(p.code).toBe(1);
    expect(rowOf(p, fifo!.framework, fifo!.runId).message).toMatch(
      /special file .*not a regular file/,
    );
    expect(rowOf(p, dir!.framework, dir!.runId).message).toMatch(
      /is a directory, not a regular file/,
    );
    expectExact(p, others);
  });

  it("a run with 130,000 steps is reconciled like any other, without a stack overflow", async () => {
    const exp = await experiment();
    const [big, ...others] = exp.runs;
    const span = Math.floor(big!.end) - Math.ceil(big!.start);
    await rewrite(exp, big!, (v) => {
      v.steps = Array.from({ length: 130_000 }, (_, k) => ({
        step: k + 1,
        start_timestamp: Math.ceil(big!.start) + Math.floor((k * span) / 130_000),
        end_timestamp: Math.ceil(big!.start) + Math.floor(((k + 1) * span) / 130_000),
      }));
    });
    const p = await pass(exp, exp.lastEnd + 40 * MIN);
    expect(p.code, p.stderr).toBe(0);
    expectNoCrash(p.stderr);
    expectExact(p, [...others, big!]);
  });

  it("a file holding more than 1,000 readings is that run's error, not minutes of verification walk", async () => {
    const exp = await experiment();
    const [many, ...others] = exp.runs;
    const reading = (t: number) => ({
      timestamp: new Date(t * 1000).toISOString(),
      total_tokens_in: 5,
      total_tokens_out: 5,
      total_api_calls: 1,
      total_cached_tokens: 0,
    });
    const text = await rewrite(exp, many!, (v) => {
      // identical readings a second apart, then two an hour apart: verified, after a long walk
      const t0 = Math.floor(many!.end) + 3600;
      const attempts = Array.from({ length: 5000 }, (_, i) => reading(t0 + i));
      attempts.push(reading(t0 + 5000 + 3600), reading(t0 + 5000 + 7200));
      v.usage_api_reconciliation = { verification_status: "pending", attempts };
    });
    const p = await pass(exp, exp.lastEnd + 4 * 3600);
    expect(p.code).toBe(1);
    expect(rowOf(p, many!.framework, many!.runId).message).toMatch(
      /^usage_api_reconciliation\.attempts: more than 1000 readings/,
    );
    expect(await readFile(pathOf(exp, many!), "utf8")).toBe(text);
    expect(others.every((r) => rowOf(p, r.framework, r.runId).status === "pending")).toBe(true);
  });

  it("a metrics.json over 32 MiB is that run's error, and is not read", async () => {
    const exp = await experiment();
    const [huge, ...others] = exp.runs;
    // sparse: 40 MiB on paper, nothing on disk
    await truncate(pathOf(exp, huge!), 40 * 1024 * 1024);
    const p = await pass(exp, exp.lastEnd + 40 * MIN);
    expect(p.code).toBe(1);
    expect(rowOf(p, huge!.framework, huge!.runId).message).toBe(
      "is 40.0 MiB; files over 32.0 MiB are not read",
    );
    expectExact(p, others);
  });

  it("a manifest past 32 MiB (the size of 100,000 runs' entries) is read and kept in step; one past 256 MiB is reported and left alone", async () => {
    const exp = await experiment();
    const path = join(exp.runsDir, "manifest.json");
    const manifest = await readJson(path);
    // 36 MiB of a key the tool does not own, kept as it is
    const padding = 36 * 1024 * 1024;
    manifest.notes = "x".repeat(padding);
    await writeFile(path, `${JSON.stringify(manifest, null, 2)}\n`);
    const p = await pass(exp, exp.lastEnd + 40 * MIN);
    expect(p.code, p.stderr).toBe(0);
    expectExact(p, exp.runs);
    const after = await readJson(path);
    expect(after.notes).toHaveLength(padding);
    for (const run of exp.runs)
      expect(
        after.runs.find((e: { run_id: string }) => e.run_id === run.runId).total_tokens_in,
      ).toBe(run.totals.tokensIn);

    // sparse: 300 MiB on paper
    await truncate(path, 300 * 1024 * 1024);
    const q = await pass(exp, exp.lastEnd + 100 * MIN);
    expect(q.code).toBe(1);
    expect(q.stdout).toContain("is 300.0 MiB; files over 256.0 MiB are not read");
    expectExact(q, exp.runs);
    expect((await stat(path)).size).toBe(300 * 1024 * 1024);
  });
});

// ---------------------------------------------------------------------------------------------

const AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz";

describe("links out of the repository, and file content in errors (SPEC §11)", () => {
  it("a config.yaml linked to a file outside the repository is refused unread, its content never quoted", async () => {
    const exp = await experiment();
    const outside = await tempDir("reconcile-usage-outside-");
    cleanups.push(() => rm(outside, { recursive: true, force: true }));
    await writeFile(
      join(outside, "credentials"),
      `[default]\naws_secret_access_key = ${AWS_SECRET}\n`,
    );
    await symlink(join(outside, "credentials"), join(exp.root, "config.yaml"));
    const p = await runCli(
      ["--api-base-url", exp.api.baseUrl, ...keyArgs(), "--now", iso(exp.lastEnd + 40 * MIN)],
      { cwd: exp.root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
    );
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/config\.yaml: is a symbolic link .*leading outside the repository/);
    expect(p.stdout + p.stderr).not.toContain(AWS_SECRET);
    expect(p.stdout + p.stderr).not.toContain("aws_secret_access_key");
    expect(exp.api.requests).toHaveLength(0);
  });

  it("a YAML error is told by line and column, without the line", async () => {
    const exp = await experiment();
    await writeFile(
      join(exp.root, "config.yaml"),
      `pricing:\n  models: {}\n[default]\naws_secret_access_key = ${AWS_SECRET}\n`,
    );
    const p = await runCli(["--list", "--now", iso(exp.lastEnd)], { cwd: exp.root, env: {} });
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(
      /config\.yaml: cannot be read as YAML or JSON \([a-z ]+ at line \d+, column \d+\)/,
    );
    expect(p.stderr).not.toContain(AWS_SECRET);
    expect(p.stderr).not.toContain("[default]");
  });

  it("a metrics.json that is not JSON is named by line and column, without its content", async () => {
    const exp = await experiment();
    const [broken, ...others] = exp.runs;
    await writeFile(pathOf(exp, broken!), `{"run_id": "x", "key": ${AWS_SECRET}}`);
    const p = await pass(exp, exp.lastEnd + 40 * MIN);
    expect(p.code).toBe(1);
    const message = rowOf(p, broken!.framework, broken!.runId).message;
    expect(message).toMatch(/^not valid JSON \(\w+ at line 1, column \d+\)$/);
    expect(p.stdout + p.stderr).not.toContain("wJalrX");
    expectExact(p, others);
  });

  it("a pricing file inside the repository that links out is refused; one named outside it is read", async () => {
    const exp = await experiment({ runsPerFramework: 1 });
    const outside = await tempDir("reconcile-usage-outside-");
    cleanups.push(() => rm(outside, { recursive: true, force: true }));
    const prices =
      "models:\n  gpt-4o-mini-2024-07-18:\n    input_price: 1.0\n    cached_price: 0.5\n    output_price: 2.0\n";
    await writeFile(join(outside, "prices.yaml"), prices);
    await symlink(join(outside, "prices.yaml"), join(exp.root, "prices.yaml"));
    const linked = await runCli(
      ["--list", "--pricing-file", "prices.yaml", "--now", iso(exp.lastEnd)],
      {
        cwd: exp.root,
        env: {},
      },
    );
    expect(linked.code).toBe(2);
    expect(linked.stderr).toMatch(
      /prices\.yaml: is a symbolic link .*leading outside the repository/,
    );

    // the user may point at a file anywhere: nothing in the repository led there
    const p = await pass(exp, exp.lastEnd + 40 * MIN, [
      "--pricing-file",
      join(outside, "prices.yaml"),
    ]);
    expect(p.code, p.stderr).toBe(0);
    const run = exp.runs[0]!;
    expect(rowOf(p, run.framework, run.runId).cost_usd).toBeCloseTo(
      ((run.totals.tokensIn - run.totals.cachedTokens) * 1 +
        run.totals.cachedTokens * 0.5 +
        run.totals.tokensOut * 2) /
        1e6,
      10,
    );
  });

  it("in a git work tree, a config.yaml linked elsewhere inside the repository is read", async () => {
    const repo = await tempDir("reconcile-usage-repo-");
    cleanups.push(() => rm(repo, { recursive: true, force: true }));
    execFileSync("git", ["init", "-q", repo]);
    const runs = generateExperiment({ frameworks: FRAMEWORKS, runsPerFramework: 1 });
    const experimentDir = join(repo, "experiments", "one");
    await writeExperiment(experimentDir, runs);
    await mkdir(join(repo, "shared"));
    await writeFile(
      join(repo, "shared", "prices.yaml"),
      "pricing:\n  models:\n    gpt-4o-mini-2024-07-18:\n      input_price: 3.0\n      cached_price: 1.5\n      output_price: 5.0\n",
    );
    await symlink(join("..", "..", "shared", "prices.yaml"), join(experimentDir, "config.yaml"));
    const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events: allEvents(runs) });
    cleanups.push(() => api.close());
    const lastEnd = Math.max(...runs.map((r) => r.end));
    const exp: Experiment = {
      root: experimentDir,
      runsDir: join(experimentDir, "runs"),
      runs,
      api,
      lastEnd,
    };
    const p = await pass(exp, lastEnd + 40 * MIN);
    expect(p.code, p.stderr).toBe(0);
    const run = runs[0]!;
    const t = run.totals;
    expect(rowOf(p, run.framework, run.runId).cost_usd).toBeCloseTo(
      ((t.tokensIn - t.cachedTokens) * 3 + t.cachedTokens * 1.5 + t.tokensOut * 5) / 1e6,
      10,
    );
    // a built-in price would differ
    expect(BUILTIN_PRICES.models["gpt-4o-mini"]!.input).not.toBe(3);
  });

  it("a runs directory that is a link out of the repository is refused before any request", async () => {
    const exp = await experiment({ runsPerFramework: 1 });
    const outside = await tempDir("reconcile-usage-outside-");
    cleanups.push(() => rm(outside, { recursive: true, force: true }));
    await rm(exp.runsDir, { recursive: true });
    await writeExperiment(outside, exp.runs);
    await symlink(join(outside, "runs"), exp.runsDir);
    const p = await runCli(
      ["--api-base-url", exp.api.baseUrl, ...keyArgs(), "--now", iso(exp.lastEnd + 40 * MIN)],
      { cwd: exp.root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
    );
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/runs directory .*runs leads outside the repository/);
    expect(exp.api.requests).toHaveLength(0);
    expect(relative(exp.root, join(outside, "runs")).startsWith("..")).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------

describe("names with control characters are refused (SPEC §11)", () => {
  it("a run directory or framework directory named with a newline, CR or ESC is an error, shown escaped, never raw", async () => {
    const exp = await experiment();
    const names = {
      newline: "run\n::error::pwned",
      cr: "run\r::add-mask::0",
      esc: "run\u001b[31mred",
    };
    for (const name of Object.values(names)) {
      const dir = join(exp.runsDir, "baes", name);
      await mkdir(dir);
      await writeFile(join(dir, "metrics.json"), JSON.stringify({ run_id: name, steps: [] }));
    }
    const framework = "evil\n::stop-commands::x";
    await mkdir(join(exp.runsDir, framework, "some-run"), { recursive: true });
    await writeFile(
      join(exp.runsDir, framework, "some-run", "metrics.json"),
      JSON.stringify({ run_id: "some-run", steps: [] }),
    );

    const p = await pass(exp, exp.lastEnd + 40 * MIN);
    expect(p.code).toBe(1);
    expect(p.report.errors).toBe(4);
    const escaped = {
      newline: "run\\n::error::pwned",
      cr: "run\\r::add-mask::0",
      esc: "run\\u001b[31mred",
    };
    for (const key of Object.keys(names) as Array<keyof typeof names>) {
      // the report names the run exactly (JSON escapes it); the message shows the name escaped
      const row = rowOf(p, "baes", names[key]);
      expect(row.status).toBe("error");
      expect(row.message).toBe(
        `run directory name "${escaped[key]}" holds a control character (shown escaped); rename the directory`,
      );
    }
    const fwRow = rowOf(p, framework, "some-run");
    expect(fwRow.message).toMatch(
      /^framework directory name "evil\\n::stop-commands::x" holds a control character/,
    );
    for (const raw of [...Object.values(names), framework])
      expect(p.stdout + p.stderr, JSON.stringify(raw)).not.toContain(raw);
    expect(p.stdout.includes("\r") || p.stdout.includes("\u001b")).toBe(false);
    expectExact(p, exp.runs);

    // the table a user reads: no raw name either
    const table = await runCli(["--list", "--verbose", "--now", iso(exp.lastEnd + 40 * MIN)], {
      cwd: exp.root,
      env: {},
    });
    for (const raw of [...Object.values(names), framework]) expect(table.stdout).not.toContain(raw);
    expect(table.stdout).toContain("run\\n::error::pwned");
  });
});

// ---------------------------------------------------------------------------------------------

type Damage =
  | "no-last-end"
  | "no-end-anywhere"
  | "swapped-step"
  | "duplicate-key"
  | "days-early"
  | "copied";
const DAMAGES: Damage[] = [
  "no-last-end",
  "no-end-anywhere",
  "swapped-step",
  "duplicate-key",
  "days-early",
  "copied",
];

/** Damages one run's file the way real files get damaged. */
async function damage(
  exp: Experiment,
  run: GeneratedRun,
  kind: Damage,
  step: number,
): Promise<void> {
  if (kind === "copied") {
    // a run directory copied to a new run id: the copy claims the same minutes
    const copy = await readJson(pathOf(exp, run));
    copy.run_id = `copy-${run.runId}`;
    await mkdir(join(exp.runsDir, run.framework, copy.run_id));
    await writeFile(
      join(exp.runsDir, run.framework, copy.run_id, "metrics.json"),
      JSON.stringify(copy, null, 2),
    );
    return;
  }
  if (kind === "duplicate-key") {
    const text = await readFile(pathOf(exp, run), "utf8");
    await writeFile(
      pathOf(exp, run),
      text.replace('"aggregate_metrics": {\n', '"aggregate_metrics": {\n    "TOK_IN": 0,\n'),
    );
    return;
  }
  await rewrite(exp, run, (v) => {
    const s = v.steps[step % v.steps.length]!;
    if (kind === "no-last-end") v.steps.at(-1)!.end_timestamp = null;
    if (kind === "no-end-anywhere") {
      v.steps.at(-1)!.end_timestamp = null;
      v.end_timestamp = null;
    }
    if (kind === "swapped-step")
      [s.start_timestamp, s.end_timestamp] = [s.end_timestamp, s.start_timestamp];
    if (kind === "days-early") (v.steps[0]!.start_timestamp as number) -= 5 * 86_400;
  });
  if (kind === "no-end-anywhere") {
    const manifestPath = join(exp.runsDir, "manifest.json");
    const manifest = await readJson(manifestPath);
    for (const e of manifest.runs) if (e.run_id === run.runId) e.end_time = null;
    await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
  }
}

describe("random file damage never yields a wrong verified number", () => {
  it("over random experiments with damaged files, every verified run holds its true totals, undamaged runs verify, and damaged ones verify exact or are reported", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10_000 }),
        fc.array(
          fc.record({
            run: fc.nat(),
            kind: fc.constantFrom(...DAMAGES),
            step: fc.nat({ max: 5 }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        fc.boolean(),
        async (seed, damages, manifestTwice) => {
          const exp = await experiment({ seed, durationSeconds: [600, 3000] });
          const damaged = new Map<string, Damage>();
          for (const d of damages) {
            const run = exp.runs[d.run % exp.runs.length]!;
            if (damaged.has(run.path)) continue;
            damaged.set(run.path, d.kind);
            await damage(exp, run, d.kind, d.step);
          }
          const manifestPath = join(exp.runsDir, "manifest.json");
          if (manifestTwice)
            await writeFile(
              manifestPath,
              (await readFile(manifestPath, "utf8")).replace("{\n", '{\n  "runs": null,\n'),
            );
          const manifestBefore = await readFile(manifestPath, "utf8");
          let last: Pass | undefined;
          for (const minutes of [40, 101, 162]) {
            last = await pass(exp, exp.lastEnd + minutes * MIN);
            expectNoCrash(last.stderr);
          }
          for (const run of exp.runs) {
            const row = rowOf(last!, run.framework, run.runId);
            const file = JSON.parse(readFileSync(pathOf(exp, run), "utf8"));
            if (row.status === "verified") {
              // what the report says, and what any JSON reader of the file sees
              expect([row.tokens_in, row.tokens_out, row.api_calls], run.path).toEqual([
                run.totals.tokensIn,
                run.totals.tokensOut,
                run.totals.requests,
              ]);
              expect(file.aggregate_metrics.TOK_IN, run.path).toBe(run.totals.tokensIn);
            }
            // an undamaged run is verified whatever happened to its neighbours' files; a damaged
            // one is verified exact, an error that says why, or ambiguous with another damaged one
            const allowed = damaged.has(run.path)
              ? ["verified", "error", "ambiguous"]
              : ["verified"];
            expect(
              allowed,
              `${run.path} (${damaged.get(run.path) ?? "undamaged"}): ${row.message}`,
            ).toContain(row.status);
          }
          // a manifest that means two things is left as it was
          if (manifestTwice) expect(await readFile(manifestPath, "utf8")).toBe(manifestBefore);
          for (const c of cleanups.splice(0).reverse()) await c();
        },
      ),
      { numRuns: 25 },
    );
  });
});
