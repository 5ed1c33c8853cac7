import { oneLine } from "../util/printable.ts";
import { formatMinute, parseIsoSeconds } from "../util/time.ts";
import { STATUSES } from "../verify/status.ts";
import { type Column, fitTable, widthOf, wrap } from "./fit.ts";
import { int, share, signedPercent, usd } from "./format.ts";
import type { PassReport, RunReport } from "./schema.ts";
import { mean, sd } from "./stats.ts";

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

/** A message shared by this many runs or more is said once, under the table (an API outage). */
export const REPEATED_MESSAGE_RUNS = 3;

/**
 * The per-run table, fitted to `width` columns (Infinity: a log or a pipe, one line per run): the
 * message wraps, and when it has too little room the least useful columns are left out, said in
 * a line under the table. A message many runs share is shown once, as a numbered note.
 */
export function runTable(
  runs: readonly RunReport[],
  verbose: boolean,
  width: number = Number.POSITIVE_INFINITY,
): string {
  const messages = runs.map((r) => oneLine(r.message));
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m, (counts.get(m) ?? 0) + 1);
  const notes: string[] = [];
  const noteOf = new Map<string, number>();
  // a verified run's message is its own numbers: the same text twice is a coincidence, not news
  const repeated = runs.flatMap((r, i) => (r.status === "verified" ? [] : [messages[i]!]));
  for (const m of repeated) {
    if ((counts.get(m) ?? 0) < REPEATED_MESSAGE_RUNS || noteOf.has(m)) continue;
    notes.push(m);
    noteOf.set(m, notes.length);
  }
  const col = (header: string, cells: string[], o: Omit<Column, "header" | "cells"> = {}) => ({
    header,
    cells,
    ...o,
  });
  const { text, dropped } = fitTable(
    [
      col(
        "FRAMEWORK",
        runs.map((r) => oneLine(r.framework, 200)),
      ),
      col(
        "RUN",
        runs.map((r) => (verbose ? oneLine(r.run_id, 200) : shortId(r.run_id))),
      ),
      col(
        "STATUS",
        runs.map((r) => r.status),
      ),
      col(
        "TOK_IN",
        runs.map((r) => int(r.tokens_in)),
        { right: true, drop: 1 },
      ),
      col(
        "TOK_OUT",
        runs.map((r) => int(r.tokens_out)),
        { right: true, drop: 3 },
      ),
      col(
        "CACHED",
        runs.map((r) => int(r.cached_tokens)),
        { right: true, drop: 6 },
      ),
      col(
        "CALLS",
        runs.map((r) => int(r.api_calls)),
        { right: true, drop: 5 },
      ),
      col(
        "COST_USD",
        runs.map((r) => usd(r.cost_usd)),
        { right: true, drop: 2 },
      ),
      col(
        "CHECKS",
        runs.map((r) => String(r.stable_checks)),
        { right: true, drop: 4 },
      ),
    ],
    col(
      "MESSAGE",
      messages.map((m, i) =>
        noteOf.has(m) && runs[i]!.status !== "verified" ? `see note [${noteOf.get(m)}] below` : m,
      ),
    ),
    width,
  );
  const lines = [text];
  if (dropped.length > 0)
    lines.push(
      ...wrap(
        `(${dropped.join(", ")} left out to fit ${width} columns; a wider terminal, COLUMNS=200 or --json shows them)`,
        width,
      ),
    );
  if (notes.length > 0) lines.push("");
  notes.forEach((m, i) => {
    // continuation lines are indented, so the note wraps 4 columns narrower
    const [first = "", ...more] = wrap(`[${i + 1}] ${counts.get(m)} runs: ${m}`, width - 4);
    lines.push(first, ...more.map((l) => `    ${l}`));
  });
  return lines.join("\n");
}

/** `; nearest run 8cb0cb57… (5 min after its window)`, or nothing. */
export function nearestText(n: PassReport["unattributed"][number]["nearest_run"]): string {
  if (!n) return "";
  return `; nearest run ${shortId(n.run_id)} (${n.gap_minutes} min ${n.side} its window)`;
}

/** Runs with numbers (a reading) and how many of those are not verified yet. */
function readTotalsLabel(runs: readonly RunReport[]): string {
  const withNumbers = runs.filter((r) => r.tokens_in !== null);
  const unverified = withNumbers.filter((r) => r.status !== "verified").length;
  if (withNumbers.length === 0) return "no run has a reading yet";
  if (unverified === 0) return `${withNumbers.length} verified run(s)`;
  return `${withNumbers.length} run(s) with a reading, ${unverified} of them NOT verified yet: not final`;
}

/**
 * Per framework: all runs and verified ones, and the mean ± sample sd of the verified runs only,
 * as the job summary shows them.
 */
export function frameworkTable(runs: readonly RunReport[], width: number): string[] {
  const names = [...new Set(runs.map((r) => r.framework).filter(Boolean))].sort();
  if (names.length === 0) return [];
  const rows = names.map((f) => {
    const mine = runs.filter((r) => r.framework === f);
    const verified = mine.filter((r) => r.status === "verified");
    const stat = (
      pick: (r: RunReport) => number | null,
      show: (n: number, like?: number) => string,
    ) => {
      const values = verified.flatMap((r) => (pick(r) === null ? [] : [pick(r)!]));
      const m = mean(values);
      return m === null ? "–" : `${show(m)} ± ${show(sd(values)!, m)}`;
    };
    return [
      oneLine(f, 200),
      int(mine.length),
      int(verified.length),
      stat((r) => r.tokens_in, int),
      stat((r) => r.tokens_out, int),
      stat((r) => r.cost_usd, usdLike),
    ];
  });
  const headers = ["FRAMEWORK", "RUNS", "VERIFIED", "TOK_IN", "TOK_OUT", "COST_USD"];
  return [
    ...wrap(
      "per framework: mean ± sd over the VERIFIED runs only (n = VERIFIED); other runs are not in these figures",
      width,
    ),
    table(headers, rows, new Set([1, 2, 3, 4, 5])),
  ];
}

/** Dollars with as many decimals as `like` is shown with, so mean and sd line up. */
const usdLike = (n: number, like = n): string =>
  `$${n.toFixed(like !== 0 && Math.abs(like) < 0.01 ? 6 : 4)}`;

const when = (iso: string | null | undefined): number | undefined =>
  iso ? parseIsoSeconds(iso) : undefined;

/** What the next passes will do, in one line (or a few, wrapped): the end of a pass's output. */
export function nextLine(report: PassReport): string {
  const runs = report.runs;
  const now = parseIsoSeconds(report.now) ?? 0;
  const of = (s: RunReport["status"]) => runs.filter((r) => r.status === s);
  const parts: string[] = [];
  const waiting = runs.filter(
    (r) => !["verified", "ambiguous", "error", "too_recent"].includes(r.status),
  );
  const dueNow = waiting.filter((r) => (when(r.next_reading) ?? now) <= now);
  const later = waiting
    .map((r) => when(r.next_reading))
    .filter((t): t is number => t !== undefined && t > now)
    .sort((a, b) => a - b);
  if (report.mode === "list" && dueNow.length > 0)
    parts.push(
      `${dueNow.length} run(s) are due for a reading now: run without --list to read them`,
    );
  else if (dueNow.length > 0)
    parts.push(`${dueNow.length} run(s) are due now (the next pass reads them)`);
  if (later.length > 0)
    parts.push(
      `${later.length} run(s) wait for their next reading, the first after ${formatMinute(later[0]!)}`,
    );
  const recent = of("too_recent")
    .map((r) => when(r.next_reading))
    .filter((t): t is number => t !== undefined)
    .sort((a, b) => a - b);
  if (of("too_recent").length > 0)
    parts.push(
      `${of("too_recent").length} too recent, readable from ${recent[0] !== undefined ? formatMinute(recent[0]) : "later"}`,
    );
  if (of("ambiguous").length > 0)
    parts.push(`${of("ambiguous").length} ambiguous never verify as they are: see their message`);
  if (of("error").length > 0)
    parts.push(`${of("error").length} error(s): see the messages; the next pass tries again`);
  if (runs.length > 0 && of("verified").length === runs.length)
    return `next: nothing left to do: all ${runs.length} run(s) are verified`;
  if (parts.length === 0) return "next: nothing to do";
  return `next: ${parts.join("; ")}`;
}

export function summaryLines(
  report: PassReport,
  width: number = Number.POSITIVE_INFINITY,
): string[] {
  const t = report.totals;
  const counts = STATUSES.filter((s) => t.by_status[s] > 0)
    .map((s) => `${s} ${t.by_status[s]}`)
    .join(", ");
  const lines = [
    `${t.runs} run(s): ${counts || "none"}`,
    `reconciled tokens (${readTotalsLabel(report.runs)}): ${int(t.tokens_in)} in, ${int(t.tokens_out)} out, ${int(t.cached_tokens)} cached, ${int(t.api_calls)} requests${t.api_calls_unknown_runs > 0 ? ` (+ ${t.api_calls_unknown_runs} run(s) with no request count from Anthropic)` : ""}; cost ${usd(t.cost_usd)}${t.cost_unknown_runs > 0 ? ` (+ ${t.cost_unknown_runs} run(s) without a price)` : ""}`,
    ...frameworkTable(report.runs, width),
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
  lines.push(nextLine(report));
  return lines.flatMap((l) => {
    if (l.includes("\n") || widthOf(l) <= width) return [l];
    const [first = "", ...more] = wrap(l, width - 2);
    return [first, ...more.map((m) => `  ${m}`)];
  });
}
