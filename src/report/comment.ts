import { cutMessage } from "../util/printable.ts";
import { int, usd } from "./format.ts";
import { escapeCell, table } from "./markdown.ts";
import type { PassReport } from "./schema.ts";
import { STATUS_LEGEND } from "./summary.ts";

export interface PullRequestRun {
  framework: string;
  runId: string;
  change: "added" | "modified" | "renamed" | "removed";
}

const MAX_ROWS = 200;
/** GitHub refuses a comment body over 65,536 characters; stay well under it. */
export const MAX_COMMENT_CHARS = 60_000;

/**
 * The sticky pull-request comment (docs/design.md#reporting): the status of each run the pull
 * request adds or changes, from this pass's report. Values from files are escaped like the job
 * summary's (mentions included), and the body stays under MAX_COMMENT_CHARS by listing fewer rows.
 */
export function renderPullRequestComment(
  report: PassReport,
  prRuns: readonly PullRequestRun[],
  ctx: { runUrl?: string; notice?: string } = {},
): string {
  const touched = prRuns.filter((r) => r.change !== "removed").length;
  let rows = Math.min(MAX_ROWS, touched);
  let body = render(report, prRuns, ctx, rows);
  while (body.length > MAX_COMMENT_CHARS && rows > 0) {
    rows = Math.min(rows - 1, Math.floor((rows * MAX_COMMENT_CHARS) / body.length));
    body = render(report, prRuns, ctx, rows);
  }
  return body;
}

function render(
  report: PassReport,
  prRuns: readonly PullRequestRun[],
  ctx: { runUrl?: string; notice?: string },
  maxRows: number,
): string {
  const byId = new Map(report.runs.map((r) => [`${r.framework}/${r.run_id}`, r]));
  const parts = ["### Usage reconciliation"];
  if (ctx.notice) parts.push(`> ${escapeCell(ctx.notice)}`);
  const touched = prRuns.filter((r) => r.change !== "removed");
  if (touched.length === 0) {
    parts.push("This pull request adds or changes no run files.");
  } else {
    const rows = touched.slice(0, maxRows).map((p) => {
      const r = byId.get(`${p.framework}/${p.runId}`);
      return [
        escapeCell(p.framework),
        escapeCell(p.runId),
        p.change,
        r ? `\`${r.status}\`` : "–",
        int(r?.tokens_in),
        int(r?.tokens_out),
        usd(r?.cost_usd),
        escapeCell(cutMessage(r?.message ?? "not in this pass's report")),
      ];
    });
    parts.push(
      table(
        ["framework", "run", "change", "status", "tokens in", "tokens out", "cost", "message"],
        rows,
        ["l", "l", "l", "l", "r", "r", "r", "l"],
      ),
    );
    if (touched.length > maxRows)
      parts.push(`… and ${touched.length - maxRows} more runs (see the job summary).`);
    const seen = [
      ...new Set(touched.flatMap((p) => byId.get(`${p.framework}/${p.runId}`)?.status ?? [])),
    ];
    const hints = seen
      .filter((s) => STATUS_LEGEND[s].todo)
      .map((s) => `- **${s}**: ${escapeCell(STATUS_LEGEND[s].todo)}`);
    if (hints.length > 0) parts.push(hints.join("\n"));
  }
  const removed = prRuns.filter((r) => r.change === "removed").length;
  if (removed > 0) parts.push(`${removed} run file(s) removed.`);
  parts.push(
    `<sub>reconcile-usage ${escapeCell(report.version)}${ctx.runUrl ? ` · [job summary](${ctx.runUrl})` : ""} · updated on every pass</sub>`,
  );
  return parts.join("\n\n");
}
