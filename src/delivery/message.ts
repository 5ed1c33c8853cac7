import { redactSecrets } from "../util/redact.ts";
import { STATUSES } from "../verify/status.ts";

/** A run whose file this pass changed, for the commit message's body. */
export interface ChangedRun {
  framework: string;
  run_id: string;
  status: string;
}

export interface CommitMessageOptions {
  /** First word of the subject; default "reconcile-usage". */
  prefix?: string;
  /** Listed in the body, one a line, sorted; at most `maxListed` of them. */
  runs?: readonly ChangedRun[];
  /** Default 50. */
  maxListed?: number;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;
const label = (status: string): string => status.replaceAll("_", " ");
/** Directory names may hold anything but `/`; a line break must not reshape the message. */
const oneLine = (text: string): string => text.replace(/\p{Cc}/gu, "?");

/**
 * The commit message of a pass (docs/design.md#delivery: "a message that counts what changed"),
 * deterministic: `reconcile-usage: 3 verified, 5 pending (8 runs, 9 files)`. `counts` are the
 * statuses of the runs whose files changed; zero counts are left out; statuses are listed in report
 * order, any unknown one after them alphabetically. With `runs`, a body lists them.
 */
export function commitMessage(
  counts: Readonly<Record<string, number | undefined>>,
  files: number,
  options: CommitMessageOptions = {},
): string {
  const prefix = options.prefix ?? "reconcile-usage";
  const known: readonly string[] = STATUSES;
  const order = [
    ...known,
    ...Object.keys(counts)
      .filter((s) => !known.includes(s))
      .sort(),
  ];
  const parts: string[] = [];
  let runs = 0;
  for (const status of order) {
    const n = counts[status] ?? 0;
    if (!Number.isInteger(n) || n <= 0) continue;
    parts.push(`${n} ${label(status)}`);
    runs += n;
  }
  const subject =
    parts.length > 0
      ? `${prefix}: ${parts.join(", ")} (${plural(runs, "run")}, ${plural(files, "file")})`
      : `${prefix}: update ${plural(files, "file")}`;

  const listed = [...(options.runs ?? [])].sort(
    (a, b) =>
      (a.framework < b.framework ? -1 : a.framework > b.framework ? 1 : 0) ||
      (a.run_id < b.run_id ? -1 : a.run_id > b.run_id ? 1 : 0),
  );
  if (listed.length === 0) return subject;
  const max = options.maxListed ?? 50;
  const lines = listed
    .slice(0, max)
    .map((r) => `- ${oneLine(r.framework)}/${oneLine(r.run_id)}: ${label(r.status)}`);
  if (listed.length > max) lines.push(`- … and ${listed.length - max} more`);
  return `${subject}\n\n${lines.join("\n")}`;
}

/**
 * The message of the commit a pass makes: the counts of the runs whose files changed (as the
 * changes were last computed, on the head they land on), or the user's template with `{summary}`
 * for its first line. It is committed: no secret in it, in any spelling (a template may hold one).
 */
export function passCommitMessage(
  changedRuns: readonly ChangedRun[],
  files: number,
  template: string | undefined,
  secrets: readonly string[],
): string {
  const counts: Record<string, number> = {};
  for (const r of changedRuns) counts[r.status] = (counts[r.status] ?? 0) + 1;
  const text = commitMessage(counts, files, { runs: changedRuns });
  return redactSecrets(
    template ? template.replaceAll("{summary}", text.split("\n")[0]!) : text,
    secrets,
  );
}
