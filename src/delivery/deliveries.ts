import { nodeFiles } from "../fs/node.ts";
import type { Files } from "../fs/types.ts";
import { beginWriting, type WritingSession } from "../fs/writing.ts";
import type { GitHub } from "../github/octokit.ts";
import type { Applied } from "../reconcile/apply.ts";
import type { Delivery, PassToDeliver } from "../reconcile/delivery.ts";
import { commitAndPush } from "./git.ts";
import { commitViaApi } from "./github-api.ts";
import { passCommitMessage } from "./message.ts";
import type { FileUpdate } from "./publish.ts";
import {
  commitToPullRequest,
  type PreparedBranch,
  type PullRequestTarget,
  prepareBranch,
  pullRequestBranch,
} from "./pull-request.ts";
import { type ChangeWriter, changeWriter } from "./write.ts";

/**
 * The four ways a pass's changes leave it (docs/design.md#delivery): written into the workspace,
 * pushed with git, committed through the GitHub API, or committed through the API to a branch of
 * their own with a pull request. Every way re-applies the pass on the files it lands on
 * (`reapply`), so a change another process made meanwhile is kept and ours go on top.
 */

/** Takes the runs directory's lock in begin() and gives it back in end(). */
function locking(runsDir: string, tool: string) {
  let session: WritingSession | undefined;
  return {
    async begin(): Promise<string[]> {
      session = await beginWriting(runsDir, tool);
      return session.notes;
    },
    async end(): Promise<void> {
      await session?.end();
      session = undefined;
    },
  };
}

/**
 * Writes the changes into the runs directory (`commit: none`, the CLI): one pass at a time, each
 * file re-read before it is replaced; a file that cannot be written makes its run `error`. The
 * changes are written as the pass makes them (its sink), so their texts are never all held.
 */
export function workspaceDelivery(o: { runsDir: string; tool: string; files?: Files }): Delivery {
  const files = o.files ?? nodeFiles;
  const lock = locking(o.runsDir, o.tool);
  let writer: ChangeWriter | undefined;
  return {
    begin: lock.begin,
    sink: () => {
      writer = changeWriter(files);
      return writer;
    },
    async deliver(pass) {
      const w = writer ?? changeWriter(files);
      writer = undefined;
      for (const c of pass.changes) await w.put(c);
      await w.finish({ report: pass.report, reapply: () => pass.reapply(files) });
      return { sha: null };
    },
    async end() {
      // a pass that failed half-way may still be writing: no write outlives the lock
      await writer?.settle();
      writer = undefined;
      await lock.end();
    },
  };
}

/** What a commit needs beyond the pass: its message and where its words may not leak. */
export interface CommitSettings {
  /** The user's message, `{summary}` standing for the counts; empty for the default one. */
  template?: string;
  secrets: string[];
  log: (line: string) => void;
  /** The loop's bound and test seams (publish.ts). */
  maxAttempts?: number;
  backoffMs?: (attempt: number) => number;
  beforePublish?: (attempt: number) => Promise<void>;
}

/** The loop's settings every committing delivery hands on unchanged. */
const loopSettings = (c: CommitSettings) => ({
  secrets: c.secrets,
  log: c.log,
  maxAttempts: c.maxAttempts,
  backoffMs: c.backoffMs,
  beforePublish: c.beforePublish,
});

/** The pass re-applied on the files a commit is built on, and the message for what changed. */
function commitBody(pass: PassToDeliver, c: CommitSettings) {
  let latest: Applied | undefined;
  return {
    computeChanges: async (files: Files): Promise<FileUpdate[]> => {
      latest = await pass.reapply(files);
      // a file another process changed while this was computed is left for the next pass
      return latest.changes.flatMap((ch) =>
        ch.after === null ? [] : [{ path: ch.path, after: ch.after }],
      );
    },
    message: (paths: string[]) =>
      passCommitMessage(
        (latest?.runs ?? pass.report.runs).filter((r) => r.changed),
        paths.length,
        c.template,
        c.secrets,
      ),
  };
}

/** `commit: git`: one commit pushed with the checkout's credentials; the workspace is written too. */
export function gitDelivery(
  o: { repoDir: string; runsDir: string; tool: string; branch?: string } & CommitSettings,
): Delivery {
  return {
    ...locking(o.runsDir, o.tool),
    async deliver(pass) {
      const body = commitBody(pass, o);
      const result = await commitAndPush({
        repoDir: o.repoDir,
        computeChanges: body.computeChanges,
        message: body.message,
        branch: o.branch,
        ...loopSettings(o),
      });
      return { sha: result.sha };
    },
  };
}

/** `commit: api`: a signed commit through the GitHub API; the workspace is left as it is. */
export function apiDelivery(
  o: {
    github: () => Promise<GitHub>;
    owner: string;
    repo: string;
    branch: string;
    workspace: string;
  } & CommitSettings,
): Delivery {
  return {
    begin: async () => [],
    end: async () => undefined,
    async deliver(pass) {
      const body = commitBody(pass, o);
      const result = await commitViaApi({
        github: await o.github(),
        owner: o.owner,
        repo: o.repo,
        branch: o.branch,
        workspace: o.workspace,
        computeChanges: body.computeChanges,
        message: body.message,
        ...loopSettings(o),
      });
      return { sha: result.sha };
    },
  };
}

/**
 * `commit: pull-request`: signed commits through the GitHub API to `reconcile-usage/<base>` and
 * one pull request into `base` that every pass updates (pull-request.ts). The pass reads the
 * branch's files, brought up to date before it starts; the workspace is left as it is.
 */
export function pullRequestDelivery(
  o: {
    github: () => Promise<GitHub>;
    owner: string;
    repo: string;
    /** The branch the pass started from, which the pull request goes into. */
    base: string;
    workspace: string;
  } & CommitSettings,
): Delivery {
  let prepared: PreparedBranch | undefined;
  let github: GitHub | undefined;
  const target = async (): Promise<PullRequestTarget> => {
    github ??= await o.github();
    return {
      github,
      owner: o.owner,
      repo: o.repo,
      base: o.base,
      branch: pullRequestBranch(o.base),
      workspace: o.workspace,
      secrets: o.secrets,
      log: o.log,
    };
  };
  return {
    async begin() {
      prepared = await prepareBranch(await target());
      return [];
    },
    files: () => prepared?.files,
    end: async () => undefined,
    async deliver(pass) {
      const body = commitBody(pass, o);
      const result = await commitToPullRequest({
        ...(await target()),
        pull: prepared?.pull,
        computeChanges: body.computeChanges,
        message: body.message,
        ...loopSettings(o),
      });
      return { sha: result.sha };
    },
  };
}
