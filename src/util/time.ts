import { remembered } from "./remembered.ts";

/** Time helpers. All times inside the core are Unix seconds (numbers); minutes are aligned to 60 s. */

export const MINUTE = 60;

export const floorMinute = (t: number): number => Math.floor(t / MINUTE) * MINUTE;
export const ceilMinute = (t: number): number => Math.ceil(t / MINUTE) * MINUTE;

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Parses an ISO-8601 timestamp to Unix seconds (with fraction). A timestamp without an offset is
 * UTC: the experiments' Python code wrote naive UTC times, and reading them as local time would
 * shift every window by the runner's offset.
 */
export function parseIsoSeconds(text: string): number | undefined {
  const m = ISO.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(base)) return undefined;
  const check = new Date(base);
  if (check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1) return undefined;
  let seconds = base / 1000 + (frac ? Number(`0${frac}`) : 0);
  if (zone && zone !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    seconds -= sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2)) * 60);
  }
  return seconds;
}

/**
 * Formats a time the way the old Python script wrote attempt timestamps
 * (`2025-10-30T11:42:05.259428+00:00`), so old and new attempts read alike.
 */
export function formatIsoSeconds(seconds: number): string {
  // whole microseconds first, so 36.9999995 s becomes 37.000000, not 36 s and 1,000,000 µs
  const micros = Math.round(seconds * 1e6);
  const wholeSeconds = Math.floor(micros / 1e6);
  const fraction = String(micros - wholeSeconds * 1e6).padStart(6, "0");
  return `${new Date(wholeSeconds * 1000).toISOString().slice(0, 19)}.${fraction}+00:00`;
}

/** A minute's name, made once: a pass names the same few minutes in many runs' messages. */
const nameOfMinute = remembered(
  (minute: number) =>
    `${new Date(minute * 60_000).toISOString().slice(0, 16).replace("T", " ")} UTC`,
  65_536,
);

/** `2025-10-30 11:42 UTC`, for tables and messages. */
export function formatMinute(seconds: number): string {
  // the minute of the Date made from it (which drops the milliseconds' fraction toward zero)
  return nameOfMinute(Math.floor(Math.trunc(seconds * 1000) / 60_000));
}
