import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatIsoSeconds, parseIsoSeconds } from "../src/util/time.ts";

/**
 * Timestamps are read and written by position, for speed; what they mean is what a regular
 * expression and JavaScript's Date say. These are those readings, the definition the fast ones
 * must agree with on every input.
 */
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;
function parseByDate(text: string): number | undefined {
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
function formatByDate(seconds: number): string {
  const micros = Math.round(seconds * 1e6);
  const wholeSeconds = Math.floor(micros / 1e6);
  const fraction = String(micros - wholeSeconds * 1e6).padStart(6, "0");
  return `${new Date(wholeSeconds * 1000).toISOString().slice(0, 19)}.${fraction}+00:00`;
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");
const two = fc.integer({ min: 0, max: 99 }).map((n) => pad(n, 2));

describe("timestamps", () => {
  it("reads what the experiments wrote", () => {
    expect(parseIsoSeconds("2025-10-30T11:41:26.839709+00:00")).toBe(1761824486.839709);
    expect(parseIsoSeconds("2025-10-29T23:20:48.090532Z")).toBe(1761780048.090532);
    // naive times are UTC; offsets move the instant
    expect(parseIsoSeconds("2025-10-29 23:20:48")).toBe(1761780048);
    expect(parseIsoSeconds("2025-10-30T01:20:48+02:00")).toBe(1761780048);
    expect(parseIsoSeconds("2025-10-29T18:50:48-0430")).toBe(1761780048);
  });

  it("keeps Date.UTC's meaning: years 0-99 are 1900-1999, a time of day may roll within its day", () => {
    expect(parseIsoSeconds("0000-02-29T00:00:00Z")).toBeUndefined(); // 1900 had no 29 February
    expect(parseIsoSeconds("0004-02-29T00:00:00Z")).toBe(Date.UTC(1904, 1, 29) / 1000);
    expect(parseIsoSeconds("2025-10-30T10:60:00Z")).toBe(parseIsoSeconds("2025-10-30T11:00:00Z"));
    expect(parseIsoSeconds("2025-10-30T23:59:60Z")).toBeUndefined();
  });

  it("refuses what is not a time", () => {
    for (const text of [
      "",
      "2025-02-29T00:00:00Z",
      "2025-13-01T00:00:00Z",
      "2025-10-30T24:00:00Z",
      "2025-10-30T11:41:26.Z",
      "2025-10-30T11:41:26+5:30",
      "2025-10-30T11:41:26 Z",
      "2025-10-30",
      "٢٠٢٥-10-30T11:41:26Z",
    ])
      expect(parseIsoSeconds(text), text).toBeUndefined();
  });

  it("reads every text as the regular expression and Date do (property)", () => {
    // every part in and out of its range, each separator and zone form, white space around, and
    // one character anywhere replaced by another
    const nearly = fc
      .tuple(
        fc
          .oneof(
            fc.integer({ min: 0, max: 9999 }),
            fc.integer({ min: 1995, max: 2030 }),
            fc.constantFrom(0, 99, 100, 1900, 2000, 2024, 2100),
          )
          .map((n) => pad(n, 4)),
        two,
        two,
        fc.constantFrom("T", " ", "t", "-"),
        two,
        two,
        two,
        fc.constantFrom("", ".", ".5", ".685192", ".123456789012", ".0"),
        fc.constantFrom("", "Z", "z", "+05:30", "-0800", "+5:30", "+05:3", "+05:300", "+99:99"),
        fc.constantFrom("", " ", "\n", "\t "),
        fc.constantFrom("", " ", "\n"),
        fc.option(fc.tuple(fc.nat(40), fc.string({ minLength: 1, maxLength: 1 }))),
      )
      .map(([y, mo, d, sep, h, mi, s, frac, zone, pre, post, change]) => {
        const t = `${pre}${y}-${mo}-${d}${sep}${h}:${mi}:${s}${frac}${zone}${post}`;
        if (!change) return t;
        const i = change[0] % (t.length + 1);
        return t.slice(0, i) + change[1] + t.slice(i + 1);
      });
    // and times that exist, in every year a timestamp can write
    const valid = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        fc.integer({ min: 0, max: 59 }),
        fc.constantFrom("", ".685192", ".9999995"),
        fc.constantFrom("", "Z", "+00:00", "-05:30"),
      )
      .map(
        ([y, mo, d, h, mi, s, f, z]) =>
          `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${f}${z}`,
      );
    fc.assert(
      fc.property(fc.oneof(nearly, valid), (text) => {
        expect(Object.is(parseIsoSeconds(text), parseByDate(text)), JSON.stringify(text)).toBe(
          true,
        );
      }),
      { numRuns: 20_000 },
    );
  });

  it("writes the old script's form", () => {
    expect(formatIsoSeconds(1761824486.839709)).toBe("2025-10-30T11:41:26.839709+00:00");
    // whole microseconds first: no second of 1,000,000 µs
    expect(formatIsoSeconds(36.9999995)).toBe("1970-01-01T00:00:37.000000+00:00");
    // past the years of four digits, as toISOString writes them
    expect(formatIsoSeconds(253_402_300_799.5)).toBe("9999-12-31T23:59:59.500000+00:00");
    expect(formatIsoSeconds(253_402_300_800)).toBe("+010000-01-01T00:00.000000+00:00");
    expect(formatIsoSeconds(-62_167_219_201)).toBe("-000001-12-31T23:59.000000+00:00");
  });

  it("writes every time as Date does (property)", () => {
    const seconds = fc.oneof(
      fc.double({ min: -7e10, max: 3e11, noNaN: true }),
      fc.integer({ min: -62_167_219_300, max: 253_402_300_900 }),
      fc.integer({ min: 1_700_000_000_000_000, max: 1_800_000_000_000_000 }).map((us) => us / 1e6),
    );
    fc.assert(
      fc.property(seconds, (s) => {
        let expected: string | RangeError;
        try {
          expected = formatByDate(s);
        } catch (error) {
          expected = error as RangeError;
        }
        if (typeof expected === "string") expect(formatIsoSeconds(s)).toBe(expected);
        else expect(() => formatIsoSeconds(s)).toThrow(RangeError);
      }),
      { numRuns: 20_000 },
    );
  });
});
