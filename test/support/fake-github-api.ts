/**
 * A fake GitHub REST API served over real HTTP on 127.0.0.1, for the endpoints the action uses:
 * the Git Data API (refs, commits, trees, blobs) over an in-memory repository whose objects are
 * real git objects (blob, tree and commit shas are what git itself would compute), issue comments
 * and pull request files. Answers, status codes, pagination (`Link` headers) and error bodies
 * follow GitHub's. Octokit talks to it through `baseUrl` like it talks to `GITHUB_API_URL`.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type TokenKind = "write" | "read-only" | "wrong" | "none";

export interface GitHubRequest {
  index: number;
  method: string;
  /** Path without the query, URL-decoded. */
  path: string;
  query: URLSearchParams;
  /** Which credential came with the request. */
  auth: TokenKind;
  /** The parsed JSON body of a write, if any. */
  body?: unknown;
  /** Status answered (0 while the request is being handled). */
  status: number;
}

export interface FakeUser {
  login: string;
  type: "User" | "Bot";
}

export interface FakeComment {
  id: number;
  body: string;
  user: FakeUser;
  created_at: string;
  updated_at: string;
}

export type PullFileStatus =
  | "added"
  | "removed"
  | "modified"
  | "renamed"
  | "copied"
  | "changed"
  | "unchanged";

export interface FakePullFile {
  filename: string;
  status: PullFileStatus;
  previous_filename?: string;
}

export type SeedValue =
  | string
  | Uint8Array
  | { mode: "100644" | "100755" | "120000"; content: string }
  | { submodule: string };

export interface FakeCommit {
  sha: string;
  tree: string;
  parents: string[];
  message: string;
  author: { name: string; email: string; date: string };
  committer: { name: string; email: string; date: string };
  /** GitHub signs the commits it makes for an integration's token when no author is given. */
  verified: boolean;
}

export interface FakeGitHubOptions {
  owner?: string;
  repo?: string;
  /** The default branch; `seed` commits to it. */
  branch?: string;
  /** The token with write access (the workflow's `contents: write`, `pull-requests: write`). */
  token?: string;
  /** A token that may read but not write (a fork pull request's): every write answers 403. */
  readOnlyToken?: string;
  /** A recursive tree listing with more entries than this comes back `truncated` (GitHub: 100,000). */
  maxTreeEntries?: number;
  /** Called before each request is answered; a test may hold a request here (a barrier) or change state. */
  onRequest?: (request: GitHubRequest) => void | Promise<void>;
  /** Branches whose ref no token may move through the API (branch protection): 422. */
  protectedBranches?: readonly string[];
  /**
   * The repository setting "Allow GitHub Actions to create and approve pull requests" (off by
   * default on GitHub; on here): when false, opening a pull request answers 403.
   */
  actionsMayOpenPullRequests?: boolean;
}

export interface FakePull {
  number: number;
  title: string;
  body: string;
  /** Branch names. */
  head: string;
  base: string;
  state: "open" | "closed";
  merged: boolean;
  /** The head branch's commit when the pull request was closed (GitHub keeps it). */
  closedHeadSha?: string;
}

export interface FakeGitHubApi {
  /** What GITHUB_API_URL would be: pass it as Octokit's baseUrl. */
  baseUrl: string;
  owner: string;
  repo: string;
  branch: string;
  token: string;
  readOnlyToken: string;
  requests: GitHubRequest[];
  onRequest: FakeGitHubOptions["onRequest"];
  /**
   * Commits the files (path → content, `/`-separated) as the whole tree of a new commit on the
   * branch. A value may also be an executable or a symbolic link (`{mode, content}`) or a
   * submodule (`{submodule: sha}`).
   */
  seed(files: Record<string, SeedValue>, message?: string, branch?: string): string;
  /** Another writer's commit on top of the branch head: changes these files (null deletes one). */
  commitAsOther(
    files: Record<string, string | Uint8Array | null>,
    message?: string,
    branch?: string,
  ): string;
  head(branch?: string): string | undefined;
  commit(sha: string): FakeCommit | undefined;
  /** A file's text at the branch head; undefined when it is not there. */
  fileAtHead(path: string, branch?: string): string | undefined;
  /** Every file at the branch head, path → text. */
  filesAtHead(branch?: string): Record<string, string>;
  /** Commits from the branch head back along first parents, newest first. */
  history(branch?: string): FakeCommit[];
  seedComments(
    issue: number,
    comments: Array<{ body: string; user?: FakeUser; created_at?: string }>,
  ): FakeComment[];
  comments(issue: number): FakeComment[];
  setPullRequestFiles(pull: number, files: FakePullFile[]): void;
  /** The pull requests opened through the API, oldest first. */
  pulls(): FakePull[];
  /** Merges a pull request as GitHub's merge button does (a merge commit on its base) and closes it. */
  mergePullRequest(number: number): string;
  close(): Promise<void>;
}

export const BOT_USER: FakeUser = { login: "github-actions[bot]", type: "Bot" };
export const HUMAN_USER: FakeUser = { login: "octocat", type: "User" };

const DOCS = "https://docs.github.com/rest";
/** GitHub lists at most 3000 files of a pull request. */
const PULL_FILES_CAP = 3000;

/** The git blob sha of some bytes: sha1 of `blob <length>\0<bytes>`. */
export function gitBlobSha(content: string | Uint8Array): string {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content);
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

interface TreeEntry {
  name: string;
  /** Git's modes: 100644, 100755, 120000 (symlink), 040000 (tree), 160000 (submodule). */
  mode: string;
  type: "blob" | "tree" | "commit";
  sha: string;
}

type GitObject =
  | { type: "blob"; data: Buffer }
  | { type: "tree"; entries: TreeEntry[] }
  | { type: "commit"; commit: FakeCommit };

/** A leaf of a flattened tree: anything but a tree. */
interface Leaf {
  mode: string;
  type: "blob" | "commit";
  sha: string;
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const VALID_MODES = new Set(["100644", "100755", "120000", "040000", "160000"]);

/** Git's tree order: by name, a tree's name compared as if it ended in `/`. */
function gitOrder(a: TreeEntry, b: TreeEntry): number {
  const ka = Buffer.from(a.type === "tree" ? `${a.name}/` : a.name);
  const kb = Buffer.from(b.type === "tree" ? `${b.name}/` : b.name);
  return Buffer.compare(ka, kb);
}

class Repository {
  readonly objects = new Map<string, GitObject>();
  readonly refs = new Map<string, string>();
  private clock = Date.UTC(2025, 10, 1, 12, 0, 0) / 1000;

  tick(): number {
    return this.clock++;
  }

  putBlob(content: string | Uint8Array): string {
    const data = typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content);
    const sha = gitBlobSha(data);
    this.objects.set(sha, { type: "blob", data });
    return sha;
  }

  putTree(entries: TreeEntry[]): string {
    const sorted = [...entries].sort(gitOrder);
    const parts: Buffer[] = [];
    for (const e of sorted) {
      parts.push(Buffer.from(`${e.mode === "040000" ? "40000" : e.mode} ${e.name}\0`));
      parts.push(Buffer.from(e.sha, "hex"));
    }
    const body = Buffer.concat(parts);
    const sha = createHash("sha1").update(`tree ${body.length}\0`).update(body).digest("hex");
    this.objects.set(sha, { type: "tree", entries: sorted });
    return sha;
  }

  putCommit(c: Omit<FakeCommit, "sha">): FakeCommit {
    const line = (who: { name: string; email: string; date: string }) =>
      `${who.name} <${who.email}> ${Math.floor(Date.parse(who.date) / 1000)} +0000`;
    const text = [
      `tree ${c.tree}`,
      ...c.parents.map((p) => `parent ${p}`),
      `author ${line(c.author)}`,
      `committer ${line(c.committer)}`,
      "",
      c.message,
    ].join("\n");
    const bytes = Buffer.from(text, "utf8");
    const sha = createHash("sha1").update(`commit ${bytes.length}\0`).update(bytes).digest("hex");
    const commit: FakeCommit = { ...c, sha };
    this.objects.set(sha, { type: "commit", commit });
    return commit;
  }

  blob(sha: string): Buffer | undefined {
    const o = this.objects.get(sha);
    return o?.type === "blob" ? o.data : undefined;
  }

  tree(sha: string): TreeEntry[] | undefined {
    const o = this.objects.get(sha);
    return o?.type === "tree" ? o.entries : undefined;
  }

  commit(sha: string): FakeCommit | undefined {
    const o = this.objects.get(sha);
    return o?.type === "commit" ? o.commit : undefined;
  }

  /** A tree, or a commit's tree (GitHub's trees endpoint takes either). */
  treeOf(sha: string): string | undefined {
    if (this.tree(sha)) return sha;
    return this.commit(sha)?.tree;
  }

  /** Every non-tree entry under a tree, by full path. */
  flatten(treeSha: string, prefix = "", out = new Map<string, Leaf>()): Map<string, Leaf> {
    for (const e of this.tree(treeSha) ?? []) {
      const path = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.type === "tree") this.flatten(e.sha, path, out);
      else out.set(path, { mode: e.mode, type: e.type, sha: e.sha });
    }
    return out;
  }

  /** Builds the trees for a set of leaves; returns the root tree's sha. */
  build(leaves: Map<string, Leaf>): string {
    const build = (paths: Array<[string[], Leaf]>): string => {
      const entries: TreeEntry[] = [];
      const dirs = new Map<string, Array<[string[], Leaf]>>();
      for (const [parts, leaf] of paths) {
        const [first, ...rest] = parts as [string, ...string[]];
        if (rest.length === 0) entries.push({ name: first, ...leaf });
        else dirs.set(first, [...(dirs.get(first) ?? []), [rest, leaf]]);
      }
      for (const [name, sub] of dirs)
        entries.push({ name, mode: "040000", type: "tree", sha: build(sub) });
      return this.putTree(entries);
    };
    return build([...leaves].map(([path, leaf]) => [path.split("/"), leaf]));
  }

  /** Whether `ancestor` is `sha` or one of its ancestors. */
  isAncestor(ancestor: string, sha: string): boolean {
    const seen = new Set<string>();
    const queue = [sha];
    for (let s = queue.pop(); s !== undefined; s = queue.pop()) {
      if (s === ancestor) return true;
      if (seen.has(s)) continue;
      seen.add(s);
      queue.push(...(this.commit(s)?.parents ?? []));
    }
    return false;
  }
}

/** Sets a leaf at a path, replacing a file on the way (file → directory) or a directory there. */
function setLeaf(leaves: Map<string, Leaf>, path: string, leaf: Leaf | null): void {
  const parts = path.split("/");
  for (let i = 1; i < parts.length; i++) leaves.delete(parts.slice(0, i).join("/"));
  for (const p of [...leaves.keys()]) if (p.startsWith(`${path}/`)) leaves.delete(p);
  if (leaf) leaves.set(path, leaf);
  else leaves.delete(path);
}

function validPath(path: unknown): path is string {
  return (
    typeof path === "string" &&
    path.length > 0 &&
    !path.startsWith("/") &&
    !path.endsWith("/") &&
    path.split("/").every((p) => p !== "" && p !== "." && p !== ".." && p !== ".git")
  );
}

export async function startFakeGitHubApi(options: FakeGitHubOptions = {}): Promise<FakeGitHubApi> {
  const owner = options.owner ?? "octo-org";
  const repoName = options.repo ?? "experiment";
  const defaultBranch = options.branch ?? "main";
  const token = options.token ?? "ghs_fakeWriteToken0123456789abcdef";
  const readOnlyToken = options.readOnlyToken ?? "ghs_fakeReadOnlyToken0123456789abc";
  const maxTreeEntries = options.maxTreeEntries ?? 100_000;
  const repo = new Repository();
  const requests: GitHubRequest[] = [];
  const comments = new Map<number, FakeComment[]>();
  const pullFiles = new Map<number, FakePullFile[]>();
  const pulls: FakePull[] = [];
  let nextPull = 101;
  const protectedBranches = new Set(options.protectedBranches ?? []);
  let nextCommentId = 1_000_001;
  const sockets = new Set<Socket>();
  let baseUrl = "";

  const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
  const apiBase = () => `${baseUrl}/repos/${owner}/${repoName}`;

  function send(
    res: ServerResponse,
    record: GitHubRequest,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    record.status = status;
    if (res.destroyed) return;
    if (status === 204) {
      res.writeHead(204, headers);
      res.end();
      return;
    }
    const bytes = Buffer.from(JSON.stringify(body), "utf8");
    res.writeHead(status, {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": String(bytes.length),
      "X-GitHub-Request-Id": `FAKE:${record.index}`,
      ...headers,
    });
    res.end(bytes);
  }

  /** GitHub's pagination: `per_page` (default 30, at most 100), `page` from 1, a `Link` header. */
  function paginate<T>(
    items: readonly T[],
    query: URLSearchParams,
    path: string,
  ): { page: T[]; headers: Record<string, string> } {
    const perPage = Math.min(100, Math.max(1, Number(query.get("per_page") ?? 30) || 30));
    const page = Math.max(1, Number(query.get("page") ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (p: number, rel: string) => {
      const q = new URLSearchParams(query);
      q.set("per_page", String(perPage));
      q.set("page", String(p));
      return `<${baseUrl}${path}?${q}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page > 1) links.push(link(page - 1, "prev"));
    if (page < last) links.push(link(page + 1, "next"), link(last, "last"));
    if (page > 1) links.push(link(1, "first"));
    return {
      page: items.slice((page - 1) * perPage, page * perPage),
      headers: links.length > 0 ? { Link: links.join(", ") } : {},
    };
  }

  const commentJson = (issue: number, c: FakeComment) => ({
    id: c.id,
    node_id: `IC_fake${c.id}`,
    url: `${apiBase()}/issues/comments/${c.id}`,
    html_url: `https://github.com/${owner}/${repoName}/pull/${issue}#issuecomment-${c.id}`,
    issue_url: `${apiBase()}/issues/${issue}`,
    body: c.body,
    user: { login: c.user.login, id: c.user.type === "Bot" ? 41898282 : 583231, type: c.user.type },
    created_at: c.created_at,
    updated_at: c.updated_at,
    author_association: c.user.type === "Bot" ? "NONE" : "OWNER",
  });

  function findComment(id: number): { issue: number; comment: FakeComment } | undefined {
    for (const [issue, list] of comments) {
      const comment = list.find((c) => c.id === id);
      if (comment) return { issue, comment };
    }
    return undefined;
  }

  function addComment(
    issue: number,
    body: string,
    user: FakeUser,
    createdAt = iso(repo.tick()),
  ): FakeComment {
    const c: FakeComment = {
      id: nextCommentId++,
      body,
      user,
      created_at: createdAt,
      updated_at: createdAt,
    };
    comments.set(issue, [...(comments.get(issue) ?? []), c]);
    return c;
  }

  const commitJson = (c: FakeCommit) => ({
    sha: c.sha,
    node_id: `C_fake${c.sha.slice(0, 12)}`,
    url: `${apiBase()}/git/commits/${c.sha}`,
    html_url: `https://github.com/${owner}/${repoName}/commit/${c.sha}`,
    author: c.author,
    committer: c.committer,
    tree: { sha: c.tree, url: `${apiBase()}/git/trees/${c.tree}` },
    message: c.message,
    parents: c.parents.map((p) => ({ sha: p, url: `${apiBase()}/git/commits/${p}` })),
    verification: {
      verified: c.verified,
      reason: c.verified ? "valid" : "unsigned",
      signature: null,
      payload: null,
      verified_at: c.verified ? c.committer.date : null,
    },
  });

  const treeEntryJson = (e: TreeEntry, path: string) => ({
    path,
    mode: e.mode,
    type: e.type,
    sha: e.sha,
    ...(e.type === "blob" ? { size: repo.blob(e.sha)?.length ?? 0 } : {}),
    url: `${apiBase()}/git/${e.type === "tree" ? "trees" : "blobs"}/${e.sha}`,
  });

  function listTree(treeSha: string, recursive: boolean) {
    const out: Array<ReturnType<typeof treeEntryJson>> = [];
    const walk = (sha: string, prefix: string) => {
      for (const e of repo.tree(sha) ?? []) {
        const path = prefix ? `${prefix}/${e.name}` : e.name;
        out.push(treeEntryJson(e, path));
        if (recursive && e.type === "tree") walk(e.sha, path);
      }
    };
    walk(treeSha, "");
    const truncated = recursive && out.length > maxTreeEntries;
    return {
      sha: treeSha,
      url: `${apiBase()}/git/trees/${treeSha}`,
      tree: truncated ? out.slice(0, maxTreeEntries) : out,
      truncated,
    };
  }

  function commitOnBranch(
    branch: string,
    leaves: Map<string, Leaf>,
    message: string,
    who: { name: string; email: string },
  ): string {
    const date = iso(repo.tick());
    const parent = repo.refs.get(`heads/${branch}`);
    const commit = repo.putCommit({
      tree: repo.build(leaves),
      parents: parent ? [parent] : [],
      message,
      author: { ...who, date },
      committer: { ...who, date },
      verified: false,
    });
    repo.refs.set(`heads/${branch}`, commit.sha);
    return commit.sha;
  }

  const leavesAt = (branch: string): Map<string, Leaf> => {
    const head = repo.refs.get(`heads/${branch}`);
    return head ? repo.flatten(repo.commit(head)!.tree) : new Map();
  };

  // ---- routes ------------------------------------------------------------------------------

  type Handler = (
    m: RegExpExecArray,
    ctx: { query: URLSearchParams; body: Record<string, unknown>; auth: TokenKind; path: string },
  ) => { status: number; body: unknown; headers?: Record<string, string> };

  const routes: Array<{ method: string; pattern: RegExp; handler: Handler }> = [];
  const route = (method: string, pattern: string, handler: Handler) =>
    routes.push({ method, pattern: new RegExp(`^${pattern}$`), handler });

  const notFound = () => new HttpError(404, "Not Found");
  const invalid = (message: string) => new HttpError(422, message);
  const sha40 = (value: unknown, what: string): string => {
    if (typeof value !== "string" || !/^[0-9a-f]{40}$/.test(value))
      throw invalid(`Invalid request.\n\n"${what}" is not a valid sha.`);
    return value;
  };

  route("GET", "/git/ref/(.+)", (m) => {
    const ref = m[1]!;
    const sha = repo.refs.get(ref);
    if (!sha) throw notFound();
    return {
      status: 200,
      body: {
        ref: `refs/${ref}`,
        node_id: `REF_fake`,
        url: `${apiBase()}/git/refs/${ref}`,
        object: { sha, type: "commit", url: `${apiBase()}/git/commits/${sha}` },
      },
    };
  });

  route("PATCH", "/git/refs/(.+)", (m, { body }) => {
    const ref = m[1]!;
    const current = repo.refs.get(ref);
    if (!current) throw invalid("Reference does not exist");
    if (protectedBranches.has(ref.replace(/^heads\//, "")))
      throw invalid(`Protected branch update failed for refs/${ref}.`);
    const sha = sha40(body.sha, "sha");
    if (!repo.commit(sha)) throw invalid("Object does not exist");
    if (body.force !== true && !repo.isAncestor(current, sha))
      throw invalid("Update is not a fast forward");
    repo.refs.set(ref, sha);
    return {
      status: 200,
      body: {
        ref: `refs/${ref}`,
        url: `${apiBase()}/git/refs/${ref}`,
        object: { sha, type: "commit", url: `${apiBase()}/git/commits/${sha}` },
      },
    };
  });

  route("GET", "/git/commits/([0-9a-f]{40})", (m) => {
    const c = repo.commit(m[1]!);
    if (!c) throw notFound();
    return { status: 200, body: commitJson(c) };
  });

  route("POST", "/git/commits", (_m, { body }) => {
    if (typeof body.message !== "string")
      throw invalid('Invalid request.\n\n"message" wasn\'t supplied.');
    const tree = sha40(body.tree, "tree");
    if (!repo.tree(tree)) throw invalid("Tree SHA does not exist");
    const parents = Array.isArray(body.parents) ? body.parents : [];
    for (const p of parents)
      if (!repo.commit(sha40(p, "parents")))
        throw invalid("Parent SHA does not exist or is not a commit object");
    const date = iso(repo.tick());
    const given = body.author as { name?: string; email?: string; date?: string } | undefined;
    // Without an author, GitHub uses the token's identity and signs the commit.
    const who =
      given?.name && given.email
        ? { name: given.name, email: given.email, date: given.date ?? date }
        : {
            name: "github-actions[bot]",
            email: "41898282+github-actions[bot]@users.noreply.github.com",
            date,
          };
    const commit = repo.putCommit({
      tree,
      parents: parents as string[],
      message: body.message,
      author: who,
      committer: given ? who : { name: "GitHub", email: "noreply@github.com", date },
      verified: !given,
    });
    return { status: 201, body: commitJson(commit) };
  });

  route("GET", "/git/trees/([0-9a-f]{40})", (m, { query }) => {
    const tree = repo.treeOf(m[1]!);
    if (!tree) throw notFound();
    // GitHub lists recursively whenever `recursive` is present, whatever its value.
    return { status: 200, body: listTree(tree, query.has("recursive")) };
  });

  route("POST", "/git/trees", (_m, { body }) => {
    if (!Array.isArray(body.tree)) throw invalid('Invalid request.\n\n"tree" wasn\'t supplied.');
    let leaves = new Map<string, Leaf>();
    if (body.base_tree !== undefined && body.base_tree !== null) {
      const base = repo.treeOf(sha40(body.base_tree, "base_tree"));
      if (!base) throw invalid("base_tree is not a valid tree oid");
      leaves = repo.flatten(base);
    }
    for (const raw of body.tree as Array<Record<string, unknown>>) {
      const { path, mode, type } = raw;
      if (!validPath(path)) throw invalid(`tree.path contains a malformed path component`);
      if (typeof mode !== "string" || !VALID_MODES.has(mode))
        throw invalid(`Invalid request.\n\n"${String(mode)}" is not a valid mode.`);
      if (raw.sha === null) {
        setLeaf(leaves, path, null);
        continue;
      }
      let sha: string;
      if (typeof raw.content === "string") sha = repo.putBlob(raw.content);
      else sha = sha40(raw.sha, "sha");
      if (type === "tree" || mode === "040000") {
        if (!repo.tree(sha)) throw invalid(`tree.sha ${sha} is not a valid tree`);
        setLeaf(leaves, path, null);
        for (const [sub, leaf] of repo.flatten(sha)) leaves.set(`${path}/${sub}`, leaf);
      } else if (type === "commit" || mode === "160000") {
        setLeaf(leaves, path, { mode: "160000", type: "commit", sha });
      } else {
        if (!repo.blob(sha)) throw invalid(`tree.sha ${sha} is not a valid blob`);
        setLeaf(leaves, path, { mode, type: "blob", sha });
      }
    }
    return { status: 201, body: listTree(repo.build(leaves), false) };
  });

  route("GET", "/git/blobs/([0-9a-f]{40})", (m) => {
    const data = repo.blob(m[1]!);
    if (!data) throw notFound();
    // GitHub wraps the base64 content at 60 characters.
    const content = (data.toString("base64").match(/.{1,60}/g) ?? [""]).join("\n");
    return {
      status: 200,
      body: {
        sha: m[1],
        node_id: `B_fake`,
        size: data.length,
        url: `${apiBase()}/git/blobs/${m[1]}`,
        content: data.length > 0 ? `${content}\n` : "",
        encoding: "base64",
      },
    };
  });

  route("POST", "/git/blobs", (_m, { body }) => {
    if (typeof body.content !== "string")
      throw invalid('Invalid request.\n\n"content" wasn\'t supplied.');
    const encoding = body.encoding ?? "utf-8";
    if (encoding !== "utf-8" && encoding !== "base64")
      throw invalid(`Invalid request.\n\n"${String(encoding)}" is not a valid encoding.`);
    const sha = repo.putBlob(
      encoding === "base64"
        ? Buffer.from(body.content, "base64")
        : Buffer.from(body.content, "utf8"),
    );
    return { status: 201, body: { sha, url: `${apiBase()}/git/blobs/${sha}` } };
  });

  route("GET", "/issues/(\\d+)/comments", (m, { query, path }) => {
    const issue = Number(m[1]);
    const { page, headers } = paginate(comments.get(issue) ?? [], query, path);
    return { status: 200, body: page.map((c) => commentJson(issue, c)), headers };
  });

  route("POST", "/issues/(\\d+)/comments", (m, { body }) => {
    if (typeof body.body !== "string")
      throw invalid('Invalid request.\n\n"body" wasn\'t supplied.');
    if (body.body.length > 65_536) throw invalid("Body is too long (maximum is 65536 characters)");
    const issue = Number(m[1]);
    return { status: 201, body: commentJson(issue, addComment(issue, body.body, BOT_USER)) };
  });

  route("PATCH", "/issues/comments/(\\d+)", (m, { body }) => {
    const found = findComment(Number(m[1]));
    if (!found) throw notFound();
    if (typeof body.body !== "string")
      throw invalid('Invalid request.\n\n"body" wasn\'t supplied.');
    if (body.body.length > 65_536) throw invalid("Body is too long (maximum is 65536 characters)");
    found.comment.body = body.body;
    found.comment.updated_at = iso(repo.tick());
    return { status: 200, body: commentJson(found.issue, found.comment) };
  });

  route("DELETE", "/issues/comments/(\\d+)", (m) => {
    const found = findComment(Number(m[1]));
    if (!found) throw notFound();
    comments.set(
      found.issue,
      (comments.get(found.issue) ?? []).filter((c) => c !== found.comment),
    );
    return { status: 204, body: undefined };
  });

  route("GET", "/pulls/(\\d+)/files", (m, { query, path }) => {
    const files = pullFiles.get(Number(m[1]));
    if (!files) throw notFound();
    const { page, headers } = paginate(files.slice(0, PULL_FILES_CAP), query, path);
    return {
      status: 200,
      body: page.map((f) => ({
        sha: gitBlobSha(f.filename),
        filename: f.filename,
        status: f.status,
        additions: f.status === "removed" ? 0 : 3,
        deletions: f.status === "added" ? 0 : 1,
        changes: 4,
        blob_url: `https://github.com/${owner}/${repoName}/blob/HEAD/${f.filename}`,
        ...(f.previous_filename ? { previous_filename: f.previous_filename } : {}),
      })),
      headers,
    };
  });

  route("POST", "/git/refs", (_m, { body }) => {
    const full = body.ref;
    if (typeof full !== "string" || !/^refs\/heads\/./.test(full) || full.split("/").length < 3)
      throw invalid("Reference name must start with 'refs/' and have at least two slashes.");
    const ref = full.slice("refs/".length);
    if (repo.refs.has(ref)) throw invalid("Reference already exists");
    const sha = sha40(body.sha, "sha");
    if (!repo.commit(sha)) throw invalid("Object does not exist");
    repo.refs.set(ref, sha);
    return {
      status: 201,
      body: {
        ref: full,
        url: `${apiBase()}/git/refs/${ref}`,
        object: { sha, type: "commit", url: `${apiBase()}/git/commits/${sha}` },
      },
    };
  });

  /** The commit a name stands for: a branch's head, or a commit's sha. */
  const resolveCommit = (name: unknown): string | undefined => {
    if (typeof name !== "string") return undefined;
    const head = repo.refs.get(`heads/${name}`);
    if (head) return head;
    return /^[0-9a-f]{40}$/.test(name) && repo.commit(name) ? name : undefined;
  };

  /** The nearest common ancestor of two commits (breadth first from `b`). */
  const mergeBase = (a: string, b: string): string | undefined => {
    const ofA = new Set<string>();
    for (const queue = [a]; queue.length > 0; ) {
      const s = queue.shift()!;
      if (ofA.has(s)) continue;
      ofA.add(s);
      queue.push(...(repo.commit(s)?.parents ?? []));
    }
    const seen = new Set<string>();
    for (const queue = [b]; queue.length > 0; ) {
      const s = queue.shift()!;
      if (ofA.has(s)) return s;
      if (seen.has(s)) continue;
      seen.add(s);
      queue.push(...(repo.commit(s)?.parents ?? []));
    }
    return undefined;
  };

  /**
   * A merge of `theirs` into `ours` as a merge commit on `ours`, path by path: a file changed on
   * one side only takes that side; changed on both sides differently is a conflict (GitHub merges
   * within a file too; a test that needs that writes different files).
   */
  const mergeCommits = (
    ours: string,
    theirs: string,
    message: string,
  ): { sha: string } | "up to date" | "conflict" => {
    if (repo.isAncestor(theirs, ours)) return "up to date";
    const base = mergeBase(ours, theirs);
    const leaves = (sha: string | undefined) =>
      sha ? repo.flatten(repo.commit(sha)!.tree) : new Map<string, Leaf>();
    const [b, o, t] = [leaves(base), leaves(ours), leaves(theirs)];
    const same = (x?: Leaf, y?: Leaf) => x?.sha === y?.sha && x?.mode === y?.mode;
    const out = new Map<string, Leaf>();
    for (const path of new Set([...b.keys(), ...o.keys(), ...t.keys()])) {
      const [lb, lo, lt] = [b.get(path), o.get(path), t.get(path)];
      const pick = same(lo, lt) || same(lb, lt) ? lo : same(lb, lo) ? lt : "conflict";
      if (pick === "conflict") return "conflict";
      if (pick) out.set(path, pick);
    }
    const date = iso(repo.tick());
    const who = {
      name: "github-actions[bot]",
      email: "41898282+github-actions[bot]@users.noreply.github.com",
      date,
    };
    const commit = repo.putCommit({
      tree: repo.build(out),
      parents: [ours, theirs],
      message,
      author: who,
      committer: { name: "GitHub", email: "noreply@github.com", date },
      verified: true,
    });
    return { sha: commit.sha };
  };

  route("POST", "/merges", (_m, { body }) => {
    if (typeof body.base !== "string" || !repo.refs.has(`heads/${body.base}`))
      throw new HttpError(404, "Base does not exist");
    const head = resolveCommit(body.head);
    if (!head) throw new HttpError(404, "Head does not exist");
    const ours = repo.refs.get(`heads/${body.base}`)!;
    const message =
      typeof body.commit_message === "string"
        ? body.commit_message
        : `Merge ${String(body.head)} into ${body.base}`;
    const merged = mergeCommits(ours, head, message);
    if (merged === "up to date") return { status: 204, body: undefined };
    if (merged === "conflict") throw new HttpError(409, "Merge conflict");
    repo.refs.set(`heads/${body.base}`, merged.sha);
    return { status: 201, body: commitJson(repo.commit(merged.sha)!) };
  });

  const pullJson = (p: FakePull) => {
    const headSha = p.state === "open" ? repo.refs.get(`heads/${p.head}`) : p.closedHeadSha;
    return {
      number: p.number,
      url: `${apiBase()}/pulls/${p.number}`,
      html_url: `https://github.com/${owner}/${repoName}/pull/${p.number}`,
      state: p.state,
      title: p.title,
      body: p.body,
      merged_at: p.merged ? iso(repo.tick()) : null,
      head: { ref: p.head, sha: headSha, label: `${owner}:${p.head}` },
      base: { ref: p.base, sha: repo.refs.get(`heads/${p.base}`), label: `${owner}:${p.base}` },
      user: { login: BOT_USER.login, type: BOT_USER.type },
    };
  };

  route("GET", "/pulls", (_m, { query, path }) => {
    const state = query.get("state") ?? "open";
    const head = query.get("head");
    const base = query.get("base");
    // newest first, as GitHub lists them by default
    const matching = [...pulls]
      .reverse()
      .filter(
        (p) =>
          (state === "all" || p.state === state) &&
          (!head || `${owner}:${p.head}` === head) &&
          (!base || p.base === base),
      );
    const { page, headers } = paginate(matching, query, path);
    return { status: 200, body: page.map(pullJson), headers };
  });

  route("POST", "/pulls", (_m, { body }) => {
    if (options.actionsMayOpenPullRequests === false)
      throw new HttpError(
        403,
        "GitHub Actions is not permitted to create or approve pull requests.",
      );
    const head = typeof body.head === "string" ? body.head.replace(`${owner}:`, "") : "";
    const base = typeof body.base === "string" ? body.base : "";
    if (typeof body.title !== "string" || body.title === "")
      throw invalid('Invalid request.\n\n"title" wasn\'t supplied.');
    const headSha = repo.refs.get(`heads/${head}`);
    const baseSha = repo.refs.get(`heads/${base}`);
    if (!headSha || !baseSha) throw invalid("Validation Failed (head or base does not exist)");
    if (pulls.some((p) => p.state === "open" && p.head === head && p.base === base))
      throw invalid(`Validation Failed (A pull request already exists for ${owner}:${head}.)`);
    if (repo.isAncestor(headSha, baseSha))
      throw invalid(`Validation Failed (No commits between ${base} and ${head})`);
    const pull: FakePull = {
      number: nextPull++,
      title: body.title,
      body: typeof body.body === "string" ? body.body : "",
      head,
      base,
      state: "open",
      merged: false,
    };
    pulls.push(pull);
    return { status: 201, body: pullJson(pull) };
  });

  route("PATCH", "/pulls/(\\d+)", (m, { body }) => {
    const pull = pulls.find((p) => p.number === Number(m[1]));
    if (!pull) throw notFound();
    if (typeof body.title === "string") pull.title = body.title;
    if (typeof body.body === "string") pull.body = body.body;
    return { status: 200, body: pullJson(pull) };
  });

  // ---- server ------------------------------------------------------------------------------

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = req.method ?? "GET";
    const header = /^(?:token|bearer)\s+(.+)$/i.exec(req.headers.authorization ?? "");
    const presented = header?.[1]?.trim();
    const auth: TokenKind =
      presented === undefined
        ? "none"
        : presented === token
          ? "write"
          : presented === readOnlyToken
            ? "read-only"
            : "wrong";
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      path = url.pathname;
    }
    const record: GitHubRequest = {
      index: requests.length,
      method,
      path,
      query: url.searchParams,
      auth,
      status: 0,
    };
    requests.push(record);

    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: Record<string, unknown> = {};
    if (raw) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
        record.body = body;
      } catch {
        send(res, record, 400, { message: "Problems parsing JSON", documentation_url: DOCS });
        return;
      }
    }
    await options.onRequest?.(record);
    await api.onRequest?.(record);

    if (auth === "none") {
      send(res, record, 401, {
        message: "Requires authentication",
        documentation_url: DOCS,
        status: "401",
      });
      return;
    }
    if (auth === "wrong") {
      send(res, record, 401, {
        message: "Bad credentials",
        documentation_url: DOCS,
        status: "401",
      });
      return;
    }
    const prefix = `/repos/${owner}/${repoName}`;
    if (!path.startsWith(`${prefix}/`)) {
      send(res, record, 404, { message: "Not Found", documentation_url: DOCS, status: "404" });
      return;
    }
    const rest = path.slice(prefix.length);
    const match = routes
      .filter((r) => r.method === method)
      .map((r) => ({ r, m: r.pattern.exec(rest) }))
      .find((x) => x.m !== null);
    if (!match) {
      send(res, record, 404, { message: "Not Found", documentation_url: DOCS, status: "404" });
      return;
    }
    if (method !== "GET" && auth === "read-only") {
      send(res, record, 403, {
        message: "Resource not accessible by integration",
        documentation_url: DOCS,
        status: "403",
      });
      return;
    }
    try {
      const out = match.r.handler(match.m!, {
        query: url.searchParams,
        body,
        auth,
        path: url.pathname,
      });
      send(res, record, out.status, out.body, out.headers);
    } catch (error) {
      if (error instanceof HttpError) {
        send(res, record, error.status, {
          message: error.message,
          documentation_url: DOCS,
          status: String(error.status),
        });
      } else {
        send(res, record, 500, { message: String(error) });
      }
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const api: FakeGitHubApi = {
    baseUrl,
    owner,
    repo: repoName,
    branch: defaultBranch,
    token,
    readOnlyToken,
    requests,
    onRequest: undefined,
    seed(files, message = "initial", branch = defaultBranch) {
      const leaves = new Map<string, Leaf>();
      for (const [path, value] of Object.entries(files)) {
        if (!validPath(path)) throw new Error(`bad path ${path}`);
        const leaf: Leaf =
          typeof value === "string" || value instanceof Uint8Array
            ? { mode: "100644", type: "blob", sha: repo.putBlob(value) }
            : "submodule" in value
              ? { mode: "160000", type: "commit", sha: value.submodule }
              : { mode: value.mode, type: "blob", sha: repo.putBlob(value.content) };
        setLeaf(leaves, path, leaf);
      }
      return commitOnBranch(branch, leaves, message, {
        name: "Lab Member",
        email: "lab@example.com",
      });
    },
    commitAsOther(files, message = "concurrent writer", branch = defaultBranch) {
      const leaves = leavesAt(branch);
      for (const [path, content] of Object.entries(files)) {
        if (!validPath(path)) throw new Error(`bad path ${path}`);
        setLeaf(
          leaves,
          path,
          content === null ? null : { mode: "100644", type: "blob", sha: repo.putBlob(content) },
        );
      }
      return commitOnBranch(branch, leaves, message, {
        name: "Other Writer",
        email: "other@example.com",
      });
    },
    head: (branch = defaultBranch) => repo.refs.get(`heads/${branch}`),
    commit: (sha) => repo.commit(sha),
    fileAtHead(path, branch = defaultBranch) {
      const leaf = leavesAt(branch).get(path);
      return leaf?.type === "blob" ? repo.blob(leaf.sha)?.toString("utf8") : undefined;
    },
    filesAtHead(branch = defaultBranch) {
      const out: Record<string, string> = {};
      for (const [path, leaf] of leavesAt(branch))
        if (leaf.type === "blob") out[path] = repo.blob(leaf.sha)!.toString("utf8");
      return out;
    },
    history(branch = defaultBranch) {
      const out: FakeCommit[] = [];
      for (let s = repo.refs.get(`heads/${branch}`); s; s = repo.commit(s)?.parents[0])
        out.push(repo.commit(s)!);
      return out;
    },
    seedComments(issue, list) {
      return list.map((c) => addComment(issue, c.body, c.user ?? HUMAN_USER, c.created_at));
    },
    comments: (issue) => (comments.get(issue) ?? []).map((c) => ({ ...c, user: { ...c.user } })),
    setPullRequestFiles(pull, files) {
      pullFiles.set(pull, [...files]);
    },
    pulls: () => pulls.map((p) => ({ ...p })),
    mergePullRequest(number) {
      const pull = pulls.find((p) => p.number === number && p.state === "open");
      if (!pull) throw new Error(`no open pull request #${number}`);
      const head = repo.refs.get(`heads/${pull.head}`)!;
      const merged = mergeCommits(
        repo.refs.get(`heads/${pull.base}`)!,
        head,
        `Merge pull request #${number} from ${owner}/${pull.head}`,
      );
      if (merged === "conflict") throw new Error(`pull request #${number} conflicts`);
      if (merged !== "up to date") repo.refs.set(`heads/${pull.base}`, merged.sha);
      Object.assign(pull, { state: "closed", merged: true, closedHeadSha: head });
      return repo.refs.get(`heads/${pull.base}`)!;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return api;
}
