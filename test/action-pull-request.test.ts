import { rm } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MetricsFileSchema } from "../src/runs/schema.ts";
import { runAction } from "./support/action.ts";
import { runCli } from "./support/cli.ts";
import {
  allEvents,
  filesUnder,
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  tempDir,
  writeExperiment,
} from "./support/experiment.ts";
import { type FakeGitHubApi, startFakeGitHubApi } from "./support/fake-github-api.ts";
import { type FakeUsageApi, startFakeUsageApi } from "./support/fake-usage-api.ts";

/**
 * `commit: pull-request`, run as the runner runs the action (`node index.js` of the test bundle)
 * against the local GitHub API stand-in, whose `main` is a protected branch: no ref update of it
 * goes through. Every pass commits to `reconcile-usage/main` and keeps one pull request open.
 */

const ADMIN_KEY = "sk-admin-PULLREQUEST0123456789";
const FRAMEWORKS = ["baes", "ghspec"];
const BRANCH = "reconcile-usage/main";
const iso = (t: number) => new Date(t * 1000).toISOString();

describe("commit: pull-request", () => {
  let usage: FakeUsageApi;
  let github: FakeGitHubApi;
  let workspace: string;
  let temp: string;
  let runs: GeneratedRun[];
  const now = Math.floor(Date.now() / 1000);

  async function start(options: { actionsMayOpenPullRequests?: boolean } = {}) {
    github = await startFakeGitHubApi({
      owner: "lab",
      repo: "experiment",
      branch: "main",
      token: "ghs_WRITEtoken000000000000",
      protectedBranches: ["main"],
      ...options,
    });
    github.seed(await filesUnder(workspace, "runs"), "experiment runs");
    usage.requests.length = 0;
  }

  beforeEach(async () => {
    runs = generateExperiment({
      frameworks: FRAMEWORKS,
      runsPerFramework: 2,
      startAt: now - 6 * 3600,
      seed: 11,
      durationSeconds: [300, 900],
      gapSeconds: [120, 300],
    });
    usage = await startFakeUsageApi({ events: allEvents(runs), adminKey: ADMIN_KEY });
    workspace = await tempDir();
    temp = await tempDir();
    await writeExperiment(workspace, runs);
    // one earlier reading: the action's first pass makes the first stable pair
    const r = await runCli(
      [
        "--api-base-url",
        usage.baseUrl,
        ...FRAMEWORKS.flatMap((f) => ["--api-key-id", `${f}=${keyIdFor(f)}`]),
        "--now",
        iso(now - 125 * 60),
      ],
      { cwd: workspace, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
    );
    expect(r.code, r.stderr).toBe(0);
  });
  afterEach(async () => {
    await usage.close();
    await github?.close();
    await rm(workspace, { recursive: true, force: true });
    await rm(temp, { recursive: true, force: true });
  });

  const inputs = (extra: Record<string, string> = {}) => ({
    "admin-key": ADMIN_KEY,
    "api-key-ids": FRAMEWORKS.map((f) => `${f}=${keyIdFor(f)}`).join("\n"),
    "api-base-url": usage.baseUrl,
    "github-token": github.token,
    "hold-identical-readings": "false",
    commit: "pull-request",
    ...extra,
  });
  const pass = (extra: Record<string, string> = {}) =>
    runAction({
      workspace,
      temp,
      inputs: inputs(extra),
      env: { GITHUB_API_URL: github.baseUrl, GITHUB_REPOSITORY: "lab/experiment" },
    });
  const attempts = (run: GeneratedRun, branch = BRANCH) =>
    MetricsFileSchema.parse(JSON.parse(github.fileAtHead(`runs/${run.path}`, branch)!))
      .usage_api_reconciliation?.attempts ?? [];

  it("commits every pass to one branch with one pull request, never to the protected branch, and starts again once it is merged", async () => {
    await start();
    const main = github.head("main")!;
    // what the other modes meet on a protected branch
    const api = await pass({ commit: "api" });
    expect(api.code).toBe(1);
    expect(api.stdout).toContain("Protected branch update failed for refs/heads/main");
    expect(github.head("main")).toBe(main);

    // 1: the branch is made on main's head, the pass commits to it and opens the pull request
    const first = await pass();
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(github.head("main")).toBe(main);
    const afterFirst = github.head(BRANCH)!;
    expect(first.outputs["commit-sha"]).toBe(afterFirst);
    expect(github.commit(afterFirst)!.parents).toEqual([main]);
    expect(github.commit(afterFirst)!.verified).toBe(true);
    for (const run of runs) expect(attempts(run)).toHaveLength(2);
    expect(github.pulls()).toEqual([
      expect.objectContaining({ number: 101, head: BRANCH, base: "main", state: "open" }),
    ]);
    expect(first.stdout).toContain(`opened pull request #101 from ${BRANCH} into main`);

    // 2: the pass reads the branch, where every run was just read: nothing is due, nothing read
    usage.requests.length = 0;
    const second = await pass();
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(usage.requests).toHaveLength(0);
    expect(github.head(BRANCH)).toBe(afterFirst);
    expect(second.outputs.pending).toBe(String(runs.length));

    // 3: main moved meanwhile: it is merged into the branch first, and the same pull request grows
    github.commitAsOther({ "runs/NOTES.md": "a note on main\n" }, "notes", "main");
    const mainNow = github.head("main")!;
    const third = await pass({ force: "true" });
    expect(third.code, third.stdout + third.stderr).toBe(0);
    expect(github.head("main")).toBe(mainNow);
    expect(github.fileAtHead("runs/NOTES.md", BRANCH)).toBe("a note on main\n");
    for (const run of runs) expect(attempts(run)).toHaveLength(3);
    const history = github.history(BRANCH);
    expect(history[0]!.sha).toBe(third.outputs["commit-sha"]);
    expect(history[1]!.parents).toEqual([afterFirst, mainNow]);
    expect(github.pulls()).toHaveLength(1);
    expect(third.stdout).toContain("pull request #101 updated");

    // 4: once merged, the next pass starts the branch again from main and opens a new one
    const merged = github.mergePullRequest(101);
    for (const run of runs) expect(attempts(run, "main")).toHaveLength(3);
    const fourth = await pass({ force: "true" });
    expect(fourth.code, fourth.stdout + fourth.stderr).toBe(0);
    expect(github.head("main")).toBe(merged);
    expect(github.commit(github.head(BRANCH)!)!.parents).toEqual([merged]);
    for (const run of runs) expect(attempts(run)).toHaveLength(4);
    expect(github.pulls().map((p) => [p.number, p.state])).toEqual([
      [101, "closed"],
      [102, "open"],
    ]);
    expect(fourth.stdout).toContain("pull request #101 was merged");
  });

  it("stops, naming the pull request, when its branch and the base changed the same file", async () => {
    await start();
    expect((await pass()).code).toBe(0);
    const head = github.head(BRANCH)!;
    const path = `runs/${runs[0]!.path}`;
    github.commitAsOther({ [path]: `${github.fileAtHead(path, "main")!.trimEnd()}\n\n` }, "edit");
    usage.requests.length = 0;
    const result = await pass({ force: "true" });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `::error::reconcile-usage failed: branch ${BRANCH} conflicts with main, and GitHub cannot merge main into it: resolve the conflict in pull request #101`,
    );
    expect(usage.requests).toHaveLength(0);
    expect(github.head(BRANCH)).toBe(head);
  });

  it("says how to allow it when the repository does not let the workflow open pull requests", async () => {
    await start({ actionsMayOpenPullRequests: false });
    const result = await pass();
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("Allow GitHub Actions to create and approve pull requests");
    expect(result.stdout).toContain(
      `::error::committing the changes failed: committed ${github.head(BRANCH)!.slice(0, 12)} to ${BRANCH}, but GitHub API: opening a pull request into main`,
    );
    expect(github.pulls()).toHaveLength(0);
    // the runner consumes `::add-mask::` lines; nowhere else may the token appear
    const log = result.stdout.split("\n").filter((l) => !l.startsWith("::add-mask::"));
    expect(log.join("\n")).not.toContain(github.token);
  });
});
