import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { afterEach, describe, expect, it } from "vitest";
import { type PassReport, PassReportSchema } from "../src/report/schema.ts";
import { type CliResult, runCli } from "./support/cli.ts";
import {
  allEvents,
  type ExperimentSpec,
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  tempDir,
  writeExperiment,
} from "./support/experiment.ts";
import { type FakeUsageApi, startFakeUsageApi } from "./support/fake-usage-api.ts";

/**
 * The researcher at the terminal (issue 15): what a pass prints, fitted to the terminal, and what
 * it says happens next.
 */

const ADMIN_KEY = "sk-admin-terminal-test-000001";
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

async function experiment(spec: ExperimentSpec = {}): Promise<Experiment> {
  const runs = generateExperiment({ frameworks: FRAMEWORKS, runsPerFramework: 3, ...spec });
  const root = await tempDir("reconcile-usage-terminal-");
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const runsDir = await writeExperiment(root, runs);
  const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events: allEvents(runs) });
  cleanups.push(() => api.close());
  return { root, runsDir, runs, api, lastEnd: Math.max(...runs.map((r) => r.end)) };
}

const iso = (t: number): string => new Date(Math.floor(t) * 1000).toISOString();
const keyArgs = (exp: Experiment): string[] =>
  [...new Set(exp.runs.map((r) => r.framework))].flatMap((f) => [
    "--api-key-id",
    `${f}=${keyIdFor(f)}`,
  ]);

/** A pass as a user types it (tables, not --json), at `now`, with COLUMNS and other variables. */
function pass(
  exp: Experiment,
  now: number,
  extra: readonly string[] = [],
  env: Record<string, string | undefined> = {},
): Promise<CliResult> {
  return runCli([...extra, "--api-base-url", exp.api.baseUrl, ...keyArgs(exp), "--now", iso(now)], {
    cwd: exp.root,
    env: { OPENAI_ADMIN_KEY: ADMIN_KEY, ...env },
  });
}

async function jsonPass(exp: Experiment, now: number): Promise<PassReport> {
  const result = await pass(exp, now, ["--json"]);
  expect(result.code, `${result.stderr}${result.stdout.slice(0, 3000)}`).toBe(0);
  return PassReportSchema.parse(JSON.parse(result.stdout));
}

const width = (text: string) => Math.max(...text.split("\n").map((l) => [...l].length));
/** The table's rows and their wrapped continuation lines, joined back into one line per run. */
function rowsOf(stdout: string): string[] {
  const table = stdout.split("\n\n")[0]!.split("\n").slice(2);
  const rows: string[] = [];
  for (const line of table) {
    if (line.startsWith("(")) break; // the note on columns left out
    if (line.startsWith(" ")) rows[rows.length - 1] += ` ${line.trim()}`;
    else rows.push(line);
  }
  return rows;
}

describe("the table fits the terminal (issue 15 item 1)", () => {
  it("COLUMNS=80: no line is wider, messages wrap whole (next reading included), left-out columns are named", async () => {
    const exp = await experiment();
    const first = await pass(exp, exp.lastEnd + 40 * MIN, [], { COLUMNS: "80" });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.split("\n").filter((l) => width(l) > 80)).toEqual([]);
    const rows = rowsOf(first.stdout);
    expect(rows).toHaveLength(exp.runs.length);
    for (const row of rows)
      expect(row).toMatch(/next reading after \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(first.stdout).toMatch(/\(CACHED, CALLS.* left out to fit 80 columns/);

    // a wide terminal shows every column, one line per run
    const wide = await pass(exp, exp.lastEnd + 41 * MIN, ["--dry-run"], { COLUMNS: "250" });
    const header = wide.stdout.split("\n")[0]!;
    for (const h of ["TOK_IN", "TOK_OUT", "CACHED", "CALLS", "COST_USD", "CHECKS", "MESSAGE"])
      expect(header).toContain(h);
    expect(wide.stdout).not.toMatch(/left out to fit/);
    // not a terminal and no COLUMNS (a log, a pipe): whole messages, one line per run
    const piped = await pass(exp, exp.lastEnd + 42 * MIN, ["--dry-run"]);
    expect(piped.stdout.split("\n\n")[0]!.split("\n")).toHaveLength(2 + exp.runs.length);
    expect(piped.stdout).toMatch(/next reading after \d{4}-\d\d-\d\d \d\d:\d\d UTC\n/);
  });

  it("shows mean ± sd of verified runs per framework, labels totals that hold unverified readings, and ends with what happens next", async () => {
    const exp = await experiment();
    const start = exp.lastEnd + 40 * MIN;
    const first = await pass(exp, start);
    expect(first.stdout).toMatch(
      /reconciled tokens \(9 run\(s\) with a reading, 9 of them NOT verified yet: not final\)/,
    );
    const next = first.stdout.trim().split("\n").at(-1)!;
    expect(next).toMatch(
      /^next: 9 run\(s\) wait for their next reading, the first after \d{4}-\d\d-\d\d \d\d:\d\d UTC$/,
    );
    await jsonPass(exp, start + 61 * MIN);
    const done = await pass(exp, start + 122 * MIN);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/reconciled tokens \(9 verified run\(s\)\)/);
    expect(done.stdout).toMatch(/mean ± sd over the VERIFIED runs only/);
    for (const f of FRAMEWORKS) {
      const mine = exp.runs.filter((r) => r.framework === f).map((r) => r.totals.tokensIn);
      const mean = mine.reduce((a, b) => a + b, 0) / mine.length;
      const sd = Math.sqrt(mine.reduce((a, b) => a + (b - mean) ** 2, 0) / (mine.length - 1));
      const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
      const line = done.stdout.split("\n").find((l) => new RegExp(`^${f}\\s+3\\s+3\\s`).test(l));
      expect(line, f).toContain(`${fmt(mean)} ± ${fmt(sd)}`);
    }
    expect(done.stdout.trim().split("\n").at(-1)).toBe(
      "next: nothing left to do: all 9 run(s) are verified",
    );
  });

  it("an API that refuses every request: the message is said once, not once per run, and no key is called unused", async () => {
    const exp = await experiment();
    exp.api.setFaults(() => ({ kind: "unauthorized" }));
    const failed = await pass(exp, exp.lastEnd + 40 * MIN);
    expect(failed.code).toBe(1);
    const mentions = failed.stdout.split("401 Unauthorized").length - 1;
    expect(mentions).toBe(1);
    expect(failed.stdout).toMatch(/^\[1\] 9 runs: Usage API: .*401 Unauthorized/m);
    for (const row of rowsOf(failed.stdout)) expect(row).toMatch(/error .*see note \[1\] below$/);
    expect(failed.stdout).not.toMatch(/had no usage at all/);
    expect(failed.stdout.trim().split("\n").at(-1)).toMatch(/^next: 9 error\(s\)/);
  });
});

/** An experiment whose runs are all verified (three passes an hour apart). */
async function verified(spec: ExperimentSpec = {}): Promise<Experiment> {
  const exp = await experiment(spec);
  for (const t of [40, 101, 162]) await jsonPass(exp, exp.lastEnd + t * MIN);
  return exp;
}

const exportCli = (exp: Experiment, args: readonly string[]) =>
  runCli(["export", ...args, "--now", iso(exp.lastEnd + 200 * MIN)], { cwd: exp.root, env: {} });

type Row = Record<string, string>;
const csvRows = (text: string): Row[] =>
  parseCsv(text, { columns: true, skip_empty_lines: true }) as Row[];

describe("export loads in a CSV reader and says what it shows (issue 15 item 5)", () => {
  it("csv on standard output is one table a CSV parser reads; --table frameworks the other; figures without float noise", async () => {
    const exp = await verified();
    const runs = await exportCli(exp, ["--format", "csv"]);
    expect(runs.code, runs.stderr).toBe(0);
    const runRows = csvRows(runs.stdout);
    expect(runRows).toHaveLength(exp.runs.length);
    for (const r of exp.runs) {
      const row = runRows.find((x) => x.run_id === r.runId)!;
      expect(row).toMatchObject({
        framework: r.framework,
        status: "verified",
        tokens_in: String(r.totals.tokensIn),
      });
    }
    expect(runs.stderr).toMatch(/--table frameworks/);

    const fw = await exportCli(exp, ["--format", "csv", "--table", "frameworks"]);
    const fwRows = csvRows(fw.stdout);
    expect(fwRows.map((r) => r.framework)).toEqual(FRAMEWORKS);
    for (const row of fwRows) {
      const mine = exp.runs.filter((r) => r.framework === row.framework);
      expect(row.n).toBe(String(mine.length));
      const mean = mine.reduce((a, r) => a + r.totals.tokensIn, 0) / mine.length;
      expect(Number(row.tokens_in_mean)).toBeCloseTo(mean, 6);
      // no binary-float noise such as 0.010980565500000006: at most 12 significant digits
      for (const [k, v] of Object.entries(row)) {
        if (!/^-?\d/.test(v)) continue;
        const digits = v.replace(/^-?0*\.?0*/, "").replace(/\D/g, "");
        expect(digits.length, `${k}=${v}`).toBeLessThanOrEqual(12);
      }
    }

    // --output writes both, each a CSV of its own
    const written = await exportCli(exp, ["--format", "csv", "--output", "paper.csv"]);
    expect(written.code, written.stderr).toBe(0);
    expect(csvRows(await readFile(join(exp.root, "paper.csv"), "utf8"))).toHaveLength(9);
    expect(csvRows(await readFile(join(exp.root, "paper.frameworks.csv"), "utf8"))).toHaveLength(3);
  });

  it("export <framework> takes that framework's runs; --help lists no option that does nothing for export", async () => {
    const exp = await verified();
    const one = await exportCli(exp, ["chatdev", "--format", "csv"]);
    expect(one.code, one.stderr).toBe(0);
    const rows = csvRows(one.stdout);
    expect(rows).toHaveLength(3);
    expect(new Set(rows.map((r) => r.framework))).toEqual(new Set(["chatdev"]));
    const help = await runCli(["export", "--help"], { cwd: exp.root, env: {} });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/\[framework\]/);
    expect(help.stdout).toMatch(/tex/);
    for (const flag of ["--api-base-url", "--dry-run", "--force", "--replay", "--record", "--json"])
      expect(help.stdout).not.toMatch(new RegExp(`^\\s+${flag}\\b`, "m"));
  });

  it("tex: booktabs tables whose captions say mean ± sd over n verified runs; names are escaped for LaTeX", async () => {
    const exp = await verified({ frameworks: ["baes", "chat_dev"] });
    const tex = await exportCli(exp, ["--format", "tex"]);
    expect(tex.code, tex.stderr).toBe(0);
    const t = tex.stdout;
    for (const rule of ["\\toprule", "\\midrule", "\\bottomrule"]) expect(t).toContain(rule);
    expect(t).toMatch(
      /\\caption\{Tokens and cost per verified run: mean \$\\pm\$ sample standard deviation/,
    );
    expect(t).toMatch(/over the \$n\$ verified runs/);
    expect(t).toContain("chat\\_dev & 3 & ");
    expect(t).not.toMatch(/[^\\]chat_dev/);
    // every row of a tabular has as many cells as the column spec says
    const body = t.slice(t.indexOf("\\midrule"), t.indexOf("\\bottomrule"));
    for (const line of body.split("\n").filter((l) => l.endsWith("\\\\")))
      expect(line.split(" & ")).toHaveLength(6);
  });
});

describe("exit codes and one-line errors (issue 15 item 3)", () => {
  const oneLine = (r: CliResult) => {
    expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\bat .*:\d+:\d+|unexpected error|ENOTDIR/);
  };

  it("--runs-dir naming a file: exit 2, one line", async () => {
    const exp = await experiment();
    await writeFile(join(exp.root, "runs.txt"), "not a directory\n");
    const r = await pass(exp, exp.lastEnd + 40 * MIN, ["--runs-dir", "runs.txt"]);
    expect(r.code).toBe(2);
    oneLine(r);
    expect(r.stderr).toMatch(/runs directory runs\.txt (is|cannot be listed:) not a directory/);
    expect(exp.api.requests).toHaveLength(0);
  });

  it("--runs-dir naming one framework's directory: exit 2 with the command meant; an empty runs directory: exit 0 with a warning saying the layout expected", async () => {
    const exp = await experiment();
    const r = await pass(exp, exp.lastEnd + 40 * MIN, ["--runs-dir", "runs/baes"]);
    expect(r.code).toBe(2);
    oneLine(r);
    expect(r.stderr).toContain("looks like one framework's directory");
    expect(r.stderr).toContain("--runs-dir runs baes");
    await mkdir(join(exp.root, "empty"));
    const empty = await pass(exp, exp.lastEnd + 40 * MIN, ["--runs-dir", "empty"]);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toMatch(
      /warning: no runs found under empty: expected empty\/\{framework\}\/\{run_id\}\/metrics\.json/,
    );
  });

  it("a config.yaml that is not YAML: exit 2, one line naming the file and the position", async () => {
    const exp = await experiment();
    await writeFile(
      join(exp.root, "config.yaml"),
      "pricing:\n  models:\n    gpt-4o-mini: {input_price: 0.15\n",
    );
    const r = await pass(exp, exp.lastEnd + 40 * MIN);
    expect(r.code).toBe(2);
    oneLine(r);
    expect(r.stderr).toMatch(
      /config\.yaml.*cannot be read as YAML or JSON \(.* at line \d+, column \d+\)/,
    );
  });

  it("a Costs API that fails: the runs are reconciled, a warning says the comparison is missing, exit 0", async () => {
    const exp = await experiment();
    exp.api.setFaults((ctx) =>
      ctx.path.endsWith("/organization/costs") ? { kind: "unauthorized" } : undefined,
    );
    const r = await pass(exp, exp.lastEnd + 40 * MIN, ["--cross-check-costs"]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/warning: cross-check-costs failed \(the runs are reconciled/);
    expect(r.stdout).toMatch(/^9 run\(s\): pending 9$/m);
  });
});

describe("small frictions (issue 15 item 6)", () => {
  it("run ids as the table shows them (8 characters and …) or any unique prefix are accepted; an ambiguous prefix or a run under another framework says what to type", async () => {
    const exp = await experiment();
    const run = exp.runs.find((r) => r.framework === "chatdev")!;
    const short = `${run.runId.slice(0, 8)}…`;
    const listed = await runCli(["--list", "chatdev", short, "--json"], { cwd: exp.root, env: {} });
    expect(listed.code, listed.stderr).toBe(0);
    const report = PassReportSchema.parse(JSON.parse(listed.stdout));
    expect(report.runs.map((r) => r.run_id)).toEqual([run.runId]);
    const byPrefix = await pass(exp, exp.lastEnd + 40 * MIN, ["chatdev", run.runId.slice(0, 6)]);
    expect(byPrefix.code, byPrefix.stderr).toBe(0);
    expect(rowsOf(byPrefix.stdout)).toHaveLength(1);

    const wrong = await runCli(["--list", "baes", run.runId], { cwd: exp.root, env: {} });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`it is a run of chatdev`);
    expect(wrong.stderr).toContain(`give chatdev ${run.runId}`);

    // two runs whose ids start alike: the prefix they share is refused, naming both
    const twin = `${run.runId.slice(0, 6)}ffff-twin`;
    const twinDir = join(exp.runsDir, "chatdev", twin);
    await mkdir(twinDir);
    const text = await readFile(join(exp.runsDir, run.path), "utf8");
    await writeFile(join(twinDir, "metrics.json"), text.replace(run.runId, twin));
    const both = await runCli(["--list", "chatdev", run.runId.slice(0, 6)], {
      cwd: exp.root,
      env: {},
    });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/is the start of 2 run ids/);
  });

  it("help and list are commands, not framework names", async () => {
    const exp = await experiment();
    const help = await runCli(["help"], { cwd: exp.root, env: {} });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: reconcile-usage/);
    const exportHelp = await runCli(["help", "export"], { cwd: exp.root, env: {} });
    expect(exportHelp.stdout).toMatch(/^Usage: reconcile-usage export/);
    const list = await runCli(["list", "baes"], { cwd: exp.root, env: {} });
    expect(list.code, list.stderr).toBe(0);
    expect(rowsOf(list.stdout)).toHaveLength(3);
    expect(exp.api.requests).toHaveLength(0);
  });

  it("--verbose shows readings with thousands separators", async () => {
    const exp = await experiment();
    await jsonPass(exp, exp.lastEnd + 40 * MIN);
    const r = await runCli(["--list", "--verbose"], { cwd: exp.root, env: {} });
    const fmt = (n: number) => n.toLocaleString("en-US");
    const big = exp.runs.find((x) => x.totals.tokensIn >= 1000)!;
    // a reading's line: indented, its timestamp, then its counts
    const reading = r.stdout
      .split("\n")
      .find((l) => /^ {2}(new | {4})\d{4}-/.test(l) && l.includes(fmt(big.totals.tokensOut)));
    expect(reading).toContain(`  ${fmt(big.totals.tokensIn)} in, ${fmt(big.totals.tokensOut)} out`);
  });

  it("an ambiguous run says why it shows no tokens and why its stable checks do not verify it", async () => {
    const exp = await experiment({
      frameworks: ["baes"],
      runsPerFramework: 2,
      gapSeconds: [20, 21],
      seed: 9,
    });
    let last: PassReport | undefined;
    for (const t of [40, 101, 162]) last = await jsonPass(exp, exp.lastEnd + t * MIN);
    for (const row of last!.runs) {
      expect(row.status).toBe("ambiguous");
      expect(row.tokens_in).toBeNull();
      expect(row.message).toMatch(
        /no tokens are shown \(a shared minute's usage cannot be told apart\)/,
      );
      if (row.stable_checks > 0)
        expect(row.message).toContain(`and its ${row.stable_checks} stable check(s) do not count`);
    }
  });
});

describe("prices that look wrong (issue 15 item 4)", () => {
  it("a config.yaml price 1,000 times the built-in one (per 1K written as per 1M) is named in a warning; a near price is not", async () => {
    const exp = await experiment({ apiModel: "gpt-4o-mini" });
    const config = (input: number) =>
      writeFile(
        join(exp.root, "config.yaml"),
        `pricing:\n  models:\n    gpt-4o-mini:\n      input_price: ${input}\n      cached_price: 0.075\n      output_price: 0.6\n`,
      );
    await config(150);
    const wrong = await pass(exp, exp.lastEnd + 40 * MIN, ["--dry-run"]);
    expect(wrong.code, wrong.stderr).toBe(0);
    expect(wrong.stdout).toMatch(
      /warning: gpt-4o-mini: input_price 150 in the experiment config\.yaml is 1,000 times the built-in price for gpt-4o-mini \(0\.15, .*\); prices are USD per 1M tokens/,
    );
    await config(0.2);
    const near = await pass(exp, exp.lastEnd + 41 * MIN, ["--dry-run"]);
    expect(near.stdout).not.toMatch(/times the built-in price/);
  });

  it("no cost for runs whose readings have no model: the warning names the runs and what to do", async () => {
    const runs = generateExperiment({ frameworks: ["baes"], runsPerFramework: 2 });
    const root = await tempDir("reconcile-usage-terminal-");
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const runsDir = await writeExperiment(root, runs, { format: "legacy" });
    // readings as the old script wrote them: totals only, no per-model split; no top-level model
    for (const r of runs) {
      const path = join(runsDir, r.path);
      const file = JSON.parse(await readFile(path, "utf8"));
      delete file.model;
      file.usage_api_reconciliation = {
        attempts: [
          {
            timestamp: new Date((r.end + 3600) * 1000).toISOString(),
            total_tokens_in: r.totals.tokensIn,
            total_tokens_out: r.totals.tokensOut,
            total_api_calls: r.totals.requests,
            total_cached_tokens: r.totals.cachedTokens,
            query_window: {
              start: Math.floor(r.start / MIN) * MIN,
              end: Math.floor(r.end / MIN) * MIN + MIN + 120,
              buffer_seconds: 0,
            },
          },
        ],
      };
      await writeFile(path, `${JSON.stringify(file, null, 2)}\n`);
    }
    const listed = await runCli(["--list"], { cwd: root, env: {} });
    expect(listed.code, listed.stderr).toBe(0);
    const warning = listed.stdout.split("\n").find((l) => l.startsWith("warning: no cost for"));
    expect(warning).toMatch(
      /^warning: no cost for 2 run\(s\) using \(no model\): .*; runs: baes\/\S+, baes\/\S+$/,
    );
    for (const r of runs) expect(warning).toContain(`baes/${r.runId.slice(0, 8)}…`);
    expect(warning).toContain('"model": "gpt-4o-mini"');
    expect(warning).toContain("--force");
  });
});

describe("legacy files (issue 15 item 7)", () => {
  it("a v1 file whose old block says verified: true is pending, and the message says what the block held and why it is not trusted", async () => {
    const runs = generateExperiment({ frameworks: ["baes"], runsPerFramework: 1 });
    const root = await tempDir("reconcile-usage-terminal-");
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const runsDir = await writeExperiment(root, runs, { format: "legacy" });
    const path = join(runsDir, runs[0]!.path);
    const file = JSON.parse(await readFile(path, "utf8"));
    file.usage_api_verification = {
      verified: true,
      api_tokens_in: 0,
      api_tokens_out: 0,
      local_tokens_in: 1234,
      local_tokens_out: 56,
      error: null,
    };
    await writeFile(path, `${JSON.stringify(file, null, 2)}\n`);
    const listed = await runCli(["--list", "--json"], { cwd: root, env: {} });
    const row = PassReportSchema.parse(JSON.parse(listed.stdout)).runs[0]!;
    expect(row.status).toBe("pending");
    expect(row.message).toMatch(
      /^no reading yet; the old usage_api_verification block \(verified: true; Usage API 0 in \/ 0 out against the framework's own 1,234 \/ 56\) is not a reading: it records no time, window or key/,
    );
  });
});

describe("the README's figures, measured with the tool (issue 15 item 7)", () => {
  it("with the defaults and a 30-minute cron, a run is verified 2.5 to 3 hours after it ended", async () => {
    // the README's schedule, "17,47 * * * *": the next tick at or after t
    const tick = (t: number) => {
      const hour = Math.floor(t / 3600) * 3600;
      for (const m of [17, 47, 77]) if (hour + m * MIN >= t) return hour + m * MIN;
      return hour + 77 * MIN;
    };
    const hours: number[] = [];
    // runs ending at different moments between two ticks (a run ending in the future is an error)
    for (let k = 0; k < 5; k++) {
      const exp = await experiment({
        frameworks: ["baes"],
        runsPerFramework: 1,
        startAt: 1_761_820_000 + k * 7 * MIN,
      });
      const run = exp.runs[0]!;
      let t = tick(run.end);
      for (; ; t = tick(t + 1)) {
        expect(t - run.end).toBeLessThan(12 * 3600);
        if ((await jsonPass(exp, t)).runs[0]!.status === "verified") break;
      }
      hours.push((t - run.end) / 3600);
    }
    expect(Math.min(...hours)).toBeGreaterThanOrEqual(2.5);
    expect(Math.max(...hours)).toBeLessThanOrEqual(3);
    const readme = await readFile(join(import.meta.dirname, "..", "README.md"), "utf8");
    expect(readme).toContain("verified 2.5 to 3 hours after it ended");
  });
});
