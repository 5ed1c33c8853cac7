import { type RawSettings, type ResolvedSettings, resolveSettings } from "../config/settings.ts";
import { ConfigError } from "../errors.ts";

/**
 * The action's inputs (action.yml), read through a getter so this stays free of @actions/core.
 * Inputs shared with the CLI go through resolveSettings; the rest are the action's own.
 */
export const SHARED_INPUTS = [
  "admin-key",
  "api-key-ids",
  "runs-dir",
  "frameworks",
  "run-ids",
  "mode",
  "min-age-minutes",
  "verification-interval-minutes",
  "stable-checks",
  "give-up-after-hours",
  "window-tail-seconds",
  "window-padding-seconds",
  "pricing-file",
  "api-base-url",
  "dry-run",
  "force",
  "cross-check-costs",
  "cost-tolerance",
  "pass-deadline-minutes",
] as const;

export const ACTION_INPUTS = [
  "commit",
  "commit-message",
  "comment",
  "github-token",
  "fail-on-error",
  "hold-identical-readings",
  "report-path",
] as const;

export type CommitMode = "git" | "api" | "none";
export type CommentMode = "auto" | "always" | "never";

export interface ActionInputs {
  settings: ResolvedSettings;
  commit: CommitMode;
  commitMessage: string;
  comment: CommentMode;
  githubToken?: string;
  failOnError: boolean;
  holdIdentical: boolean;
  reportPath?: string;
}

const oneOf = <T extends string>(
  name: string,
  value: string,
  allowed: readonly T[],
  fallback: T,
): T => {
  const v = value.trim() || fallback;
  if (!(allowed as readonly string[]).includes(v))
    throw new ConfigError(`input ${name}: expected ${allowed.join(", ")}, got "${value}"`);
  return v as T;
};

const flag = (name: string, value: string, fallback: boolean): boolean => {
  const v = value.trim().toLowerCase();
  if (v === "") return fallback;
  if (v === "true") return true;
  if (v === "false") return false;
  throw new ConfigError(`input ${name}: expected true or false, got "${value}"`);
};

export function readInputs(
  get: (name: string) => string,
  env: Record<string, string | undefined>,
): ActionInputs {
  const raw: RawSettings = {};
  for (const name of SHARED_INPUTS) raw[name] = get(name);
  const settings = resolveSettings(raw, env, (name) => `input ${name}`);
  return {
    settings,
    commit: oneOf("commit", get("commit"), ["git", "api", "none"] as const, "git"),
    commitMessage: get("commit-message").trim(),
    comment: oneOf("comment", get("comment"), ["auto", "always", "never"] as const, "auto"),
    githubToken: get("github-token").trim() || undefined,
    failOnError: flag("fail-on-error", get("fail-on-error"), true),
    holdIdentical: flag("hold-identical-readings", get("hold-identical-readings"), true),
    reportPath: get("report-path").trim() || undefined,
  };
}
