import { oneLine } from "../util/printable.ts";
import { STATUSES } from "../verify/status.ts";
import { int, share, signedPercent, usd } from "./format.ts";
import type { PassReport, RunReport } from "./schema.ts";

/**
 * Plain-text tables for a terminal; no colours, so they read the same in a log file. Every name
 * and message is shown on one line (control characters escaped) and cut (`oneLine`): a run
 * directory named with a line break cannot start a line of its own.
 */

function table(headers: string[], rows: string[][], rightAligned: ReadonlySet<number>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const shortId = (id: string): string => {
  const shown = oneLine(id, 200);
  return shown.length > 13 ? `${shown.slice(0, 8)}…` : shown;
};
const clip = (s: string, n: number): string => {
  const shown = oneLine(s);
  return shown.length > n ? `${shown.slice(0, n - 1)}…` : shown;
};

export function runTable(runs: readonly RunReport[], verbose: boolean): string {
  const headers = [
    "FRAMEWORK",
    "RUN",
    "STATUS",
    "TOK_IN",
    "TOK_OUT",
    "CACHED",
    "CALLS",
    "COST_USD",
    "CHECKS",
    "MESSAGE",
  ];
  const rows = runs.map((r) => [
    oneLine(r.framework, 200),
    verbose ? oneLine(r.run_id, 200) : shortId(r.run_id),
    r.status,
    int(r.tokens_in),
    int(r.tokens_out),
    int(r.cached_tokens),
    int(r.api_calls),
    usd(r.cost_usd),
    String(r.stable_checks),
    verbose ? oneLine(r.message) : clip(r.message, 60),
  ]);
  return table(headers, rows, new Set([3, 4, 5, 6, 7, 8]));
}

/** `; nearest run 8cb0cb57… (5 min after its window)`, or nothing. */
export function nearestText(n: PassReport["unattributed"][number]["nearest_run"]): string {
  if (!n) return "";
  return `; nearest run ${shortId(n.run_id)} (${n.gap_minutes} min ${n.side} its window)`;
}

export function summaryLines(report: PassReport): string[] {
  const t = report.totals;
  const counts = STATUSES.filter((s) => t.by_status[s] > 0)
    .map((s) => `${s} ${t.by_status[s]}`)
    .join(", ");
  const lines = [
    `${t.runs} run(s): ${counts || "none"}`,
    `reconciled tokens: ${int(t.tokens_in)} in, ${int(t.tokens_out)} out, ${int(t.cached_tokens)} cached, ${int(t.api_calls)} requests${t.api_calls_unknown_runs > 0 ? ` (+ ${t.api_calls_unknown_runs} run(s) with no request count from Anthropic)` : ""}; cost ${usd(t.cost_usd)}${t.cost_unknown_runs > 0 ? ` (+ ${t.cost_unknown_runs} run(s) without a price)` : ""}`,
  ];
  if (report.mode === "reconcile") {
    lines.push(
      `Usage API: ${report.pages} page(s) of minute usage over ${report.spans} span(s), fewest possible ${report.request_lower_bound}; ${report.requests} HTTP request(s) in all`,
    );
    const verb = report.dry_run ? "would change" : "changed";
    lines.push(
      `${verb} ${report.changed_files.length} file(s)${report.dry_run ? " (dry run: nothing written)" : ""}`,
    );
  }
  for (const u of report.unattributed) {
    lines.push(
      `unattributed usage on ${oneLine(u.api_key_id, 200)}${u.framework ? ` (${oneLine(u.framework, 200)})` : ""}: ${int(u.tokens_in)} in, ${int(u.tokens_out)} out in ${u.minutes} minute(s), ${u.first_minute} – ${u.last_minute}${nearestText(u.nearest_run)}`,
    );
  }
  if (report.cost_check) {
    const rows = report.cost_check.days;
    const headers = ["DAY", "FRAMEWORK", "OURS", "COSTS_API", "DIFF", "COVERAGE", "RUNS", "CHECK"];
    const body = rows.map((d) => [
      d.date,
      oneLine(d.framework ?? d.api_key_id, 200),
      usd(d.ours_usd),
      usd(d.theirs_usd),
      signedPercent(d.difference_percent),
      share(d.coverage),
      String(d.runs),
      d.error ? "ERROR" : !d.settled ? "not yet settled" : d.flagged ? "MISMATCH" : "ok",
    ]);
    lines.push(
      "",
      `costs cross-check (tolerance ${report.cost_check.tolerance_percent}%):`,
      table(headers, body, new Set([2, 3, 4, 5, 6])),
    );
  }
  for (const w of report.warnings) lines.push(`warning: ${oneLine(w)}`);
  return lines;
}
