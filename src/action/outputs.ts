import type { PassReport } from "../report/schema.ts";

/** The step's outputs (docs/design.md#reporting), as action.yml declares them. */
export const OUTPUT_NAMES = [
  "verified",
  "pending",
  "data-not-available",
  "too-recent",
  "warning",
  "ambiguous",
  "no-usage",
  "errors",
  "changed-files",
  "report-path",
  "commit-sha",
] as const;
export type OutputName = (typeof OUTPUT_NAMES)[number];

/** The step's outputs (docs/design.md#reporting), by output name. */
export function outputsOf(
  report: PassReport,
  extra: { reportPath: string; commitSha: string | null },
): Record<OutputName, string> {
  const s = report.totals.by_status;
  return {
    verified: String(s.verified),
    pending: String(s.pending),
    "data-not-available": String(s.data_not_available),
    "too-recent": String(s.too_recent),
    warning: String(s.warning),
    ambiguous: String(s.ambiguous),
    "no-usage": String(s.no_usage),
    errors: String(report.errors),
    "changed-files": report.changed_files.join("\n"),
    "report-path": extra.reportPath,
    "commit-sha": extra.commitSha ?? "",
  };
}

/**
 * The outputs of a step that failed before its report was complete: the counts when a report
 * exists (empty when not: unknown is not zero), and `errors` at least 1.
 */
export function failureOutputsOf(
  report: PassReport | undefined,
  extra: { reportPath: string; commitSha: string | null },
): Record<OutputName, string> {
  const out = report
    ? outputsOf(report, extra)
    : (Object.fromEntries(OUTPUT_NAMES.map((n) => [n, ""])) as Record<OutputName, string>);
  out.errors = String(Math.max(1, report?.errors ?? 0));
  return out;
}
