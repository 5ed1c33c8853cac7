import { rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { COMMENT_MARKER } from "../src/github/comment.ts";
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
 * The action's GitHub REST features, run as the runner runs them (`node index.js` of the test bundle) against
 * a local server that answers like the GitHub API: `commit: api` and the sticky pull-request
 * comment, including a fork's read-only token.
 */

const ADMIN_KEY = "sk-admin-GITHUBTEST0123456789";
const FRAMEWORKS = ["baes", "ghspec"];
const iso = (t: number) => new Date(t * 1000).toISOString();

describe("the action with the GitHub API", () => {
  let usage: FakeUsageApi;
  let github: FakeGitHubApi;
  let workspace: string;
  let temp: string;
  let runs: GeneratedRun[];
  const now = Math.floor(Date.now() / 1000);

  beforeEach(async () => {
    runs = generateExperiment({
      frameworks: FRAMEWORKS,
      runsPerFramework: 2,
      startAt: now - 6 * 3600,
      seed: 8,
      durationSeconds: [300, 900],
      gapSeconds: [120, 300],
    });
    usage = await startFakeUsageApi({ events: allEvents(runs), adminKey: ADMIN_KEY });
    github = await startFakeGitHubApi({
      owner: "lab",
      repo: "experiment",
      branch: "main",
      token: "ghs_WRITEtoken000000000000",
      readOnlyToken: "ghs_READONLYtoken0000000000",
    });
    workspace = await tempDir();
    temp = await tempDir();
    await writeExperiment(workspace, runs);
    // two earlier readings, so this pass verifies
    const args = [
      "--api-base-url",
      usage.baseUrl,
      ...FRAMEWORKS.flatMap((f) => ["--api-key-id", `${f}=${keyIdFor(f)}`]),
    ];
    for (const ago of [125, 63]) {
      const r = await runCli([...args, "--now", iso(now - ago * 60)], {
        cwd: workspace,
        env: { OPENAI_ADMIN_KEY: ADMIN_KEY },
      });
      expect(r.code, r.stderr).toBe(0);
    }
    github.seed(await filesUnder(workspace, "runs"), "experiment runs");
    usage.requests.length = 0;
  });
  afterEach(async () => {
    await usage.close();
    await github.close();
    await rm(workspace, { recursive: true, force: true });
    await rm(temp, { recursive: true, force: true });
  });

  const inputs = (extra: Record<string, string>) => ({
    "admin-key": ADMIN_KEY,
    "api-key-ids": FRAMEWORKS.map((f) => `${f}=${keyIdFor(f)}`).join("\n"),
    "api-base-url": usage.baseUrl,
    "github-token": github.token,
    "hold-identical-readings": "false",
    ...extra,
  });
  const env = () => ({ GITHUB_API_URL: github.baseUrl, GITHUB_REPOSITORY: "lab/experiment" });

  it("commit: api lands one commit on the branch through the Git Data API", async () => {
    const before = github.head()!;
    const result = await runAction({
      workspace,
      temp,
      inputs: inputs({ commit: "api" }),
      env: env(),
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const head = github.head()!;
    expect(head).not.toBe(before);
    expect(result.outputs["commit-sha"]).toBe(head);
    const commit = github.commit(head)!;
    expect(commit.parents).toEqual([before]);
    expect(commit.message).toMatch(new RegExp(`^reconcile-usage: ${runs.length} verified`));
    for (const run of runs) {
      const file = MetricsFileSchema.parse(JSON.parse(github.fileAtHead(`runs/${run.path}`)!));
      expect(file.verification_status).toBe("verified");
      expect(file.usage_api_reconciliation?.attempts).toHaveLength(3);
      expect(file.aggregate_metrics?.TOK_IN).toBe(run.totals.tokensIn);
    }
    // the runner consumes `::add-mask::` lines; nowhere else may the token appear
    const log = result.stdout.split("\n").filter((l) => !l.startsWith("::add-mask::"));
    expect(log.join("\n")).not.toContain(github.token);
  });

  it("without a github-token input, its default (the expression github.token: the job's token) is used", async () => {
    const before = github.head()!;
    const { "github-token": _, ...withoutToken } = inputs({ commit: "api" });
    const result = await runAction({
      workspace,
      temp,
      inputs: withoutToken,
      env: env(),
      // the job token the runner hands the step, here the fake API's
      githubToken: github.token,
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(github.head()).not.toBe(before);
    expect(result.outputs["commit-sha"]).toBe(github.head());
    // the runner masks the job token; the action masks it too, and never prints it
    expect(result.commands).toContainEqual(
      expect.objectContaining({ name: "add-mask", data: github.token }),
    );
  });

  it("keeps a sticky comment on a pull request that adds runs: created once, then updated in place", async () => {
    const added = runs.slice(0, 2);
    github.setPullRequestFiles(5, [
      ...added.map((r) => ({ filename: `runs/${r.path}`, status: "added" as const })),
      { filename: "README.md", status: "modified" as const },
    ]);
    github.seedComments(5, [{ body: "Looks good, but see reconcile-usage docs" }]);
    const event = {
      name: "pull_request",
      payload: {
        pull_request: {
          number: 5,
          head: { sha: "a", repo: { full_name: "lab/experiment", fork: false } },
          base: { sha: "b", repo: { full_name: "lab/experiment" } },
        },
        repository: { full_name: "lab/experiment" },
      },
    };
    const first = await runAction({ workspace, temp, inputs: inputs({}), env: env(), event });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const marked = github.comments(5).filter((c) => c.body.includes(COMMENT_MARKER));
    expect(marked).toHaveLength(1);
    for (const r of added) expect(marked[0]!.body).toContain(r.runId);
    expect(marked[0]!.body).toContain("`verified`");
    expect(marked[0]!.body).not.toContain(runs[3]!.runId);
    // a pull request never commits
    expect(first.outputs["commit-sha"]).toBe("");

    const second = await runAction({ workspace, temp, inputs: inputs({}), env: env(), event });
    expect(second.code).toBe(0);
    const after = github.comments(5).filter((c) => c.body.includes(COMMENT_MARKER));
    expect(after.map((c) => c.id)).toEqual([marked[0]!.id]);
    expect(github.comments(5)).toHaveLength(2);
  });

  /**
   * pull_request_target: the workflow runs in the base branch's context and the checkout is the
   * base branch, which lacks the run the pull request adds. `fork` says whose pull request it is.
   */
  async function pullRequestTarget(fork: boolean) {
    const added = runs[3]!;
    const main = github.head()!;
    // the pull request's head: every run, the added one included; the checkout: the base without it
    const headSha = github.seed(await filesUnder(workspace, "runs"), "add a run", "feature");
    await rm(join(workspace, "runs", dirname(added.path)), { recursive: true });
    github.setPullRequestFiles(12, [{ filename: `runs/${added.path}`, status: "added" }]);
    const result = await runAction({
      workspace,
      temp,
      inputs: inputs({}),
      env: env(),
      event: {
        name: "pull_request_target",
        payload: {
          pull_request: {
            number: 12,
            head: {
              sha: headSha,
              repo: { full_name: fork ? "someone/experiment" : "lab/experiment", fork },
            },
            base: { sha: github.head()!, repo: { full_name: "lab/experiment" } },
          },
          repository: { full_name: "lab/experiment" },
        },
      },
    });
    const comment = github.comments(12).find((c) => c.body.includes(COMMENT_MARKER));
    return { added, result, main, comment: comment?.body ?? "" };
  }

  it("on pull_request_target reads the pull request's run files at its head, not the base branch the checkout holds", async () => {
    const { added, result, main, comment } = await pullRequestTarget(false);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    // the added run is read, verified by this pass's reading, and shown with its status
    expect(comment).toMatch(new RegExp(`\\| ${added.runId} \\| added \\| \`verified\` \\|`));
    expect(comment).not.toContain("not in this pass's report");
    expect(usage.requests.length).toBeGreaterThan(0);
    // a pull request never commits or writes
    expect(result.outputs["commit-sha"]).toBe("");
    expect(github.head("main")).toBe(main);
  });

  it("on pull_request_target from a fork lists the pull request's runs from its files without spending the admin key", async () => {
    const { added, result, comment } = await pullRequestTarget(true);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(usage.requests).toHaveLength(0);
    expect(comment).toMatch(new RegExp(`\\| ${added.runId} \\| added \\| \`pending\` \\|`));
    expect(comment).toContain("comes from a fork");
  });

  it("on a fork pull request (read-only token, no admin key) reports without failing and without commenting", async () => {
    github.setPullRequestFiles(9, [{ filename: `runs/${runs[0]!.path}`, status: "modified" }]);
    const event = {
      name: "pull_request",
      payload: {
        pull_request: {
          number: 9,
          head: { sha: "a", repo: { full_name: "fork/experiment", fork: true } },
          base: { sha: "b", repo: { full_name: "lab/experiment" } },
        },
        repository: { full_name: "lab/experiment" },
      },
    };
    const result = await runAction({
      workspace,
      temp,
      inputs: inputs({ "admin-key": "", "github-token": github.readOnlyToken }),
      env: env(),
      event,
    });
    expect(result.code, result.stdout).toBe(0);
    expect(usage.requests).toHaveLength(0);
    expect(github.comments(9)).toHaveLength(0);
    expect(result.stdout).toMatch(
      /No pull-request comment: .*(read-only|fork|pull-requests: write)/i,
    );
    expect(result.summary).toContain("fork");
  });
});
