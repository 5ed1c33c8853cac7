import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { COMMENT_MARKER } from "../src/github/comment.ts";
import { PassReportSchema } from "../src/report/schema.ts";
import { JOB_TOKEN, runAction } from "./support/action.ts";
import { runCliBundle } from "./support/cli-process.ts";
import {
  allEvents,
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  tempDir,
  writeExperiment,
} from "./support/experiment.ts";
import { startFakeGitHubApi } from "./support/fake-github-api.ts";
import { type FakeUsageApi, startFakeUsageApi } from "./support/fake-usage-api.ts";
import { emulateRunner, type WorkflowCommand } from "./support/runner.ts";

/**
 * A hostile pull request names run directories so that a printed line becomes a workflow command
 * (`x\n::error::…`, `::add-mask::0`, `::stop-commands::`, the old `##[warning]…` anywhere in a
 * line; framework names lead every table line) or pings people (`@octocat`). Whatever discovery
 * decides about such names, nothing the action or the CLI prints (built bundles, read by the
 * emulated runner) may be taken as a command, and no comment or summary may mention anyone.
 */

const KEY = "sk-admin-INJECTIONTEST0123456789";
const HOSTILE_FRAMEWORK = "::error::INJECTED-framework";
const HOSTILE_RUN_IDS = [
  "nl\n::error::INJECTED-newline",
  "cr\r::add-mask::0",
  "mask\n::add-mask::INJECTED-mask",
  "stop\n::stop-commands::INJECTEDtoken",
  "v1 ##[warning]INJECTED-v1",
  "sp\n   ::notice::INJECTED-indented",
  "ls\u2028::error::INJECTED-line-separator",
];
const now = Math.floor(Date.now() / 1000);

const renamed = (run: GeneratedRun, framework: string, runId: string): GeneratedRun => ({
  ...run,
  framework,
  runId,
  path: `${framework}/${runId}/metrics.json`,
});

/** Every way the output steered the runner: commands it did not mean to print. */
function steered(commands: readonly WorkflowCommand[], secrets: readonly string[]): string[] {
  return commands.flatMap((c) => {
    const problems: string[] = [];
    if (c.syntax !== "::") problems.push("a command in the old ##[…] form");
    if (c.name === "stop-commands") problems.push("commands stopped");
    if (c.name === "add-mask" && !secrets.includes(c.data)) problems.push("a mask of a non-secret");
    if (c.data.startsWith("INJECTED")) problems.push("a command from a name");
    return problems.map((p) => `${p}: ${JSON.stringify(c.raw.slice(0, 120))}`);
  });
}

describe("no printed line can be read as a workflow command", () => {
  let root: string;
  let temp: string;
  let api: FakeUsageApi;
  let runs: GeneratedRun[];

  beforeEach(async () => {
    root = await tempDir("reconcile-usage-injection-");
    temp = await tempDir("reconcile-usage-injection-temp-");
    const base = generateExperiment({
      frameworks: ["baes"],
      runsPerFramework: HOSTILE_RUN_IDS.length + 3,
      startAt: now - 30 * 3600,
      seed: 11,
    });
    runs = [
      ...base.slice(0, 2),
      ...HOSTILE_RUN_IDS.map((id, i) => renamed(base[i + 2]!, "baes", id)),
      renamed(base.at(-1)!, HOSTILE_FRAMEWORK, "run-of-a-hostile-framework"),
    ];
    await writeExperiment(root, runs);
    api = await startFakeUsageApi({ adminKey: KEY, events: allEvents(runs) });
  });
  afterEach(async () => {
    await api.close();
    await rm(root, { recursive: true, force: true });
    await rm(temp, { recursive: true, force: true });
  });

  it("the action: hostile run and framework names in the log, annotations and report", async () => {
    // a list of every run (the hostile framework leads its table lines), then a pass over baes
    const modes: Array<Record<string, string>> = [{ mode: "list" }, { frameworks: "baes" }];
    for (const mode of modes) {
      const result = await runAction({
        workspace: root,
        temp,
        inputs: {
          "admin-key": KEY,
          "api-key-ids": `baes=${keyIdFor("baes")}`,
          "api-base-url": api.baseUrl,
          commit: "none",
          "fail-on-error": "false",
          ...mode,
        },
      });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(steered(result.commands, [KEY, JOB_TOKEN])).toEqual([]);
      const report = PassReportSchema.parse(
        JSON.parse(await readFile(result.outputs["report-path"]!, "utf8")),
      );
      // the JSON report keeps the names exactly (a reader of the file sees the real names)
      expect(report.runs.map((r) => r.run_id)).toEqual(expect.arrayContaining(HOSTILE_RUN_IDS));
      if (mode.mode === "list")
        // the framework's name was printed, visibly neutralised, where it leads a line
        expect(result.log.some((l) => l.startsWith(":\\u003aerror::INJECTED-framework"))).toBe(
          true,
        );
    }
  });

  it("the CLI in a workflow step: --list, --list --verbose, --json and a pass", async () => {
    const env = { OPENAI_ADMIN_KEY: KEY };
    const keyArgs = [
      "baes",
      "--api-key-id",
      `baes=${keyIdFor("baes")}`,
      "--api-base-url",
      api.baseUrl,
    ];
    for (const args of [
      ["--list"],
      ["--list", "--verbose"],
      ["--list", "--json"],
      [...keyArgs, "--dry-run"],
      [...keyArgs, "--dry-run", "--verbose"],
    ]) {
      const r = await runCliBundle(args, { cwd: root, env });
      expect(r.stderr, args.join(" ")).not.toMatch(/unexpected error/);
      const view = emulateRunner(r);
      // the CLI prints no workflow command at all
      expect(
        view.commands.map((c) => c.raw.slice(0, 120)),
        args.join(" "),
      ).toEqual([]);
      if (args.includes("--json")) {
        const report = PassReportSchema.parse(JSON.parse(r.stdout));
        expect(report.runs.map((x) => x.run_id)).toEqual(
          expect.arrayContaining([...HOSTILE_RUN_IDS, "run-of-a-hostile-framework"]),
        );
      }
      if (args.includes("--verbose") && !args.includes("--json"))
        expect(r.stdout).toContain("nl\\n::error::INJECTED-newline");
    }
  });
});

describe("no name can mention a person", () => {
  it("in the pull-request comment and the job summary", async () => {
    const workspace = await tempDir("reconcile-usage-mention-");
    const temp = await tempDir("reconcile-usage-mention-temp-");
    const github = await startFakeGitHubApi({
      owner: "lab",
      repo: "experiment",
      branch: "main",
      token: "ghs_WRITEtoken000000000000",
    });
    try {
      const base = generateExperiment({ frameworks: ["baes"], runsPerFramework: 2, seed: 5 });
      const runs = [base[0]!, renamed(base[1]!, "baes", "hi-@octocat")];
      await writeExperiment(workspace, runs);
      // a second run named after a team, whose file is broken: its name is in every table
      const team = join(workspace, "runs", "baes", "cc-@lab");
      await mkdir(team, { recursive: true });
      await writeFile(join(team, "metrics.json"), "{ broken @octocat");
      github.setPullRequestFiles(5, [
        { filename: "runs/baes/hi-@octocat/metrics.json", status: "added" },
        { filename: "runs/baes/cc-@lab/metrics.json", status: "added" },
      ]);
      const result = await runAction({
        workspace,
        temp,
        inputs: { "github-token": github.token, "fail-on-error": "false" },
        env: { GITHUB_API_URL: github.baseUrl },
        event: {
          name: "pull_request",
          payload: {
            pull_request: {
              number: 5,
              head: { sha: "a", repo: { full_name: "lab/experiment", fork: false } },
              base: { sha: "b", repo: { full_name: "lab/experiment" } },
            },
            repository: { full_name: "lab/experiment" },
          },
        },
      });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const comment = github.comments(5).find((c) => c.body.includes(COMMENT_MARKER));
      expect(comment, result.stdout).toBeDefined();
      expect(comment!.body).toContain("@&#8203;octocat");
      // the summary lists the broken run (the listed one needs no attention)
      for (const text of [comment!.body, result.summary]) {
        expect(text).toContain("@&#8203;lab");
        expect(text).not.toMatch(/@(octocat|lab)/);
      }
    } finally {
      await github.close();
      await rm(workspace, { recursive: true, force: true });
      await rm(temp, { recursive: true, force: true });
    }
  });
});
