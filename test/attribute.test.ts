import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RunOnKey, Totals } from "../src/model.ts";
import {
  attributor,
  findSharing,
  type RunUsage,
  type UnattributedUsage,
} from "../src/usage/attribute.ts";
import type { UsageRow } from "../src/usage/rows.ts";

/**
 * What a pass makes of all its rows (src/reconcile/collect.ts asks the same attributor for its
 * runs a few at a time): the usage of each target, none for a target that is no run on a key,
 * and what no run owns.
 */
function attribute(
  runs: readonly RunOnKey[],
  targets: ReadonlySet<string>,
  rows: readonly UsageRow[],
): { perRun: Map<string, RunUsage>; unattributed: UnattributedUsage[] } {
  const a = attributor(runs);
  const perRun = a.usageOf(
    runs.filter((r) => targets.has(r.id)),
    rows,
  );
  for (const id of targets)
    if (!perRun.has(id))
      perRun.set(id, {
        totals: { tokensIn: 0, tokensOut: 0, cachedTokens: 0, requests: 0 },
        models: [],
      });
  return { perRun, unattributed: a.unattributed(rows) };
}

/** 2025-10-30T10:00:00Z */
const T0 = 1_761_818_400;
const M = 60;
const at = (minute: number) => T0 + minute * M;

const run = (id: string, keyId: string, from: number, to: number): RunOnKey => ({
  id,
  keyId,
  window: { start: at(from), end: at(to) },
});

function row(
  minute: number,
  apiKeyId: string,
  tokens: { in?: number; cached?: number; out?: number; requests?: number } = {},
  model = "gpt-4o-mini-2024-07-18",
  batch: boolean | null = false,
  serviceTier: string | null = "default",
): UsageRow {
  return {
    minute: at(minute),
    apiKeyId,
    model,
    batch,
    serviceTier,
    inputTokens: tokens.in ?? 100,
    cachedTokens: tokens.cached ?? 10,
    outputTokens: tokens.out ?? 20,
    requests: tokens.requests ?? 1,
    classes: {
      uncached_text_input: (tokens.in ?? 100) - (tokens.cached ?? 10),
      cached_input: tokens.cached ?? 10,
      text_output: tokens.out ?? 20,
    },
    schema: "openai-2026-07",
  };
}

const ZERO: Totals = { tokensIn: 0, tokensOut: 0, cachedTokens: 0, requests: 0 };
const sum = (rows: readonly UsageRow[]): Totals =>
  rows.reduce(
    (t, r) => ({
      tokensIn: t.tokensIn + r.inputTokens,
      tokensOut: t.tokensOut + r.outputTokens,
      cachedTokens: t.cachedTokens + r.cachedTokens,
      requests: t.requests! + r.requests!,
    }),
    ZERO,
  );
const add = (a: Totals, b: Totals): Totals => ({
  tokensIn: a.tokensIn + b.tokensIn,
  tokensOut: a.tokensOut + b.tokensOut,
  cachedTokens: a.cachedTokens + b.cachedTokens,
  requests: a.requests! + b.requests!,
});

describe("attribute", () => {
  it("counts usage in a run's own minutes for that run, split by model, batch and tier", () => {
    const runs = [run("a", "key_A", 0, 5)];
    const rows = [
      row(0, "key_A", { in: 1000, cached: 200, out: 50, requests: 2 }),
      row(4, "key_A", { in: 500, cached: 0, out: 25, requests: 1 }),
      row(
        2,
        "key_A",
        { in: 300, cached: 100, out: 10, requests: 1 },
        "gpt-4o-mini-2024-07-18",
        true,
        "default",
      ),
      row(
        3,
        "key_A",
        { in: 70, cached: 0, out: 7, requests: 1 },
        "gpt-4o-mini-2024-07-18",
        false,
        "flex",
      ),
      row(3, "key_A", { in: 9, cached: 1, out: 3, requests: 1 }, "gpt-4o-2024-08-06", null, null),
    ];
    const { perRun, unattributed } = attribute(runs, new Set(["a"]), rows);
    const usage = perRun.get("a")!;
    expect(usage.totals).toEqual({ tokensIn: 1879, tokensOut: 95, cachedTokens: 301, requests: 6 });
    expect(usage.shared).toBeUndefined();
    expect(unattributed).toEqual([]);
    expect(usage.models).toEqual([
      {
        model: "gpt-4o-2024-08-06",
        batch: null,
        service_tier: null,
        tokens_in: 9,
        tokens_out: 3,
        cached_tokens: 1,
        api_calls: 1,
        classes: { uncached_text_input: 8, cached_input: 1, text_output: 3 },
        usage_schema: "openai-2026-07",
      },
      {
        model: "gpt-4o-mini-2024-07-18",
        batch: false,
        service_tier: "default",
        tokens_in: 1500,
        tokens_out: 75,
        cached_tokens: 200,
        api_calls: 3,
        classes: { uncached_text_input: 1300, cached_input: 200, text_output: 75 },
        usage_schema: "openai-2026-07",
      },
      {
        model: "gpt-4o-mini-2024-07-18",
        batch: false,
        service_tier: "flex",
        tokens_in: 70,
        tokens_out: 7,
        cached_tokens: 0,
        api_calls: 1,
        classes: { uncached_text_input: 70, text_output: 7 },
        usage_schema: "openai-2026-07",
      },
      {
        model: "gpt-4o-mini-2024-07-18",
        batch: true,
        service_tier: "default",
        tokens_in: 300,
        tokens_out: 10,
        cached_tokens: 100,
        api_calls: 1,
        classes: { uncached_text_input: 200, cached_input: 100, text_output: 10 },
        usage_schema: "openai-2026-07",
      },
    ]);
  });

  it("adds up token classes per model and records both schema generations when a run's minutes came in both", () => {
    const runs = [run("a", "key_A", 0, 5)];
    const old: UsageRow = {
      ...row(0, "key_A", { in: 1000, cached: 200, out: 50 }),
      classes: { uncached_text_input: 800, cached_input: 200, audio_input: 40, text_output: 50 },
      schema: "openai-2024-12",
    };
    const fresh: UsageRow = {
      ...row(1, "key_A", { in: 700, cached: 100, out: 60 }),
      classes: {
        uncached_text_input: 350,
        cached_input: 100,
        cache_write_input: 200,
        image_input: 50,
        text_output: 40,
        image_output: 20,
      },
      schema: "openai-2026-07",
    };
    const { perRun } = attribute(runs, new Set(["a"]), [fresh, old]);
    expect(perRun.get("a")!.models).toEqual([
      {
        model: "gpt-4o-mini-2024-07-18",
        batch: false,
        service_tier: "default",
        tokens_in: 1700,
        tokens_out: 110,
        cached_tokens: 300,
        api_calls: 2,
        classes: {
          uncached_text_input: 1150,
          cached_input: 300,
          cache_write_input: 200,
          audio_input: 40,
          image_input: 50,
          text_output: 90,
          image_output: 20,
        },
        usage_schema: "openai-2024-12+openai-2026-07",
      },
    ]);
  });

  it("gives a target without usage zero totals and no models", () => {
    const { perRun } = attribute([run("a", "key_A", 0, 5)], new Set(["a"]), []);
    expect(perRun.get("a")).toEqual({ totals: ZERO, models: [] });
  });

  it("counts a minute two runs on one key share for neither, and reports it to both once", () => {
    // a: minutes 0–4, b: minutes 4–7; minute 4 is shared
    const runs = [run("a", "key_A", 0, 5), run("b", "key_A", 4, 8)];
    const own = row(1, "key_A", { in: 1000 });
    const shared = [
      row(4, "key_A", { in: 40, cached: 4, out: 4, requests: 1 }),
      row(4, "key_A", { in: 60, cached: 6, out: 6, requests: 2 }, "gpt-4o"),
    ];
    const other = row(6, "key_A", { in: 7 });
    const { perRun, unattributed } = attribute(runs, new Set(["a", "b"]), [own, ...shared, other]);
    expect(perRun.get("a")!.totals).toEqual(sum([own]));
    expect(perRun.get("b")!.totals).toEqual(sum([other]));
    const expectedShared = { withRuns: [], minutes: 1, totals: sum(shared) };
    expect(perRun.get("a")!.shared).toEqual({ ...expectedShared, withRuns: ["b"] });
    expect(perRun.get("b")!.shared).toEqual({ ...expectedShared, withRuns: ["a"] });
    // the per-model split holds only the run's own minutes
    expect(perRun.get("a")!.models.map((m) => m.model)).toEqual(["gpt-4o-mini-2024-07-18"]);
    expect(unattributed).toEqual([]);
    expect(findSharing(runs)).toEqual(
      new Map([
        ["a", ["b"]],
        ["b", ["a"]],
      ]),
    );
  });

  it("flags windows that share minutes even when no usage lands in them", () => {
    const runs = [run("a", "key_A", 0, 10), run("b", "key_A", 2, 4), run("c", "key_A", 9, 12)];
    const { perRun } = attribute(runs, new Set(["a", "b", "c"]), []);
    expect(perRun.get("a")!.shared).toEqual({ withRuns: ["b", "c"], minutes: 3, totals: ZERO });
    expect(perRun.get("b")!.shared).toEqual({ withRuns: ["a"], minutes: 2, totals: ZERO });
    expect(perRun.get("c")!.shared).toEqual({ withRuns: ["a"], minutes: 1, totals: ZERO });
    const sharing = findSharing(runs);
    expect(sharing.get("a")!.sort()).toEqual(["b", "c"]);
    expect(sharing.get("b")).toEqual(["a"]);
    expect(sharing.get("c")).toEqual(["a"]);
  });

  it("never lets runs on different keys interact", () => {
    const runs = [run("a", "key_A", 0, 5), run("b", "key_B", 0, 5)];
    const rowsA = [row(0, "key_A", { in: 11 }), row(3, "key_A", { in: 13 })];
    const rowsB = [row(0, "key_B", { in: 17 }), row(4, "key_B", { in: 19 })];
    const { perRun, unattributed } = attribute(runs, new Set(["a", "b"]), [...rowsA, ...rowsB]);
    expect(perRun.get("a")!.totals).toEqual(sum(rowsA));
    expect(perRun.get("b")!.totals).toEqual(sum(rowsB));
    expect(perRun.get("a")!.shared).toBeUndefined();
    expect(perRun.get("b")!.shared).toBeUndefined();
    expect(unattributed).toEqual([]);
    expect(findSharing(runs).size).toBe(0);
  });

  it("touching windows (one ends where the next starts) share nothing", () => {
    const runs = [run("a", "key_A", 0, 5), run("b", "key_A", 5, 9)];
    expect(findSharing(runs).size).toBe(0);
    const { perRun } = attribute(runs, new Set(["a", "b"]), [row(4, "key_A"), row(5, "key_A")]);
    expect(perRun.get("a")!.totals.requests).toBe(1);
    expect(perRun.get("b")!.totals.requests).toBe(1);
  });

  it("reports usage in minutes no run owns as unattributed, per key, with first and last minute", () => {
    const runs = [run("a", "key_A", 10, 15)];
    const stray = [
      row(3, "key_A", { in: 5 }),
      row(3, "key_A", { in: 6 }, "gpt-4o"),
      row(15, "key_A", { in: 7 }),
      row(40, "key_A", { in: 8 }),
    ];
    const otherKey = [row(12, "key_Z", { in: 9 })];
    const { perRun, unattributed } = attribute(runs, new Set(["a"]), [
      row(12, "key_A"),
      ...stray,
      ...otherKey,
    ]);
    expect(perRun.get("a")!.totals).toEqual(sum([row(12, "key_A")]));
    const byKey = new Map(unattributed.map((u) => [u.keyId, u]));
    expect(byKey.get("key_A")).toMatchObject({
      keyId: "key_A",
      totals: sum(stray),
      minutes: 3,
      firstMinute: at(3),
      lastMinute: at(40),
    });
    // minutes more than 5 apart are separate clusters, the largest first, each with its nearest
    // run: before the run's window, right after it (a lag past the tail), and long after it
    expect(byKey.get("key_A")!.clusters).toEqual([
      {
        firstMinute: at(3),
        lastMinute: at(3),
        minutes: 1,
        totals: sum(stray.slice(0, 2)),
        nearest: { id: "a", gapMinutes: 6, side: "before" },
      },
      {
        firstMinute: at(40),
        lastMinute: at(40),
        minutes: 1,
        totals: sum([stray[3]!]),
        nearest: { id: "a", gapMinutes: 25, side: "after" },
      },
      {
        firstMinute: at(15),
        lastMinute: at(15),
        minutes: 1,
        totals: sum([stray[2]!]),
        nearest: { id: "a", gapMinutes: 0, side: "after" },
      },
    ]);
    expect(byKey.get("key_Z")).toEqual({
      keyId: "key_Z",
      totals: sum(otherKey),
      minutes: 1,
      firstMinute: at(12),
      lastMinute: at(12),
      clusters: [
        {
          firstMinute: at(12),
          lastMinute: at(12),
          minutes: 1,
          totals: sum(otherKey),
          nearest: undefined,
        },
      ],
    });
  });

  it("neither reports nor leaks usage of runs that are not targets of this pass", () => {
    const runs = [run("a", "key_A", 0, 5), run("b", "key_A", 10, 15)];
    const { perRun, unattributed } = attribute(runs, new Set(["a"]), [
      row(1, "key_A"),
      row(11, "key_A"),
    ]);
    expect([...perRun.keys()]).toEqual(["a"]);
    expect(perRun.get("a")!.totals.requests).toBe(1);
    // b's minutes are owned, so its usage is not "unattributed" either
    expect(unattributed).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

const KEYS = ["key_A", "key_B"];

const runsArb = (overlapping: boolean) =>
  overlapping
    ? fc
        .array(
          fc.tuple(
            fc.constantFrom(...KEYS),
            fc.integer({ min: 0, max: 40 }),
            fc.integer({ min: 1, max: 10 }),
          ),
          { maxLength: 6 },
        )
        .map((list) => list.map(([key, start, len], i) => run(`r${i}`, key, start, start + len)))
    : fc
        .array(
          fc.tuple(
            fc.constantFrom(...KEYS),
            fc.integer({ min: 0, max: 5 }),
            fc.integer({ min: 1, max: 8 }),
          ),
          {
            maxLength: 6,
          },
        )
        .map((list) => {
          const next = new Map<string, number>();
          return list.map(([key, gap, len], i) => {
            const start = (next.get(key) ?? 0) + gap;
            next.set(key, start + len);
            return run(`r${i}`, key, start, start + len);
          });
        });

const rowsArb = fc.array(
  fc
    .tuple(
      fc.integer({ min: -3, max: 55 }),
      fc.constantFrom(...KEYS, "key_C"),
      fc.nat(5000),
      fc.nat(1000),
      fc.nat(900),
      fc.integer({ min: 1, max: 5 }),
      fc.constantFrom("gpt-4o-mini", "gpt-4o"),
      fc.constantFrom<boolean | null>(true, false, null),
    )
    .map(([minute, key, input, cachedShare, out, requests, model, batch]) =>
      row(
        minute,
        key,
        { in: input, cached: Math.min(input, cachedShare), out, requests },
        model,
        batch,
        "default",
      ),
    ),
  { maxLength: 40 },
);

/** Owners of each minute per key, computed directly from the windows. */
function ownersOf(runs: readonly RunOnKey[], key: string, minute: number): string[] {
  return runs
    .filter((r) => r.keyId === key && r.window.start <= minute && minute < r.window.end)
    .map((r) => r.id);
}

describe("attribute: properties", () => {
  for (const overlapping of [false, true]) {
    it(`accounts for every token exactly once (${overlapping ? "overlapping" : "separate"} runs)`, () => {
      fc.assert(
        fc.property(runsArb(overlapping), rowsArb, (runs, rows) => {
          const ids = new Set(runs.map((r) => r.id));
          const { perRun, unattributed } = attribute(runs, ids, rows);

          const exclusive = [...perRun.values()].reduce((t, u) => add(t, u.totals), ZERO);
          const sharedOnce = sum(
            rows.filter((r) => ownersOf(runs, r.apiKeyId, r.minute).length > 1),
          );
          const stray = unattributed.reduce((t, u) => add(t, u.totals), ZERO);
          expect(add(add(exclusive, sharedOnce), stray)).toEqual(sum(rows));

          for (const r of runs) {
            const usage = perRun.get(r.id)!;
            const mine = rows.filter((x) => ownersOf(runs, x.apiKeyId, x.minute).includes(r.id));
            const own = mine.filter((x) => ownersOf(runs, x.apiKeyId, x.minute).length === 1);
            expect(usage.totals).toEqual(sum(own));
            // the per-model split adds up to the totals
            const fromModels = usage.models.reduce(
              (t, m) =>
                add(t, {
                  tokensIn: m.tokens_in,
                  tokensOut: m.tokens_out,
                  cachedTokens: m.cached_tokens,
                  requests: m.api_calls,
                }),
              ZERO,
            );
            expect(fromModels).toEqual(usage.totals);
            // shared minutes: reported with the runs they are shared with, never added
            const sharedMinutes: number[] = [];
            const others = new Set<string>();
            for (let m = r.window.start; m < r.window.end; m += M) {
              const owners = ownersOf(runs, r.keyId, m);
              if (owners.length > 1) {
                sharedMinutes.push(m);
                for (const o of owners) if (o !== r.id) others.add(o);
              }
            }
            if (sharedMinutes.length === 0) expect(usage.shared).toBeUndefined();
            else
              expect(usage.shared).toEqual({
                withRuns: [...others].sort(),
                minutes: sharedMinutes.length,
                totals: sum(mine.filter((x) => sharedMinutes.includes(x.minute))),
              });
            // findSharing agrees with the minutes
            expect([...(findSharing(runs).get(r.id) ?? [])].sort()).toEqual([...others].sort());
          }
          if (!overlapping) for (const u of perRun.values()) expect(u.shared).toBeUndefined();

          for (const u of unattributed) {
            const strays = rows.filter(
              (x) => x.apiKeyId === u.keyId && ownersOf(runs, x.apiKeyId, x.minute).length === 0,
            );
            const minutes = strays.map((x) => x.minute);
            expect(u.totals).toEqual(sum(strays));
            expect(u.minutes).toBe(new Set(minutes).size);
            expect(u.firstMinute).toBe(Math.min(...minutes));
            expect(u.lastMinute).toBe(Math.max(...minutes));
          }
          expect(new Set(unattributed.map((u) => u.keyId)).size).toBe(unattributed.length);
        }),
        { numRuns: 500 },
      );
    });
  }
});
