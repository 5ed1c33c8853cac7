import { relative } from "node:path";
import { upsertStickyComment } from "../github/comment.ts";
import { githubClient } from "../github/octokit.ts";
import { pullRequestRunFiles } from "../github/pr-files.ts";
import { renderPullRequestComment } from "../report/comment.ts";
import type { PassReport } from "../report/schema.ts";
import { cutMessage } from "../util/printable.ts";
import { type EventInfo, isPullRequestEvent } from "./event.ts";
import type { ActionInputs } from "./inputs.ts";

type Env = Record<string, string | undefined>;

/**
 * The sticky pull-request comment (comment: auto on pull requests that touch run files, always on
 * every pull request, never). Never fails the step: a read-only token (fork) only costs the comment.
 */
export async function commentOnPullRequest(
  inputs: ActionInputs,
  event: EventInfo,
  report: PassReport,
  o: { runsDir: string; workspace: string; env: Env; notice?: string; say: (line: string) => void },
): Promise<void> {
  const { workspace, env, notice, say } = o;
  if (inputs.comment === "never" || !isPullRequestEvent(event) || !event.pullRequest) return;
  const [owner, repo] = (event.repository ?? env.GITHUB_REPOSITORY ?? "").split("/");
  if (!owner || !repo || !inputs.githubToken) {
    say("No pull-request comment: no repository or github-token.");
    return;
  }
  try {
    const github = await githubClient(
      inputs.githubToken,
      env.GITHUB_API_URL ?? "https://api.github.com",
    );
    const files = await pullRequestRunFiles({
      github,
      owner,
      repo,
      pullNumber: event.pullRequest.number,
      runsDir: relative(workspace, o.runsDir) || ".",
    });
    if (inputs.comment === "auto" && files.length === 0) {
      say("No pull-request comment: the pull request touches no run files.");
      return;
    }
    const runUrl = env.GITHUB_RUN_ID
      ? `${env.GITHUB_SERVER_URL ?? "https://github.com"}/${owner}/${repo}/actions/runs/${env.GITHUB_RUN_ID}`
      : undefined;
    const body = renderPullRequestComment(report, files, { runUrl, notice });
    const result = await upsertStickyComment({
      github,
      owner,
      repo,
      issueNumber: event.pullRequest.number,
      body,
      log: say,
    });
    if (result.action === "skipped")
      say(
        `No pull-request comment: ${result.reason ?? "not allowed"}; the job summary has the report.`,
      );
    else
      say(
        `Pull-request comment ${result.action} (#${result.id})${result.deleted.length > 0 ? `, ${result.deleted.length} duplicate(s) removed` : ""}.`,
      );
  } catch (error) {
    say(
      `No pull-request comment: ${cutMessage(error instanceof Error ? error.message : String(error))}; the job summary has the report.`,
    );
  }
}
