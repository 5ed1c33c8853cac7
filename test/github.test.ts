import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { apiDelivery } from "../src/delivery/deliveries.ts";
import { type ApiTarget, commitViaApi } from "../src/delivery/github-api.ts";
import type { PublishOptions } from "../src/delivery/publish.ts";
import { DeliveryError } from "../src/errors.ts";
import { nodeFiles } from "../src/fs/node.ts";
import type { Files } from "../src/fs/types.ts";
import { apiFiles } from "../src/github/api-files.ts";
import { COMMENT_MARKER, upsertStickyComment } from "../src/github/comment.ts";
import { type GitHub, githubClient } from "../src/github/octokit.ts";
import { pullRequestRunFiles } from "../src/github/pr-files.ts";
import { createHttpPageSource } from "../src/providers/openai/http.ts";
import { reconcile } from "../src/reconcile/pipeline.ts";
import { editJsonText } from "../src/util/json-text.ts";
import { TOOL, VERSION } from "../src/version.ts";
import {
  allEvents,
  generateExperiment,
  manifestText,
  metricsText,
  tempDir,
} from "./support/experiment.ts";
import {
  type FakeGitHubApi,
  type FakeGitHubOptions,
  type GitHubRequest,
  gitBlobSha,
  HUMAN_USER,
  startFakeGitHubApi,
} from "./support/fake-github-api.ts";
import { startFakeUsageApi } from "./support/fake-usage-api.ts";
import { testSettings } from "./support/settings.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function fakeGitHub(options?: FakeGitHubOptions): Promise<FakeGitHubApi> {
  const gh = await startFakeGitHubApi(options);
  cleanups.push(() => gh.close());
  return gh;
}

async function workspace(files: Record<string, string> = {}): Promise<string> {
  const dir = await tempDir("reconcile-usage-gh-");
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

const client = (gh: FakeGitHubApi, token = gh.token): Promise<GitHub> =>
  githubClient(token, gh.baseUrl);
const writes = (gh: FakeGitHubApi): GitHubRequest[] =>
  gh.requests.filter((r) => r.method !== "GET");
const blobReads = (gh: FakeGitHubApi): string[] =>
  gh.requests
    .filter((r) => r.method === "GET" && r.path.includes("/git/blobs/"))
    .map((r) => r.path.split("/").pop()!);
const noSleep = async (): Promise<void> => undefined;
/** A local address nothing listens on (connection refused). */
async function closedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

const PR = 42;

describe("upsertStickyComment", () => {
  it("creates one comment with the marker, then updates that same comment in place, then leaves it alone", async () => {
    const gh = await fakeGitHub();
    const github = await client(gh);
    const logged: string[] = [];
    const log = (l: string) => logged.push(l);
    const o = { github, owner: gh.owner, repo: gh.repo, issueNumber: PR, log };

    const first = await upsertStickyComment({ ...o, body: "**3 pending**" });
    expect(first.action).toBe("created");
    expect(first.deleted).toEqual([]);
    let comments = gh.comments(PR);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.id).toBe(first.id);
    expect(comments[0]!.body).toBe(`${COMMENT_MARKER}\n**3 pending**`);
    expect(comments[0]!.user).toEqual({ login: "github-actions[bot]", type: "Bot" });

    const second = await upsertStickyComment({ ...o, body: "**3 verified**" });
    expect(second).toEqual({ action: "updated", id: first.id, deleted: [] });
    comments = gh.comments(PR);
    expect(comments.map((c) => [c.id, c.body])).toEqual([
      [first.id, `${COMMENT_MARKER}\n**3 verified**`],
    ]);

    const before = writes(gh).length;
    const third = await upsertStickyComment({ ...o, body: "**3 verified**" });
    expect(third).toEqual({ action: "unchanged", id: first.id, deleted: [] });
    expect(writes(gh)).toHaveLength(before);
    expect(gh.comments(PR)).toHaveLength(1);
    expect(logged.join("\n")).not.toContain(gh.token);
  });

  it("keeps the oldest of two marked comments (racing passes), updates it, deletes the other, and touches nothing else", async () => {
    const gh = await fakeGitHub();
    const [human, mention, older, bystander, newer] = gh.seedComments(PR, [
      { body: "LGTM, but rerun baes please" },
      { body: "I ran reconcile-usage locally: 2 runs still pending" },
      {
        body: `${COMMENT_MARKER}\nold status`,
        user: { login: "github-actions[bot]", type: "Bot" },
      },
      { body: "another human comment", user: HUMAN_USER },
      {
        body: `${COMMENT_MARKER}\nracing status`,
        user: { login: "github-actions[bot]", type: "Bot" },
      },
    ]) as [ReturnType<FakeGitHubApi["comments"]>[0], ...ReturnType<FakeGitHubApi["comments"]>];

    const result = await upsertStickyComment({
      github: await client(gh),
      owner: gh.owner,
      repo: gh.repo,
      issueNumber: PR,
      body: "new status",
    });

    expect(result).toEqual({ action: "updated", id: older!.id, deleted: [newer!.id] });
    expect(gh.comments(PR).map((c) => [c.id, c.body])).toEqual([
      [human.id, human.body],
      [mention!.id, mention!.body],
      [older!.id, `${COMMENT_MARKER}\nnew status`],
      [bystander!.id, bystander!.body],
    ]);
  });

  it("finds its comment on the second page of a long conversation (more than 100 comments)", async () => {
    const gh = await fakeGitHub();
    gh.seedComments(
      PR,
      Array.from({ length: 130 }, (_, i) => ({ body: `comment ${i}` })),
    );
    const [mine] = gh.seedComments(PR, [
      { body: `${COMMENT_MARKER}\nstale`, user: { login: "github-actions[bot]", type: "Bot" } },
    ]);
    gh.seedComments(PR, [{ body: "after" }]);

    const result = await upsertStickyComment({
      github: await client(gh),
      owner: gh.owner,
      repo: gh.repo,
      issueNumber: PR,
      body: "fresh",
    });

    expect(result).toEqual({ action: "updated", id: mine!.id, deleted: [] });
    const pages = gh.requests
      .filter((r) => r.method === "GET" && r.path.endsWith(`/issues/${PR}/comments`))
      .map((r) => r.query.get("page") ?? "1");
    expect(pages).toEqual(["1", "2"]);
    const all = gh.comments(PR);
    expect(all).toHaveLength(132);
    expect(all.filter((c) => c.body.includes(COMMENT_MARKER))).toEqual([
      expect.objectContaining({ id: mine!.id, body: `${COMMENT_MARKER}\nfresh` }),
    ]);
  });

  it("two passes at the same time end with exactly one comment", async () => {
    const gh = await fakeGitHub();
    // hold both passes' first listing until both have asked: both find no comment and create one
    let listings = 0;
    let release: () => void = () => undefined;
    const bothListed = new Promise<void>((r) => {
      release = r;
    });
    gh.onRequest = async (r) => {
      if (r.method !== "GET" || !r.path.endsWith("/comments")) return;
      listings++;
      if (listings === 2) release();
      if (listings <= 2) await bothListed;
    };
    const github = await client(gh);
    const o = { github, owner: gh.owner, repo: gh.repo, issueNumber: PR };
    const [a, b] = await Promise.all([
      upsertStickyComment({ ...o, body: "pass A" }),
      upsertStickyComment({ ...o, body: "pass B" }),
    ]);

    expect(gh.requests.filter((r) => r.method === "POST")).toHaveLength(2);
    const left = gh.comments(PR);
    expect(left).toHaveLength(1);
    expect([`${COMMENT_MARKER}\npass A`, `${COMMENT_MARKER}\npass B`]).toContain(left[0]!.body);
    expect([a.id, b.id]).toEqual([left[0]!.id, left[0]!.id]);
    expect([a.action, b.action].sort()).toEqual(["created", "updated"]);
  });

  it("with a read-only token (a fork's pull request) skips with a reason, creates nothing and does not throw", async () => {
    const gh = await fakeGitHub();
    const github = await client(gh, gh.readOnlyToken);
    const o = { github, owner: gh.owner, repo: gh.repo, issueNumber: PR };

    const result = await upsertStickyComment({ ...o, body: "status" });
    expect(result.action).toBe("skipped");
    expect(result.id).toBeUndefined();
    expect(result.reason).toMatch(/may not create comments/);
    expect(result.reason).toMatch(/403: Resource not accessible by integration/);
    expect(result.reason).toMatch(/fork/);
    expect(result.reason).toMatch(/pull-requests: write/);
    expect(result.reason).not.toContain(gh.readOnlyToken);
    expect(gh.comments(PR)).toEqual([]);

    // an existing comment is left as it is
    const [existing] = gh.seedComments(PR, [
      { body: `${COMMENT_MARKER}\nold`, user: { login: "github-actions[bot]", type: "Bot" } },
    ]);
    const again = await upsertStickyComment({ ...o, body: "new" });
    expect(again.action).toBe("skipped");
    expect(again.reason).toMatch(/may not update comments/);
    expect(gh.comments(PR)).toEqual([existing]);
  });

  it("skips without throwing when the token is refused or the API is unreachable", async () => {
    const gh = await fakeGitHub();
    const refused = await upsertStickyComment({
      github: await githubClient("ghs_notTheRightToken0000000000000", gh.baseUrl),
      owner: gh.owner,
      repo: gh.repo,
      issueNumber: PR,
      body: "x",
    });
    expect(refused.action).toBe("skipped");
    expect(refused.reason).toMatch(/401: Bad credentials/);
    expect(refused.reason).not.toContain("ghs_notTheRightToken");

    const unreachable = await upsertStickyComment({
      github: await githubClient(gh.token, await closedUrl()),
      owner: gh.owner,
      repo: gh.repo,
      issueNumber: PR,
      body: "x",
    });
    expect(unreachable.action).toBe("skipped");
    expect(unreachable.reason).toMatch(/could not read comments/);
    expect(unreachable.reason).toMatch(/ECONNREFUSED/);
    expect(unreachable.reason).not.toMatch(/HTTP/);
    expect(gh.comments(PR)).toEqual([]);
  });

  it("cuts a body over GitHub's 65,536 characters instead of failing", async () => {
    const gh = await fakeGitHub();
    const line = `${"x".repeat(99)}\n`;
    const result = await upsertStickyComment({
      github: await client(gh),
      owner: gh.owner,
      repo: gh.repo,
      issueNumber: PR,
      body: line.repeat(1000),
    });
    expect(result.action).toBe("created");
    const body = gh.comments(PR)[0]!.body;
    expect(body.length).toBeLessThanOrEqual(65_536);
    expect(body.startsWith(COMMENT_MARKER)).toBe(true);
    expect(body).toMatch(/cut: the full report is in the job summary/);
  });
});

describe("pullRequestRunFiles", () => {
  const RUN_FILES = [
    { filename: "runs/baes/r-added/metrics.json", status: "added" as const },
    { filename: "runs/baes/r-modified/metrics.json", status: "modified" as const },
    { filename: "runs/chatdev/r-removed/metrics.json", status: "removed" as const },
    {
      filename: "runs/chatdev/r-new-name/metrics.json",
      status: "renamed" as const,
      previous_filename: "runs/chatdev/r-old-name/metrics.json",
    },
  ];
  const NOT_RUNS = [
    { filename: "runs/manifest.json", status: "modified" as const },
    { filename: "runs/baes/metrics.json", status: "added" as const },
    { filename: "runs/baes/r1/logs/metrics.json", status: "added" as const },
    { filename: "runs/baes/r1/output.txt", status: "added" as const },
    { filename: "runs/.cache/r1/metrics.json", status: "added" as const },
    { filename: "other/baes/r1/metrics.json", status: "added" as const },
    { filename: "myruns/baes/r1/metrics.json", status: "added" as const },
    { filename: "README.md", status: "modified" as const },
  ];

  it("pages through every file and keeps the runs' metrics.json, removed ones reported as removed", async () => {
    const gh = await fakeGitHub();
    const filler = Array.from({ length: 240 }, (_, i) => ({
      filename: `src/module-${i}.ts`,
      status: "modified" as const,
    }));
    // run files on the first, third and last pages
    gh.setPullRequestFiles(7, [
      RUN_FILES[0]!,
      ...filler.slice(0, 150),
      RUN_FILES[1]!,
      ...NOT_RUNS,
      RUN_FILES[2]!,
      ...filler.slice(150),
      RUN_FILES[3]!,
    ]);
    const files = await pullRequestRunFiles({
      github: await client(gh),
      owner: gh.owner,
      repo: gh.repo,
      pullNumber: 7,
      runsDir: "runs",
    });

    expect(files).toEqual([
      {
        path: "runs/baes/r-added/metrics.json",
        framework: "baes",
        runId: "r-added",
        change: "added",
      },
      {
        path: "runs/baes/r-modified/metrics.json",
        framework: "baes",
        runId: "r-modified",
        change: "modified",
      },
      {
        path: "runs/chatdev/r-removed/metrics.json",
        framework: "chatdev",
        runId: "r-removed",
        change: "removed",
      },
      {
        path: "runs/chatdev/r-new-name/metrics.json",
        framework: "chatdev",
        runId: "r-new-name",
        change: "renamed",
      },
    ]);
    const pages = gh.requests.filter((r) => r.path.endsWith("/pulls/7/files"));
    expect(pages.map((r) => [r.query.get("per_page"), r.query.get("page") ?? "1"])).toEqual([
      ["100", "1"],
      ["100", "2"],
      ["100", "3"],
    ]);
  });

  it("accepts the runs directory as the action input gives it (./runs/), or the repository root", async () => {
    const gh = await fakeGitHub();
    gh.setPullRequestFiles(8, [
      ...RUN_FILES,
      { filename: "baes/r9/metrics.json", status: "added" },
      { filename: "data/runs/baes/r8/metrics.json", status: "added" },
    ]);
    const github = await client(gh);
    const o = { github, owner: gh.owner, repo: gh.repo, pullNumber: 8 };
    const viaDot = await pullRequestRunFiles({ ...o, runsDir: "./runs/" });
    expect(viaDot.map((f) => f.runId)).toEqual([
      "r-added",
      "r-modified",
      "r-removed",
      "r-new-name",
    ]);
    expect((await pullRequestRunFiles({ ...o, runsDir: "." })).map((f) => f.path)).toEqual([
      "baes/r9/metrics.json",
    ]);
    expect((await pullRequestRunFiles({ ...o, runsDir: "data/runs" })).map((f) => f.runId)).toEqual(
      ["r8"],
    );
  });

  it("reports a run renamed out of the runs directory as removed under its old path", async () => {
    const gh = await fakeGitHub();
    gh.setPullRequestFiles(9, [
      {
        filename: "archive/baes/r1/metrics.json",
        status: "renamed",
        previous_filename: "runs/baes/r1/metrics.json",
      },
      { filename: "runs/baes/r2/metrics.json", status: "unchanged" },
    ]);
    const files = await pullRequestRunFiles({
      github: await client(gh),
      owner: gh.owner,
      repo: gh.repo,
      pullNumber: 9,
      runsDir: "runs",
    });
    expect(files).toEqual([
      { path: "runs/baes/r1/metrics.json", framework: "baes", runId: "r1", change: "removed" },
    ]);
  });
});

describe("apiFiles", () => {
  const R1 = '{\n  "run_id": "r1"\n}\n';
  const R2 = '{\n  "run_id": "r2",\n  "notes": "on the branch"\n}\n';
  const seedFiles = {
    "README.md": "experiment\n",
    "runs/manifest.json": '{"runs": []}\n',
    "runs/baes/r1/metrics.json": R1,
    "runs/baes/r2/metrics.json": R2,
    "runs/baes/latest": { mode: "120000" as const, content: "r2" },
    "runs/tool.sh": { mode: "100755" as const, content: "#!/bin/sh\n" },
    "runs/vendor": { submodule: "0123456789abcdef0123456789abcdef01234567" },
  };

  async function setUp(options?: FakeGitHubOptions) {
    const gh = await fakeGitHub(options);
    const head = gh.seed(seedFiles);
    // the checkout: r1 as on the branch, r2 edited locally, manifest absent
    const ws = await workspace({
      "README.md": "experiment\n",
      "runs/baes/r1/metrics.json": R1,
      "runs/baes/r2/metrics.json": '{"run_id": "r2", "local": true}\n',
    });
    const files = await apiFiles({
      github: await client(gh),
      owner: gh.owner,
      repo: gh.repo,
      sha: gh.commit(head)!.tree,
      workspace: ws,
    });
    return { gh, ws, files };
  }

  const sorted = async (files: Files, dir: string) =>
    (await files.list(dir)).sort((a, b) => (a.name < b.name ? -1 : 1));

  it("lists, reads and tells existence over the commit's tree, with git's kinds", async () => {
    const { ws, files } = await setUp();
    expect(await sorted(files, ws)).toEqual([
      { name: "README.md", kind: "file" },
      { name: "runs", kind: "dir" },
    ]);
    expect(await sorted(files, join(ws, "runs"))).toEqual([
      { name: "baes", kind: "dir" },
      { name: "manifest.json", kind: "file" },
      { name: "tool.sh", kind: "file" },
      { name: "vendor", kind: "other" },
    ]);
    expect(await sorted(files, join(ws, "runs", "baes"))).toEqual([
      { name: "latest", kind: "symlink" },
      { name: "r1", kind: "dir" },
      { name: "r2", kind: "dir" },
    ]);
    expect(text(await files.read(join(ws, "runs/manifest.json")))).toBe('{"runs": []}\n');
    expect(await files.exists(join(ws, "runs/manifest.json"))).toBe(true);
    expect(await files.exists(join(ws, "runs/baes/latest"))).toBe(true);
    expect(await files.exists(ws)).toBe(true);
    expect(await files.exists(join(ws, "runs/baes/r3"))).toBe(false);
    expect(await files.exists(join(ws, "..", "elsewhere"))).toBe(false);
    await expect(files.read(join(ws, "runs/nope.json"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(files.list(join(ws, "README.md"))).rejects.toMatchObject({ code: "ENOTDIR" });
    await expect(files.list(join(ws, "runs/missing"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(files.read(join(ws, "runs/baes/latest"))).rejects.toThrow(/symbolic link/);
    await expect(files.writeAtomic(join(ws, "README.md"), "x")).rejects.toThrow(/read-only/);
    // the local checkout was not written either
    expect(await readFile(join(ws, "README.md"), "utf8")).toBe("experiment\n");
  });

  it("reads a file from the checkout when its blob sha matches, through the API (once) when it differs", async () => {
    const { gh, ws, files } = await setUp();
    gh.requests.length = 0;
    expect(text(await files.read(join(ws, "runs/baes/r1/metrics.json")))).toBe(R1);
    expect(blobReads(gh)).toEqual([]);

    expect(text(await files.read(join(ws, "runs/baes/r2/metrics.json")))).toBe(R2);
    expect(text(await files.read(join(ws, "runs/baes/r2/metrics.json")))).toBe(R2);
    expect(blobReads(gh)).toEqual([gitBlobSha(R2)]);
    expect(files.stats).toMatchObject({ blobsFromDisk: 1, blobsFromApi: 1, treeRequests: 1 });
  });

  it("falls back to listing directories one level at a time when the recursive listing is truncated", async () => {
    const { gh, ws, files } = await setUp({ maxTreeEntries: 3 });
    expect(await sorted(files, join(ws, "runs", "baes"))).toEqual([
      { name: "latest", kind: "symlink" },
      { name: "r1", kind: "dir" },
      { name: "r2", kind: "dir" },
    ]);
    expect(text(await files.read(join(ws, "runs/baes/r2/metrics.json")))).toBe(R2);
    expect(await files.exists(join(ws, "runs/baes/r2/metrics.json"))).toBe(true);
    expect(await files.exists(join(ws, "runs/baes/r9/metrics.json"))).toBe(false);
    const trees = gh.requests.filter((r) => r.path.includes("/git/trees/"));
    expect(trees[0]!.query.has("recursive")).toBe(true);
    // root, runs, runs/baes, runs/baes/r2, runs/baes/r9 is absent: listed once each, not recursively
    expect(trees.slice(1).every((r) => !r.query.has("recursive"))).toBe(true);
    expect(trees).toHaveLength(5);
  });
});

type ApiCommitOptions = PublishOptions & ApiTarget;

describe("commitViaApi", () => {
  const METRICS_A = "runs/baes/run-a/metrics.json";
  const METRICS_B = "runs/chatdev/run-b/metrics.json";
  const INITIAL_A = `{\n  "run_id": "run-a",\n  "attempts": [\n    1\n  ]\n}\n`;
  const INITIAL_B = `{\n  "run_id": "run-b",\n  "attempts": []\n}\n`;
  const experimentFiles = () => ({
    "README.md": "experiment\n",
    [METRICS_A]: INITIAL_A,
    [METRICS_B]: INITIAL_B,
  });

  /** A pass's change computed from the file as the API shows it at the head. */
  const addKey =
    (ws: string, path: string, key: string, value: unknown): ApiCommitOptions["computeChanges"] =>
    async (files) => {
      const abs = join(ws, path);
      const before = text(await files.read(abs));
      return [{ path: abs, after: editJsonText(before, { set: [{ path: [key], value }] }) }];
    };

  async function setUp(branch?: string) {
    const gh = await fakeGitHub(branch ? { branch } : undefined);
    gh.seed(experimentFiles());
    const ws = await workspace(experimentFiles());
    const github = await client(gh);
    const base = (
      overrides: Partial<ApiCommitOptions> & Pick<ApiCommitOptions, "computeChanges">,
    ): ApiCommitOptions => ({
      github,
      owner: gh.owner,
      repo: gh.repo,
      branch: gh.branch,
      workspace: ws,
      message: (paths) => `reconcile-usage: ${paths.length} file(s)`,
      sleep: noSleep,
      ...overrides,
    });
    return { gh, ws, github, base };
  }

  it("lands the files on the branch in one signed commit by github-actions[bot] whose parent is the old head", async () => {
    const { gh, ws, base } = await setUp();
    const before = gh.head()!;
    const heads: string[] = [];
    const seen: string[][] = [];
    const result = await commitViaApi(
      base({
        computeChanges: async (files, head) => {
          heads.push(head);
          return [
            ...(await addKey(ws, METRICS_A, "verification_status", "verified")(files, head)),
            { path: join(ws, "runs/ghspec/run-c/metrics.json"), after: '{"run_id": "run-c"}\n' },
          ];
        },
        message: (paths) => {
          seen.push(paths);
          return `reconcile-usage: 1 verified (1 run, ${paths.length} files)\n\n- baes/run-a: verified`;
        },
      }),
    );

    expect(heads).toEqual([before]);
    expect(result).toEqual({
      sha: gh.head(),
      attempts: 1,
      files: [METRICS_A, "runs/ghspec/run-c/metrics.json"],
    });
    expect(seen).toEqual([[METRICS_A, "runs/ghspec/run-c/metrics.json"]]);
    const commit = gh.commit(result.sha!)!;
    expect(commit.parents).toEqual([before]);
    expect(commit.message).toBe(
      "reconcile-usage: 1 verified (1 run, 2 files)\n\n- baes/run-a: verified",
    );
    expect(commit.author.name).toBe("github-actions[bot]");
    expect(commit.verified).toBe(true);
    expect(gh.history().map((c) => c.sha)).toEqual([result.sha, before]);
    expect(JSON.parse(gh.fileAtHead(METRICS_A)!)).toEqual({
      run_id: "run-a",
      attempts: [1],
      verification_status: "verified",
    });
    expect(gh.fileAtHead("runs/ghspec/run-c/metrics.json")).toBe('{"run_id": "run-c"}\n');
    expect(gh.fileAtHead(METRICS_B)).toBe(INITIAL_B);
    expect(gh.fileAtHead("README.md")).toBe("experiment\n");
    // the ref moved by fast-forward only, and the checkout was not touched
    const update = gh.requests.find((r) => r.method === "PATCH")!;
    expect(update.path).toBe(`/repos/${gh.owner}/${gh.repo}/git/refs/heads/main`);
    expect(update.body).toEqual({ sha: result.sha, force: false });
    expect(await readFile(join(ws, METRICS_A), "utf8")).toBe(INITIAL_A);
  });

  it("makes no commit and no ref update when nothing changed (no updates, or updates equal to the files)", async () => {
    const { gh, ws, base } = await setUp();
    const head = gh.head();
    let messages = 0;
    const message = () => {
      messages++;
      return "unused";
    };
    expect(await commitViaApi(base({ computeChanges: async () => [], message }))).toEqual({
      sha: null,
      attempts: 0,
      files: [],
    });
    expect(
      await commitViaApi(
        base({
          computeChanges: async () => [{ path: join(ws, METRICS_A), after: INITIAL_A }],
          message,
        }),
      ),
    ).toEqual({ sha: null, attempts: 0, files: [] });
    expect(messages).toBe(0);
    expect(writes(gh)).toEqual([]);
    expect(gh.head()).toBe(head);
  });

  it("re-applies on top of another writer's change to the SAME metrics.json: both survive, and the writer's other file", async () => {
    const { gh, ws, base } = await setUp();
    const initial = gh.head()!;
    let calls = 0;
    const slept: number[] = [];
    const logged: string[] = [];
    const compute = addKey(ws, METRICS_A, "usage_api_reconciliation", {
      verification_status: "pending",
    });
    const result = await commitViaApi(
      base({
        computeChanges: (files, head) => {
          calls++;
          return compute(files, head);
        },
        beforePublish: async (attempt) => {
          if (attempt !== 1) return;
          gh.commitAsOther({
            [METRICS_A]: editJsonText(gh.fileAtHead(METRICS_A)!, {
              set: [{ path: ["notes"], value: "rerun on a quiet machine" }],
              append: [{ path: ["attempts"], values: [2] }],
            }),
            "notes.txt": "the other writer's file\n",
          });
        },
        backoffMs: (attempt) => attempt * 111,
        sleep: async (ms) => {
          slept.push(ms);
        },
        log: (l) => logged.push(l),
      }),
    );

    expect(result.attempts).toBe(2);
    expect(calls).toBe(2);
    expect(slept).toEqual([111]);
    expect(logged.some((l) => /rejected \(Update is not a fast forward\)/.test(l))).toBe(true);
    expect(gh.requests.filter((r) => r.method === "PATCH").map((r) => r.status)).toEqual([
      422, 200,
    ]);
    expect(result.sha).toBe(gh.head());
    expect(JSON.parse(gh.fileAtHead(METRICS_A)!)).toEqual({
      run_id: "run-a",
      attempts: [1, 2],
      notes: "rerun on a quiet machine",
      usage_api_reconciliation: { verification_status: "pending" },
    });
    expect(gh.fileAtHead("notes.txt")).toBe("the other writer's file\n");
    expect(gh.history().map((c) => c.message)).toEqual([
      "reconcile-usage: 1 file(s)",
      "concurrent writer",
      "initial",
    ]);
    expect(gh.history()[2]!.sha).toBe(initial);
  });

  it("returns sha null when, on the new head, the pass has nothing left to change", async () => {
    const { gh, ws, base } = await setUp();
    const result = await commitViaApi(
      base({
        computeChanges: addKey(ws, METRICS_A, "verification_status", "verified"),
        beforePublish: async (attempt) => {
          if (attempt !== 1) return;
          gh.commitAsOther({
            [METRICS_A]: editJsonText(gh.fileAtHead(METRICS_A)!, {
              set: [{ path: ["verification_status"], value: "verified" }],
            }),
          });
        },
      }),
    );
    expect(result).toEqual({ sha: null, attempts: 1, files: [] });
    expect(gh.history().map((c) => c.message)).toEqual(["concurrent writer", "initial"]);
  });

  it("gives up with DeliveryError after maxAttempts when the branch keeps moving", async () => {
    const { gh, ws, base } = await setUp();
    let moves = 0;
    let calls = 0;
    const slept: number[] = [];
    const compute = addKey(ws, METRICS_A, "verification_status", "verified");
    const error = await commitViaApi(
      base({
        computeChanges: (files, head) => {
          calls++;
          return compute(files, head);
        },
        maxAttempts: 3,
        beforePublish: async () => {
          moves++;
          gh.commitAsOther({ "counter.txt": `${moves}\n` });
        },
        backoffMs: () => 7,
        sleep: async (ms) => {
          slept.push(ms);
        },
      }),
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).attempts).toBe(3);
    expect((error as Error).message).toMatch(/rejected 3 times/);
    expect((error as Error).message).toMatch(/gave up after 3 attempts/);
    expect(calls).toBe(3);
    expect(slept).toEqual([7, 7]);
    const history = gh.history().map((c) => c.message);
    expect(history).toHaveLength(4);
    expect(history.filter((m) => m.startsWith("reconcile-usage"))).toEqual([]);
    expect(gh.fileAtHead("counter.txt")).toBe("3\n");
  });

  it("fails at once with the API's message and without the token on 401, before computing anything", async () => {
    const { gh, ws, base } = await setUp();
    const wrong = "ghs_wrongTokenABCDEFGHIJKLMNOP123456";
    const logged: string[] = [];
    let calls = 0;
    const error = await commitViaApi(
      base({
        github: await githubClient(wrong, gh.baseUrl),
        computeChanges: async () => {
          calls++;
          return [{ path: join(ws, METRICS_A), after: "{}\n" }];
        },
        log: (l) => logged.push(l),
        secrets: [wrong],
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).attempts).toBe(0);
    expect((error as Error).message).toMatch(/HTTP 401: Bad credentials/);
    expect((error as Error).message).toMatch(/reading branch main/);
    expect((error as Error).message).not.toContain(wrong);
    expect(`${(error as Error).stack}\n${logged.join("\n")}`).not.toContain(wrong);
    expect(calls).toBe(0);
    expect(writes(gh)).toEqual([]);
  });

  it("fails at once when the API cannot be reached", async () => {
    const { ws, base } = await setUp();
    const error = await commitViaApi(
      base({
        github: await githubClient("ghs_anyToken0000000000000000000", await closedUrl()),
        computeChanges: addKey(ws, METRICS_A, "x", 1),
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).attempts).toBe(0);
    expect((error as Error).message).toMatch(/reading branch main for .* failed \(.*ECONNREFUSED/);
    expect((error as Error).message).not.toMatch(/HTTP|ghs_anyToken/);
  });

  it("fails at once, naming the permission, when the token may not write (403)", async () => {
    const { gh, ws, base } = await setUp();
    const head = gh.head();
    let slept = 0;
    const error = await commitViaApi(
      base({
        github: await githubClient(gh.readOnlyToken, gh.baseUrl),
        computeChanges: addKey(ws, METRICS_A, "verification_status", "verified"),
        sleep: async () => {
          slept++;
        },
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as Error).message).toMatch(/HTTP 403: Resource not accessible by integration/);
    expect((error as Error).message).toMatch(/contents: write/);
    expect(slept).toBe(0);
    expect(gh.head()).toBe(head);
  });

  it("fails at once when the branch does not exist", async () => {
    const { ws, base } = await setUp();
    const error = await commitViaApi(
      base({ branch: "nope", computeChanges: addKey(ws, METRICS_A, "x", 1) }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as Error).message).toMatch(/HTTP 404/);
    expect((error as Error).message).toMatch(/branch nope/);
  });

  it("commits to a branch whose name has a slash, keeping an executable's mode", async () => {
    const gh = await fakeGitHub({ branch: "feature/reconcile" });
    gh.seed({ ...experimentFiles(), "runs/run.sh": { mode: "100755", content: "#!/bin/sh\n" } });
    const ws = await workspace(experimentFiles());
    const github = await client(gh);
    const result = await commitViaApi({
      github,
      owner: gh.owner,
      repo: gh.repo,
      branch: "feature/reconcile",
      workspace: ws,
      computeChanges: async () => [
        { path: join(ws, "runs/run.sh"), after: "#!/bin/sh\necho hi\n" },
      ],
      message: () => "update",
    });
    expect(result.sha).toBe(gh.head("feature/reconcile"));
    const files = await apiFiles({
      github,
      owner: gh.owner,
      repo: gh.repo,
      sha: result.sha!,
      workspace: ws,
    });
    expect(await files.entry(join(ws, "runs/run.sh"))).toMatchObject({ mode: "100755" });
    expect(gh.fileAtHead("runs/run.sh", "feature/reconcile")).toBe("#!/bin/sh\necho hi\n");
  });

  it("rejects an update outside the checkout, or inside .git", async () => {
    const { ws, base } = await setUp();
    for (const path of [join(ws, "..", "elsewhere.json"), join(ws, ".git", "config")]) {
      const error = await commitViaApi(
        base({ computeChanges: async () => [{ path, after: "{}" }] }),
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeliveryError);
      expect((error as Error).message).toMatch(/not inside the repository|inside the \.git/);
    }
  });
});

describe("commitViaApi with a real reconciliation pass", () => {
  it("re-applies the pass on a head where another writer edited a reconciled file: our readings once, the writer's edit kept", async () => {
    const runs = generateExperiment({ frameworks: ["baes", "chatdev"], runsPerFramework: 2 });
    const seeded: Record<string, string> = { "README.md": "experiment\n" };
    for (const r of runs) seeded[`runs/${r.path}`] = metricsText(r);
    seeded["runs/manifest.json"] = manifestText(runs);
    const gh = await fakeGitHub();
    const initial = gh.seed(seeded, "add runs");
    const ws = await workspace(seeded);
    const runsDir = join(ws, "runs");

    const usage = await startFakeUsageApi({ events: allEvents(runs) });
    const source = createHttpPageSource({
      baseUrl: usage.baseUrl,
      adminKey: "sk-admin-test",
      userAgent: TOOL,
    });
    cleanups.push(async () => {
      await source.close();
      await usage.close();
    });
    const settings = testSettings(runsDir, ["baes", "chatdev"]);
    const now = Math.ceil(Math.max(...runs.map((r) => r.end))) + 2 * 3600;
    const [first] = runs as [(typeof runs)[0]];
    const firstPath = `runs/${first.path}`;
    const attempts: number[] = [];
    let writerText = "";
    const github = await client(gh);
    const result = await reconcile(settings, {
      files: nodeFiles,
      now,
      source,
      tool: TOOL,
      version: VERSION,
      delivery: apiDelivery({
        github: async () => github,
        owner: gh.owner,
        repo: gh.repo,
        branch: gh.branch,
        workspace: ws,
        secrets: [],
        log: () => undefined,
        backoffMs: () => 0,
        beforePublish: async (attempt) => {
          attempts.push(attempt);
          if (attempt !== 1) return;
          // the writer edits one of the files this pass changes, through the API
          writerText = editJsonText(gh.fileAtHead(firstPath)!, {
            set: [{ path: ["notes"], value: "checked by hand" }],
          });
          gh.commitAsOther({ [firstPath]: writerText });
        },
      }),
    });
    expect(result.collected?.readings.size).toBe(runs.length);
    expect(result.changes.length).toBe(runs.length + 1); // every run + the manifest
    expect(result.passErrors).toEqual([]);

    expect(attempts).toEqual([1, 2]);
    expect(result.sha).toBe(gh.head());
    const history = gh.history();
    expect(history.map((c) => c.message.split("\n")[0])).toEqual([
      `reconcile-usage: ${runs.length} pending (${runs.length} runs, ${runs.length + 1} files)`,
      "concurrent writer",
      "add runs",
    ]);
    expect(history[0]!.verified).toBe(true);
    expect(history[2]!.sha).toBe(initial);
    for (const run of runs) {
      const json = JSON.parse(gh.fileAtHead(`runs/${run.path}`)!);
      const attempts = json.usage_api_reconciliation.attempts as Array<{
        total_tokens_in: number;
        total_tokens_out: number;
      }>;
      expect(attempts).toHaveLength(1);
      expect(attempts[0]!.total_tokens_in).toBe(run.totals.tokensIn);
      expect(attempts[0]!.total_tokens_out).toBe(run.totals.tokensOut);
      expect(json.notes).toBe(run === first ? "checked by hand" : undefined);
    }
    // the files the checkout holds unchanged were read from disk: only the writer's was fetched
    expect(blobReads(gh)).toEqual([gitBlobSha(writerText)]);
  });
});
