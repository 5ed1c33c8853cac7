import { ceilMinute, floorMinute, MINUTE, parseIsoSeconds } from "../util/time.ts";
import type { ManifestEntry, MetricsFile } from "./schema.ts";

/** When a run was active: from its first step's start to its last step's end, Unix seconds. */
export interface ActivityWindow {
  start: number;
  end: number;
  source: "steps" | "timestamps" | "manifest";
}

/** The minutes whose usage belongs to a run: `[start, end)`, both multiples of 60. */
export interface QueryWindow {
  start: number;
  end: number;
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

type WindowResult = { ok: ActivityWindow } | { error: string };

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

/**
 * A run's activity window (SPEC §2): from the earliest step start to the latest step end; else
 * the top-level ISO timestamps; else the manifest entry.
 */
export function activityWindow(
  file: MetricsFile,
  manifest: ManifestEntry | undefined,
  now: number,
): WindowResult {
  const steps = file.steps ?? [];
  const starts = steps.flatMap((s) =>
    typeof s.start_timestamp === "number" ? [s.start_timestamp] : [],
  );
  const ends = steps.flatMap((s) => (typeof s.end_timestamp === "number" ? [s.end_timestamp] : []));
  if (starts.length > 0 && ends.length > 0) {
    return check(Math.min(...starts), Math.max(...ends), "steps", "step timestamps", now);
  }
  const start = file.start_timestamp ? parseIsoSeconds(file.start_timestamp) : undefined;
  const end = file.end_timestamp ? parseIsoSeconds(file.end_timestamp) : undefined;
  if (start !== undefined && end !== undefined) {
    return check(start, end, "timestamps", "start_timestamp/end_timestamp", now);
  }
  const mStart = manifest?.start_time ? parseIsoSeconds(manifest.start_time) : undefined;
  const mEnd = manifest?.end_time ? parseIsoSeconds(manifest.end_time) : undefined;
  if (mStart !== undefined && mEnd !== undefined) {
    return check(mStart, mEnd, "manifest", "manifest start_time/end_time", now);
  }
  return {
    error:
      "no run window: no step has start_timestamp and end_timestamp, the top-level start_timestamp/end_timestamp are missing, and the manifest has no entry with start_time/end_time",
  };
}

/**
 * The whole minutes attributed to a run (SPEC §3): `[floor(start), floor(end) + 60 + tail)`,
 * widened by the padding at both ends and rounded outward to whole minutes.
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
