import { DeliveryError } from "../errors.ts";
import { type ApiFiles, apiFiles } from "../github/api-files.ts";
import { apiMessage, type GitHub, httpStatus } from "../github/octokit.ts";
import { redact } from "../util/redact.ts";
import { commitViaApi } from "./github-api.ts";
import type { PublishOptions } from "./publish.ts";

/**
 * `commit: pull-request` (docs/design.md#delivery): for a branch that takes no direct pushes (a
 * protected branch), every pass commits to one branch of its own, `reconcile-usage/<base>`, and
 * keeps one pull request from it open. Before the pass reads anything the branch is brought up
 * to date (created on the base's head, GitHub's merge of the base into it, or started again once
 * its pull request was merged or closed), and the pass reads its files from the branch's head,
 * so readings not yet merged count. The commit goes through the API with the same retry loop as
 * `commit: api` (publish.ts); the pull request is opened after the first commit.
 */

export interface PullRequestTarget {
  github: GitHub;
  owner: string;
  repo: string;
  /** The branch the pull request goes into: the one the pass started from. */
  base: string;
  /** The branch every pass commits to. */
  branch: string;
  /** Absolute path of the checkout (a checkout of `base`): unchanged files are read from it. */
  workspace: string;
  secrets?: string[];
  log?: (line: string) => void;
}

/** The branch every pass of `base` commits to. */
export const pullRequestBranch = (base: string): string => `reconcile-usage/${base}`;

export interface OpenPull {
  number: number;
  url: string;
}

/** What the branch looked like before the pass, and the files the pass reads. */
export interface PreparedBranch {
  /** The branch's head the pass reads. */
  head: string;
  files: ApiFiles;
  /** Its open pull request, if there is one. */
  pull?: OpenPull;
}

const TITLE = (base: string) => `reconcile-usage: usage readings for ${base}`;
const BODY = (base: string, branch: string) =>
  [
    `Every reconciliation pass of reconcile-usage adds its readings of the OpenAI Usage API to the branch \`${branch}\` and so to this pull request, because \`${base}\` takes no direct pushes (\`commit: pull-request\`).`,
    "",
    `Merge it whenever you like: the next pass starts the branch again from \`${base}\` and opens a new pull request. Until it is merged, \`${base}\` does not show these readings; the passes count them all the same.`,
    "",
    "Closing it without merging discards the readings it holds (the runs are read again).",
  ].join("\n");

/** The refusal of an API call as one line that says who must do what. */
function refusal(o: PullRequestTarget, what: string, error: unknown): string {
  const status = httpStatus(error);
  const said = apiMessage(error);
  const hint =
    status === 401
      ? ": the token is not valid (github-token)"
      : status === 403 && /not permitted to create or approve pull requests/i.test(said)
        ? ": allow it under Settings → Actions → General (“Allow GitHub Actions to create and approve pull requests”)"
        : status === 403
          ? ": the token may not do this (the workflow needs `permissions: contents: write` and `pull-requests: write`)"
          : "";
  return redact(
    `GitHub API: ${what} for ${o.owner}/${o.repo} failed (${status ? `HTTP ${status}: ` : ""}${said})${hint}`,
    o.secrets ?? [],
  );
}

async function call<T>(o: PullRequestTarget, what: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw new DeliveryError(refusal(o, what, error));
  }
}

async function branchHead(o: PullRequestTarget, branch: string): Promise<string | undefined> {
  try {
    const { data } = await o.github.rest.git.getRef({
      owner: o.owner,
      repo: o.repo,
      ref: `heads/${branch}`,
    });
    return data.object.sha;
  } catch (error) {
    if (httpStatus(error) === 404) return undefined;
    throw new DeliveryError(refusal(o, `reading branch ${branch}`, error));
  }
}

/**
 * The newest pull request from the branch into the base, open or not (GitHub lists newest first):
 * an open one is the one to update; a closed one whose last head is the branch's head means the
 * branch was merged (or given up), and the next readings start again from the base.
 */
async function latestPull(o: PullRequestTarget) {
  const { data } = await call(o, `listing the pull requests from ${o.branch}`, () =>
    o.github.rest.pulls.list({
      owner: o.owner,
      repo: o.repo,
      head: `${o.owner}:${o.branch}`,
      base: o.base,
      state: "all",
      per_page: 10,
    }),
  );
  return data[0];
}

/** Brings the branch up to date with the base before the pass reads it (see the file's comment). */
export async function prepareBranch(o: PullRequestTarget): Promise<PreparedBranch> {
  const { owner, repo, base, branch } = o;
  const log = (line: string) => o.log?.(redact(line, o.secrets ?? []));
  const baseHead = await branchHead(o, base);
  if (!baseHead)
    throw new DeliveryError(
      `GitHub API: branch ${base} of ${owner}/${repo} was not found, or the token cannot see it`,
    );
  let head = await branchHead(o, branch);
  let pull: OpenPull | undefined;
  if (!head) {
    await call(o, `creating branch ${branch}`, () =>
      o.github.rest.git.createRef({ owner, repo, ref: `refs/heads/${branch}`, sha: baseHead }),
    );
    head = baseHead;
    log(`created branch ${branch} on ${base} (${baseHead.slice(0, 12)})`);
  } else {
    const latest = await latestPull(o);
    if (latest && latest.state !== "open" && latest.head.sha === head) {
      // its pull request was merged or closed: start again from the base
      await call(o, `resetting branch ${branch} to ${base}`, () =>
        o.github.rest.git.updateRef({
          owner,
          repo,
          ref: `heads/${branch}`,
          sha: baseHead,
          force: true,
        }),
      );
      log(
        `pull request #${latest.number} was ${latest.merged_at ? "merged" : "closed"}: branch ${branch} starts again from ${base} (${baseHead.slice(0, 12)})`,
      );
      head = baseHead;
    } else {
      if (latest?.state === "open") pull = { number: latest.number, url: latest.html_url };
      head = await mergeBase(o, head, pull);
    }
  }
  const files = await call(o, `reading the files of ${branch}`, () =>
    apiFiles({ github: o.github, owner, repo, sha: head, workspace: o.workspace }),
  );
  return { head, files, pull };
}

/** GitHub's merge of the base into the branch, so that runs added to the base are read too. */
async function mergeBase(o: PullRequestTarget, head: string, pull?: OpenPull): Promise<string> {
  try {
    const merged = await o.github.rest.repos.merge({
      owner: o.owner,
      repo: o.repo,
      base: o.branch,
      head: o.base,
      commit_message: `reconcile-usage: merge ${o.base} into ${o.branch}`,
    });
    if (merged.status === 201 && merged.data.sha) {
      o.log?.(`merged ${o.base} into ${o.branch} (${merged.data.sha.slice(0, 12)})`);
      return merged.data.sha;
    }
    return head;
  } catch (error) {
    if (httpStatus(error) === 409)
      throw new DeliveryError(
        redact(
          `branch ${o.branch} conflicts with ${o.base}, and GitHub cannot merge ${o.base} into it: resolve the conflict${pull ? ` in pull request #${pull.number}` : ` on ${o.branch}`}, or close the pull request (the next pass then starts the branch again from ${o.base})`,
          o.secrets ?? [],
        ),
      );
    throw new DeliveryError(refusal(o, `merging ${o.base} into ${o.branch}`, error));
  }
}

/** Opens the branch's pull request once it has a commit of the pass's. */
export async function openPullRequest(o: PullRequestTarget): Promise<OpenPull> {
  const { data } = await call(o, `opening a pull request into ${o.base}`, () =>
    o.github.rest.pulls.create({
      owner: o.owner,
      repo: o.repo,
      head: o.branch,
      base: o.base,
      title: TITLE(o.base),
      body: BODY(o.base, o.branch),
    }),
  );
  return { number: data.number, url: data.html_url };
}

/**
 * Commits the pass's updates to the branch (the one retry loop, on the branch's head), then
 * opens its pull request when none is open.
 */
export async function commitToPullRequest(
  o: PullRequestTarget & PublishOptions & { pull?: OpenPull },
): Promise<{ sha: string | null; pull?: OpenPull }> {
  const result = await commitViaApi(o);
  if (result.sha === null) return { sha: null, pull: o.pull };
  let pull = o.pull;
  if (!pull) {
    try {
      pull = await openPullRequest(o);
    } catch (error) {
      throw new DeliveryError(
        `committed ${result.sha.slice(0, 12)} to ${o.branch}, but ${error instanceof Error ? error.message : String(error)}`,
        result.attempts,
      );
    }
    o.log?.(`opened pull request #${pull.number} from ${o.branch} into ${o.base}: ${pull.url}`);
  } else o.log?.(`pull request #${pull.number} updated: ${pull.url}`);
  return { sha: result.sha, pull };
}
