import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { git } from "../../src/git/git.ts";
import { tempDir } from "./experiment.ts";

/**
 * Real git repositories in temp directories: a bare "remote" (what GitHub would hold), clones of
 * it (the action's checkout, a concurrent writer), and reads of the remote's branch. The machine's
 * and the user's git configuration are kept out (see isolateGitConfig), so tests see plain git.
 */

const ISOLATED: Record<string, string> = {
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_TERMINAL_PROMPT: "0",
};
const LEAKY = [
  "GIT_DIR",
  "GIT_WORK_TREE",
  "GIT_INDEX_FILE",
  "GIT_AUTHOR_NAME",
  "GIT_AUTHOR_EMAIL",
  "GIT_COMMITTER_NAME",
  "GIT_COMMITTER_EMAIL",
  "GIT_CONFIG_PARAMETERS",
  "GIT_CONFIG_COUNT",
];

/**
 * Makes every git started by this test process (the code under test included, which inherits
 * process.env) ignore system and global configuration and outer GIT_* variables. Returns a restore
 * function for afterAll.
 */
export function isolateGitConfig(): () => void {
  const saved = new Map<string, string | undefined>();
  for (const name of [...Object.keys(ISOLATED), ...LEAKY]) saved.set(name, process.env[name]);
  for (const name of LEAKY) delete process.env[name];
  Object.assign(process.env, ISOLATED);
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** Runs git in `cwd`; throws with git's output when it fails. Returns stdout. */
export async function sh(cwd: string, args: readonly string[]): Promise<string> {
  const r = await git(args, { cwd });
  if (r.code !== 0)
    throw new Error(`git ${args.join(" ")} failed (${r.code}) in ${cwd}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export interface Author {
  name: string;
  email: string;
}
export const HUMAN: Author = { name: "Test Human", email: "human@example.com" };
export const WRITER: Author = { name: "Concurrent Writer", email: "writer@example.com" };

export interface GitSandbox {
  root: string;
  /** The bare repository playing the remote, branch main. */
  bare: string;
  /** file:// URL of the bare repository. */
  url: string;
  /** The clone the code under test works in (user.name/email set to HUMAN). */
  clone: string;
  cleanup(): Promise<void>;
}

export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    const abs = join(dir, path);
    await mkdir(dirname(abs), { recursive: true });
    await writeFile(abs, text);
  }
}

/**
 * A bare remote whose main branch holds `files` (one commit, or `history` commits: the files plus
 * a HISTORY.md line each), and a clone of it with a user configured. `depth` makes the clone
 * shallow, as actions/checkout does (fetch-depth 1).
 */
export async function makeSandbox(
  options: { files?: Record<string, string>; history?: number; depth?: number } = {},
): Promise<GitSandbox> {
  const root = await tempDir("reconcile-usage-git-");
  const bare = join(root, "remote.git");
  const url = `file://${bare}`;
  await sh(root, ["init", "--quiet", "--bare", "-b", "main", bare]);
  const seed = join(root, "seed");
  await sh(root, ["init", "--quiet", "-b", "main", seed]);
  await configureUser(seed, HUMAN);
  await writeFiles(seed, options.files ?? { "README.md": "experiment\n" });
  await sh(seed, ["add", "--all"]);
  await sh(seed, ["commit", "--quiet", "-m", "initial"]);
  for (let i = 1; i < (options.history ?? 1); i++) {
    await writeFile(join(seed, "HISTORY.md"), `${"line\n".repeat(i)}`);
    await sh(seed, ["add", "--all"]);
    await sh(seed, ["commit", "--quiet", "-m", `history ${i}`]);
  }
  await sh(seed, ["push", "--quiet", url, "HEAD:refs/heads/main"]);
  await rm(seed, { recursive: true, force: true });
  const clone = await cloneOf(url, join(root, "clone"), HUMAN, options.depth);
  return { root, bare, url, clone, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export async function configureUser(dir: string, user: Author): Promise<void> {
  await sh(dir, ["config", "user.name", user.name]);
  await sh(dir, ["config", "user.email", user.email]);
}

/** A clone of `url` in `dir` with `user` configured; shallow with `depth`. */
export async function cloneOf(
  url: string,
  dir: string,
  user: Author,
  depth?: number,
): Promise<string> {
  await sh(dirname(dir), [
    "clone",
    "--quiet",
    ...(depth ? ["--depth", String(depth)] : []),
    url,
    dir,
  ]);
  await configureUser(dir, user);
  return dir;
}

/**
 * Another writer: a separate clone that brings itself up to date, lets `edit` change its files,
 * then commits everything and pushes to main.
 */
export async function writerPush(
  sandbox: GitSandbox,
  edit: (dir: string) => Promise<void>,
  message = "concurrent writer",
): Promise<string> {
  const dir = join(sandbox.root, "writer");
  const exists = await sh(sandbox.root, ["-C", dir, "rev-parse", "--git-dir"]).then(
    () => true,
    () => false,
  );
  if (!exists) await cloneOf(sandbox.url, dir, WRITER);
  await sh(dir, ["fetch", "--quiet", "origin", "main"]);
  await sh(dir, ["reset", "--quiet", "--hard", "FETCH_HEAD"]);
  await edit(dir);
  await sh(dir, ["add", "--all"]);
  await sh(dir, ["commit", "--quiet", "-m", message]);
  await sh(dir, ["push", "--quiet", "origin", "HEAD:refs/heads/main"]);
  return (await sh(dir, ["rev-parse", "HEAD"])).trim();
}

/** A file's text on the remote's `branch` (default main), or undefined when it is not there. */
export async function remoteFile(
  bare: string,
  path: string,
  branch = "main",
): Promise<string | undefined> {
  const r = await git(["--git-dir", bare, "show", `${branch}:${path}`], { cwd: dirname(bare) });
  return r.code === 0 ? r.stdout : undefined;
}

/** The remote branch's head commit, or undefined when the branch does not exist. */
export async function remoteHead(bare: string, branch = "main"): Promise<string | undefined> {
  const r = await git(
    ["--git-dir", bare, "rev-parse", "--verify", "--quiet", `refs/heads/${branch}`],
    {
      cwd: dirname(bare),
    },
  );
  return r.code === 0 ? r.stdout.trim() : undefined;
}

export interface CommitInfo {
  sha: string;
  author: string;
  committer: string;
  subject: string;
  body: string;
  files: string[];
}

/** A commit on the remote (default: the head of main) with its author, committer, message and files. */
export async function remoteCommit(bare: string, rev = "main"): Promise<CommitInfo> {
  const cwd = dirname(bare);
  const shown = await sh(cwd, [
    "--git-dir",
    bare,
    "show",
    "--no-patch",
    "--format=%H%x00%an <%ae>%x00%cn <%ce>%x00%s%x00%b",
    rev,
  ]);
  const [sha = "", author = "", committer = "", subject = "", body = ""] = shown.split("\0");
  const files = (
    await sh(cwd, [
      "--git-dir",
      bare,
      "diff-tree",
      "--no-commit-id",
      "--name-only",
      "-r",
      "--root",
      rev,
    ])
  )
    .split("\n")
    .filter(Boolean);
  return { sha, author, committer, subject, body: body.trim(), files };
}

/** Subjects of the remote branch's commits, newest first. */
export async function remoteSubjects(bare: string, branch = "main"): Promise<string[]> {
  const out = await sh(dirname(bare), ["--git-dir", bare, "log", "--format=%s", branch]);
  return out.split("\n").filter(Boolean);
}

/** Installs a pre-receive hook in the bare remote that prints `message` and refuses every push. */
export async function rejectPushes(bare: string, message: string): Promise<void> {
  const hook = join(bare, "hooks", "pre-receive");
  await writeFile(hook, `#!/bin/sh\necho ${shellQuote(message)} >&2\nexit 1\n`);
  await chmod(hook, 0o755);
}

const shellQuote = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;

export const readText = (path: string): Promise<string> => readFile(path, "utf8");
