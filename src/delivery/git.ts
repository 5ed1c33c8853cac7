import { mkdir, readFile } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { DeliveryError } from "../errors.ts";
import { nodeFiles } from "../fs/node.ts";
import { type GitResult, git } from "../git/git.ts";
import { redact } from "../util/redact.ts";
import {
  type Head,
  type Publisher,
  type PublishOptions,
  type PublishResult,
  publishWithRetries,
} from "./publish.ts";

/**
 * `commit: git` (docs/design.md#delivery): one commit per pass by github-actions[bot], pushed with
 * the checkout's credentials. A push another writer beat is retried by the one loop
 * (publish.ts): here only how to read the head, stage, commit, push, and move to the new head
 * (fetch, then reset to it, so the caller re-reads the files another writer changed).
 */

export const BOT_AUTHOR = {
  name: "github-actions[bot]",
  email: "41898282+github-actions[bot]@users.noreply.github.com",
} as const;

/** Where `commit: git` commits and pushes. */
export interface GitTarget {
  repoDir: string;
  /** Author and committer; default BOT_AUTHOR. */
  author?: { name: string; email: string };
  /** Default "origin". */
  remote?: string;
  /** Branch to push to; default the checked-out branch (a detached HEAD needs it given). */
  branch?: string;
  /** Secrets to redact from any git output that reaches an error or a log (e.g. a token in a remote URL). */
  secrets?: string[];
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

/**
 * The git steps of the loop, for a checkout at `repoDir`: checks first that HEAD is a commit on a
 * branch it may push to, so nothing is computed for a push that cannot happen.
 */
export async function gitPublisher(options: GitTarget): Promise<Publisher<Head, string[]>> {
  const repoDir = resolve(options.repoDir);
  const remote = options.remote ?? "origin";
  const author = options.author ?? BOT_AUTHOR;
  const secrets = options.secrets ?? [];
  // Everything that leaves here goes through clean(): git's output, and the remote too (it may
  // be a URL with a token in it).
  const clean = (text: string) => redactGitOutput(text, secrets);

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
      throw new DeliveryError(clean(`${what} failed in ${repoDir}: ${gitSays(result)}`));
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
    throw new DeliveryError(`branch: "${branch}" is not a valid branch name`);
  const target = `HEAD:refs/heads/${branch}`;
  const where = `${remote}/${branch}`;

  return {
    target: where,
    tries: "push(es)",
    tryName: `git push to ${where}`,
    lostName: `push to ${where}`,
    clean,
    async readHead() {
      return {
        sha: (await must(["rev-parse", "HEAD"], "reading HEAD")).stdout.trim(),
        files: nodeFiles,
      };
    },

    /** Writes the updates and stages them; the paths whose content differs from HEAD. */
    async stage(_head, updates) {
      const byPath = new Map<string, { abs: string; after: string }>();
      for (const u of updates) {
        const abs = resolve(repoDir, u.path);
        const rel = relative(repoDir, abs);
        if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel))
          throw new DeliveryError(clean(`${u.path} is not inside the repository ${repoDir}`));
        const posix = rel.split(sep).join("/");
        if (posix.split("/")[0] === ".git")
          throw new DeliveryError(clean(`${u.path} is inside the .git directory`));
        const earlier = byPath.get(posix);
        if (earlier && earlier.after !== u.after)
          throw new DeliveryError(clean(`${posix} is given twice with different content`));
        byPath.set(posix, { abs, after: u.after });
      }
      if (byPath.size === 0) return { paths: [], staged: [] };
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
      // Staged differences from HEAD, kept to our paths: other staged changes are not ours to
      // commit. (--relative: paths relative to repoDir, should it be a subdirectory of the work tree.)
      const diff = await must(
        ["diff", "--cached", "--relative", "--name-only", "--no-renames", "-z", "HEAD"],
        "git diff",
      );
      const paths = diff.stdout.split("\0").filter((p) => p && byPath.has(p));
      return { paths, staged: paths };
    },

    async commit(_head, paths, message) {
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
    },

    async publish(_head, _sha, attempts) {
      const push = await run(["push", "--porcelain", "--no-verify", remote, target]);
      if (push.code === 0) return "published";
      const reason = outdatedReason(push);
      if (reason === undefined)
        throw new DeliveryError(
          clean(`git push to ${where} was refused (not retried): ${gitSays(push)}`),
          attempts,
        );
      return { lost: reason };
    },

    published: (sha, paths, attempts) =>
      `pushed ${sha.slice(0, 12)} (${paths.length} file${paths.length === 1 ? "" : "s"}) to ${where}${attempts > 1 ? ` on attempt ${attempts}` : ""}`,

    async advance(head, attempts) {
      await must(
        ["fetch", "--quiet", "--no-tags", remote, `refs/heads/${branch}`],
        `git fetch ${remote} ${branch}`,
      );
      // Resetting drops our commit and whatever else HEAD held beyond the head this pass was
      // applied on; HEAD held nothing else only if that head is part of the new one. Otherwise
      // (local commits that were never pushed, or a rewritten branch) stop rather than throw
      // someone's commits away.
      const contained = await run(["merge-base", "--is-ancestor", head.sha, "FETCH_HEAD"]);
      if (contained.code !== 0) {
        throw new DeliveryError(
          clean(
            `${where} does not contain ${head.sha.slice(0, 12)}, the commit this pass was applied on (local commits that were never pushed, or the branch was rewritten); not resetting onto it`,
          ),
          attempts,
        );
      }
      await must(["reset", "--hard", "--quiet", "FETCH_HEAD"], "git reset onto the fetched head");
    },
  };
}

/**
 * Commits the pass's updates and pushes them, retrying on the new head when the branch moved;
 * `computeChanges` is given the working tree's files (reset to the new head after a lost push).
 */
export async function commitAndPush(options: PublishOptions & GitTarget): Promise<PublishResult> {
  return publishWithRetries(await gitPublisher(options), options);
}

async function checkedOutBranch(
  repoDir: string,
  run: (args: string[]) => Promise<GitResult>,
): Promise<string> {
  const ref = await run(["symbolic-ref", "--quiet", "--short", "HEAD"]);
  if (ref.code === 0 && ref.stdout.trim()) return ref.stdout.trim();
  throw new DeliveryError(
    `cannot tell which branch to push to: HEAD in ${repoDir} is detached (actions/checkout of a pull request, a tag or a commit does this); check out a branch, or give the branch to push to`,
  );
}
