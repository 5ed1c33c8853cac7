import { remembered } from "./remembered.ts";

/** Time helpers. All times inside the core are Unix seconds (numbers); minutes are aligned to 60 s. */

export const MINUTE = 60;

export const floorMinute = (t: number): number => Math.floor(t / MINUTE) * MINUTE;
export const ceilMinute = (t: number): number => Math.ceil(t / MINUTE) * MINUTE;

/** The number that `count` ASCII digits at `at` write; -1 where one of them is not a digit. */
function digitsAt(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    n = n * 10 + d;
  }
  return n;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysIn = (year: number, month: number): number =>
  month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
    ? 29
    : DAYS_IN_MONTH[month - 1]!;

/**
 * Parses an ISO-8601 timestamp to Unix seconds (with fraction): `YYYY-MM-DD`, `T` or a space,
 * `hh:mm:ss`, an optional fraction, an optional `Z` or `±hh[:]mm` offset, white space around. A
 * timestamp without an offset is UTC: the experiments' Python code wrote naive UTC times, and
 * reading them as local time would shift every window by the runner's offset.
 * Read by position rather than with a regular expression and a Date (a pass reads every
 * timestamp of every file, twice), with Date.UTC's meaning kept: years 0-99 are 1900-1999, and a
 * time of day is accepted while it stays in its day (`10:60:00` is 11:00).
 */
export function parseIsoSeconds(raw: string): number | undefined {
  const text = raw.trim();
  const at = (i: number) => text.charCodeAt(i);
  if (text.length < 19 || at(4) !== 0x2d || at(7) !== 0x2d || at(13) !== 0x3a || at(16) !== 0x3a)
    return undefined;
  if (at(10) !== 0x54 /* T */ && at(10) !== 0x20) return undefined;
  const y = digitsAt(text, 0, 4);
  const mo = digitsAt(text, 5, 2);
  const d = digitsAt(text, 8, 2);
  const h = digitsAt(text, 11, 2);
  const mi = digitsAt(text, 14, 2);
  const s = digitsAt(text, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0) return undefined;
  let i = 19;
  let fraction = 0;
  if (at(i) === 0x2e /* . */) {
    let j = i + 1;
    while (at(j) >= 0x30 && at(j) <= 0x39) j++;
    if (j === i + 1) return undefined;
    fraction = Number(text.slice(i, j));
    i = j;
  }
  let offset = 0;
  if (i < text.length) {
    const c = at(i);
    if (c === 0x5a /* Z */) i++;
    else if (c === 0x2b /* + */ || c === 0x2d /* - */) {
      const colon = at(i + 3) === 0x3a ? 1 : 0;
      const hh = digitsAt(text, i + 1, 2);
      const mm = digitsAt(text, i + 3 + colon, 2);
      if (hh < 0 || mm < 0) return undefined;
      offset = (c === 0x2d ? -1 : 1) * (hh * 3600 + mm * 60);
      i += 5 + colon;
    } else return undefined;
    if (i !== text.length) return undefined;
  }
  const year = y <= 99 ? 1900 + y : y;
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(year, mo)) return undefined;
  if (h * 3600 + mi * 60 + s >= 86_400) return undefined;
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000 + fraction - offset;
}

/** A day's date, made once: a pass writes the same few days into thousands of timestamps. */
const dateOfDay = remembered(
  (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10),
  4096,
);
const two = (n: number): string => (n < 10 ? `0${n}` : String(n));
/** The seconds of years 0000-9999, the ones toISOString writes with four digits. */
const FOUR_DIGIT_YEARS = [-62_167_219_200, 253_402_300_799];

/**
 * Formats a time the way the old Python script wrote attempt timestamps
 * (`2025-10-30T11:42:05.259428+00:00`), so old and new attempts read alike.
 */
export function formatIsoSeconds(seconds: number): string {
  // whole microseconds first, so 36.9999995 s becomes 37.000000, not 36 s and 1,000,000 µs
  const micros = Math.round(seconds * 1e6);
  const wholeSeconds = Math.floor(micros / 1e6);
  const fraction = String(micros - wholeSeconds * 1e6).padStart(6, "0");
  if (!(wholeSeconds >= FOUR_DIGIT_YEARS[0]! && wholeSeconds <= FOUR_DIGIT_YEARS[1]!))
    return `${new Date(wholeSeconds * 1000).toISOString().slice(0, 19)}.${fraction}+00:00`;
  const day = Math.floor(wholeSeconds / 86_400);
  const inDay = wholeSeconds - day * 86_400;
  const clock = `${two(Math.floor(inDay / 3600))}:${two(Math.floor(inDay / 60) % 60)}:${two(inDay % 60)}`;
  // joined, not a template: a template of this length is a tree of string pieces that stays in
  // memory as long as the reading holding it (a pass keeps every run's)
  return [dateOfDay(day), "T", clock, ".", fraction, "+00:00"].join("");
}

/** A minute's name, made once: a pass names the same few minutes in many runs' messages. */
const nameOfMinute = remembered(
  (minute: number) =>
    [new Date(minute * 60_000).toISOString().slice(0, 16).replace("T", " "), " UTC"].join(""),
  4096,
);

/** `2025-10-30 11:42 UTC`, for tables and messages. */
export function formatMinute(seconds: number): string {
  // the minute of the Date made from it (which drops the milliseconds' fraction toward zero)
  return nameOfMinute(Math.floor(Math.trunc(seconds * 1000) / 60_000));
}
