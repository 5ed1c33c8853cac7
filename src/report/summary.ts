import { cutMessage, escapeControl } from "../util/printable.ts";
import { formatMinute, parseIsoSeconds } from "../util/time.ts";
import { ATTENTION_STATUSES, STATUSES, type Status } from "../verify/status.ts";
import { int, share, signedPercent, usd } from "./format.ts";
import { escapeCell, meanSd, table } from "./markdown.ts";
import type { PassReport, RunReport } from "./schema.ts";

/** What every status means and, where a person must act, what to do. */
export const STATUS_LEGEND: Record<Status, { meaning: string; todo?: string }> = {
  verified: { meaning: "non-zero usage, confirmed by identical readings taken far enough apart" },
  pending: { meaning: "usage found; waiting for enough stable readings" },
  data_not_available: {
    meaning:
      "the Usage API answered but shows no usage in the window yet (it reports 5–60 min late)",
  },
  too_recent: { meaning: "ended too recently to read; read on a later pass" },
  warning: {
    meaning: "a count went down between readings; verification started over",
    todo: "usually the API revising recent minutes; it clears on later passes. If it persists, compare the readings in the file.",
  },
  ambiguous: {
    meaning:
      "the run's window shares minutes with another run on the same key; shared usage is counted for neither",
    todo: "runs of one framework overlapped in time (parallel runs) or the tail/padding is too wide. Lower window-padding-seconds / window-tail-seconds, or give parallel runs their own API keys.",
  },
  no_usage: {
    meaning: "still no usage long after the run ended",
    todo: "check the framework's key id in api-key-ids (key_… from the OpenAI dashboard, apikey_… from the Anthropic Console) and that the run really called the API; a pass picks it up again when the key id changes.",
  },
  error: {
    meaning: "the file or the API failed for this run; nothing was written for it",
    todo: "read the message: a broken metrics.json names the file and field; an API error (401/403: the admin key or its api.usage.read scope) is retried on the next pass.",
  },
};

export interface SummaryContext {
  /** Link a run's file (e.g. to its blob on GitHub); plain text when absent. */
  fileUrl?: (path: string) => string | undefined;
  /** Why the pass only listed (e.g. no admin key on a fork pull request). */
  notice?: string;
  commitSha?: string | null;
  /** Largest summary to produce, in bytes (GitHub accepts 1 MiB per step). */
  maxBytes?: number;
  maxRunRows?: number;
}

const DEFAULT_MAX_BYTES = 1024 * 1024 - 64 * 1024;
const DEFAULT_MAX_ROWS = 300;

function frameworkTable(runs: readonly RunReport[]): {
  text: string;
  perFramework: Array<{ framework: string; meanTokens: number; cost: number }>;
} {
  const frameworks = [...new Set(runs.map((r) => r.framework).filter(Boolean))].sort();
  const rows: string[][] = [];
  const perFramework: Array<{ framework: string; meanTokens: number; cost: number }> = [];
  for (const f of frameworks) {
    const mine = runs.filter((r) => r.framework === f);
    const verified = mine.filter((r) => r.status === "verified");
    const sum = (pick: (r: RunReport) => number | null) =>
      mine.reduce((a, r) => a + (pick(r) ?? 0), 0);
    const fmt = (pick: (r: RunReport) => number | null, money = false) => {
      const values = verified.flatMap((r) => (pick(r) === null ? [] : [pick(r)!]));
      const ms = meanSd(values);
      if (!ms) return "–";
      return money ? `${usd(ms.mean)} ± ${usd(ms.sd)}` : `${int(ms.mean)} ± ${int(ms.sd)}`;
    };
    const cost = mine.reduce((a, r) => a + (r.cost_usd ?? 0), 0);
    rows.push([
      escapeCell(f),
      int(mine.length),
      int(verified.length),
      int(sum((r) => r.tokens_in)),
      int(sum((r) => r.tokens_out)),
      int(sum((r) => r.cached_tokens)),
      // a framework on a provider without request counts (Anthropic) has none to sum: –
      int(
        mine.some((r) => r.tokens_in !== null && r.api_calls === null)
          ? null
          : sum((r) => r.api_calls),
      ),
      usd(cost),
      fmt((r) => r.tokens_in),
      fmt((r) => r.tokens_out),
      fmt((r) => r.cost_usd, true),
    ]);
    const tokens = meanSd(verified.map((r) => (r.tokens_in ?? 0) + (r.tokens_out ?? 0)));
    perFramework.push({ framework: f, meanTokens: tokens?.mean ?? 0, cost });
  }
  const text = table(
    [
      "framework",
      "runs",
      "verified",
      "tokens in",
      "tokens out",
      "cached",
      "requests",
      "cost",
      "in / verified run (mean ± sd)",
      "out / verified run",
      "cost / verified run",
    ],
    rows,
    ["l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r"],
  );
  return { text, perFramework };
}

/** Mermaid bar charts: mean tokens per verified run, and total cost, per framework. */
function chart(
  perFramework: Array<{ framework: string; meanTokens: number; cost: number }>,
): string {
  if (perFramework.length === 0) return "";
  const names = perFramework
    .map((p) => `"${escapeControl(p.framework).replace(/["\\`]/g, "")}"`)
    .join(", ");
  const block = (title: string, axis: string, values: number[]) =>
    [
      "```mermaid",
      "xychart-beta",
      `  title "${title}"`,
      `  x-axis [${names}]`,
      `  y-axis "${axis}"`,
      `  bar [${values.join(", ")}]`,
      "```",
    ].join("\n");
  return [
    block(
      "Mean tokens (in + out) per verified run",
      "tokens",
      perFramework.map((p) => Math.round(p.meanTokens)),
    ),
    block(
      "Reconciled cost per framework",
      "USD",
      perFramework.map((p) => Number(p.cost.toFixed(4))),
    ),
  ].join("\n\n");
}

/**
 * A URL safe inside `[…](…)`: a `)` or a space in a run's path must not end the link early, an
 * `@` is encoded like the rest, and a path that cannot be encoded is shown without a link.
 */
function linkTarget(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return encodeURI(url).replace(
      /[()@]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  } catch {
    return undefined;
  }
}

function runRows(runs: readonly RunReport[], ctx: SummaryContext): string[][] {
  return runs.map((r) => {
    const url = linkTarget(ctx.fileUrl?.(r.path));
    const id = escapeCell(r.run_id || r.path);
    return [
      escapeCell(r.framework),
      url ? `[${id}](${url})` : id,
      `\`${r.status}\``,
      int(r.tokens_in),
      int(r.tokens_out),
      usd(r.cost_usd),
      escapeCell(cutMessage(r.message)),
    ];
  });
}

/**
 * The job summary (docs/design.md#reporting) as Markdown: status counts with a legend, a
 * per-framework table and chart, the runs that need attention or changed, unattributed usage and
 * warnings. Every value from a file or the API is escaped, and the text stays under `maxBytes` by
 * cutting rows with a count of what was left out, never by failing.
 */
export function renderSummary(report: PassReport, ctx: SummaryContext = {}): string {
  const maxRows = ctx.maxRunRows ?? DEFAULT_MAX_ROWS;
  const parts: string[] = ["## Usage reconciliation"];
  const now = parseIsoSeconds(report.now);
  const modeLine =
    report.mode === "list"
      ? "status only (no Usage API calls)"
      : report.dry_run
        ? "dry run: nothing written"
        : "reconciled";
  parts.push(
    `Pass at ${now !== undefined ? formatMinute(now) : escapeCell(report.now)} · ${modeLine} · reconcile-usage ${escapeCell(report.version)}`,
  );
  if (ctx.notice) parts.push(`> [!NOTE]\n> ${escapeCell(ctx.notice)}`);

  const counts = STATUSES.map((s) => [
    `\`${s}\``,
    int(report.totals.by_status[s]),
    escapeCell(STATUS_LEGEND[s].meaning),
  ]);
  parts.push("### Status", table(["status", "runs", "meaning"], counts, ["l", "r", "l"]));

  const fw = frameworkTable(report.runs);
  parts.push("### Per framework", fw.text);
  const totalLine = `All runs: ${int(report.totals.tokens_in)} tokens in, ${int(report.totals.tokens_out)} out, ${int(report.totals.cached_tokens)} cached, ${int(report.totals.api_calls)} requests${report.totals.api_calls_unknown_runs > 0 ? ` (+ ${report.totals.api_calls_unknown_runs} run(s) with no request count from Anthropic)` : ""}, ${usd(report.totals.cost_usd)}${report.totals.cost_unknown_runs > 0 ? ` (+ ${report.totals.cost_unknown_runs} run(s) without a known price)` : ""}. Means are over verified runs only.`;
  parts.push(totalLine);
  const charts = chart(fw.perFramework);
  if (charts) parts.push(charts);

  const attention = report.runs.filter((r) => ATTENTION_STATUSES.has(r.status));
  const changed = report.runs.filter((r) => r.changed && !ATTENTION_STATUSES.has(r.status));
  const headers = ["framework", "run", "status", "tokens in", "tokens out", "cost", "message"];
  const align: Array<"l" | "r"> = ["l", "l", "l", "r", "r", "r", "l"];
  for (const [title, list] of [
    ["Needs attention", attention],
    [report.dry_run ? "Would change in this pass" : "Changed in this pass", changed],
  ] as const) {
    if (list.length === 0) continue;
    const shown = list.slice(0, maxRows);
    parts.push(`### ${title} (${list.length})`, table(headers, runRows(shown, ctx), align));
    if (list.length > shown.length)
      parts.push(`… and ${list.length - shown.length} more (see the JSON report).`);
  }

  const todo = STATUSES.filter((s) => STATUS_LEGEND[s].todo && report.totals.by_status[s] > 0);
  if (todo.length > 0)
    parts.push(
      "### What to do",
      todo.map((s) => `- **${s}**: ${escapeCell(STATUS_LEGEND[s].todo)}`).join("\n"),
    );

  if (report.unattributed.length > 0) {
    parts.push(
      "### Usage outside every run's window",
      table(
        [
          "key",
          "framework",
          "tokens in",
          "tokens out",
          "requests",
          "minutes",
          "first",
          "last",
          "nearest run",
        ],
        report.unattributed.map((u) => [
          escapeCell(u.api_key_id),
          escapeCell(u.framework ?? "–"),
          int(u.tokens_in),
          int(u.tokens_out),
          int(u.api_calls),
          int(u.minutes),
          escapeCell(u.first_minute),
          escapeCell(u.last_minute),
          u.nearest_run
            ? `${escapeCell(u.nearest_run.run_id)}: ${u.nearest_run.gap_minutes} min ${u.nearest_run.side} its window`
            : "–",
        ]),
      ),
      "Usage on a configured key in minutes no run's window covers: just after a run, a lag longer than window-tail-seconds; far from every run, the key used outside the experiment or runs not in the repository.",
    );
  }
  if (report.cost_check && report.cost_check.days.length > 0) {
    const c = report.cost_check;
    parts.push(
      `### Costs cross-check (tolerance ${c.tolerance_percent}%)`,
      table(
        ["day", "framework", "ours", "Costs API", "difference", "coverage", "runs", "check"],
        c.days.map((d) => [
          escapeCell(d.date),
          escapeCell(d.framework ?? d.api_key_id),
          usd(d.ours_usd),
          usd(d.theirs_usd),
          signedPercent(d.difference_percent),
          share(d.coverage),
          int(d.runs),
          d.error
            ? `**error**: ${escapeCell(cutMessage(d.error))}`
            : !d.settled
              ? "not yet settled"
              : d.flagged
                ? `**mismatch**: ${escapeCell(cutMessage(d.causes.join("; ")))}`
                : "ok",
        ]),
        ["l", "l", "r", "r", "r", "r", "r", "l"],
      ),
      "Ours prices every token the key used that day (runs, shared and unattributed minutes); coverage is the share the runs account for. Days younger than 48 h are not settled yet.",
    );
  }
  if (report.warnings.length > 0)
    parts.push(
      "### Warnings",
      report.warnings
        .slice(0, 50)
        .map((w) => `- ${escapeCell(cutMessage(w))}`)
        .join("\n"),
    );

  const footer = [
    `Usage API: ${int(report.pages)} page(s) of minute usage (fewest possible: ${int(report.request_lower_bound)}), ${int(report.requests)} request(s) in all`,
  ];
  if (report.changed_files.length > 0)
    footer.push(
      `${report.dry_run ? "would change" : "changed"} ${int(report.changed_files.length)} file(s)`,
    );
  if (ctx.commitSha) footer.push(`commit ${escapeCell(ctx.commitSha.slice(0, 12))}`);
  parts.push(`<sub>${footer.join(" · ")}</sub>`);
  return fitToSize(parts.join("\n\n"), ctx.maxBytes ?? DEFAULT_MAX_BYTES);
}

/** Last resort against pathological inputs: cut at a line boundary and say so. */
function fitToSize(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return `${text}\n`;
  const note =
    "\n\n… summary cut to stay under GitHub's size limit; the JSON report has everything.\n";
  let cut = text.slice(0, maxBytes - note.length);
  while (Buffer.byteLength(cut) > maxBytes - note.length) cut = cut.slice(0, -1024);
  return `${cut.slice(0, cut.lastIndexOf("\n"))}${note}`;
}
