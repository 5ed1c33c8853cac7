import { readFileSync } from "node:fs";
import { parseJson } from "../util/json-read.ts";

/** The little of the triggering event the action needs. */
export interface EventInfo {
  name: string;
  pullRequest?: { number: number; fork: boolean; headSha?: string; baseSha?: string };
  repository?: string;
}

/** Reads `GITHUB_EVENT_NAME` and the payload at `GITHUB_EVENT_PATH`; a missing payload is an empty event. */
export function readEvent(env: Record<string, string | undefined>): EventInfo {
  const name = env.GITHUB_EVENT_NAME ?? "";
  let payload: Record<string, unknown> = {};
  try {
    if (env.GITHUB_EVENT_PATH)
      payload = parseJson(readFileSync(env.GITHUB_EVENT_PATH, "utf8")) as Record<string, unknown>;
  } catch {
    payload = {};
  }
  const pr = payload.pull_request as
    | {
        number?: number;
        head?: { sha?: string; repo?: { full_name?: string; fork?: boolean } | null };
        base?: { sha?: string; repo?: { full_name?: string } };
      }
    | undefined;
  const repository =
    (payload.repository as { full_name?: string } | undefined)?.full_name ?? env.GITHUB_REPOSITORY;
  if (!pr || typeof pr.number !== "number") return { name, repository };
  const headRepo = pr.head?.repo?.full_name;
  const baseRepo = pr.base?.repo?.full_name ?? repository;
  // A deleted head repository (null) is a fork that no longer exists: treat it as a fork.
  const fork =
    pr.head?.repo === null ||
    pr.head?.repo?.fork === true ||
    (headRepo !== undefined && baseRepo !== undefined && headRepo !== baseRepo);
  return {
    name,
    repository,
    pullRequest: { number: pr.number, fork, headSha: pr.head?.sha, baseSha: pr.base?.sha },
  };
}

export const isPullRequestEvent = (e: EventInfo): boolean =>
  e.pullRequest !== undefined && (e.name === "pull_request" || e.name === "pull_request_target");
