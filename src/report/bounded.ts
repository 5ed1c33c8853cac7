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
