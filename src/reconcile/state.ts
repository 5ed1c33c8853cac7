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
  /** Why a recorded reading cannot vouch for the run's tokens (its window overlapped another run). */
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

  for (const { container, swallowed, count } of containingWindows(states)) {
    // A timestamp error of the container alone: it is set aside (no window, no minutes owned)
    // so the runs it swallows are judged as if it were not there.
    const other = swallowed.run.runId;
    const reason = `window ${formatMinute(container.activity!.start)} to ${formatMinute(container.activity!.end)} wholly contains run ${other}${count > 1 ? ` and ${count - 1} other run(s)` : ""} of ${container.run.framework}: a timestamp error in this run (a step clock wrong or a step started early?); fix its steps' start_timestamp/end_timestamp`;
    container.windowError = reason;
    container.activity = undefined;
    container.window = undefined;
    if (container.selected)
      problems.push({
        path: container.run.path,
        framework: container.run.framework,
        runId: container.run.runId,
        reason,
      });
  }

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
 * Runs whose activity window wholly contains another run's of the same framework (SPEC §11): one
 * file whose first step is days early would otherwise make every run it covers ambiguous. Runs with
 * identical windows contain each other and are left to the sharing check (both ambiguous). Per
 * framework, windows sorted by start (longest first on ties): a window contains another exactly
 * when some later window in that order ends no later than it does.
 */
function containingWindows(
  states: readonly RunState[],
): Array<{ container: RunState; swallowed: RunState; count: number }> {
  const byFramework = new Map<string, RunState[]>();
  for (const s of states) {
    if (!s.activity) continue;
    const list = byFramework.get(s.run.framework);
    if (list) list.push(s);
    else byFramework.set(s.run.framework, [s]);
  }
  const found: Array<{ container: RunState; swallowed: RunState; count: number }> = [];
  for (const list of byFramework.values()) {
    list.sort((a, b) => a.activity!.start - b.activity!.start || b.activity!.end - a.activity!.end);
    // endsFirst[k]: of the runs at k and after, the one that ends first
    const endsFirst: RunState[] = new Array(list.length);
    for (let k = list.length - 1; k >= 0; k--) {
      const next = endsFirst[k + 1];
      endsFirst[k] = next && next.activity!.end < list[k]!.activity!.end ? next : list[k]!;
    }
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!.activity!;
      // Windows equal to this one come right after it. Every run after those starts later, or
      // at the same time and ends sooner: it lies inside this window when it ends no later.
      let j = i + 1;
      while (
        j < list.length &&
        list[j]!.activity!.end === a.end &&
        list[j]!.activity!.start === a.start
      )
        j++;
      const swallowed = endsFirst[j];
      if (!swallowed || swallowed.activity!.end > a.end) continue;
      let count = 0;
      for (let k = j; k < list.length && list[k]!.activity!.start <= a.end; k++)
        if (list[k]!.activity!.end <= a.end) count++;
      found.push({ container: list[i]!, swallowed, count });
    }
  }
  return found;
}

function markUntrustedReadings(states: RunState[]): void {
  const byKey = new Map<string, RunState[]>();
  for (const s of states)
    if (s.window) byKey.set(s.run.framework, [...(byKey.get(s.run.framework) ?? []), s]);
  for (const list of byKey.values()) {
    // Ambiguous runs overlap by definition and are never verified; the check is for the others.
    list.sort((a, b) => a.window!.start - b.window!.start);
    const starts = list.map((s) => s.window!.start);
    // a loop, not a spread: a spread of a long list overflows the stack
    let longest = 0;
    for (const s of list) longest = Math.max(longest, s.window!.end - s.window!.start);
    for (const s of list) {
      if (s.sharesWith.length > 0) continue;
      const reasons = new Map<string, string | undefined>();
      const check = (a: Attempt): string | undefined => {
        const w = recordedMinutes(a);
        if (!w) return undefined;
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
      s.untrusted = check;
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
