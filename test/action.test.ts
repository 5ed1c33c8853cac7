import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PassReportSchema } from "../src/report/schema.ts";
import { MetricsFileSchema } from "../src/runs/schema.ts";
import { runAction } from "./support/action.ts";
import { runCli } from "./support/cli.ts";
import {
  allEvents,
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  tempDir,
  writeExperiment,
} from "./support/experiment.ts";
import { startFakeCacheService } from "./support/fake-cache-service.ts";
import { type FakeUsageApi, startFakeUsageApi } from "./support/fake-usage-api.ts";
import {
  type GitSandbox,
  isolateGitConfig,
  makeSandbox,
  remoteCommit,
  remoteFile,
  remoteHead,
  sh,
  writerPush,
} from "./support/git.ts";

/**
 * The action as the runner runs it: `node index.js` (test bundle) in a real git checkout with a bare
 * remote, against the fake Usage API, with INPUT_* variables, a step summary, outputs and an
 * event payload. The runs' earlier readings come from CLI passes in the past (`--now`), so the
 * action's own pass, at the real time, is the one that verifies.
 */

const ADMIN_KEY = "sk-admin-ACTIONTEST0123456789";
const FRAMEWORKS = ["baes", "chatdev"];
const iso = (t: number) => new Date(t * 1000).toISOString();

let restoreGit: () => void;
beforeAll(() => {
  restoreGit = isolateGitConfig();
});
afterAll(() => restoreGit());

describe("the action, run as the runner runs it", () => {
  let sandbox: GitSandbox;
  let api: FakeUsageApi;
  let temp: string;
  let runs: GeneratedRun[];
  const now = Math.floor(Date.now() / 1000);

  const inputs = (extra: Record<string, string> = {}) => ({
    "admin-key": ADMIN_KEY,
    "api-key-ids": FRAMEWORKS.map((f) => `${f}=${keyIdFor(f)}`).join("\n"),
    "api-base-url": api.baseUrl,
    "hold-identical-readings": "false",
    ...extra,
  });

  /** Commits the experiment with `readings` earlier CLI passes (minutes before now) on the remote. */
  async function setUp(readingsMinutesAgo: number[]) {
    await writeExperiment(sandbox.clone, runs);
    const cliArgs = [
      "--api-base-url",
      api.baseUrl,
      ...FRAMEWORKS.flatMap((f) => ["--api-key-id", `${f}=${keyIdFor(f)}`]),
    ];
    for (const ago of readingsMinutesAgo) {
      const r = await runCli([...cliArgs, "--now", iso(now - ago * 60)], {
        cwd: sandbox.clone,
        env: { OPENAI_ADMIN_KEY: ADMIN_KEY },
      });
      expect(r.code, r.stderr).toBe(0);
    }
    await sh(sandbox.clone, ["add", "--all"]);
    await sh(sandbox.clone, ["commit", "--quiet", "-m", "experiment runs"]);
    await sh(sandbox.clone, ["push", "--quiet", "origin", "HEAD:refs/heads/main"]);
    api.requests.length = 0;
  }

  beforeEach(async () => {
    sandbox = await makeSandbox();
    temp = await tempDir();
    runs = generateExperiment({
      frameworks: FRAMEWORKS,
      runsPerFramework: 2,
      startAt: now - 6 * 3600,
      seed: 3,
      durationSeconds: [300, 900],
      gapSeconds: [120, 300],
    });
    api = await startFakeUsageApi({ events: allEvents(runs), adminKey: ADMIN_KEY });
  });
  afterEach(async () => {
    await api.close();
    await sandbox.cleanup();
    await rm(temp, { recursive: true, force: true });
  });

  it("verifies, commits once as github-actions[bot], and reports through summary, outputs and the JSON report", async () => {
    await setUp([125, 63]);
    const before = await remoteHead(sandbox.bare);
    const result = await runAction({ workspace: sandbox.clone, temp, inputs: inputs() });
    expect(result.code, result.stdout + result.stderr).toBe(0);

    expect(result.outputs.verified).toBe(String(runs.length));
    expect(result.outputs.errors).toBe("0");
    const head = await remoteHead(sandbox.bare);
    expect(head).not.toBe(before);
    expect(result.outputs["commit-sha"]).toBe(head);
    const commit = await remoteCommit(sandbox.bare);
    expect(commit.author).toBe(
      "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>",
    );
    expect(commit.subject).toBe(
      `reconcile-usage: ${runs.length} verified (${runs.length} runs, ${runs.length + 1} files)`,
    );
    expect(commit.files.sort()).toEqual(
      [...runs.map((r) => `runs/${r.path}`), "runs/manifest.json"].sort(),
    );
    for (const run of runs) {
      const file = MetricsFileSchema.parse(
        JSON.parse((await remoteFile(sandbox.bare, `runs/${run.path}`))!),
      );
      expect(file.verification_status).toBe("verified");
      expect(file.aggregate_metrics?.TOK_IN).toBe(run.totals.tokensIn);
      expect(file.usage_api_reconciliation?.attempts).toHaveLength(3);
    }

    const report = PassReportSchema.parse(
      JSON.parse(await readFile(result.outputs["report-path"]!, "utf8")),
    );
    expect(report.requests).toBe(api.requests.length);
    expect(report.requests).toBe(report.request_lower_bound);
    expect(report.changed_files.sort()).toEqual(
      result.outputs["changed-files"]!.split("\n").sort(),
    );
    expect(result.summary).toContain("## Usage reconciliation");
    expect(result.summary).toContain("### Per framework");
    expect(result.summary).toContain("```mermaid");
    expect(result.summary).toMatch(/\| `verified` \| 4 \|/);
    // `::add-mask::` is the command that tells the runner to mask the key; the runner consumes
    // it, and it is the only place the key may appear
    const log = result.stdout
      .split("\n")
      .filter((l) => !l.startsWith("::add-mask::"))
      .join("\n");
    expect(result.stdout).toContain(`::add-mask::${ADMIN_KEY}`);
    for (const text of [
      log,
      result.stderr,
      result.summary,
      await readFile(result.outputs["report-path"]!, "utf8"),
    ]) {
      expect(text).not.toContain(ADMIN_KEY);
    }
  });

  it("keeps another writer's change to the same file when its push lands first", async () => {
    await setUp([125, 63]);
    const target = runs[0]!;
    // another writer pushes after the action's checkout was made: the action's push is rejected
    await writerPush(sandbox, async (dir) => {
      const path = join(dir, "runs", target.path);
      const text = await readFile(path, "utf8");
      await writeFile(
        path,
        text.replace('"run_id": ', '"notes": "rerun on a clean machine",\n  "run_id": '),
      );
      await writeFile(join(dir, "runs", "NOTES.md"), "new notes\n");
    });
    const result = await runAction({ workspace: sandbox.clone, temp, inputs: inputs() });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const text = (await remoteFile(sandbox.bare, `runs/${target.path}`))!;
    const file = MetricsFileSchema.parse(JSON.parse(text));
    expect((file as Record<string, unknown>).notes).toBe("rerun on a clean machine");
    expect(file.verification_status).toBe("verified");
    expect(file.usage_api_reconciliation?.attempts).toHaveLength(3);
    expect(await remoteFile(sandbox.bare, "runs/NOTES.md")).toBe("new notes\n");
  });

  it("fails the step after committing what succeeded when a run errored, and annotates the file", async () => {
    await setUp([125, 63]);
    const broken = `runs/baes/broken-run/metrics.json`;
    await mkdir(join(sandbox.clone, "runs", "baes", "broken-run"));
    await writeFile(join(sandbox.clone, broken), '{"run_id": "broken-run", "steps": [');
    await sh(sandbox.clone, ["add", "--all"]);
    await sh(sandbox.clone, ["commit", "--quiet", "-m", "a truncated run"]);
    await sh(sandbox.clone, ["push", "--quiet", "origin", "HEAD:refs/heads/main"]);

    const failing = await runAction({ workspace: sandbox.clone, temp, inputs: inputs() });
    expect(failing.code).toBe(1);
    // the runner's command syntax escapes the colon in the title
    expect(failing.stdout).toContain(
      `::error title=error%3A baes/broken-run,file=${broken}::not valid JSON`,
    );
    expect(failing.outputs.errors).toBe("1");
    expect(failing.outputs.verified).toBe(String(runs.length));
    // everything that succeeded was committed before the step failed
    const commit = await remoteCommit(sandbox.bare);
    expect(commit.author).toContain("github-actions[bot]");
    expect(commit.files).toContain(`runs/${runs[0]!.path}`);
    expect(await remoteFile(sandbox.bare, broken)).toBe('{"run_id": "broken-run", "steps": [');
  });

  it("with fail-on-error false the same error is a warning and the step succeeds", async () => {
    await setUp([125, 63]);
    await mkdir(join(sandbox.clone, "runs", "chatdev", "broken-run"));
    await writeFile(join(sandbox.clone, "runs", "chatdev", "broken-run", "metrics.json"), "{}");
    const result = await runAction({
      workspace: sandbox.clone,
      temp,
      inputs: inputs({ "fail-on-error": "false", commit: "none" }),
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/::warning::1 run\(s\) or file\(s\) failed/);
  });

  it("on a fork pull request without secrets it lists statuses without calling the API and without failing", async () => {
    await setUp([63]);
    const result = await runAction({
      workspace: sandbox.clone,
      temp,
      inputs: { ...inputs(), "admin-key": "" },
      event: {
        name: "pull_request",
        payload: {
          pull_request: {
            number: 7,
            head: { sha: "abc", repo: { full_name: "someone/experiment", fork: true } },
            base: { sha: "def", repo: { full_name: "lab/experiment" } },
          },
          repository: { full_name: "lab/experiment" },
        },
      },
    });
    expect(result.code, result.stdout).toBe(0);
    expect(api.requests).toHaveLength(0);
    expect(result.summary).toContain("comes from a fork");
    expect(result.outputs.pending).toBe(String(runs.length));
    expect(await remoteCommit(sandbox.bare).then((c) => c.subject)).toBe("experiment runs");
  });

  it("rejects a bad input before any request, naming the input", async () => {
    await setUp([]);
    const result = await runAction({
      workspace: sandbox.clone,
      temp,
      inputs: inputs({ "min-age-minutes": "-5" }),
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("::error::input min-age-minutes: expected a whole number ≥ 0");
    expect(api.requests).toHaveLength(0);
  });

  it("refuses to commit from a tag, a merge queue or a pull request's ref, or through the API without a repository, before any request", async () => {
    await setUp([125, 63]);
    const head = await remoteHead(sandbox.bare);
    const cases: Array<{
      env: Record<string, string>;
      inputs?: Record<string, string>;
      says: string;
    }> = [
      {
        env: { GITHUB_REF: "refs/tags/v1.2.0", GITHUB_REF_NAME: "v1.2.0" },
        says: "::error::commit: git, api and pull-request write to the branch the pass started from, but this run started from the tag v1.2.0",
      },
      {
        env: {
          GITHUB_REF: "refs/heads/gh-readonly-queue/main/pr-7-abc",
          GITHUB_REF_NAME: "gh-readonly-queue/main/pr-7-abc",
        },
        inputs: { commit: "api" },
        says: "::error::commit: git, api and pull-request write to the branch the pass started from, but this run is in a merge queue",
      },
      {
        // an event about a pull request that is not pull_request (a review): GITHUB_REF_NAME is
        // `7/merge`, which is no branch to push to
        env: {
          GITHUB_EVENT_NAME: "pull_request_review",
          GITHUB_REF: "refs/pull/7/merge",
          GITHUB_REF_NAME: "7/merge",
        },
        says: "::error::commit: git, api and pull-request write to the branch the pass started from, but this run is for a pull request (GITHUB_REF refs/pull/7/merge)",
      },
      {
        env: { GITHUB_REF: "refs/tags/v1.2.0", GITHUB_REF_NAME: "v1.2.0" },
        inputs: { commit: "pull-request" },
        says: "::error::commit: git, api and pull-request write to the branch the pass started from, but this run started from the tag v1.2.0",
      },
      {
        env: { GITHUB_REPOSITORY: "" },
        inputs: { commit: "api" },
        says: "::error::commit: api needs GITHUB_REPOSITORY, a branch (GITHUB_REF_NAME) and the github-token input",
      },
    ];
    for (const c of cases) {
      const result = await runAction({
        workspace: sandbox.clone,
        temp,
        inputs: inputs(c.inputs),
        env: c.env,
      });
      expect(result.code, result.stdout).toBe(1);
      expect(result.stdout).toContain(c.says);
      expect(api.requests).toHaveLength(0);
      expect(await remoteHead(sandbox.bare)).toBe(head);
      expect(await sh(sandbox.clone, ["branch", "--list", "--all"])).not.toMatch(/v1\.2\.0|queue/);
      expect(await sh(sandbox.bare, ["branch", "--list"])).not.toMatch(/v1\.2\.0|queue|merge/);
    }
    // with commit: none the same tag only writes the workspace
    const none = await runAction({
      workspace: sandbox.clone,
      temp,
      inputs: inputs({ commit: "none" }),
      env: { GITHUB_REF: "refs/tags/v1.2.0", GITHUB_REF_NAME: "v1.2.0" },
    });
    expect(none.code, none.stdout).toBe(0);
    expect(await remoteHead(sandbox.bare)).toBe(head);
  });

  it("commit: none writes the files in the workspace only; dry-run writes nothing", async () => {
    await setUp([125, 63]);
    const head = await remoteHead(sandbox.bare);
    const path = join(sandbox.clone, "runs", runs[0]!.path);
    const original = await readFile(path, "utf8");
    const dry = await runAction({
      workspace: sandbox.clone,
      temp,
      inputs: inputs({ "dry-run": "true" }),
    });
    expect(dry.code).toBe(0);
    expect(await readFile(path, "utf8")).toBe(original);
    expect(dry.outputs["changed-files"]).toContain(`runs/${runs[0]!.path}`);
    const none = await runAction({
      workspace: sandbox.clone,
      temp,
      inputs: inputs({ commit: "none" }),
    });
    expect(none.code).toBe(0);
    expect(await readFile(path, "utf8")).not.toBe(original);
    expect(await remoteHead(sandbox.bare)).toBe(head);
    expect(none.outputs["commit-sha"]).toBe("");
  });

  it("stops before any request while another pass holds the runs directory's lock, and never commits the lock file", async () => {
    await setUp([125, 63]);
    const head = await remoteHead(sandbox.bare);
    // a live process on this machine (this test) holds the lock
    const lock = join(sandbox.clone, "runs", ".reconcile-usage.lock");
    const holder = { pid: process.pid, host: hostname(), started_at: new Date().toISOString() };
    await writeFile(lock, JSON.stringify(holder));
    const held = await runAction({ workspace: sandbox.clone, temp, inputs: inputs() });
    expect(held.code).toBe(1);
    expect(held.stdout).toContain(
      `::error::another pass is already writing to ${join(sandbox.clone, "runs")} (pid ${process.pid} on this machine`,
    );
    expect(api.requests).toHaveLength(0);
    expect(await remoteHead(sandbox.bare)).toBe(head);

    await rm(lock);
    const free = await runAction({ workspace: sandbox.clone, temp, inputs: inputs() });
    expect(free.code, free.stdout + free.stderr).toBe(0);
    expect((await remoteCommit(sandbox.bare)).files).not.toContain("runs/.reconcile-usage.lock");
    expect(existsSync(lock)).toBe(false);
  });

  it("holds an identical reading in the Actions cache instead of committing it", async () => {
    await setUp([63]);
    const cache = await startFakeCacheService();
    try {
      const head = await remoteHead(sandbox.bare);
      const result = await runAction({
        workspace: sandbox.clone,
        temp,
        inputs: inputs({ "hold-identical-readings": "true" }),
        env: { ACTIONS_CACHE_URL: cache.url, ACTIONS_RUNTIME_TOKEN: "runtime-token" },
      });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.outputs.pending).toBe(String(runs.length));
      expect(result.outputs["commit-sha"]).toBe("");
      expect(await remoteHead(sandbox.bare)).toBe(head);
      expect(cache.keys()).toHaveLength(1);
    } finally {
      await cache.close();
    }
  });
});
