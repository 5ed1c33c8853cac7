import { cutMessage, neutraliseCommands } from "../util/printable.ts";
import { redactSecrets } from "../util/redact.ts";
import type { PassReport } from "./schema.ts";

/**
 * The report with every quoted message (a run's message, a warning, a cost-check cause) cut to
 * MESSAGE_MAX_CHARS: an API that answers with a 10 MB error message must not turn a report of 300
 * runs into gigabytes. Every output (terminal, JSON, summary, annotations, comment) is made from
 * this bounded report.
 */
export function boundReport(report: PassReport): PassReport {
  return {
    ...report,
    runs: report.runs.map((r) => ({ ...r, message: cutMessage(r.message) })),
    warnings: report.warnings.map((w) => cutMessage(w)),
    cost_check: report.cost_check && {
      ...report.cost_check,
      days: report.cost_check.days.map((d) => ({
        ...d,
        causes: d.causes.map((c) => cutMessage(c)),
      })),
    },
  };
}

/**
 * The JSON report as text (`--json`, the action's report file): bounded, secrets removed, and
 * safe to print in a workflow log (`##[` is written `##\u005b`, the same string to a JSON reader).
 */
export function reportJson(report: PassReport, secrets: readonly (string | undefined)[]): string {
  return `${neutraliseCommands(redactSecrets(JSON.stringify(boundReport(report), null, 2), secrets))}\n`;
}

/** Rows of the report's `runs` per piece of reportJsonPieces. */
const ROWS_PER_PIECE = 256;

/**
 * `JSON.stringify(value, null, 2)` in pieces: the elements of the array under `listKey` a few at a
 * time, so that the whole text is never built at once. The pieces joined are exactly that text.
 */
export function* stringifyInPieces(
  value: Record<string, unknown>,
  listKey: string,
  perPiece: number,
): Generator<string> {
  const nested = (v: unknown, indent: string) =>
    (JSON.stringify(v, null, 2) as string).replaceAll("\n", `\n${indent}`);
  const entries = Object.entries(value).filter(
    ([, v]) => v !== undefined && typeof v !== "function" && typeof v !== "symbol",
  );
  if (entries.length === 0) {
    yield "{}";
    return;
  }
  let text = "{\n";
  for (const [i, [key, v]] of entries.entries()) {
    text += `${i === 0 ? "" : ",\n"}  ${JSON.stringify(key)}: `;
    if (key !== listKey || !Array.isArray(v) || v.length === 0) {
      text += nested(v, "  ");
      continue;
    }
    text += "[\n";
    for (let at = 0; at < v.length; at += perPiece) {
      for (let j = at; j < Math.min(at + perPiece, v.length); j++)
        text += `${j === 0 ? "" : ",\n"}    ${v[j] === undefined ? "null" : nested(v[j], "    ")}`;
      yield text;
      text = "";
    }
    text += "\n  ]";
  }
  yield `${text}\n}`;
}

/**
 * reportJson's text in pieces (`--json` on a terminal or a pipe), never held whole with its copies
 * (redacted, guarded, encoded), which at 10,000 runs were the pass's peak of memory. The pieces are
 * bounded but neither redacted nor guarded: they are for a writer that does both to everything it
 * prints (the CLI's guardedWriter, one guard over all the pieces), which makes of them the bytes of
 * reportJson. Pieces break between rows, so no value is split between two.
 */
export function* reportJsonPieces(report: PassReport): Generator<string> {
  yield* stringifyInPieces(boundReport(report), "runs", ROWS_PER_PIECE);
  yield "\n";
}
