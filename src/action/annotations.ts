import type { PassReport, RunReport } from "../report/schema.ts";
import { oneLine } from "../util/printable.ts";

export type AnnotationLevel = "error" | "warning" | "notice";

export interface Annotation {
  level: AnnotationLevel;
  /** Empty for the pass's own annotations (the step's name says whose they are). */
  title: string;
  message: string;
  file?: string;
}

/**
 * The runner keeps only this many annotations of each type per step and drops the rest
 * (actions/runner, ExecutionContext: `_maxCountPerIssueType`). The last one kept tells how many
 * more there were.
 */
export const MAX_PER_LEVEL = 10;

/** Run statuses that are annotated, most important first. */
const RUN_LEVEL: Partial<Record<RunReport["status"], { level: AnnotationLevel; rank: number }>> = {
  error: { level: "error", rank: 0 },
  warning: { level: "warning", rank: 0 },
  ambiguous: { level: "warning", rank: 1 },
  no_usage: { level: "warning", rank: 2 },
};

export interface PassOutcomeNotes {
  /** Why the step fails (or would, as a warning with fail-on-error: false). */
  failure?: { level: "error" | "warning"; message: string };
  /**
   * Failures of the pass as a whole (committing failed, a file could not be written): errors that
   * come right after the failure. They may also be listed among `report.warnings` (for the
   * summary and the JSON report); they are not annotated twice.
   */
  passErrors?: readonly string[];
}

/**
 * The step's annotations (docs/design.md#reporting), most important first, at most MAX_PER_LEVEL of
 * each type: the step's failure, the pass's own failures (committing…), runs in error (each
 * pointing at its metrics.json), the pass's warnings, then runs with warnings, ambiguous windows,
 * no usage. When a type has more, the last one kept counts the rest and points at the job summary.
 */
export function annotationsOf(
  report: PassReport,
  relative: (path: string) => string,
  notes: PassOutcomeNotes = {},
): Annotation[] {
  const byLevel: Record<AnnotationLevel, Annotation[]> = { error: [], warning: [], notice: [] };
  const add = (a: Annotation) =>
    byLevel[a.level].push({ ...a, title: oneLine(a.title, 200), message: oneLine(a.message) });

  if (notes.failure) add({ level: notes.failure.level, title: "", message: notes.failure.message });
  const passErrors = new Set(notes.passErrors ?? []);
  for (const e of passErrors) add({ level: "error", title: "", message: e });

  const runs = report.runs
    .map((r, i) => ({ r, i, how: RUN_LEVEL[r.status] }))
    .filter((x): x is typeof x & { how: NonNullable<typeof x.how> } => x.how !== undefined)
    .sort((a, b) => a.how.rank - b.how.rank || a.i - b.i);
  const runAnnotation = ({ r, how }: (typeof runs)[number]): Annotation => ({
    level: how.level,
    title: `${r.status}: ${r.framework}/${r.run_id}`,
    message: r.message,
    file: relative(r.path),
  });
  for (const x of runs.filter((x) => x.how.level === "error")) add(runAnnotation(x));
  for (const w of report.warnings)
    if (!passErrors.has(w)) add({ level: "warning", title: "", message: w });
  for (const x of runs.filter((x) => x.how.level !== "error")) add(runAnnotation(x));

  const out: Annotation[] = [];
  for (const level of ["error", "warning", "notice"] as const) {
    const list = byLevel[level];
    if (list.length <= MAX_PER_LEVEL) {
      out.push(...list);
      continue;
    }
    const kept = list.slice(0, MAX_PER_LEVEL - 1);
    const more = list.length - kept.length;
    out.push(...kept, {
      level,
      title: `${more} more ${level}s`,
      message: `${more} more ${level}s: see the job summary and the JSON report (the runner shows ${MAX_PER_LEVEL} annotations of each type per step).`,
    });
  }
  return out;
}
