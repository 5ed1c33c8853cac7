import { type RawSettings, type ResolvedSettings, resolveSettings } from "../settings/resolve.ts";
import { SETTING_ROWS } from "../settings/table.ts";

/**
 * The action's inputs: the settings table's rows the action takes (action.yml lists the same),
 * read through a getter so this stays free of @actions/core.
 */
export const ACTION_INPUT_NAMES: readonly string[] = SETTING_ROWS.filter((r) => r.action).map(
  (r) => r.name,
);

export type CommitMode = "git" | "api" | "pull-request" | "none";
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

export function readInputs(
  get: (name: string) => string,
  env: Record<string, string | undefined>,
): ActionInputs {
  const raw: RawSettings = {};
  for (const name of ACTION_INPUT_NAMES) raw[name] = get(name);
  const settings = resolveSettings(raw, env, (name) => `input ${name}`);
  const v = settings.values;
  return {
    settings,
    commit: v.commit,
    commitMessage: v.commitMessage,
    comment: v.comment,
    githubToken: v.githubToken,
    failOnError: v.failOnError,
    holdIdentical: v.holdIdenticalReadings,
    reportPath: v.reportPath,
  };
}
