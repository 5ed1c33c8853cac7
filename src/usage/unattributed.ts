import type { RunOnKey, Totals } from "../model.ts";
import { MINUTE } from "../util/time.ts";
import { addRequests } from "./rows.ts";

/** Minutes of unattributed usage this close together are one cluster. */
const CLUSTER_GAP_SECONDS = 5 * MINUTE;
/** Clusters reported per key, the largest first; the totals count all of them. */
const MAX_CLUSTERS = 10;

export interface NearestRun {
  /** Run id as attribution knows it (`framework/run_id`). */
  id: string;
  /** Whole minutes between the cluster and the run's window. */
  gapMinutes: number;
  /** Whether the usage came after the run's window (a lag longer than the tail) or before it. */
  side: "after" | "before";
}

export interface UnattributedCluster {
  firstMinute: number;
  lastMinute: number;
  minutes: number;
  totals: Totals;
  nearest?: NearestRun;
}

export interface UnattributedUsage {
  keyId: string;
  totals: Totals;
  minutes: number;
  firstMinute: number;
  lastMinute: number;
  clusters: UnattributedCluster[];
}

const add = (t: Totals, u: Totals): void => {
  t.tokensIn += u.tokensIn;
  t.tokensOut += u.tokensOut;
  t.cachedTokens += u.cachedTokens;
  t.requests = addRequests(t.requests, u.requests);
};

function nearestRun(
  first: number,
  last: number,
  runs: readonly RunOnKey[],
): NearestRun | undefined {
  let best: NearestRun | undefined;
  for (const r of runs) {
    const candidate: NearestRun =
      r.window.end <= first
        ? { id: r.id, gapMinutes: (first - r.window.end) / MINUTE, side: "after" }
        : {
            id: r.id,
            gapMinutes: Math.max(0, (r.window.start - (last + MINUTE)) / MINUTE),
            side: "before",
          };
    if (!best || candidate.gapMinutes < best.gapMinutes) best = candidate;
  }
  return best;
}

/**
 * Usage on a key in minutes no run owns (docs/design.md#reading-usage), grouped into clusters of
 * nearby minutes, each with the run it is closest to: usage just after a run's window is a lag
 * longer than the tail; usage far from every run is the key used outside the experiment, or a run
 * not in the repository.
 */
export function summarizeUnattributed(
  keyId: string,
  byMinute: ReadonlyMap<number, Totals>,
  runsOnKey: readonly RunOnKey[],
): UnattributedUsage {
  const minutes = [...byMinute.keys()].sort((a, b) => a - b);
  const totals: Totals = { tokensIn: 0, tokensOut: 0, cachedTokens: 0, requests: 0 };
  const clusters: UnattributedCluster[] = [];
  for (const m of minutes) {
    const t = byMinute.get(m)!;
    add(totals, t);
    const last = clusters.at(-1);
    if (last && m - last.lastMinute <= CLUSTER_GAP_SECONDS) {
      last.lastMinute = m;
      last.minutes++;
      add(last.totals, t);
    } else {
      clusters.push({ firstMinute: m, lastMinute: m, minutes: 1, totals: { ...t } });
    }
  }
  const size = (c: UnattributedCluster) => c.totals.tokensIn + c.totals.tokensOut;
  const kept = [...clusters]
    .sort((a, b) => size(b) - size(a) || a.firstMinute - b.firstMinute)
    .slice(0, MAX_CLUSTERS);
  for (const c of kept) c.nearest = nearestRun(c.firstMinute, c.lastMinute, runsOnKey);
  return {
    keyId,
    totals,
    minutes: minutes.length,
    firstMinute: minutes[0] ?? 0,
    lastMinute: minutes.at(-1) ?? 0,
    clusters: kept,
  };
}
