import { isAbsolute, relative, resolve, sep } from "node:path";
import { DeliveryError } from "../errors.ts";
import { type ApiFiles, apiFiles } from "../github/api-files.ts";
import { apiMessage, type GitHub, httpStatus } from "../github/octokit.ts";
import { redact } from "../util/redact.ts";
import {
  type Head,
  type Publisher,
  type PublishOptions,
  type PublishResult,
  publishWithRetries,
} from "./publish.ts";

/**
 * `commit: api` (docs/design.md#delivery): the pass's files committed through the Git Data API —
 * blobs, a tree on the branch head's tree, a commit, then a fast-forward-only ref update. Made
 * this way with the workflow's token and no author, the commit is github-actions[bot]'s and
 * GitHub signs it (Verified). The one loop of publish.ts retries a ref update another writer
 * beat on the new head, read again through the API, so another writer's change is kept.
 */

/** Where `commit: api` commits. */
export interface ApiTarget {
  github: GitHub;
  owner: string;
  repo: string;
  branch: string;
  /** Absolute path of the checkout: the changes' paths are in it, and unchanged files are read from it. */
  workspace: string;
  /** Secrets to redact from anything that reaches an error or a log (the token, should it be echoed). */
  secrets?: string[];
  /** Says how many files were read through the API, and how many from the checkout. */
  log?: (line: string) => void;
}

interface ApiHead extends Head {
  files: ApiFiles;
  /** The head commit's tree. */
  tree: string;
}

type Staged = Array<{ path: string; after: string; mode: "100644" | "100755" }>;

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

/** The GitHub API steps of the loop, for `branch` of `owner/repo`. */
export function apiPublisher(o: ApiTarget): Publisher<ApiHead, Staged> {
  const { github, owner, repo, branch } = o;
  const workspace = resolve(o.workspace);
  const clean = (text: string) => redact(text, o.secrets ?? []);
  const target = `${owner}/${repo}@${branch}`;
  const fail = (message: string, attempts = 0) => new DeliveryError(clean(message), attempts);

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
    throw new DeliveryError(`branch: "${branch}" is not a valid branch name`);

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
  /** Runs one API call; a refusal becomes a DeliveryError naming what was attempted. */
  async function call<T>(what: string, request: () => Promise<T>, attempts = 0): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw fail(refusal(what, error), attempts);
    }
  }

  async function uploadBlobs(updates: Staged): Promise<string[]> {
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

  return {
    target,
    tries: "ref update(s)",
    tryName: `updating ${target}`,
    lostName: `update of ${target}`,
    clean,
    async readHead() {
      const sha = (
        await call(`reading branch ${branch}`, () =>
          github.rest.git.getRef({ owner, repo, ref: `heads/${branch}` }),
        )
      ).data.object.sha;
      const tree = (
        await call(`reading commit ${sha.slice(0, 12)}`, () =>
          github.rest.git.getCommit({ owner, repo, commit_sha: sha }),
        )
      ).data.tree.sha;
      const files = await call(`reading the files of ${sha.slice(0, 12)}`, () =>
        apiFiles({ github, owner, repo, sha: tree, workspace }),
      );
      return { sha, tree, files };
    },

    /** The updates whose content differs from the head's, with the mode each is to have. */
    async stage(head, updates) {
      try {
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
        const out: Staged = [];
        for (const [path, after] of byPath) {
          const abs = resolve(workspace, ...path.split("/"));
          const node = await head.files.entry(abs);
          if (node && node.type !== "blob")
            throw fail(`${path} is a directory or a submodule at the head of ${target}`);
          if (node && node.mode !== "120000") {
            const current = Buffer.from(await head.files.read(abs)).toString("utf8");
            if (current === after) continue;
          }
          out.push({ path, after, mode: node?.mode === "100755" ? "100755" : "100644" });
        }
        out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
        return { paths: out.map((u) => u.path), staged: out };
      } catch (error) {
        // a file the API would not give (the error of a read through `files`)
        if (error instanceof DeliveryError || httpStatus(error) === undefined) throw error;
        throw fail(refusal(`reading the files of ${head.sha.slice(0, 12)}`, error));
      }
    },

    async commit(head, staged, message) {
      const shas = await uploadBlobs(staged);
      const tree = (
        await call("creating the tree", () =>
          github.rest.git.createTree({
            owner,
            repo,
            base_tree: head.tree,
            tree: staged.map((u, i) => ({
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
          github.rest.git.createCommit({ owner, repo, message, tree, parents: [head.sha] }),
        )
      ).data.sha;
      const read = head.files.stats;
      o.log?.(
        clean(
          `${read.blobsFromApi} file(s) read through the API, ${read.blobsFromDisk} from the checkout`,
        ),
      );
      return commit;
    },

    async publish(_head, sha, attempts) {
      try {
        await github.rest.git.updateRef({
          owner,
          repo,
          ref: `heads/${branch}`,
          sha,
          force: false,
        });
        return "published";
      } catch (error) {
        const reason = outdated(error);
        if (reason === undefined)
          throw fail(`${refusal(`updating branch ${branch}`, error)} (not retried)`, attempts);
        return { lost: reason };
      }
    },

    published: (sha, paths, attempts) =>
      `committed ${sha.slice(0, 12)} (${paths.length} file${paths.length === 1 ? "" : "s"}) to ${target} through the GitHub API${attempts > 1 ? ` on attempt ${attempts}` : ""}`,
  };
}

/**
 * Commits the pass's updates through the API, retrying on the new head when the branch moved;
 * `computeChanges` is given the head's files as the API shows them.
 */
export function commitViaApi(options: PublishOptions & ApiTarget): Promise<PublishResult> {
  return publishWithRetries(apiPublisher(options), options);
}
