import type { QueryWindow } from "../model.ts";
import { ceilMinute, floorMinute, MINUTE, parseIsoSeconds } from "../util/time.ts";
import type { ManifestEntry, MetricsFile } from "./schema.ts";

/** When a run was active: from its first step's start to its last step's end, Unix seconds. */
export interface ActivityWindow {
  start: number;
  end: number;
  source: "steps" | "timestamps" | "manifest";
}

export interface WindowSettings {
  windowTailSeconds: number;
  windowPaddingSeconds: number;
}

/** Later than 5138-11-16 in seconds: such a number is a millisecond timestamp. */
const MILLISECONDS_THRESHOLD = 1e11;
/** Clocks of the machine that ran the experiment may be a little ahead of the runner's. */
const FUTURE_TOLERANCE_SECONDS = 300;
/**
 * Real runs last minutes to hours. A longer span is a timestamp error (a step clock left at 0, a
 * wrong unit): its window would overlap every other run on its key, making them all ambiguous, and
 * take a request per day of it.
 */
const MAX_RUN_DAYS = 7;

/**
 * On an error, `evidence` is the span the run is known to have been active in when its end is
 * unknown (a step that never ended): it has no window of its own, but its neighbours must not
 * claim those minutes.
 */
type WindowResult =
  | { ok: ActivityWindow }
  | { error: string; evidence?: { start: number; end: number } };

function check(
  start: number,
  end: number,
  source: ActivityWindow["source"],
  what: string,
  now: number,
): WindowResult {
  if (start > MILLISECONDS_THRESHOLD || end > MILLISECONDS_THRESHOLD) {
    return { error: `${what} look like milliseconds (${start}…${end}); expected Unix seconds` };
  }
  if (end < start) return { error: `${what} end (${end}) before they start (${start})` };
  if (end - start > MAX_RUN_DAYS * 86_400) {
    return {
      error: `${what} span ${Math.floor((end - start) / 86_400)} days (${new Date(start * 1000).toISOString()} to ${new Date(end * 1000).toISOString()}); a run longer than ${MAX_RUN_DAYS} days is taken for a timestamp error`,
    };
  }
  if (end > now + FUTURE_TOLERANCE_SECONDS) {
    return { error: `${what} end in the future (${new Date(end * 1000).toISOString()})` };
  }
  return { ok: { start, end, source } };
}

/** How a message names a step: its own number when it has one, and its place in `steps[]`. */
function stepLabel(step: NonNullable<MetricsFile["steps"]>[number], index: number): string {
  const number = step.step ?? step.step_number;
  return number === undefined ? `steps[${index}]` : `step ${number} (steps[${index}])`;
}

const isoOf = (t: number): string =>
  Number.isFinite(t) && Math.abs(t) < 8.64e12 ? new Date(t * 1000).toISOString() : String(t);

/** A step that started and has no trustworthy end: its usage runs until some later known end. */
interface OpenStep {
  label: string;
  start: number;
  /** Why its own end is no evidence. */
  why: string;
}

/**
 * A run's activity window (docs/design.md#runs-and-windows, #trust-rules "windows come from
 * evidence"): from the earliest step start to the latest step end; else the top-level ISO
 * timestamps; else the manifest entry.
 *
 * A step with a start and no end, or with an end before its start (a framework killed mid-step),
 * must not shrink the window: its usage would fall outside and the run would be verified low. The
 * window then ends at the latest end known from the steps, the top-level `end_timestamp` and the
 * manifest's `end_time`; when none ends after that step started, the run is an error naming it.
 * A step whose end comes before its start may have the two swapped: the window starts no later
 * than either. Loops, not spreads: a file with 100,000 steps must not overflow the stack.
 */
export function activityWindow(
  file: MetricsFile,
  manifest: ManifestEntry | undefined,
  now: number,
): WindowResult {
  const steps = file.steps ?? [];
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  const open: OpenStep[] = [];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const s = typeof step.start_timestamp === "number" ? step.start_timestamp : undefined;
    const e = typeof step.end_timestamp === "number" ? step.end_timestamp : undefined;
    if (s !== undefined && s < start) start = s;
    if (s !== undefined && e === undefined)
      open.push({ label: stepLabel(step, i), start: s, why: "has no end_timestamp" });
    else if (s !== undefined && e !== undefined && e < s) {
      // start and end swapped, perhaps: the earlier one may be when the step really began
      if (e < start) start = e;
      open.push({
        label: stepLabel(step, i),
        start: s,
        why: `ends (${e}) before it starts (${s})`,
      });
    } else if (e !== undefined && e > end) end = e;
  }
  // parsed only when needed: most runs' windows come from their steps alone
  const topEnd = () => (file.end_timestamp ? parseIsoSeconds(file.end_timestamp) : undefined);
  const mEnd = () => (manifest?.end_time ? parseIsoSeconds(manifest.end_time) : undefined);

  if (open.length > 0) {
    // every end that is known, wherever it is written
    for (const e of [topEnd(), mEnd()]) if (e !== undefined && e > end) end = e;
    // millisecond starts are named as such by check() below
    for (const step of start > MILLISECONDS_THRESHOLD ? [] : open) {
      if (!(end > step.start)) {
        let latest = end;
        for (const o of open) if (o.start > latest) latest = o.start;
        const known = check(start, latest, "steps", "", now);
        return {
          ...("ok" in known ? { evidence: { start, end: latest } } : {}),
          error: `${step.label} starts at ${isoOf(step.start)} and ${step.why}, and no end is known after it (no later step end, top-level end_timestamp or manifest end_time): the run's usage cannot be bounded; fix the step's end_timestamp or the run's end_timestamp`,
        };
      }
    }
  }
  if (Number.isFinite(start) && Number.isFinite(end)) {
    return check(start, end, "steps", "step timestamps", now);
  }
  const topStart = file.start_timestamp ? parseIsoSeconds(file.start_timestamp) : undefined;
  const topStop = topEnd();
  if (topStart !== undefined && topStop !== undefined) {
    return check(topStart, topStop, "timestamps", "start_timestamp/end_timestamp", now);
  }
  const mStart = manifest?.start_time ? parseIsoSeconds(manifest.start_time) : undefined;
  const mStop = mEnd();
  if (mStart !== undefined && mStop !== undefined) {
    return check(mStart, mStop, "manifest", "manifest start_time/end_time", now);
  }
  return {
    error:
      "no run window: no step has start_timestamp and end_timestamp, the top-level start_timestamp/end_timestamp are missing, and the manifest has no entry with start_time/end_time",
  };
}

/**
 * The whole minutes attributed to a run (docs/design.md#reading-usage): `[floor(start), floor(end)
 * + 60 + tail)`, widened by the padding at both ends and rounded outward to whole minutes.
 */
export function queryWindow(activity: ActivityWindow, settings: WindowSettings): QueryWindow {
  const pad = settings.windowPaddingSeconds;
  return {
    start: floorMinute(floorMinute(activity.start) - pad),
    end: ceilMinute(floorMinute(activity.end) + MINUTE + settings.windowTailSeconds + pad),
  };
}

export const windowMinutes = (w: QueryWindow): number => (w.end - w.start) / MINUTE;

export const overlaps = (a: QueryWindow, b: QueryWindow): boolean =>
  a.start < b.end && b.start < a.end;
