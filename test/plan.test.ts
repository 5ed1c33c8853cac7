import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { QueryWindow, Span } from "../src/model.ts";
import { pagesFor, planSpans, requestLowerBound, unionOf } from "../src/usage/plan.ts";

/** 2025-10-30T00:00:00Z */
const T0 = 1_761_782_400;
const M = 60;
/** A page of one day of minute buckets (OpenAI's). */
const DAY = 1440;
/** A window of whole minutes, given as minute offsets from T0. */
const w = (startMinute: number, endMinute: number): QueryWindow => ({
  start: T0 + startMinute * M,
  end: T0 + endMinute * M,
});

/** Every minute (Unix seconds) the windows cover. */
const minutesOf = (windows: readonly QueryWindow[]): number[] =>
  [
    ...new Set(
      windows.flatMap((x) =>
        Array.from({ length: (x.end - x.start) / M }, (_, i) => x.start + i * M),
      ),
    ),
  ].sort((a, b) => a - b);

/**
 * The true fewest pages of `page` minutes that cover the minutes, by exhaustive search: the
 * page that covers the first uncovered minute may start anywhere up to `page - 1` minutes
 * before it; try every start.
 */
function optimumPages(windows: readonly QueryWindow[], page: number): number {
  const minutes = minutesOf(windows);
  const memo = new Map<number, number>();
  const best = (i: number): number => {
    if (i >= minutes.length) return 0;
    const cached = memo.get(i);
    if (cached !== undefined) return cached;
    let result = Number.POSITIVE_INFINITY;
    for (let s = minutes[i]! - (page - 1) * M; s <= minutes[i]!; s += M) {
      let j = i;
      while (j < minutes.length && minutes[j]! < s + page * M) j++;
      result = Math.min(result, 1 + best(j));
    }
    memo.set(i, result);
    return result;
  };
  return best(0);
}

const covered = (spans: readonly Span[], minute: number) =>
  spans.some((s) => s.start <= minute && minute < s.end);

const windowsArb = (maxStart: number, maxLength: number) =>
  fc.array(
    fc
      .tuple(fc.integer({ min: 0, max: maxStart }), fc.integer({ min: 1, max: maxLength }))
      .map(([s, len]) => w(s, s + len)),
    { maxLength: 8 },
  );

describe("planSpans", () => {
  it("plans nothing for no windows", () => {
    expect(planSpans([], DAY)).toEqual([]);
    expect(requestLowerBound(planSpans([], DAY), DAY)).toBe(0);
  });

  it("covers every minute of every window with sorted, disjoint, minute-aligned spans", () => {
    fc.assert(
      fc.property(windowsArb(200, 40), fc.integer({ min: 1, max: 12 }), (windows, page) => {
        const spans = planSpans(windows, page);
        for (const m of minutesOf(windows)) expect(covered(spans, m)).toBe(true);
        spans.forEach((s, i) => {
          expect(s.end).toBeGreaterThan(s.start);
          expect((s.start - T0) % M).toBe(0);
          expect((s.end - T0) % M).toBe(0);
          if (i > 0) expect(s.start).toBeGreaterThanOrEqual(spans[i - 1]!.end);
        });
      }),
      { numRuns: 500 },
    );
  });

  it("needs exactly the fewest pages that can cover the windows (exhaustive check)", () => {
    fc.assert(
      fc.property(windowsArb(120, 30), fc.integer({ min: 1, max: 10 }), (windows, page) => {
        expect(requestLowerBound(planSpans(windows, page), page)).toBe(optimumPages(windows, page));
      }),
      { numRuns: 1000 },
    );
  });

  it("spans start and end on covered minutes and include a gap only where it costs no page", () => {
    fc.assert(
      fc.property(windowsArb(200, 20), fc.integer({ min: 1, max: 10 }), (windows, page) => {
        const minutes = new Set(minutesOf(windows));
        for (const s of planSpans(windows, page)) {
          expect(minutes.has(s.start)).toBe(true);
          expect(minutes.has(s.end - M)).toBe(true);
          // the span costs no more than the fewest pages for the minutes inside it
          const inside = [...minutes].filter((m) => s.start <= m && m < s.end);
          const alone = inside.map((m) => ({ start: m, end: m + M }));
          expect(pagesFor(s, page)).toBe(optimumPages(alone, page));
        }
      }),
      { numRuns: 500 },
    );
  });

  it("never costs more than one query per run", () => {
    fc.assert(
      fc.property(windowsArb(3000, 2000), (windows) => {
        const perRun = windows.reduce((n, x) => n + pagesFor(x, DAY), 0);
        expect(requestLowerBound(planSpans(windows, DAY), DAY)).toBeLessThanOrEqual(perRun);
      }),
      { numRuns: 300 },
    );
  });

  it("merges nearby windows into one page and leaves a long gap out", () => {
    // 110 minutes with a gap: one page of 1440 buckets fetches both runs
    expect(planSpans([w(0, 10), w(100, 110)], DAY)).toEqual([
      { start: w(0, 0).start, end: w(110, 110).start },
    ]);
    // a gap longer than a page: two spans, the gap is not fetched
    const far = planSpans([w(0, 10), w(3000, 3010)], DAY);
    expect(far).toEqual([
      { start: w(0, 0).start, end: w(10, 10).start },
      { start: w(3000, 0).start, end: w(3010, 0).start },
    ]);
    expect(requestLowerBound(far, DAY)).toBe(2);
    expect(covered(far, w(1500, 0).start)).toBe(false);
    // one run per framework, taking turns, over a day: one request instead of thirty
    const day = Array.from({ length: 30 }, (_, i) => w(i * 45, i * 45 + 20));
    expect(requestLowerBound(planSpans(day, DAY), DAY)).toBe(1);
    expect(day.reduce((n, x) => n + pagesFor(x, DAY), 0)).toBe(30);
  });

  it("gives a window longer than a day ceil(minutes / 1440) pages", () => {
    for (const minutes of [1, 1439, 1440, 1441, 2880, 2881, 3000, 10_000]) {
      const spans = planSpans([w(7, 7 + minutes)], DAY);
      expect(requestLowerBound(spans, DAY), `${minutes} minutes`).toBe(Math.ceil(minutes / 1440));
      expect(spans[0]!.start).toBe(w(7, 7).start);
      expect(spans.at(-1)!.end).toBe(w(7 + minutes, 0).start);
    }
    // a long window followed by a short one a little later shares the last, partial page
    expect(requestLowerBound(planSpans([w(0, 1500), w(1600, 1700)], DAY), DAY)).toBe(2);
  });

  it("unions overlapping and touching windows", () => {
    expect(unionOf([w(10, 20), w(0, 5), w(15, 30), w(30, 31), w(40, 41)])).toEqual([
      { start: w(0, 0).start, end: w(5, 0).start },
      { start: w(10, 0).start, end: w(31, 0).start },
      { start: w(40, 0).start, end: w(41, 0).start },
    ]);
  });
});
