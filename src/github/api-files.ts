import { createHash } from "node:crypto";
import { lstat, readFile } from "node:fs/promises";
import { isAbsolute, posix, relative, resolve, sep } from "node:path";
import type { DirEntry, Files } from "../fs/types.ts";
import type { GitHub } from "./octokit.ts";

/**
 * A read-only view of one commit of the repository through the Git Data API, for re-applying a
 * pass on a branch head that is not checked out (`commit: api`). One recursive tree listing gives
 * every path; file contents are fetched when read, once per blob. A file of the local checkout
 * whose git blob sha equals the commit's is read from disk instead: usually almost every file,
 * so a pass re-applied on a head that moved fetches only what the other writer changed.
 */

export interface ApiFilesOptions {
  github: GitHub;
  owner: string;
  repo: string;
  /** The commit (or tree) to read. */
  sha: string;
  /** Absolute path of the checkout; the paths given to the Files map to the repository through it. */
  workspace: string;
}

export interface TreeNode {
  mode: string;
  type: "blob" | "tree" | "commit";
  sha: string;
  size?: number;
}

export interface ApiFiles extends Files {
  /** What was fetched and what was read from the checkout. */
  readonly stats: { treeRequests: number; blobsFromApi: number; blobsFromDisk: number };
  /** The tree entry at a workspace path; undefined when absent (the root is a tree). */
  entry(path: string): Promise<TreeNode | undefined>;
}

/** The git blob sha of some bytes: sha1 of `blob <length>\0<bytes>`. */
export function gitBlobSha(bytes: Uint8Array): string {
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

const kindOf = (node: TreeNode): DirEntry["kind"] =>
  node.type === "tree"
    ? "dir"
    : node.type === "blob"
      ? node.mode === "120000"
        ? "symlink"
        : "file"
      : "other";

type Dir = Map<string, TreeNode>;

export async function apiFiles(o: ApiFilesOptions): Promise<ApiFiles> {
  const { github, owner, repo } = o;
  const workspace = resolve(o.workspace);
  const stats = { treeRequests: 0, blobsFromApi: 0, blobsFromDisk: 0 };
  const label = `${owner}/${repo}@${o.sha.slice(0, 12)}`;
  const fsError = (code: string, what: string, path: string) =>
    Object.assign(new Error(`${code}: ${what} in ${label}, '${path}'`), { code, path });

  const getTree = async (sha: string, recursive: boolean) => {
    stats.treeRequests++;
    const { data } = await github.rest.git.getTree({
      owner,
      repo,
      tree_sha: sha,
      ...(recursive ? { recursive: "1" } : {}),
    });
    return data;
  };
  const node = (e: { mode?: string; type?: string; sha?: string; size?: number }): TreeNode => ({
    mode: e.mode ?? "",
    type: e.type === "tree" ? "tree" : e.type === "commit" ? "commit" : "blob",
    sha: e.sha ?? "",
    size: e.size,
  });

  /** Directory listings by repository path ("" is the root). */
  const dirs = new Map<string, Promise<Dir | undefined>>();
  const root = await getTree(o.sha, true);
  if (!root.truncated) {
    const all = new Map<string, Dir>([["", new Map()]]);
    for (const e of root.tree) {
      if (!e.path) continue;
      const parent = posix.dirname(e.path);
      const key = parent === "." ? "" : parent;
      let dir = all.get(key);
      if (!dir) {
        dir = new Map();
        all.set(key, dir);
      }
      const n = node(e);
      dir.set(posix.basename(e.path), n);
      if (n.type === "tree" && !all.has(e.path)) all.set(e.path, new Map());
    }
    for (const [k, v] of all) dirs.set(k, Promise.resolve(v));
  } else {
    // Too big for one listing: list directories one level at a time, when first looked into.
    dirs.set(
      "",
      getTree(root.sha, false).then((t) => new Map(t.tree.map((e) => [e.path ?? "", node(e)]))),
    );
  }

  const listing = (dir: string): Promise<Dir | undefined> => {
    const known = dirs.get(dir);
    if (known) return known;
    const loading = (async () => {
      const parent = await listing(posix.dirname(dir) === "." ? "" : posix.dirname(dir));
      const self = parent?.get(posix.basename(dir));
      if (self?.type !== "tree") return undefined;
      const t = await getTree(self.sha, false);
      return new Map(t.tree.map((e) => [e.path ?? "", node(e)]));
    })();
    dirs.set(dir, loading);
    return loading;
  };

  /** The repository path of a workspace path; undefined when it lies outside the checkout. */
  const repoPath = (path: string): string | undefined => {
    const rel = relative(workspace, resolve(workspace, path));
    if (rel === "") return "";
    if (rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
    return rel.split(sep).join("/");
  };

  const lookup = async (path: string): Promise<TreeNode | undefined> => {
    const rel = repoPath(path);
    if (rel === undefined) return undefined;
    if (rel === "") return { mode: "040000", type: "tree", sha: root.sha };
    const dir = posix.dirname(rel);
    return (await listing(dir === "." ? "" : dir))?.get(posix.basename(rel));
  };

  const blobs = new Map<string, Promise<Uint8Array>>();
  const loadBlob = (n: TreeNode, local: string): Promise<Uint8Array> => {
    const cached = blobs.get(n.sha);
    if (cached) return cached;
    const loading = (async () => {
      const onDisk = await readIfSame(local, n);
      if (onDisk) {
        stats.blobsFromDisk++;
        return onDisk;
      }
      stats.blobsFromApi++;
      const { data } = await github.rest.git.getBlob({ owner, repo, file_sha: n.sha });
      const bytes =
        data.encoding === "base64"
          ? new Uint8Array(Buffer.from(data.content, "base64"))
          : new Uint8Array(Buffer.from(data.content, "utf8"));
      if (gitBlobSha(bytes) !== n.sha)
        throw new Error(`blob ${n.sha} of ${label} came back with other content`);
      return bytes;
    })();
    blobs.set(n.sha, loading);
    loading.catch(() => blobs.delete(n.sha));
    return loading;
  };

  return {
    stats,
    entry: lookup,
    async list(dir) {
      const rel = repoPath(dir);
      const entries = rel === undefined ? undefined : await listing(rel);
      if (!entries) {
        const n = await lookup(dir);
        throw n
          ? fsError("ENOTDIR", "not a directory", dir)
          : fsError("ENOENT", "no such directory", dir);
      }
      return [...entries].map(([name, n]) => ({ name, kind: kindOf(n) }));
    },
    async read(path) {
      const n = await lookup(path);
      if (!n) throw fsError("ENOENT", "no such file", path);
      if (n.type === "tree") throw fsError("EISDIR", "a directory, not a file", path);
      if (n.type === "commit") throw fsError("EINVAL", "a submodule, not a file", path);
      if (n.mode === "120000")
        throw fsError("EINVAL", "a symbolic link (not followed through the API)", path);
      return loadBlob(n, resolve(workspace, path));
    },
    async exists(path) {
      return (await lookup(path)) !== undefined;
    },
    async writeAtomic(path) {
      throw new Error(`cannot write ${path}: ${label} is read through the GitHub API, read-only`);
    },
  };
}

/** The local file's bytes when it is a regular file with the same git blob sha; else undefined. */
async function readIfSame(path: string, n: TreeNode): Promise<Uint8Array | undefined> {
  try {
    const info = await lstat(path);
    if (!info.isFile() || (n.size !== undefined && info.size !== n.size)) return undefined;
    const bytes = new Uint8Array(await readFile(path));
    return gitBlobSha(bytes) === n.sha ? bytes : undefined;
  } catch {
    return undefined;
  }
}
