import type { DiscoveredRun, Discovery, FileProblem } from "../runs/discover.ts";
import type { Attempt, ManifestEntry } from "../runs/schema.ts";
import {
  type ActivityWindow,
  activityWindow,
  overlaps,
  type QueryWindow,
  queryWindow,
} from "../runs/window.ts";
import { findSharing, type RunOnKey } from "../usage/attribute.ts";
import { ceilMinute, floorMinute, formatMinute } from "../util/time.ts";
import { chronological } from "../verify/reading.ts";
import type { PassSettings } from "./settings.ts";

/** What a pass knows of one run before it asks the API anything. */
export interface RunState {
  /** `framework/run_id`: unique within a runs directory. */
  id: string;
  run: DiscoveredRun;
  selected: boolean;
  keyId?: string;
  activity?: ActivityWindow;
  window?: QueryWindow;
  /** Set when the run has no usable window: the run is an error. */
  windowError?: string;
  attempts: Attempt[];
  manifestEntry?: ManifestEntry;
  /** Run ids on the same key whose windows share a minute with this one. */
  sharesWith: string[];
  /**
   * Why a recorded reading cannot vouch for the run's tokens as the run is now (see
   * markUntrustedReadings); undefined when it can.
   */
  untrusted: (a: Attempt) => string | undefined;
}

export const runKey = (framework: string, runId: string): string => `${framework}/${runId}`;

function manifestIndex(discovery: Discovery): Map<string, ManifestEntry> {
  const index = new Map<string, ManifestEntry>();
  for (const e of discovery.manifest?.entries ?? []) {
    if (e.framework) index.set(runKey(e.framework, e.run_id), e);
    if (!index.has(e.run_id)) index.set(e.run_id, e);
  }
  return index;
}

/** The minutes a recorded reading actually covered, whatever its rounding. */
const recordedMinutes = (a: Attempt): QueryWindow | undefined =>
  a.query_window
    ? { start: floorMinute(a.query_window.start), end: ceilMinute(a.query_window.end) }
    : undefined;

/**
 * Builds each run's state: windows, key, ambiguity, and which recorded readings overlapped
 * another run on the same key (the old script's ±300 s padding did, in 12 of 300 real runs).
 */
export function buildRunStates(
  discovery: Discovery,
  settings: PassSettings,
  now: number,
): { states: RunState[]; problems: FileProblem[] } {
  const manifest = manifestIndex(discovery);
  const problems: FileProblem[] = [];
  const states: RunState[] = discovery.runs.map((run) => {
    const id = runKey(run.framework, run.runId);
    const manifestEntry = manifest.get(id) ?? manifest.get(run.runId);
    const activity = activityWindow(run.file, manifestEntry, now);
    const selected = settings.runIds.length === 0 || settings.runIds.includes(run.runId);
    const state: RunState = {
      id,
      run,
      selected,
      keyId: settings.apiKeyIds[run.framework],
      attempts: chronological(run.file.usage_api_reconciliation?.attempts ?? []),
      manifestEntry,
      sharesWith: [],
      untrusted: () => undefined,
    };
    if ("error" in activity) {
      state.windowError = activity.error;
      if (selected)
        problems.push({
          path: run.path,
          framework: run.framework,
          runId: run.runId,
          reason: activity.error,
        });
    } else {
      state.activity = activity.ok;
      state.window = queryWindow(activity.ok, settings);
    }
    return state;
  });

  // Each framework has its own key (two frameworks on one key id is a configuration error), so
  // runs are grouped by framework: ambiguity is known even in list mode, without key ids.
  const byFramework: RunOnKey[] = states.flatMap((s) =>
    s.window ? [{ id: s.id, keyId: s.run.framework, window: s.window }] : [],
  );
  const sharing = findSharing(byFramework);
  const byId = new Map(states.map((s) => [s.id, s]));
  for (const s of states)
    s.sharesWith = (sharing.get(s.id) ?? []).map((id) => byId.get(id)?.run.runId ?? id);
  markUntrustedReadings(states);
  return { states, problems };
}

/**
 * Marks the readings that cannot vouch for a run as it is now (SPEC §4): a reading counts only
 * when it names a query window, that window covers the run's current window (for this tool's own
 * readings: is exactly that window), and it overlaps no other run's window on the same key.
 * Anything else was read over another window (steps corrected since, a run directory copied to a
 * new id) or took in a neighbour's minutes (the old script's ±300 s padding did, in 14 of 300 real
 * runs). Readings taken with another key are refused by evaluateRun, which knows the key
 * configured now.
 */
function markUntrustedReadings(states: RunState[]): void {
  const byKey = new Map<string, RunState[]>();
  for (const s of states)
    if (s.window) byKey.set(s.run.framework, [...(byKey.get(s.run.framework) ?? []), s]);
  for (const list of byKey.values()) {
    // Ambiguous runs overlap by definition and are never verified; the check is for the others.
    list.sort((a, b) => a.window!.start - b.window!.start);
    const starts = list.map((s) => s.window!.start);
    const longest = Math.max(...list.map((s) => s.window!.end - s.window!.start));
    for (const s of list) {
      if (s.sharesWith.length > 0) continue;
      const own = s.window!;
      const reasons = new Map<string, string | undefined>();
      const overlapReason = (a: Attempt, w: QueryWindow): string | undefined => {
        const cacheKey = `${w.start}-${w.end}`;
        if (reasons.has(cacheKey)) return reasons.get(cacheKey);
        let reason: string | undefined;
        // windows sorted by start: candidates start before w.end and no earlier than w.start - longest
        let i = upperBound(starts, w.end - 1);
        for (; i >= 0 && starts[i]! >= w.start - longest; i--) {
          const other = list[i]!;
          if (other !== s && overlaps(w, other.window!)) {
            reason = `readings up to ${a.timestamp} were taken over ${formatMinute(w.start)} to ${formatMinute(w.end)}, which overlaps run ${other.run.runId}; re-verifying over the exact window`;
            break;
          }
        }
        reasons.set(cacheKey, reason);
        return reason;
      };
      s.untrusted = (a: Attempt): string | undefined => {
        const w = recordedMinutes(a);
        // A reading that does not say which minutes it summed cannot vouch for any of them.
        if (!w)
          return `the reading of ${a.timestamp} does not record the window it was taken over, so it cannot vouch for ${formatMinute(own.start)} to ${formatMinute(own.end)}; reading again`;
        // This tool's readings (they record their tail) were taken over the run's exact window:
        // any other window means the run's window changed since, and a wider reading would count
        // minutes that are no longer the run's. The old script's (±buffer, no tail) were always
        // wider than the run; they vouch while they cover it.
        const exact = a.query_window?.tail_seconds !== undefined;
        const mismatch = exact
          ? w.start !== own.start || w.end !== own.end
          : w.start > own.start || w.end < own.end;
        if (mismatch)
          return `readings up to ${a.timestamp} were taken over ${formatMinute(w.start)} to ${formatMinute(w.end)}, which is not the run's window now, ${formatMinute(own.start)} to ${formatMinute(own.end)} (its steps changed, the file was copied from another run, or the window settings changed); reading again over the current window`;
        return overlapReason(a, w);
      };
    }
  }
}

/** Index of the last element <= value, or -1. */
function upperBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}
