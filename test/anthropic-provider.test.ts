import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PassReportSchema } from "../src/report/schema.ts";
import { renderSummary } from "../src/report/summary.ts";
import { summaryLines } from "../src/report/table.ts";
import { MetricsFileSchema } from "../src/runs/schema.ts";
import { runAction } from "./support/action.ts";
import { runCli } from "./support/cli.ts";
import {
  allEvents,
  type ClaudeTruth,
  claudeEventsOf,
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  tempDir,
  writeExperiment,
} from "./support/experiment.ts";
import { type ClaudeUsageEvent, startFakeAnthropicApi } from "./support/fake-anthropic-api.ts";
import { startFakeUsageApi } from "./support/fake-usage-api.ts";

/**
 * Anthropic as a second provider (SPEC §13), end to end through the CLI as a user runs it: a mixed
 * experiment (two OpenAI frameworks, one on Claude), each provider served by its own fake over
 * real HTTP, with late data and revised buckets, reconciled over several passes.
 */

const OPENAI_KEY = "sk-admin-mixed-openai-0123456789";
const ANTHROPIC_KEY = "sk-ant-admin01-mixed-anthropic-0123456789";
const CLAUDE_KEY_ID = "apikey_01ClaudeMixedTest";
const CLAUDE_MODEL = "claude-sonnet-4-5-20250929";
const HOUR = 3600;

/** USD per 1M tokens, from the providers' price pages (the truth the test prices with). */
const GPT_4O_MINI = { input: 0.15, cached: 0.075, output: 0.6 };
const SONNET_4_5 = { input: 3, cacheRead: 0.3, write5m: 3.75, write1h: 6, output: 15 };

/** A Claude run's events on the test's key and model. */
const claudeEvents = (run: GeneratedRun) => claudeEventsOf(run, CLAUDE_KEY_ID, CLAUDE_MODEL);

const claudeCost = (t: ClaudeTruth): number =>
  (t.uncached * SONNET_4_5.input +
    t.cacheRead * SONNET_4_5.cacheRead +
    t.write5m * SONNET_4_5.write5m +
    t.write1h * SONNET_4_5.write1h +
    t.output * SONNET_4_5.output) /
  1e6;

const openaiCost = (r: GeneratedRun): number =>
  ((r.totals.tokensIn - r.totals.cachedTokens) * GPT_4O_MINI.input +
    r.totals.cachedTokens * GPT_4O_MINI.cached +
    r.totals.tokensOut * GPT_4O_MINI.output) /
  1e6;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function mixedExperiment(o: { anthropicKey?: string } = {}) {
  const runs = generateExperiment({
    frameworks: ["baes", "chatdev", "claude"],
    runsPerFramework: 4,
    seed: 13,
  });
  const claudeRuns = runs.filter((r) => r.framework === "claude");
  const openaiRuns = runs.filter((r) => r.framework !== "claude");
  const truths = new Map<string, ClaudeTruth>();
  const claude: ClaudeUsageEvent[] = [];
  for (const r of claudeRuns) {
    const { events, truth } = claudeEvents(r);
    truths.set(r.runId, truth);
    claude.push(...events);
  }
  const lastEnd = Math.max(...runs.map((r) => r.end));
  const firstPass = Math.ceil(lastEnd) + 40 * 60;
  let clock = firstPass;

  // Late data: the first Claude run's last request only shows an hour after the first pass.
  // Revisions: the second Claude run's first request is revised up 30 minutes after the first pass.
  const [first, second] = claudeRuns;
  const late = claude.filter((e) => e.completedAt <= first!.end + 60).at(-1)!;
  late.visibleAt = firstPass + HOUR;
  const revised = claude.find((e) => e.completedAt >= second!.start)!;
  const bump = 1000;
  revised.revisions = [
    { at: firstPass + 30 * 60, uncachedInputTokens: revised.uncachedInputTokens + bump },
  ];
  truths.get(second!.runId)!.uncached += bump;

  const root = await tempDir();
  const runsDir = await writeExperiment(root, runs);
  const openaiApi = await startFakeUsageApi({
    events: allEvents(openaiRuns),
    adminKey: OPENAI_KEY,
    now: () => clock,
  });
  const anthropicApi = await startFakeAnthropicApi({
    events: claude,
    adminKey: ANTHROPIC_KEY,
    now: () => clock,
    emptyBuckets: "omit",
  });
  cleanups.push(async () => {
    await openaiApi.close();
    await anthropicApi.close();
    await rm(root, { recursive: true, force: true });
  });
  const env = {
    OPENAI_ADMIN_KEY: OPENAI_KEY,
    ANTHROPIC_ADMIN_KEY: o.anthropicKey ?? ANTHROPIC_KEY,
  };
  const pass = async (at: number, extra: string[] = []) => {
    clock = at;
    const result = await runCli(
      [
        "--json",
        "--now",
        new Date(at * 1000).toISOString(),
        "--api-base-url",
        openaiApi.baseUrl,
        "--anthropic-api-base-url",
        anthropicApi.baseUrl,
        "--api-key-id",
        `baes=${keyIdFor("baes")}`,
        "--api-key-id",
        `chatdev=${keyIdFor("chatdev")}`,
        "--api-key-id",
        `claude=${CLAUDE_KEY_ID}`,
        ...extra,
      ],
      { cwd: root, env },
    );
    for (const text of [result.stdout, result.stderr])
      for (const key of [OPENAI_KEY, ANTHROPIC_KEY]) expect(text).not.toContain(key.slice(-12));
    return { ...result, report: PassReportSchema.parse(JSON.parse(result.stdout)) };
  };
  return {
    runs,
    claudeRuns,
    openaiRuns,
    truths,
    root,
    runsDir,
    firstPass,
    openaiApi,
    anthropicApi,
    pass,
  };
}

describe("a mixed experiment: two OpenAI frameworks and one on Claude", () => {
  it("reconciles every run to its exact totals and cost over several passes with late data and revisions", async () => {
    const x = await mixedExperiment();
    let report = (await x.pass(x.firstPass)).report;
    // the late request and the revision are not in yet: the first two Claude runs read short
    const [first, second] = x.claudeRuns;
    const row = (r: GeneratedRun) => report.runs.find((y) => y.run_id === r.runId)!;
    const claudeIn = (r: GeneratedRun) => {
      const t = x.truths.get(r.runId)!;
      return t.uncached + t.cacheRead + t.write5m + t.write1h;
    };
    expect(row(first!).tokens_in).toBeLessThan(claudeIn(first!));
    expect(row(second!).tokens_in).toBe(claudeIn(second!) - 1000);

    for (let k = 1; k <= 3; k++) {
      const before = {
        openai: x.openaiApi.requests.length,
        anthropic: x.anthropicApi.requests.length,
      };
      const out = await x.pass(x.firstPass + k * (HOUR + 60));
      report = out.report;
      expect(out.code, out.stderr).toBe(0);
      // each provider asked only about its own keys, at its fewest requests: together the bound
      const asked = {
        openai: x.openaiApi.requests.slice(before.openai),
        anthropic: x.anthropicApi.requests.slice(before.anthropic),
      };
      expect(new Set(asked.openai.flatMap((r) => r.query.getAll("api_key_ids")))).toEqual(
        new Set(
          report.runs.some((r) => r.read && r.framework !== "claude")
            ? [keyIdFor("baes"), keyIdFor("chatdev")]
            : [],
        ),
      );
      expect(new Set(asked.anthropic.flatMap((r) => r.query.getAll("api_key_ids[]")))).toEqual(
        new Set(report.runs.some((r) => r.read && r.framework === "claude") ? [CLAUDE_KEY_ID] : []),
      );
      expect(asked.openai.length + asked.anthropic.length).toBe(report.request_lower_bound);
      expect(report.requests).toBe(report.request_lower_bound);
    }

    for (const run of x.runs) {
      const r = report.runs.find((y) => y.run_id === run.runId)!;
      expect(r.status, `${run.framework}/${run.runId}: ${r.message}`).toBe("verified");
      if (run.framework === "claude") {
        const t = x.truths.get(run.runId)!;
        expect([r.tokens_in, r.tokens_out, r.cached_tokens, r.api_calls]).toEqual([
          claudeIn(run),
          t.output,
          t.cacheRead,
          null,
        ]);
        expect(r.cost_usd).toBeCloseTo(claudeCost(t), 9);
      } else {
        expect([r.tokens_in, r.tokens_out, r.cached_tokens, r.api_calls]).toEqual([
          run.totals.tokensIn,
          run.totals.tokensOut,
          run.totals.cachedTokens,
          run.totals.requests,
        ]);
        expect(r.cost_usd).toBeCloseTo(openaiCost(run), 9);
      }
    }

    // no request count from Anthropic: said, never summed as zero
    expect(report.totals.api_calls).toBe(x.openaiRuns.reduce((n, r) => n + r.totals.requests, 0));
    expect(report.totals.api_calls_unknown_runs).toBe(x.claudeRuns.length);
    expect(summaryLines(report).join("\n")).toContain(
      "(+ 4 run(s) with no request count from Anthropic)",
    );
    const claudeRow = renderSummary(report)
      .split("\n")
      .find((l) => l.startsWith("| claude |"))!;
    expect(claudeRow.split("|").map((c) => c.trim())[7]).toBe("–");

    // what the files say: API_CALLS null for Claude, the classes and their prices in the breakdown
    const file = MetricsFileSchema.parse(
      JSON.parse(await readFile(join(x.runsDir, second!.path), "utf8")),
    );
    const t = x.truths.get(second!.runId)!;
    expect(file.aggregate_metrics).toMatchObject({
      TOK_IN: claudeIn(second!),
      TOK_OUT: t.output,
      CACHED_TOKENS: t.cacheRead,
      API_CALLS: null,
    });
    expect(file.aggregate_metrics?.COST_USD).toBeCloseTo(claudeCost(t), 9);
    const last = file.usage_api_reconciliation!.attempts!.at(-1)!;
    expect(last.total_api_calls).toBeNull();
    expect(last.api_key_id).toBe(CLAUDE_KEY_ID);
    expect(last.models).toMatchObject([
      {
        model: CLAUDE_MODEL,
        api_calls: null,
        classes: {
          uncached_text_input: t.uncached,
          cached_input: t.cacheRead,
          cache_write_input: t.write5m,
          cache_write_1h_input: t.write1h,
          text_output: t.output,
        },
        usage_schema: "anthropic-2023-06-01",
      },
    ]);
    // the Admin API was called as its reference says
    for (const req of x.anthropicApi.requests) {
      expect(req.version).toBe("2023-06-01");
      expect(req.query.get("bucket_width")).toBe("1m");
      expect(req.query.getAll("group_by[]")).toEqual(
        expect.arrayContaining(["api_key_id", "model", "service_tier", "context_window"]),
      );
    }
  });

  it("the cost cross-check says it cannot check the Claude framework: the cost report has no key dimension", async () => {
    const x = await mixedExperiment();
    const { report } = await x.pass(x.firstPass, ["--dry-run", "--cross-check-costs"]);
    expect(report.warnings).toContainEqual(
      expect.stringMatching(/^cross-check-costs: Anthropic's cost report has no API-key dimension/),
    );
    expect(x.anthropicApi.requests.every((r) => r.path.endsWith("/usage_report/messages"))).toBe(
      true,
    );
    expect(report.cost_check?.days.every((d) => d.framework !== "claude")).toBe(true);
  });

  it("a failure of the Anthropic API costs only the Claude runs; a spend cap is not retried", async () => {
    const x = await mixedExperiment();
    x.anthropicApi.setFaults(() => ({ kind: "spend-cap" }));
    const { report, code } = await x.pass(x.firstPass);
    expect(code).toBe(1);
    for (const r of report.runs) {
      if (r.framework === "claude") {
        expect(r.status).toBe("error");
        expect(r.message).toMatch(/^Anthropic usage report: 429 .*spend limit/);
      } else expect(r.status, r.message).toBe("pending");
    }
    // one request per span: a spend cap is not waited out
    expect(x.anthropicApi.requests.length).toBe(
      new Set(x.anthropicApi.requests.map((r) => r.query.get("starting_at"))).size,
    );
  });

  it("a wrong Anthropic admin key errors the Claude runs, and no key is ever printed", async () => {
    const x = await mixedExperiment({ anthropicKey: "sk-ant-admin01-wrong-key-0123456789abcdef" });
    const { report, stdout } = await x.pass(x.firstPass);
    for (const r of report.runs) {
      if (r.framework === "claude") expect(r.message).toMatch(/401 Unauthorized/);
      else expect(r.status).toBe("pending");
    }
    expect(stdout).not.toContain("wrong-key-0123456789abcdef");
    for (const dir of await readdir(x.runsDir, { recursive: true }))
      if (dir.endsWith(".json")) {
        const text = await readFile(join(x.runsDir, dir), "utf8");
        expect(text).not.toContain(ANTHROPIC_KEY.slice(-12));
        expect(text).not.toContain(OPENAI_KEY.slice(-12));
      }
  });

  it("records both providers' pages in one directory and replays them offline to the same report", async () => {
    const x = await mixedExperiment();
    const record = join(x.root, "pages");
    const recorded = await x.pass(x.firstPass, ["--dry-run", "--record", record]);
    const asked = x.openaiApi.requests.length + x.anthropicApi.requests.length;
    const replayed = await x.pass(x.firstPass, ["--dry-run", "--replay", record]);
    expect(x.openaiApi.requests.length + x.anthropicApi.requests.length).toBe(asked);
    expect(replayed.code, replayed.stderr).toBe(recorded.code);
    const strip = (r: typeof recorded.report) => ({ ...r, requests: 0 });
    expect(strip(replayed.report)).toEqual(strip(recorded.report));
    expect(
      replayed.report.runs.filter((r) => r.framework === "claude" && r.tokens_in),
    ).toHaveLength(x.claudeRuns.length);
  });
});

describe("the action with an Anthropic admin key", () => {
  it("reads a Claude framework with input anthropic-admin-key, masks the key and never prints it", async () => {
    const now = Math.floor(Date.now() / 1000);
    const runs = generateExperiment({
      frameworks: ["claude"],
      runsPerFramework: 2,
      startAt: now - 5 * HOUR,
      seed: 3,
    });
    const events = runs.flatMap((r) => claudeEvents(r).events);
    const api = await startFakeAnthropicApi({ events, adminKey: ANTHROPIC_KEY });
    const workspace = await tempDir();
    const temp = await tempDir();
    cleanups.push(async () => {
      await api.close();
      await rm(workspace, { recursive: true, force: true });
      await rm(temp, { recursive: true, force: true });
    });
    await writeExperiment(workspace, runs);
    const result = await runAction({
      workspace,
      temp,
      inputs: {
        "anthropic-admin-key": ANTHROPIC_KEY,
        "anthropic-api-base-url": api.baseUrl,
        "api-key-ids": `claude=${CLAUDE_KEY_ID}`,
        commit: "none",
        "hold-identical-readings": "false",
      },
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.commands).toContainEqual(
      expect.objectContaining({ name: "add-mask", data: ANTHROPIC_KEY }),
    );
    const printed = [
      ...result.stdout.split("\n").filter((l) => !l.startsWith("::add-mask::")),
      result.stderr,
      result.summary,
    ].join("\n");
    expect(printed).not.toContain(ANTHROPIC_KEY.slice(-12));
    expect(result.outputs.pending).toBe(String(runs.length));
    expect(api.requests.length).toBeGreaterThan(0);
    for (const run of runs) {
      const file = MetricsFileSchema.parse(
        JSON.parse(await readFile(join(workspace, "runs", run.path), "utf8")),
      );
      expect(file.aggregate_metrics?.TOK_IN).toBe(run.totals.tokensIn);
      expect(file.aggregate_metrics?.API_CALLS).toBeNull();
    }
  });
});
