import { type PassReport, PassReportSchema, type RunReport } from "../../src/report/schema.ts";
import { STATUSES } from "../../src/verify/status.ts";

/** A valid pass report around the given runs: counts derived from them, everything else empty. */
export function reportOf(runs: RunReport[]): PassReport {
  const by_status = Object.fromEntries(
    STATUSES.map((s) => [s, runs.filter((r) => r.status === s).length]),
  ) as PassReport["totals"]["by_status"];
  return PassReportSchema.parse({
    version: "1.0.0",
    now: "2025-11-02T00:00:00.000000+00:00",
    mode: "reconcile",
    dry_run: false,
    requests: 1,
    pages: 1,
    request_lower_bound: 1,
    spans: 1,
    runs,
    totals: {
      runs: runs.length,
      by_status,
      tokens_in: 0,
      tokens_out: 0,
      cached_tokens: 0,
      api_calls: 0,
      cost_usd: 0,
      api_calls_unknown_runs: 0,
      cost_unknown_runs: 0,
    },
    unattributed: [],
    cost_check: null,
    warnings: [],
    changed_files: runs.filter((r) => r.changed).map((r) => r.path),
    errors: by_status.error,
  });
}
