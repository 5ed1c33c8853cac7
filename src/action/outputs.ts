import type { PassReport } from "../report/schema.ts";

/** The step's outputs (SPEC §7), by output name. */
export function outputsOf(
  report: PassReport,
  extra: { reportPath: string; commitSha: string | null },
): Record<string, string> {
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
