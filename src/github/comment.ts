import { redact } from "../util/redact.ts";
import { apiMessage, type GitHub, httpStatus } from "./octokit.ts";

/**
 * The sticky pull request comment (docs/design.md#reporting): one comment, found again by a hidden
 * marker and updated in place. Best effort: whatever goes wrong (a fork's read-only token, a
 * workflow without `pull-requests: write`, an API outage) is reported as skipped, never thrown, so
 * a comment can never fail the step.
 */

export const COMMENT_MARKER = "<!-- reconcile-usage:status -->";

/** GitHub refuses comment bodies longer than this (characters). */
const MAX_BODY = 65_536;

export interface StickyResult {
  action: "created" | "updated" | "unchanged" | "skipped";
  /** The comment that holds the status (absent when skipped). */
  id?: number;
  /** Duplicate marked comments deleted (left by passes that raced this one). */
  deleted: number[];
  /** Why nothing was written, when skipped. */
  reason?: string;
}

export interface StickyCommentOptions {
  github: GitHub;
  owner: string;
  repo: string;
  /** The pull request's number (pull requests are issues for comments). */
  issueNumber: number;
  /** The comment's Markdown, without the marker (it is prepended). */
  body: string;
  log?: (line: string) => void;
}

interface Comment {
  id: number;
  body: string;
  createdAt: string;
}

/** Thrown inside to stop at the first refused call; turned into a skipped result. */
class Skip extends Error {}

/** The full body: marker first, cut to GitHub's limit with a note. */
export function stickyBody(body: string): string {
  const full = `${COMMENT_MARKER}\n${body}`;
  if (full.length <= MAX_BODY) return full;
  const note = "\n\n… (cut: the full report is in the job summary)\n";
  const cut = full.slice(0, MAX_BODY - note.length);
  const lineEnd = cut.lastIndexOf("\n");
  return `${lineEnd > COMMENT_MARKER.length ? cut.slice(0, lineEnd) : cut}${note}`;
}

/** Oldest first: by creation time, then id (ids grow with time; the times have whole seconds). */
const oldestFirst = (a: Comment, b: Comment) =>
  a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id - b.id;

export async function upsertStickyComment(o: StickyCommentOptions): Promise<StickyResult> {
  const { github, owner, repo, issueNumber } = o;
  const log = (line: string) => o.log?.(redact(line));
  const where = `${owner}/${repo}#${issueNumber}`;
  const body = stickyBody(o.body);
  const deleted: number[] = [];

  const refused = (what: string, error: unknown): Skip => {
    const status = httpStatus(error);
    const said = redact(apiMessage(error));
    const why =
      (status === 403 || status === 404) && what === "read comments"
        ? `the token cannot read comments on ${where} (HTTP ${status}: ${said}): the workflow needs \`permissions: pull-requests: read\` or more`
        : status === 403 || status === 404
          ? `the token may not ${what} on ${where} (HTTP ${status}: ${said}): a pull request from a fork gets a read-only token, and the workflow needs \`permissions: pull-requests: write\``
          : status === 401
            ? `the token was refused while trying to ${what} on ${where} (HTTP 401: ${said})`
            : `could not ${what} on ${where} (${status ? `HTTP ${status}: ` : ""}${said})`;
    return new Skip(why);
  };

  async function marked(): Promise<Comment[]> {
    try {
      const all = await github.paginate(github.rest.issues.listComments, {
        owner,
        repo,
        issue_number: issueNumber,
        per_page: 100,
      });
      return all
        .filter((c) => typeof c.body === "string" && c.body.includes(COMMENT_MARKER))
        .map((c) => ({ id: c.id, body: c.body ?? "", createdAt: c.created_at }))
        .sort(oldestFirst);
    } catch (error) {
      throw refused("read comments", error);
    }
  }

  async function update(id: number): Promise<void> {
    try {
      await github.rest.issues.updateComment({ owner, repo, comment_id: id, body });
    } catch (error) {
      throw refused("update comments", error);
    }
  }

  /** Deletes duplicates; one another pass deleted first (404) is gone all the same. */
  async function remove(ids: number[]): Promise<void> {
    for (const id of ids) {
      try {
        await github.rest.issues.deleteComment({ owner, repo, comment_id: id });
        deleted.push(id);
        log(`deleted duplicate status comment ${id} on ${where}`);
      } catch (error) {
        if (httpStatus(error) === 404) continue;
        throw refused("delete comments", error);
      }
    }
  }

  try {
    const existing = await marked();
    const [keep, ...extra] = existing;
    if (keep) {
      await remove(extra.map((c) => c.id));
      if (keep.body === body) {
        log(`status comment ${keep.id} on ${where} is up to date`);
        return { action: "unchanged", id: keep.id, deleted };
      }
      await update(keep.id);
      log(`updated status comment ${keep.id} on ${where}`);
      return { action: "updated", id: keep.id, deleted };
    }

    let created: number;
    try {
      created = (
        await github.rest.issues.createComment({ owner, repo, issue_number: issueNumber, body })
      ).data.id;
    } catch (error) {
      throw refused("create comments", error);
    }
    // Another pass may have created one at the same time: keep the oldest, with our body.
    const now = await marked();
    const [oldest, ...rest] = now;
    if (!oldest || oldest.id === created) {
      await remove(rest.map((c) => c.id));
      log(`created status comment ${created} on ${where}`);
      return { action: "created", id: created, deleted };
    }
    await remove(rest.map((c) => c.id));
    if (oldest.body !== body) await update(oldest.id);
    log(
      `status comment ${oldest.id} on ${where} was created by another pass at the same time: kept it, with this pass's body`,
    );
    return { action: "updated", id: oldest.id, deleted };
  } catch (error) {
    const reason =
      error instanceof Skip
        ? error.message
        : `could not update the status comment on ${where}: ${redact(error instanceof Error ? error.message : String(error))}`;
    log(`status comment skipped: ${reason}`);
    return { action: "skipped", deleted, reason };
  }
}
