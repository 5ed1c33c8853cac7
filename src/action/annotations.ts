import type { PassReport } from "../report/schema.ts";

export interface Annotation {
  level: "warning" | "error";
  title: string;
  message: string;
  file?: string;
}

/** GitHub shows only so many annotations per step; past this, one annotation counts the rest. */
const MAX_PER_LEVEL = 20;

/** Warnings and errors pointing at the metrics.json concerned (SPEC §7). */
export function annotationsOf(
  report: PassReport,
  relative: (path: string) => string,
): Annotation[] {
  const out: Annotation[] = [];
  const byLevel = { warning: 0, error: 0 };
  const left = { warning: 0, error: 0 };
  for (const r of report.runs) {
    const level =
      r.status === "error"
        ? "error"
        : r.status === "warning" || r.status === "ambiguous" || r.status === "no_usage"
          ? "warning"
          : undefined;
    if (!level) continue;
    if (byLevel[level] >= MAX_PER_LEVEL) {
      left[level]++;
      continue;
    }
    byLevel[level]++;
    out.push({
      level,
      title: `${r.status}: ${r.framework}/${r.run_id}`,
      message: r.message,
      file: relative(r.path),
    });
  }
  for (const level of ["warning", "error"] as const) {
    if (left[level] > 0)
      out.push({
        level,
        title: `${left[level]} more run(s)`,
        message: `${left[level]} more run(s) with ${level}s; see the job summary and the JSON report`,
      });
  }
  for (const w of report.warnings)
    out.push({ level: "warning", title: "reconcile-usage", message: w });
  return out;
}
