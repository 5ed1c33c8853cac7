import { isAbsolute, relative, resolve, sep } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import type { Files } from "../fs/types.ts";
import { defaultBackoffMs } from "../git/commit.ts";
import { redact } from "../util/redact.ts";
import { type ApiFiles, apiFiles } from "./api-files.ts";
import { apiMessage, type GitHub, httpStatus } from "./octokit.ts";

/**
 * `commit: api` (SPEC §9): the pass's files committed through the Git Data API — blobs, a tree
 * on the branch head's tree, a commit, then a fast-forward-only ref update. Made this way with
 * the workflow's token and no author, the commit is github-actions[bot]'s and GitHub signs it
 * (Verified). The same optimistic-concurrency loop as `commit: git`: a ref update another
 * writer beat is retried on the new head, re-reading its files through the API and computing
 * the changes again, so another writer's change to the same file is kept.
 */

export interface ApiCommitOptions {
  github: GitHub;
  owner: string;
  repo: string;
  branch: string;
  /** Absolute path of the checkout: the changes' paths are in it, and unchanged files are read from it. */
  workspace: string;
  /**
   * This pass's updates computed from `files` (the branch head's files as seen through the API).
   * Called once per attempt. Paths returned are absolute workspace paths.
   */
  computeChanges: (
    files: Files,
    headSha: string,
  ) => Promise<Array<{ path: string; after: string }>>;
  /** The commit message for the files that changed (repository paths, `/`-separated). */
  message: (paths: string[]) => string;
  /** Ref update attempts, the first included; default 5. */
  maxAttempts?: number;
  /** Pause before retry number `attempt` + 1, after update `attempt` was rejected; default defaultBackoffMs. */
  backoffMs?: (attempt: number) => number;
  sleep?: (ms: number) => Promise<void>;
  /** Test seam and hook: runs before every ref update attempt (1, 2, …). */
  beforeRefUpdate?: (attempt: number) => Promise<void>;
  log?: (line: string) => void;
  /** Secrets to redact from anything that reaches an error or a log (the token, should it be echoed). */
  secrets?: string[];
}

export interface ApiCommitResult {
  /** The commit the branch now points to; null when nothing changed (then nothing was committed). */
  sha: string | null;
  /** Ref update attempts made. */
  attempts: number;
  /** Repository paths committed (`/`-separated, sorted); empty when nothing changed. */
  files: string[];
}

/** The commit could not be made: refused by the API, or still out of date after every attempt. */
export class ApiCommitError extends Error {
  override name = "ApiCommitError";
  /** Ref update attempts made (0 when it failed before the first). */
  readonly attempts: number;
  constructor(message: string, attempts: number) {
    super(message);
    this.attempts = attempts;
  }
}

/** Ref updates worth a retry: the branch moved under us (or while GitHub updated it). */
function outdated(error: unknown): string | undefined {
  const status = httpStatus(error);
  if (status === 409) return apiMessage(error);
  if (status !== 422) return undefined;
  const message = apiMessage(error);
  return /fast.forward|cannot be updated/i.test(message) ? message : undefined;
}

/** Concurrent blob uploads. */
const UPLOADS = 8;

export async function commitViaApi(o: ApiCommitOptions): Promise<ApiCommitResult> {
  const { github, owner, repo, branch } = o;
  const workspace = resolve(o.workspace);
  const maxAttempts = o.maxAttempts ?? 5;
  const backoffMs = o.backoffMs ?? ((attempt: number) => defaultBackoffMs(attempt));
  const sleep = o.sleep ?? ((ms: number) => delay(ms).then(() => undefined));
  const clean = (text: string) => redact(text, o.secrets ?? []);
  const log = (line: string) => o.log?.(clean(line));
  const target = `${owner}/${repo}@${branch}`;
  let attempts = 0;
  const fail = (message: string) => new ApiCommitError(clean(message), attempts);

  if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw new ApiCommitError(`maxAttempts: expected a whole number ≥ 1, got ${maxAttempts}`, 0);
  if (
    !branch ||
    branch.startsWith("-") ||
    branch.startsWith("/") ||
    branch.endsWith("/") ||
    branch.endsWith(".lock") ||
    branch.includes("..") ||
    branch.includes("//") ||
    branch.includes("@{") ||
    /[\s~^:?*[\\]/.test(branch) ||
    [...branch].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)
  )
    throw new ApiCommitError(`branch: "${branch}" is not a valid branch name`, 0);

  /** Runs one API call; a refusal becomes an ApiCommitError naming what was attempted. */
  async function call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw fail(refusal(what, error));
    }
  }
  const refusal = (what: string, error: unknown): string => {
    const status = httpStatus(error);
    const said = apiMessage(error);
    const hint =
      status === 401
        ? ": the token is not valid (github-token)"
        : status === 403
          ? ": the token may not write to the repository (the workflow needs `permissions: contents: write`)"
          : status === 404
            ? `: ${owner}/${repo} or its branch ${branch} was not found, or the token cannot see it`
            : "";
    return `GitHub API: ${what} for ${target} failed (${status ? `HTTP ${status}: ` : ""}${said})${hint}`;
  };

  /** The updates as repository paths; throws on a path outside the checkout or given twice. */
  function toRepoPaths(updates: Array<{ path: string; after: string }>): Map<string, string> {
    const byPath = new Map<string, string>();
    for (const u of updates) {
      const rel = relative(workspace, resolve(workspace, u.path));
      if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel))
        throw fail(`${u.path} is not inside the repository ${workspace}`);
      const path = rel.split(sep).join("/");
      if (path.split("/")[0] === ".git") throw fail(`${u.path} is inside the .git directory`);
      const earlier = byPath.get(path);
      if (earlier !== undefined && earlier !== u.after)
        throw fail(`${path} is given twice with different content`);
      byPath.set(path, u.after);
    }
    return byPath;
  }

  /** The updates whose content differs from the head's, with the mode each is to have. */
  async function changed(
    files: ApiFiles,
    byPath: Map<string, string>,
  ): Promise<Array<{ path: string; after: string; mode: "100644" | "100755" }>> {
    const out: Array<{ path: string; after: string; mode: "100644" | "100755" }> = [];
    for (const [path, after] of byPath) {
      const abs = resolve(workspace, ...path.split("/"));
      const node = await files.entry(abs);
      if (node && node.type !== "blob")
        throw fail(`${path} is a directory or a submodule at the head of ${target}`);
      if (node && node.mode !== "120000") {
        const current = Buffer.from(await files.read(abs)).toString("utf8");
        if (current === after) continue;
      }
      out.push({ path, after, mode: node?.mode === "100755" ? "100755" : "100644" });
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async function uploadBlobs(updates: Array<{ path: string; after: string }>): Promise<string[]> {
    const shas: string[] = new Array(updates.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < updates.length; i = next++) {
        const u = updates[i]!;
        shas[i] = (
          await call(`creating the blob of ${u.path}`, () =>
            github.rest.git.createBlob({
              owner,
              repo,
              // base64 of the UTF-8 bytes: the file gets exactly what commit: git would write
              content: Buffer.from(u.after, "utf8").toString("base64"),
              encoding: "base64",
            }),
          )
        ).data.sha;
      }
    };
    await Promise.all(Array.from({ length: Math.min(UPLOADS, updates.length) }, worker));
    return shas;
  }

  for (;;) {
    const head = (
      await call(`reading branch ${branch}`, () =>
        github.rest.git.getRef({ owner, repo, ref: `heads/${branch}` }),
      )
    ).data.object.sha;
    const baseTree = (
      await call(`reading commit ${head.slice(0, 12)}`, () =>
        github.rest.git.getCommit({ owner, repo, commit_sha: head }),
      )
    ).data.tree.sha;
    const files = await call(`reading the files of ${head.slice(0, 12)}`, () =>
      apiFiles({ github, owner, repo, sha: baseTree, workspace }),
    );
    let updates: Awaited<ReturnType<typeof changed>>;
    try {
      updates = await changed(files, toRepoPaths(await o.computeChanges(files, head)));
    } catch (error) {
      // a file the API would not give (the error of a read through `files`)
      if (error instanceof ApiCommitError || httpStatus(error) === undefined) throw error;
      throw fail(refusal(`reading the files of ${head.slice(0, 12)}`, error));
    }
    if (updates.length === 0) {
      log(
        attempts === 0
          ? "nothing changed: no commit"
          : `nothing left to commit on ${target} after ${attempts} rejected ref update(s): another writer already made these changes`,
      );
      return { sha: null, attempts, files: [] };
    }
    const paths = updates.map((u) => u.path);
    const shas = await uploadBlobs(updates);
    const tree = (
      await call("creating the tree", () =>
        github.rest.git.createTree({
          owner,
          repo,
          base_tree: baseTree,
          tree: updates.map((u, i) => ({
            path: u.path,
            mode: u.mode,
            type: "blob",
            sha: shas[i]!,
          })),
        }),
      )
    ).data.sha;
    // No author or committer: GitHub uses the token's identity (github-actions[bot]) and signs it.
    const commit = (
      await call("creating the commit", () =>
        github.rest.git.createCommit({
          owner,
          repo,
          message: o.message([...paths]),
          tree,
          parents: [head],
        }),
      )
    ).data.sha;
    attempts++;
    log(
      `${files.stats.blobsFromApi} file(s) read through the API, ${files.stats.blobsFromDisk} from the checkout`,
    );
    await o.beforeRefUpdate?.(attempts);
    let reason: string | undefined;
    try {
      await github.rest.git.updateRef({
        owner,
        repo,
        ref: `heads/${branch}`,
        sha: commit,
        force: false,
      });
      log(
        `committed ${commit.slice(0, 12)} (${paths.length} file${paths.length === 1 ? "" : "s"}) to ${target} through the GitHub API${attempts > 1 ? ` on attempt ${attempts}` : ""}`,
      );
      return { sha: commit, attempts, files: paths };
    } catch (error) {
      reason = outdated(error);
      if (reason === undefined)
        throw fail(`${refusal(`updating branch ${branch}`, error)} (not retried)`);
    }
    if (attempts >= maxAttempts) {
      throw fail(
        `updating ${target} was rejected ${attempts} times (${reason}): other writers kept updating the branch; gave up after ${attempts} attempts`,
      );
    }
    const wait = Math.max(0, Math.round(backoffMs(attempts)));
    log(
      `update of ${target} rejected (${reason}); re-applying this pass on the new head in ${(wait / 1000).toFixed(1)} s (attempt ${attempts + 1} of ${maxAttempts})`,
    );
    await sleep(wait);
  }
}
