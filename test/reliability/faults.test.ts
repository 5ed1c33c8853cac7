import { describe, expect, it } from "vitest";
import type { PageSource } from "../../src/transport/source.ts";
import {
  FAULT_KINDS,
  faultLabel,
  MUST_BE_ZERO,
  type ReliabilityFigures,
  runReliability,
} from "../support/reliability.ts";

/**
 * The reliability experiment (test/support/reliability.ts), smaller than `npm run reliability`:
 * passes over an experiment that is still running, with seeded faults of every kind, late events
 * and revised buckets, every file checked after every pass against answers computed from the
 * events alone; then clean passes, after which every run must be verified with its true totals.
 */

const SEEDS = [1, 2, 3];

function expectClean(f: ReliabilityFigures): void {
  const nonZero = Object.fromEntries(MUST_BE_ZERO.filter((k) => f[k] !== 0).map((k) => [k, f[k]]));
  expect(nonZero, f.violations.join("\n")).toEqual({});
  expect(f.violations).toEqual([]);
  expect(f.notReached).toEqual([]);
  expect(f.allReachedTruth).toBe(true);
  expect(f.verifiedRuns).toBe(f.runs);
}

/** One experiment per seed, shared by the tests that read its figures. */
const experiments = new Map<number, Promise<ReliabilityFigures>>();
function figuresFor(seed: number): Promise<ReliabilityFigures> {
  let p = experiments.get(seed);
  if (!p) {
    p = runReliability({ passes: 12, runs: 300, seed, faultRate: 0.2 });
    experiments.set(seed, p);
  }
  return p;
}

describe("under faults, late data and revised buckets, no reading is lost, wrong or half-written", () => {
  for (const seed of SEEDS) {
    it.concurrent(`seed ${seed}: 12 passes with faults × 300 runs, then clean passes`, async () => {
      const f = await figuresFor(seed);
      expectClean(f);
      // the experiment exercised what it claims to
      expect(f.runs).toBe(300);
      expect(f.faultyPasses).toBe(12);
      expect(f.cleanPasses).toBeGreaterThan(0);
      expect(f.faultsTotal).toBeGreaterThan(0);
      expect(f.lateEvents).toBeGreaterThan(0);
      expect(f.revisedEvents).toBeGreaterThan(0);
      expect(f.readingsRecorded).toBeGreaterThan(f.runs);
      // late and revised data were seen: some readings changed value before the run settled
      expect(f.changedReadings).toBeGreaterThan(0);
      // runs are committed as they finish; each is checked after every pass from then on
      expect(f.runsChecked).toBeGreaterThan(f.runs * 5);
      expect(f.concurrentReads).toBeGreaterThan(0);
    });
  }

  it("across the seeds, every fault kind was injected and some readings were refused", async () => {
    const all = await Promise.all(SEEDS.map(figuresFor));
    for (const kind of FAULT_KINDS.map(faultLabel)) {
      expect(
        all.reduce((n, f) => n + (f.faults[kind] ?? 0), 0),
        kind,
      ).toBeGreaterThan(0);
    }
    expect(all.reduce((n, f) => n + f.readingsRefused, 0)).toBeGreaterThan(0);
  });
});

describe("the checks are not vacuous: a broken client is caught", () => {
  const emptyPage = { object: "page", data: [], has_more: false, next_page: null };

  it("recording an API failure as a zero reading (the old script's defect) is counted as wrong readings", async () => {
    const zeroOnFailure = (source: PageSource): PageSource => ({
      fetchPage: (req) => source.fetchPage(req).catch(() => emptyPage),
    });
    const f = await runReliability({
      passes: 6,
      runs: 60,
      seed: 4,
      faultRate: 0.5,
      maxCleanPasses: 1,
      wrapSource: zeroOnFailure,
    });
    expect(f.wrongReadings).toBeGreaterThan(0);
    expect(f.violations.join("\n")).toMatch(/the API's answer for .* then was/);
  });

  it("a bucket miscounted by one token is counted as a wrong reading", async () => {
    let pages = 0;
    const offByOne = (source: PageSource): PageSource => ({
      fetchPage: async (req) => {
        const page = (await source.fetchPage(req)) as {
          data: Array<{ results: Array<Record<string, number>> }>;
        };
        if (++pages % 5 === 0) {
          const result = page.data.find((b) => b.results.length > 0)?.results[0];
          // one more uncached text token, consistently: a page whose parts contradict their
          // total would be refused, not miscounted
          if (result)
            for (const field of ["input_tokens", "input_uncached_tokens", "input_text_tokens"])
              if (typeof result[field] === "number") result[field] += 1;
        }
        return page;
      },
    });
    const f = await runReliability({
      passes: 4,
      runs: 60,
      seed: 5,
      faultRate: 0,
      maxCleanPasses: 1,
      wrapSource: offByOne,
    });
    expect(f.wrongReadings).toBeGreaterThan(0);
  });
});
