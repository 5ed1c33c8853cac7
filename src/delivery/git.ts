import { mkdir, readFile } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { nodeFiles } from "../fs/node.ts";
import { redact } from "../util/redact.ts";
import { type GitResult, git } from "./git.ts";

/**
 * `commit: git` (SPEC §9): one commit per pass by github-actions[bot], pushed with the checkout's
 * credentials. A push another writer beat is retried on the new head: fetch, reset to it, let the
 * caller recompute its updates from the files as they are there (so the other writer's changes
 * are kept and ours land on top), commit again, push again — with backoff, a bounded number of
 * times.
 */

export const BOT_AUTHOR = {
  name: "github-actions[bot]",
  email: "41898282+github-actions[bot]@users.noreply.github.com",
} as const;

export interface FileUpdate {
  /** Absolute, inside repoDir. */
  path: string;
  /** The file's new full text. */
  after: string;
}

export interface GitCommitOptions {
  repoDir: string;
  /**
   * This pass's updates computed from the working tree as it is now. Called once, then again after
   * each rejected push, once the tree has been reset to the new remote head (so it re-reads files
   * another writer changed).
   */
  computeChanges: () => Promise<FileUpdate[]>;
  /** The commit message for the files that changed (paths relative to repoDir, `/`-separated). */
  message: (paths: string[]) => string;
  /** Author and committer; default BOT_AUTHOR. */
  author?: { name: string; email: string };
  /** Default "origin". */
  remote?: string;
  /** Branch to push to; default the checked-out branch (a detached HEAD needs it given). */
  branch?: string;
  /** Push attempts, the first included; default 5. */
  maxAttempts?: number;
  /** Pause before retry number `attempt` + 1, after push `attempt` was rejected; default defaultBackoffMs. */
  backoffMs?: (attempt: number) => number;
  sleep?: (ms: number) => Promise<void>;
  /** Test seam and hook: runs before every push attempt (1, 2, …). */
  beforePush?: (attempt: number) => Promise<void>;
  log?: (line: string) => void;
  /** Secrets to redact from any git output that reaches an error or a log (e.g. a token in a remote URL). */
  secrets?: string[];
}

export interface GitCommitResult {
  /** The pushed commit; null when nothing changed (then nothing was committed). */
  sha: string | null;
  /** Push attempts made. */
  attempts: number;
  /** Relative paths committed (`/`-separated, git's order); empty when nothing changed. */
  files: string[];
}

/** Git could not do what a commit needs (not a repository, detached HEAD, a failed add/commit/fetch…). */
export class GitCommitError extends Error {
  override name = "GitCommitError";
}

/**
 * The push failed: rejected by the remote for a reason a retry cannot fix (a hook, permissions,
 * authentication…), or still rejected as out of date after every attempt.
 */
export class GitPushError extends GitCommitError {
  override name = "GitPushError";
  /** Push attempts made. */
  readonly attempts: number;
  constructor(message: string, attempts: number) {
    super(message);
    this.attempts = attempts;
  }
}

/**
 * Removes credentials from git output: the given secrets, anything shaped like a GitHub token
 * (`ghs_…`, `ghp_…`, `github_pat_…`) or an OpenAI key, the user:password part of a URL, and the
 * value of an Authorization header (actions/checkout keeps the token in `http.extraheader`).
 */
export function redactGitOutput(text: string, secrets: readonly string[] = []): string {
  return redact(text, secrets)
    .replace(/(\/\/)[^/@\s]+@/g, "$1***@")
    .replace(/x-access-token:[^@\s]+/gi, "x-access-token:***")
    .replace(/\b(gh[opsur]_|github_pat_)[A-Za-z0-9_]+/g, "$1***")
    .replace(/(authorization:\s*(?:basic|bearer|token)\s+)[^\s'"]+/gi, "$1***");
}

/** 1 s, 2 s, 4 s… (capped at 30 s), each ±50 % so that writers that collided do not collide again. */
export function defaultBackoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.5 + random()));
}

/** Push results worth a retry: the branch moved under us (or moved while the server updated it). */
const OUTDATED = /\[rejected\]\s*\((non-fast-forward|fetch first|stale info)\)/;
const RACED = /\[remote rejected\]\s*\(([^)]*(?:cannot lock ref|incorrect old value)[^)]*)\)/;
/** Newer git reports the same race as `(failed to update ref)`, the reason on a `remote:` line. */
const FAILED_UPDATE = /\[remote rejected\]\s*\(failed to update ref\)/;
const LOCK_MOVED = /cannot lock ref '[^']*': is at [0-9a-f]+ but expected [0-9a-f]+/;

function outdatedReason(push: GitResult): string | undefined {
  const text = `${push.stdout}\n${push.stderr}`;
  return (
    OUTDATED.exec(text)?.[1] ??
    RACED.exec(text)?.[1] ??
    (FAILED_UPDATE.test(text) ? LOCK_MOVED.exec(text)?.[0] : undefined)
  );
}

/** git's own explanation, without its advice lines, shortened for a log or an error. */
function gitSays(result: GitResult): string {
  const text = [result.stdout, result.stderr]
    .join("\n")
    .split("\n")
    .map((l) => l.trimEnd())
    // a porcelain push line, `!<TAB>HEAD:refs/heads/main<TAB>[rejected] (reason)`: keep the verdict
    .map((l) => (l.startsWith("!\t") ? (l.split("\t")[2] ?? l) : l))
    .filter((l) => l && !l.startsWith("hint:") && l !== "Done" && !l.startsWith("To "))
    .join("\n");
  return text.length > 4000 ? `${text.slice(0, 4000)}…` : text;
}

export async function commitAndPush(options: GitCommitOptions): Promise<GitCommitResult> {
  const repoDir = resolve(options.repoDir);
  const remote = options.remote ?? "origin";
  const author = options.author ?? BOT_AUTHOR;
  const maxAttempts = options.maxAttempts ?? 5;
  const backoffMs = options.backoffMs ?? ((attempt: number) => defaultBackoffMs(attempt));
  const sleep = options.sleep ?? ((ms: number) => delay(ms).then(() => undefined));
  const secrets = options.secrets ?? [];
  // Everything that leaves this function goes through clean(): git's output, and the remote too
  // (it may be a URL with a token in it).
  const clean = (text: string) => redactGitOutput(text, secrets);
  const log = (line: string) => options.log?.(clean(line));
  const pushError = (message: string, attempts: number) =>
    new GitPushError(clean(message), attempts);

  if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw new GitCommitError(`maxAttempts: expected a whole number ≥ 1, got ${maxAttempts}`);

  const run = (args: string[], input?: string, env?: Record<string, string>) =>
    git(args, { cwd: repoDir, input, env });
  const must = async (
    args: string[],
    what: string,
    input?: string,
    env?: Record<string, string>,
  ): Promise<GitResult> => {
    const result = await run(args, input, env);
    if (result.code !== 0)
      throw new GitCommitError(clean(`${what} failed in ${repoDir}: ${gitSays(result)}`));
    return result;
  };

  await must(
    ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
    "finding the checked-out commit",
  );
  const branch = options.branch ?? (await checkedOutBranch(repoDir, run));
  if (
    branch.startsWith("-") ||
    (await run(["check-ref-format", `refs/heads/${branch}`])).code !== 0
  )
    throw new GitCommitError(`branch: "${branch}" is not a valid branch name`);
  const target = `HEAD:refs/heads/${branch}`;

  /** Writes the updates and stages them; returns the paths whose content differs from HEAD. */
  async function stage(updates: readonly FileUpdate[]): Promise<string[]> {
    const byPath = new Map<string, { abs: string; after: string }>();
    for (const u of updates) {
      const abs = resolve(repoDir, u.path);
      const rel = relative(repoDir, abs);
      if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel))
        throw new GitCommitError(`${u.path} is not inside the repository ${repoDir}`);
      const posix = rel.split(sep).join("/");
      if (posix.split("/")[0] === ".git")
        throw new GitCommitError(`${u.path} is inside the .git directory`);
      const earlier = byPath.get(posix);
      if (earlier && earlier.after !== u.after)
        throw new GitCommitError(`${posix} is given twice with different content`);
      byPath.set(posix, { abs, after: u.after });
    }
    if (byPath.size === 0) return [];
    for (const { abs, after } of byPath.values()) {
      const current = await readFile(abs, "utf8").catch(() => undefined);
      if (current === after) continue;
      await mkdir(dirname(abs), { recursive: true });
      await nodeFiles.writeAtomic(abs, after);
    }
    const pathspecs = `${[...byPath.keys()].join("\0")}\0`;
    await must(
      ["--literal-pathspecs", "add", "--pathspec-from-file=-", "--pathspec-file-nul"],
      "git add",
      pathspecs,
    );
    // Staged differences from HEAD, kept to our paths: other staged changes are not ours to commit.
    // (--relative: paths relative to repoDir, should it be a subdirectory of the work tree.)
    const diff = await must(
      ["diff", "--cached", "--relative", "--name-only", "--no-renames", "-z", "HEAD"],
      "git diff",
    );
    return diff.stdout.split("\0").filter((p) => p && byPath.has(p));
  }

  async function commit(paths: readonly string[]): Promise<string> {
    const message = options.message([...paths]);
    await must(
      [
        "-c",
        `user.name=${author.name}`,
        "-c",
        `user.email=${author.email}`,
        "-c",
        "commit.gpgsign=false",
        "--literal-pathspecs",
        "commit",
        "--quiet",
        "--no-verify",
        "--cleanup=whitespace",
        "-m",
        message,
        "--only",
        "--pathspec-from-file=-",
        "--pathspec-file-nul",
      ],
      "git commit",
      `${paths.join("\0")}\0`,
      // The -c flags set user.name/email; these win over them and over any GIT_* already set.
      {
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_COMMITTER_NAME: author.name,
        GIT_COMMITTER_EMAIL: author.email,
      },
    );
    return (await must(["rev-parse", "HEAD"], "reading the new commit")).stdout.trim();
  }

  let attempts = 0;
  let updates = await options.computeChanges();
  for (;;) {
    const base = (await must(["rev-parse", "HEAD"], "reading HEAD")).stdout.trim();
    const files = await stage(updates);
    if (files.length === 0) {
      log(
        attempts === 0
          ? "nothing changed: no commit"
          : `nothing left to commit on ${remote}/${branch} after ${attempts} rejected push(es): another writer already made these changes`,
      );
      return { sha: null, attempts, files: [] };
    }
    const sha = await commit(files);
    attempts++;
    await options.beforePush?.(attempts);
    const push = await run(["push", "--porcelain", "--no-verify", remote, target]);
    if (push.code === 0) {
      log(
        `pushed ${sha.slice(0, 12)} (${files.length} file${files.length === 1 ? "" : "s"}) to ${remote}/${branch}${attempts > 1 ? ` on attempt ${attempts}` : ""}`,
      );
      return { sha, attempts, files };
    }
    const reason = outdatedReason(push);
    if (reason === undefined) {
      throw pushError(
        `git push to ${remote}/${branch} was refused (not retried): ${gitSays(push)}`,
        attempts,
      );
    }
    if (attempts >= maxAttempts) {
      throw pushError(
        `git push to ${remote}/${branch} was rejected ${attempts} times (${reason}): other writers kept updating the branch; gave up after ${attempts} attempts`,
        attempts,
      );
    }
    const wait = Math.max(0, Math.round(backoffMs(attempts)));
    log(
      `push to ${remote}/${branch} rejected (${reason}); re-applying this pass on the new head in ${(wait / 1000).toFixed(1)} s (attempt ${attempts + 1} of ${maxAttempts})`,
    );
    await sleep(wait);
    await must(
      ["fetch", "--quiet", "--no-tags", remote, `refs/heads/${branch}`],
      `git fetch ${remote} ${branch}`,
    );
    // Resetting drops our commit and whatever else HEAD held beyond `base`; HEAD held nothing else
    // only if `base` is part of the new head. Otherwise (local commits that were never pushed, or
    // a rewritten branch) stop rather than throw someone's commits away.
    const contained = await run(["merge-base", "--is-ancestor", base, "FETCH_HEAD"]);
    if (contained.code !== 0) {
      throw pushError(
        `${remote}/${branch} does not contain ${base.slice(0, 12)}, the commit this pass was applied on (local commits that were never pushed, or the branch was rewritten); not resetting onto it`,
        attempts,
      );
    }
    await must(["reset", "--hard", "--quiet", "FETCH_HEAD"], "git reset onto the fetched head");
    updates = await options.computeChanges();
  }
}

async function checkedOutBranch(
  repoDir: string,
  run: (args: string[]) => Promise<GitResult>,
): Promise<string> {
  const ref = await run(["symbolic-ref", "--quiet", "--short", "HEAD"]);
  if (ref.code === 0 && ref.stdout.trim()) return ref.stdout.trim();
  throw new GitCommitError(
    `cannot tell which branch to push to: HEAD in ${repoDir} is detached (actions/checkout of a pull request, a tag or a commit does this); check out a branch, or give the branch to push to`,
  );
}
