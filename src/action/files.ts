import { ConfigError, UserError } from "../errors.ts";
import { nodeFiles } from "../fs/node.ts";
import type { Files } from "../fs/types.ts";
import { apiFiles } from "../github/api-files.ts";
import { apiMessage, githubClient, httpStatus } from "../github/octokit.ts";
import { redact } from "../util/redact.ts";
import type { EventInfo } from "./event.ts";
import type { ActionInputs } from "./inputs.ts";

type Env = Record<string, string | undefined>;

/**
 * The files the pass reads. On `pull_request_target` the workflow runs in the base branch's
 * context and actions/checkout checks out the base branch, where the runs a pull request adds do
 * not exist: the pass would show every one of them as missing. So there the files are the pull
 * request's head commit, read through the GitHub API (a file the checkout holds unchanged is read
 * from disk); nothing from the pull request is checked out or run, its files are only parsed.
 * Everywhere else: the workspace.
 */
export async function filesForEvent(
  event: EventInfo,
  inputs: ActionInputs,
  o: { workspace: string; env: Env; secrets: string[] },
): Promise<Files> {
  if (event.name !== "pull_request_target" || !event.pullRequest) return nodeFiles;
  const sha = event.pullRequest.headSha;
  const [owner, repo] = (event.repository ?? o.env.GITHUB_REPOSITORY ?? "").split("/");
  if (!sha || !/^[0-9a-f]{40}$/.test(sha) || !owner || !repo || !inputs.githubToken)
    throw new ConfigError(
      "on pull_request_target the checkout is the base branch, so the pull request's run files are read through the GitHub API at its head commit: that needs the event's pull_request.head.sha, the repository (GITHUB_REPOSITORY) and the github-token input",
    );
  const github = await githubClient(
    inputs.githubToken,
    o.env.GITHUB_API_URL ?? "https://api.github.com",
  );
  try {
    return await apiFiles({ github, owner, repo, sha, workspace: o.workspace });
  } catch (error) {
    const status = httpStatus(error);
    throw new UserError(
      redact(
        `GitHub API: reading the pull request's files at ${sha.slice(0, 12)} in ${owner}/${repo} failed (${status ? `HTTP ${status}: ` : ""}${apiMessage(error)})${status === 403 || status === 404 ? ": the token needs `permissions: contents: read`" : ""}`,
        o.secrets,
      ),
    );
  }
}
