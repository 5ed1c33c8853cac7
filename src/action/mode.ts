import type { PassSettings } from "../reconcile/settings.ts";
import { type EventInfo, isPullRequestEvent } from "./event.ts";

/**
 * What the event allows the pass to do: without an admin key (a fork's pull request gets no
 * secrets), or for a fork's pull request on pull_request_target (which gets them), it lists the
 * runs from their files; on a pull request (whose checkout is a merge commit, or on
 * pull_request_target the base branch) it reports and never writes. The notice says why, in the
 * summary and the comment.
 */
export function passForEvent(
  settings: PassSettings,
  event: EventInfo,
  hasAdminKey: boolean,
): { settings: PassSettings; notice?: string } {
  const s = { ...settings };
  let notice: string | undefined;
  if (s.mode === "reconcile" && event.name === "pull_request_target" && event.pullRequest?.fork) {
    // pull_request_target hands a fork's pull request the secrets: its run files (their windows)
    // must not decide what the admin key reads and the comment shows
    s.mode = "list";
    notice =
      "This pull request comes from a fork: on pull_request_target its runs are listed from their files without calling the Usage API.";
  }
  if (s.mode === "reconcile" && !hasAdminKey) {
    s.mode = "list";
    notice = event.pullRequest?.fork
      ? "This pull request comes from a fork, which gets no secrets: runs are listed from their files without calling the Usage API."
      : "No admin key (input admin-key / OPENAI_ADMIN_KEY, or anthropic-admin-key / ANTHROPIC_ADMIN_KEY): runs are listed from their files without calling the Usage API.";
  }
  if (isPullRequestEvent(event) && !s.dryRun) {
    s.dryRun = true;
    notice ??=
      "Pull request: the pass runs as a dry run; the scheduled pass on the default branch commits.";
  }
  return { settings: s, notice };
}
