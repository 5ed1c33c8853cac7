import {
  apiDelivery,
  gitDelivery,
  pullRequestDelivery,
  workspaceDelivery,
} from "../delivery/deliveries.ts";
import { ConfigError } from "../errors.ts";
import { githubClient } from "../github/octokit.ts";
import type { Delivery } from "../reconcile/delivery.ts";
import type { PassSettings } from "../reconcile/settings.ts";
import { TOOL } from "../version.ts";
import type { ActionInputs } from "./inputs.ts";

type Env = Record<string, string | undefined>;

/**
 * The branch a commit goes to: the one the pass started from (GITHUB_REF). A run started from a
 * tag, in a merge queue or for a pull request has no branch of its own to push to (its ref name
 * is the tag's, the queue's temporary branch, or `7/merge`): refused before any request, instead
 * of creating a branch named after it. Without GITHUB_REF (outside Actions) GITHUB_REF_NAME, or
 * for commit: git the checked-out branch.
 */
export function publishBranch(env: Env): string | undefined {
  const ref = env.GITHUB_REF ?? "";
  const commit = "commit: git, api and pull-request write to the branch the pass started from";
  const elsewhere = "run it on a branch, or use commit: none";
  if (ref.startsWith("refs/tags/"))
    throw new ConfigError(
      `${commit}, but this run started from the tag ${ref.slice("refs/tags/".length)} (GITHUB_REF ${ref}): ${elsewhere}`,
    );
  if (ref.startsWith("refs/heads/gh-readonly-queue/"))
    throw new ConfigError(
      `${commit}, but this run is in a merge queue (GITHUB_REF ${ref}), whose branch is temporary: run it on the branch itself, or use commit: none`,
    );
  if (ref.startsWith("refs/pull/"))
    throw new ConfigError(
      `${commit}, but this run is for a pull request (GITHUB_REF ${ref}), whose commit is on no branch: ${elsewhere}`,
    );
  if (ref.startsWith("refs/heads/")) return ref.slice("refs/heads/".length);
  if (ref !== "")
    throw new ConfigError(`${commit}, but GITHUB_REF ${ref} is not a branch: ${elsewhere}`);
  return env.GITHUB_REF_NAME || undefined;
}

/**
 * How this pass's changes leave the runner (input `commit`), or none when nothing may be written
 * (a listing, a dry run). Chosen before any request, so a commit that cannot happen is a
 * configuration error, not a pass that reads everything and then fails.
 */
export function deliveryFor(
  inputs: ActionInputs,
  settings: PassSettings,
  o: { workspace: string; env: Env; secrets: string[]; log: (line: string) => void },
): Delivery | undefined {
  if (settings.mode !== "reconcile" || settings.dryRun) return undefined;
  if (inputs.commit === "none")
    // failures become the runs' errors in the report
    return workspaceDelivery({ runsDir: settings.runsDir, tool: TOOL });
  const branch = publishBranch(o.env);
  const commit = { template: inputs.commitMessage, secrets: o.secrets, log: o.log };
  if (inputs.commit === "git")
    return gitDelivery({
      repoDir: o.workspace,
      runsDir: settings.runsDir,
      tool: TOOL,
      branch,
      ...commit,
    });
  const [owner, repo] = (o.env.GITHUB_REPOSITORY ?? "").split("/");
  if (!owner || !repo || !branch || !inputs.githubToken)
    throw new ConfigError(
      `commit: ${inputs.commit} needs GITHUB_REPOSITORY, a branch (GITHUB_REF_NAME) and the github-token input`,
    );
  const token = inputs.githubToken;
  const github = () => githubClient(token, o.env.GITHUB_API_URL ?? "https://api.github.com");
  if (inputs.commit === "pull-request")
    return pullRequestDelivery({
      github,
      owner,
      repo,
      base: branch,
      workspace: o.workspace,
      ...commit,
    });
  return apiDelivery({ github, owner, repo, branch, workspace: o.workspace, ...commit });
}
