import type { QueryWindow } from "../model.ts";
import type { DiscoveredRun, Discovery, FileProblem } from "../runs/discover.ts";
import type { Attempt, ManifestEntry } from "../runs/schema.ts";
import { type ActivityWindow, activityWindow, overlaps, queryWindow } from "../runs/window.ts";
import { findSharing } from "../usage/attribute.ts";
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
  /** For a run in error whose end is unknown: when it is known to have been active. */
  evidence?: { start: number; end: number };
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
      state.evidence = activity.evidence;
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

  // Every run known to have used its framework's key at some time: the runs with a window, and
  // the runs in error whose times are still known (a step that never ended, a file refused for a
  // key written twice). The latter are never read, but no neighbour may claim their minutes.
  const occupants: Occupant[] = states.flatMap((s): Occupant[] => {
    const activity = s.activity ?? s.evidence;
    return activity ? [occupant(s.id, s.run.runId, s.run.framework, activity, settings, s)] : [];
  });
  for (const p of discovery.problems) {
    if (!p.evidence || p.framework === undefined || p.runId === undefined) continue;
    const id = runKey(p.framework, p.runId);
    const known = activityWindow(p.evidence, manifest.get(id) ?? manifest.get(p.runId), now);
    const activity = "ok" in known ? known.ok : known.evidence;
    if (activity) occupants.push(occupant(id, p.runId, p.framework, activity, settings));
  }

  const containers = new Set<Occupant>();
  for (const { container, swallowed, count } of containingWindows(occupants)) {
    // A timestamp error of the container alone: it is set aside (no window, no minutes owned)
    // so the runs it swallows are judged as if it were not there.
    const state = container.state!;
    containers.add(container);
    const reason = `window ${formatMinute(state.activity!.start)} to ${formatMinute(state.activity!.end)} wholly contains run ${swallowed.runId}${count > 1 ? ` and ${count - 1} other run(s)` : ""} of ${state.run.framework}: a timestamp error in this run (a step clock wrong or a step started early?); fix its steps' start_timestamp/end_timestamp`;
    state.windowError = reason;
    state.activity = undefined;
    state.window = undefined;
    if (state.selected)
      problems.push({
        path: state.run.path,
        framework: state.run.framework,
        runId: state.run.runId,
        reason,
      });
  }
  const present = occupants.filter((o) => !containers.has(o));

  // Each framework has its own key (two frameworks on one key id is a configuration error), so
  // runs are grouped by framework: ambiguity is known even in list mode, without key ids.
  const sharing = findSharing(
    present.map((o) => ({ id: o.id, keyId: o.framework, window: o.window })),
  );
  const runIdOf = new Map(present.map((o) => [o.id, o.runId]));
  for (const s of states)
    if (s.window) s.sharesWith = (sharing.get(s.id) ?? []).map((id) => runIdOf.get(id) ?? id);
  markUntrustedReadings(present);
  return { states, problems };
}

/** A run holding minutes on its framework's key; `state` is absent for a file that was refused. */
interface Occupant {
  id: string;
  runId: string;
  framework: string;
  activity: { start: number; end: number };
  window: QueryWindow;
  /** The run's state; absent for a file refused at discovery. Only runs with a window are read. */
  state?: RunState;
}

const occupant = (
  id: string,
  runId: string,
  framework: string,
  activity: { start: number; end: number },
  settings: PassSettings,
  state?: RunState,
): Occupant => ({
  id,
  runId,
  framework,
  activity,
  window: queryWindow({ ...activity, source: "steps" }, settings),
  state,
});

/**
 * Runs whose activity window wholly contains another run's of the same framework (docs/design.md#trust-rules): one
 * file whose first step is days early would otherwise make every run it covers ambiguous. Runs with
 * identical windows contain each other and are left to the sharing check (both ambiguous). Only a
 * run with a window of its own can be a container. Per framework, windows sorted by start (longest
 * first on ties): a window contains another exactly when some later window in that order ends no
 * later than it does.
 */
function containingWindows(
  occupants: readonly Occupant[],
): Array<{ container: Occupant; swallowed: Occupant; count: number }> {
  const byFramework = new Map<string, Occupant[]>();
  for (const o of occupants) {
    const list = byFramework.get(o.framework);
    if (list) list.push(o);
    else byFramework.set(o.framework, [o]);
  }
  const found: Array<{ container: Occupant; swallowed: Occupant; count: number }> = [];
  for (const list of byFramework.values()) {
    list.sort((a, b) => a.activity.start - b.activity.start || b.activity.end - a.activity.end);
    // endsFirst[k]: of the runs at k and after, the one that ends first
    const endsFirst: Occupant[] = new Array(list.length);
    for (let k = list.length - 1; k >= 0; k--) {
      const next = endsFirst[k + 1];
      endsFirst[k] = next && next.activity.end < list[k]!.activity.end ? next : list[k]!;
    }
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!.activity;
      if (!list[i]!.state?.window) continue;
      // Windows equal to this one come right after it. Every run after those starts later, or
      // at the same time and ends sooner: it lies inside this window when it ends no later.
      let j = i + 1;
      while (
        j < list.length &&
        list[j]!.activity.end === a.end &&
        list[j]!.activity.start === a.start
      )
        j++;
      const swallowed = endsFirst[j];
      if (!swallowed || swallowed.activity.end > a.end) continue;
      let count = 0;
      for (let k = j; k < list.length && list[k]!.activity.start <= a.end; k++)
        if (list[k]!.activity.end <= a.end) count++;
      found.push({ container: list[i]!, swallowed, count });
    }
  }
  return found;
}

/**
 * Marks the readings that cannot vouch for a run as it is now (docs/design.md#verification): a reading counts only
 * when it names a query window, that window covers the run's current window (for this tool's own
 * readings: is exactly that window), and it overlaps no other run's window on the same key.
 * Anything else was read over another window (steps corrected since, a run directory copied to a
 * new id) or took in a neighbour's minutes (the old script's ±300 s padding did, in 14 of 300 real
 * runs). Readings taken with another key are refused by evaluateRun, which knows the key
 * configured now. Runs in error that still hold minutes (see buildRunStates) count as neighbours.
 */
function markUntrustedReadings(occupants: readonly Occupant[]): void {
  const byKey = new Map<string, Occupant[]>();
  for (const o of occupants) {
    const list = byKey.get(o.framework);
    if (list) list.push(o);
    else byKey.set(o.framework, [o]);
  }
  for (const list of byKey.values()) {
    // Ambiguous runs overlap by definition and are never verified; the check is for the others.
    list.sort((a, b) => a.window.start - b.window.start);
    const starts = list.map((o) => o.window.start);
    // a loop, not a spread: a spread of a long list overflows the stack
    let longest = 0;
    for (const o of list) longest = Math.max(longest, o.window.end - o.window.start);
    for (const o of list) {
      const s = o.state;
      if (!s?.window || s.sharesWith.length > 0) continue;
      const own = s.window;
      const reasons = new Map<string, string | undefined>();
      const overlapReason = (a: Attempt, w: QueryWindow): string | undefined => {
        const cacheKey = `${w.start}-${w.end}`;
        if (reasons.has(cacheKey)) return reasons.get(cacheKey);
        let reason: string | undefined;
        // windows sorted by start: candidates start before w.end and no earlier than w.start - longest
        let i = upperBound(starts, w.end - 1);
        for (; i >= 0 && starts[i]! >= w.start - longest; i--) {
          const other = list[i]!;
          if (other !== o && overlaps(w, other.window)) {
            reason = `readings up to ${a.timestamp} were taken over ${formatMinute(w.start)} to ${formatMinute(w.end)}, which overlaps run ${other.runId}; re-verifying over the exact window`;
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
