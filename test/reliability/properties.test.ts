import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyMetricsTarget } from "../../src/edit/metrics.ts";
import { UsageApiError } from "../../src/errors.ts";
import { contentDigest } from "../../src/fs/digest.ts";
import { MAX_MINUTE_BUCKETS } from "../../src/providers/openai/query.ts";
import { collectReadings } from "../../src/reconcile/collect.ts";
import type { PassSettings } from "../../src/reconcile/settings.ts";
import { buildRunStates } from "../../src/reconcile/state.ts";
import type { Discovery } from "../../src/runs/discover.ts";
import { type Attempt, MetricsFileSchema } from "../../src/runs/schema.ts";
import { defaultPassSettings } from "../../src/settings/resolve.ts";
import type { PageRequest, PageSource } from "../../src/transport/source.ts";
import { requestLowerBound } from "../../src/usage/plan.ts";
import { countKeysWritten } from "../../src/util/json-read.ts";
import { formatIsoSeconds } from "../../src/util/time.ts";
import { evaluateRun, type VerifySettings } from "../../src/verify/evaluate.ts";
import { fewestPages } from "../support/oracle.ts";

/**
 * Properties of the pure core that a published figure rests on: the network phase
 * (collectReadings: plan → pages → attribution) over random usage and random run layouts, fed by
 * an in-memory Usage API built here from the events; and the verification decision.
 */

/** 2025-10-30T00:00:00Z */
const T0 = 1_761_782_400;
const M = 60;
const TAIL = 120;
const KEYS = ["key_alpha01", "key_beta02", "key_gamma03"];
const FRAMEWORKS = ["alpha", "beta", "gamma"];
/** A key no framework is configured with: its usage must never reach a run. */
const STRANGER = "key_stranger99";
const MODELS = ["gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "ft:gpt-4o-mini:lab::x1"];

interface Totals {
  tokensIn: number;
  tokensOut: number;
  cachedTokens: number;
  requests: number;
}
const ZERO: Totals = { tokensIn: 0, tokensOut: 0, cachedTokens: 0, requests: 0 };
const add = (a: Totals, b: Totals): Totals => ({
  tokensIn: a.tokensIn + b.tokensIn,
  tokensOut: a.tokensOut + b.tokensOut,
  cachedTokens: a.cachedTokens + b.cachedTokens,
  requests: a.requests + b.requests,
});

interface Event {
  key: string;
  at: number;
  model: string;
  batch: boolean;
  tier: string;
  input: number;
  cached: number;
  output: number;
  requests: number;
}
const totalsOf = (e: Event): Totals => ({
  tokensIn: e.input,
  tokensOut: e.output,
  cachedTokens: e.cached,
  requests: e.requests,
});

interface RunLayout {
  id: string;
  framework: string;
  key: string;
  /** Step times, Unix seconds. */
  start: number;
  end: number;
}

/**
 * A Usage API in memory: answers a page request from the events the way the real one does
 * (buckets keyed by their start, grouped by key/model/batch/tier, filtered by api_key_ids, followed
 * with a cursor). `pageBuckets` below the request's limit makes it page more often, as the API may;
 * `omitEmpty` leaves empty minutes out instead of sending `results: []`.
 */
function memoryApi(
  events: readonly Event[],
  options: { pageBuckets?: number; omitEmpty: boolean },
) {
  const byMinute = new Map<number, Event[]>();
  for (const e of events) {
    const minute = Math.floor(e.at / M) * M;
    byMinute.set(minute, [...(byMinute.get(minute) ?? []), e]);
  }
  const requests: PageRequest[] = [];
  const source: PageSource = {
    async fetchPage(req) {
      requests.push(req);
      const total = (req.endTime - req.startTime) / M;
      const offset = req.page === undefined ? 0 : Number(req.page.slice("cursor-".length));
      if (!Number.isInteger(total) || !Number.isInteger(offset))
        throw new UsageApiError("bad_request", `bad request ${JSON.stringify(req)}`);
      const last = Math.min(total, offset + Math.min(req.limit, options.pageBuckets ?? req.limit));
      const keys = new Set(req.apiKeyIds);
      const data = [];
      for (let i = offset; i < last; i++) {
        const start = req.startTime + i * M;
        const groups = new Map<string, Record<string, unknown>>();
        for (const e of byMinute.get(start) ?? []) {
          if (!keys.has(e.key)) continue;
          const id = JSON.stringify([e.key, e.model, e.batch, e.tier]);
          const r = groups.get(id) ?? {
            object: "organization.usage.completions.result",
            api_key_id: e.key,
            model: e.model,
            batch: e.batch,
            service_tier: e.tier,
            project_id: null,
            user_id: null,
            input_tokens: 0,
            input_cached_tokens: 0,
            output_tokens: 0,
            num_model_requests: 0,
          };
          (r.input_tokens as number) += e.input;
          (r.input_cached_tokens as number) += e.cached;
          (r.output_tokens as number) += e.output;
          (r.num_model_requests as number) += e.requests;
          groups.set(id, r);
        }
        if (groups.size === 0 && options.omitEmpty) continue;
        data.push({
          object: "bucket",
          start_time: start,
          end_time: start + M,
          results: [...groups.values()],
        });
      }
      const more = last < total;
      return { object: "page", data, has_more: more, next_page: more ? `cursor-${last}` : null };
    },
  };
  return { source, requests };
}

const settingsFor = (): PassSettings => ({
  ...defaultPassSettings(),
  runsDir: "/runs",
  apiKeyIds: Object.fromEntries(FRAMEWORKS.map((f, i) => [f, KEYS[i]!])),
  windowTailSeconds: TAIL,
});

/** Runs as discovery would hand them over: each a metrics.json with one step. */
function discoveryOf(runs: readonly RunLayout[]): Discovery {
  return {
    runs: runs.map((r) => {
      const file = MetricsFileSchema.parse({
        run_id: r.id,
        steps: [{ step: 1, start_timestamp: r.start, end_timestamp: r.end }],
      });
      return {
        framework: r.framework,
        runId: r.id,
        path: `/runs/${r.framework}/${r.id}/metrics.json`,
        digest: contentDigest(Buffer.from(JSON.stringify(file))),
        file,
        keys: countKeysWritten(JSON.stringify(file)),
      };
    }),
    problems: [],
    frameworks: [...new Set(runs.map((r) => r.framework))].sort(),
  };
}

/** SPEC §3, computed here: [floor60(start), floor60(end) + 60 + tail). */
const windowOf = (r: RunLayout) => ({
  start: Math.floor(r.start / M) * M,
  end: Math.floor(r.end / M) * M + M + Math.ceil(TAIL / M) * M,
});

/**
 * SPEC §11, computed here: a run whose steps wholly contain another run's of its framework (not
 * an identical one) is a timestamp error and owns no minute; the others are read without it.
 */
function exceptContainers(runs: readonly RunLayout[]): RunLayout[] {
  const contains = (r: RunLayout, o: RunLayout) =>
    o !== r &&
    o.framework === r.framework &&
    r.start <= o.start &&
    o.end <= r.end &&
    !(o.start === r.start && o.end === r.end);
  return runs.filter((r) => !runs.some((o) => contains(r, o)));
}

/** Runs on the same key whose windows hold minute `m`. */
const ownersOf = (runs: readonly RunLayout[], key: string, m: number) =>
  runs.filter((r) => r.key === key && windowOf(r).start <= m && m < windowOf(r).end);

// Layouts: up to 8 runs on up to 3 keys, close together so that windows often overlap on one key;
// now and then a run longer than a day (a window needing more than one page).
const runsArb = fc
  .array(
    fc.record({
      fw: fc.integer({ min: 0, max: 2 }),
      startMinute: fc.integer({ min: 0, max: 600 }),
      second: fc.integer({ min: 0, max: 59 }),
      duration: fc.oneof(
        { weight: 9, arbitrary: fc.integer({ min: 0, max: 3000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 86_400, max: 2 * 86_400 }) },
      ),
    }),
    { minLength: 1, maxLength: 8 },
  )
  .map((specs) =>
    specs.map((s, i): RunLayout => {
      const start = T0 + s.startMinute * M + s.second;
      return {
        id: `run-${i}`,
        framework: FRAMEWORKS[s.fw]!,
        key: KEYS[s.fw]!,
        start,
        end: start + s.duration,
      };
    }),
  );

const eventsArb = fc.array(
  fc
    .record({
      key: fc.constantFrom(...KEYS, STRANGER),
      minute: fc.integer({ min: -30, max: 700 }),
      second: fc.integer({ min: 0, max: 59 }),
      model: fc.constantFrom(...MODELS),
      batch: fc.boolean(),
      tier: fc.constantFrom("default", "flex"),
      input: fc.integer({ min: 0, max: 50_000 }),
      cachedShare: fc.double({ min: 0, max: 1, noNaN: true }),
      output: fc.integer({ min: 0, max: 10_000 }),
      requests: fc.integer({ min: 0, max: 5 }),
    })
    .map(
      (e): Event => ({
        key: e.key,
        at: T0 + e.minute * M + e.second,
        model: e.model,
        batch: e.batch,
        tier: e.tier,
        input: e.input,
        cached: Math.floor(e.input * e.cachedShare),
        output: e.output,
        requests: e.requests,
      }),
    ),
  { maxLength: 60 },
);

describe("collectReadings over random usage and random run layouts", () => {
  it("gives each run the usage of its own minutes, counts no shared minute twice, and sends exactly the fewest requests", async () => {
    await fc.assert(
      fc.asyncProperty(runsArb, eventsArb, fc.boolean(), async (all, events, omitEmpty) => {
        const settings = settingsFor();
        const latestEnd = Math.max(...all.map((r) => r.end));
        const now = latestEnd + 3 * 3600;
        const { states } = buildRunStates(discoveryOf(all), settings, now);
        // the runs that swallow another are errors without a window; the rest are read
        const runs = exceptContainers(all);
        expect(states.filter((s) => s.window).map((s) => s.run.runId)).toEqual(
          runs.map((r) => r.id),
        );
        const api = memoryApi(events, { omitEmpty });
        const collected = await collectReadings({
          states,
          due: states.filter((s) => s.window),
          settings,
          sourceOf: () => api.source,
          now,
          tool: "test",
        });

        expect(collected.failures.size).toBe(0);
        // requests: one per 1440-minute page, exactly the fewest that cover the windows
        const windows = runs.map(windowOf);
        expect(api.requests.length).toBe(requestLowerBound(collected.spans, MAX_MINUTE_BUCKETS));
        expect(api.requests.length).toBe(collected.lowerBound);
        expect(api.requests.length).toBe(fewestPages(windows));
        // every request asks for the configured keys only, in whole minutes
        for (const req of api.requests) {
          expect(req.startTime % M).toBe(0);
          expect(req.endTime % M).toBe(0);
          expect(req.apiKeyIds).not.toContain(STRANGER);
        }

        let counted = ZERO;
        for (const r of runs) {
          const w = windowOf(r);
          const mine = events.filter((e) => e.key === r.key && w.start <= e.at && e.at < w.end);
          const minuteOf = (e: Event) => Math.floor(e.at / M) * M;
          const own = mine.filter((e) => ownersOf(runs, r.key, minuteOf(e)).length === 1);
          const shared = mine.filter((e) => ownersOf(runs, r.key, minuteOf(e)).length > 1);
          const reading = collected.readings.get(`${r.framework}/${r.id}`);
          expect(reading, r.id).toBeDefined();
          const got: Totals = {
            tokensIn: reading!.total_tokens_in,
            tokensOut: reading!.total_tokens_out,
            cachedTokens: reading!.total_cached_tokens,
            requests: reading!.total_api_calls ?? 0,
          };
          // its own minutes, and only those
          expect(got).toEqual(own.map(totalsOf).reduce(add, ZERO));
          const unambiguous = runs.every(
            (o) =>
              o === r ||
              o.key !== r.key ||
              windowOf(o).end <= w.start ||
              w.end <= windowOf(o).start,
          );
          if (unambiguous) {
            // the sum of the events inside its window, exactly
            expect(got).toEqual(mine.map(totalsOf).reduce(add, ZERO));
            expect(reading!.shared).toBeUndefined();
          } else {
            // shared minutes: reported beside the reading, not in it
            expect(reading!.shared).toBeDefined();
            expect(reading!.shared!.tokens_in).toBe(shared.reduce((n, e) => n + e.input, 0));
          }
          expect(reading!.query_window).toMatchObject(w);
          expect(reading!.api_key_id).toBe(r.key);
          counted = add(counted, got);
        }
        // no token counted twice: the runs' readings never add up to more than the usage in
        // their windows, counted once per minute
        const inSomeWindow = events.filter((e) =>
          runs.some((r) => r.key === e.key && windowOf(r).start <= e.at && e.at < windowOf(r).end),
        );
        const once = inSomeWindow.map(totalsOf).reduce(add, ZERO);
        const sharedOnce = inSomeWindow
          .filter((e) => ownersOf(runs, e.key, Math.floor(e.at / M) * M).length > 1)
          .map(totalsOf)
          .reduce(add, ZERO);
        expect(add(counted, sharedOnce)).toEqual(once);
      }),
      { numRuns: 300 },
    );
  });

  it("reads the same totals when the API pages through short pages and leaves empty minutes out", async () => {
    await fc.assert(
      fc.asyncProperty(
        runsArb,
        eventsArb,
        fc.integer({ min: 1, max: 90 }),
        async (runs, events, pageBuckets) => {
          const settings = settingsFor();
          const now = Math.max(...runs.map((r) => r.end)) + 3 * 3600;
          const { states } = buildRunStates(discoveryOf(runs), settings, now);
          const full = memoryApi(events, { omitEmpty: false });
          const paged = memoryApi(events, { omitEmpty: true, pageBuckets });
          const due = states.filter((s) => s.window);
          const args = { states, due, settings, now, tool: "test" };
          const a = await collectReadings({ ...args, sourceOf: () => full.source });
          const b = await collectReadings({ ...args, sourceOf: () => paged.source });
          expect(b.failures.size).toBe(0);
          expect([...b.readings]).toEqual([...a.readings]);
          expect(b.unattributed).toEqual(a.unattributed);
          expect(b.pages).toBe(paged.requests.length);
          expect(paged.requests.length).toBeGreaterThanOrEqual(full.requests.length);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("a page that fails never becomes a reading: its runs fail, or read their exact usage when a retry of their minutes succeeds", async () => {
    await fc.assert(
      fc.asyncProperty(
        runsArb,
        eventsArb,
        fc.integer({ min: 0, max: 5 }),
        async (all, events, failAt) => {
          const settings = settingsFor();
          const now = Math.max(...all.map((r) => r.end)) + 3 * 3600;
          const { states } = buildRunStates(discoveryOf(all), settings, now);
          const runs = exceptContainers(all);
          const api = memoryApi(events, { omitEmpty: false, pageBuckets: 30 });
          let calls = 0;
          let failed: PageRequest | undefined;
          const source: PageSource = {
            fetchPage: (req) => {
              if (calls++ === failAt) {
                failed = req;
                return Promise.reject(new UsageApiError("server", "503 server error"));
              }
              return api.source.fetchPage(req);
            },
          };
          const c = await collectReadings({
            states,
            due: states.filter((s) => s.window),
            settings,
            sourceOf: () => source,
            now,
            tool: "test",
            concurrency: 1,
          });
          for (const r of runs) {
            const id = `${r.framework}/${r.id}`;
            const w = windowOf(r);
            const touches =
              failed !== undefined && failed.startTime < w.end && w.start < failed.endTime;
            // never both, never neither
            expect(c.failures.has(id) !== c.readings.has(id), id).toBe(true);
            if (touches && c.failures.has(id))
              expect(c.failures.get(id)).toMatch(/503 server error/);
            const reading = c.readings.get(id);
            if (reading) {
              // a span that failed is fetched again page by page: whatever is read is exact
              const minuteOf = (e: Event) => Math.floor(e.at / M) * M;
              const own = events.filter(
                (e) =>
                  e.key === r.key &&
                  w.start <= e.at &&
                  e.at < w.end &&
                  ownersOf(runs, r.key, minuteOf(e)).length === 1,
              );
              const expected = own.map(totalsOf).reduce(add, ZERO);
              expect(
                [
                  reading.total_tokens_in,
                  reading.total_tokens_out,
                  reading.total_cached_tokens,
                  reading.total_api_calls,
                ],
                id,
              ).toEqual([
                expected.tokensIn,
                expected.tokensOut,
                expected.cachedTokens,
                expected.requests,
              ]);
            }
          }
          if (!failed) expect(c.failures.size).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// evaluateRun

const VALUES: Totals[] = [
  ZERO,
  { tokensIn: 35_167, tokensOut: 8_987, cachedTokens: 1_024, requests: 18 },
  { tokensIn: 35_167, tokensOut: 8_988, cachedTokens: 1_024, requests: 18 },
];
const reading = (t: number, v: Totals): Attempt => ({
  timestamp: formatIsoSeconds(t),
  total_tokens_in: v.tokensIn,
  total_tokens_out: v.tokensOut,
  total_api_calls: v.requests,
  total_cached_tokens: v.cachedTokens,
});
const same = (a: Attempt, b: Attempt) =>
  a.total_tokens_in === b.total_tokens_in &&
  a.total_tokens_out === b.total_tokens_out &&
  a.total_cached_tokens === b.total_cached_tokens &&
  a.total_api_calls === b.total_api_calls;
const secondsOf = (a: Attempt) => Date.parse(a.timestamp) / 1000;

/** Readings from 30 min after the run ended, gaps from seconds to hours, values mostly repeating. */
const attemptsArb = fc
  .array(
    fc.tuple(
      fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 600, max: 3 * 3600 })),
      fc.constantFrom(0, 1, 1, 1, 2),
    ),
    { maxLength: 10 },
  )
  .map((steps) => {
    let t = T0 + 1800;
    return steps.map(([gap, v]) => {
      t += gap;
      return reading(t, VALUES[v]!);
    });
  });

describe("evaluateRun over random readings", () => {
  it("never verifies when the two newest readings differ, when readings are closer than the interval, or when the window is shared", () => {
    fc.assert(
      fc.property(
        attemptsArb,
        fc.integer({ min: 0, max: 100 * 3600 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 180 }),
        fc.boolean(),
        fc.boolean(),
        (attempts, later, stableChecks, minutes, force, shared) => {
          const interval = minutes * 60;
          const settings: VerifySettings = {
            minAgeMinutes: 30,
            verificationIntervalMinutes: minutes,
            stableChecks,
            giveUpAfterHours: 72,
            force,
          };
          const last = attempts.at(-1);
          const now = (last ? secondsOf(last) : T0 + 1800) + later;
          const e = evaluateRun(
            { now, endedAt: T0, attempts, sharesWith: shared ? ["other-run"] : [] },
            settings,
          );
          const gaps = attempts.slice(1).map((a, i) => secondsOf(a) - secondsOf(attempts[i]!));
          if (gaps.every((g) => g < interval)) expect(e.status).not.toBe("verified");
          if (attempts.length >= 2 && !same(attempts.at(-1)!, attempts.at(-2)!))
            expect(e.status).not.toBe("verified");
          if (shared) expect(e.status).not.toBe("verified");
          if (e.status === "verified") {
            // counted here, not by the walk: stable pairs in the newest block of identical readings
            let pairs = 0;
            for (let i = attempts.length - 1; i >= 1 && same(attempts[i]!, attempts[i - 1]!); i--)
              if (gaps[i - 1]! >= interval) pairs++;
            expect(pairs).toBeGreaterThanOrEqual(stableChecks);
            expect(attempts.at(-1)!.total_tokens_in).toBeGreaterThan(0);
          }
          // a run read less than the interval ago is not read again, unless forced
          if (last && now - secondsOf(last) < interval && !force) expect(e.due).toBe(false);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Readings written in time order

describe("new readings in a metrics.json", () => {
  it("land in time order whatever the file already holds (a pass re-applied on a later pass's head)", () => {
    const at = (minutes: number) => reading(T0 + minutes * 60, VALUES[1]!);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 5000 }), { maxLength: 8 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom("  ", "    ", "\t"),
        (existing, added, indent) => {
          const old = [...existing].sort((a, b) => a - b).map(at);
          const fresh = added
            .filter((m) => !existing.includes(m))
            .sort((a, b) => a - b)
            .map(at);
          const value = {
            run_id: "r1",
            steps: [{ step: 1, start_timestamp: T0, end_timestamp: T0 + 600 }],
            usage_api_reconciliation: { verification_status: "pending", attempts: old },
            verification_status: "pending",
          };
          const text = `${JSON.stringify(value, null, indent)}\n`;
          const after = applyMetricsTarget(text, MetricsFileSchema.parse(value), {
            newAttempts: fresh,
            status: "pending",
            message: "m",
            verifiedAt: null,
          });
          const attempts = JSON.parse(after).usage_api_reconciliation.attempts as Attempt[];
          const times = attempts.map(secondsOf);
          expect(times).toEqual([...times].sort((a, b) => a - b));
          expect(attempts).toEqual([...old, ...fresh].sort((a, b) => secondsOf(a) - secondsOf(b)));
          // the readings already there are kept byte for byte
          for (const a of old)
            expect(after).toContain(JSON.stringify(a, null, indent).split("\n")[1]);
        },
      ),
      { numRuns: 500 },
    );
  });
});
