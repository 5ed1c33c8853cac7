import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Totals } from "../src/model.ts";
import { type Attempt, MetricsFileSchema, type ModelUsage } from "../src/runs/schema.ts";
import { activityWindow } from "../src/runs/window.ts";
import { formatIsoSeconds, parseIsoSeconds } from "../src/util/time.ts";
import { evaluateRun, type RunFacts, type VerifySettings } from "../src/verify/evaluate.ts";
import { attemptTime, chronological, sameReading } from "../src/verify/reading.ts";
import { walkReadings } from "../src/verify/walk.ts";
import { onSharedData, SHARED_DATA, sharedDataPresent } from "./support/experiment.ts";

const HOUR = 3600;
/** 2025-10-30T12:00:00Z */
const T0 = 1_761_825_600;

const X: Totals = { tokensIn: 35_167, tokensOut: 8_987, cachedTokens: 1_024, requests: 18 };
const Y: Totals = { tokensIn: 36_000, tokensOut: 9_000, cachedTokens: 1_024, requests: 19 };
const ZERO: Totals = { tokensIn: 0, tokensOut: 0, cachedTokens: 0, requests: 0 };

function reading(t: number, totals: Totals, extra: Partial<Attempt> = {}): Attempt {
  return {
    timestamp: formatIsoSeconds(t),
    total_tokens_in: totals.tokensIn,
    total_tokens_out: totals.tokensOut,
    total_api_calls: totals.requests,
    total_cached_tokens: totals.cachedTokens,
    ...extra,
  };
}

const model = (name: string, tokensIn: number, tokensOut = 10): ModelUsage => ({
  model: name,
  batch: false,
  service_tier: "default",
  tokens_in: tokensIn,
  tokens_out: tokensOut,
  cached_tokens: 0,
  api_calls: 1,
});

const SETTINGS: VerifySettings = {
  minAgeMinutes: 30,
  verificationIntervalMinutes: 60,
  stableChecks: 2,
  giveUpAfterHours: 72,
  force: false,
};

/** A run that ended at T0; readings from 1 h after. */
const facts = (attempts: Attempt[], now: number, extra: Partial<RunFacts> = {}): RunFacts => ({
  now,
  endedAt: T0,
  attempts,
  sharesWith: [],
  ...extra,
});

describe("walkReadings", () => {
  it("counts identical consecutive readings at least the interval apart", () => {
    const attempts = [reading(T0, X), reading(T0 + HOUR, X), reading(T0 + 2 * HOUR, X)];
    expect(walkReadings(attempts, HOUR)).toEqual({ stablePairs: 2, passedOver: 0 });
    // exactly the interval counts; a second less does not
    expect(walkReadings([reading(T0, X), reading(T0 + HOUR, X)], HOUR).stablePairs).toBe(1);
    expect(walkReadings([reading(T0, X), reading(T0 + HOUR - 1, X)], HOUR)).toEqual({
      stablePairs: 0,
      passedOver: 1,
    });
  });

  it("passes over identical readings closer than the interval and walks on", () => {
    const attempts = [
      reading(T0, X),
      reading(T0 + 2 * HOUR, X),
      reading(T0 + 2 * HOUR + 6, X),
      reading(T0 + 2 * HOUR + 20, X),
      reading(T0 + 4 * HOUR, X),
    ];
    expect(walkReadings(attempts, HOUR)).toEqual({ stablePairs: 2, passedOver: 2 });
  });

  it("stops at the first differing pair from the newest back", () => {
    const attempts = [
      reading(T0, X),
      reading(T0 + HOUR, X),
      reading(T0 + 2 * HOUR, Y),
      reading(T0 + 3 * HOUR, Y),
    ];
    expect(walkReadings(attempts, HOUR)).toEqual({
      stablePairs: 1,
      passedOver: 0,
      stoppedBy: "differs",
    });
    // a zero reading in the middle differs too
    const withZero = [
      reading(T0, X),
      reading(T0 + HOUR, ZERO),
      reading(T0 + 2 * HOUR, X),
      reading(T0 + 3 * HOUR, X),
    ];
    expect(walkReadings(withZero, HOUR)).toEqual({
      stablePairs: 1,
      passedOver: 0,
      stoppedBy: "differs",
    });
  });

  it("compares the per-model split where both readings have one", () => {
    const a = reading(T0, X, { models: [model("m1", 20_000), model("m2", 15_167)] });
    const b = reading(T0 + HOUR, X, { models: [model("m1", 20_001), model("m2", 15_166)] });
    const c = reading(T0 + 2 * HOUR, X, { models: [model("m2", 15_166), model("m1", 20_001)] });
    expect(walkReadings([a, b, c], HOUR)).toEqual({
      stablePairs: 1,
      passedOver: 0,
      stoppedBy: "differs",
    });
    // an old reading without a split is compared by its totals
    const old = reading(T0, X);
    expect(walkReadings([old, b, c], HOUR)).toEqual({ stablePairs: 2, passedOver: 0 });
  });

  it("ends at an untrusted reading", () => {
    const attempts = [
      reading(T0, X),
      reading(T0 + HOUR, X),
      reading(T0 + 2 * HOUR, X),
      reading(T0 + 3 * HOUR, X),
    ];
    const untrusted = (a: Attempt) => a === attempts[1];
    expect(walkReadings(attempts, HOUR, untrusted)).toEqual({
      stablePairs: 1,
      passedOver: 0,
      stoppedBy: "untrusted",
    });
    expect(walkReadings(attempts, HOUR, (a) => a === attempts[3]).stablePairs).toBe(0);
  });
});

describe("evaluateRun: statuses (SPEC §4)", () => {
  it("too_recent: ended less than min-age-minutes ago, not queried", () => {
    const e = evaluateRun(facts([], T0 + 29 * 60), SETTINGS);
    expect(e).toMatchObject({ status: "too_recent", due: false });
    expect(e.message).toContain("30 min");
    expect(evaluateRun(facts([], T0 + 30 * 60), SETTINGS).status).not.toBe("too_recent");
  });

  it("pending with no reading yet, due at once", () => {
    expect(evaluateRun(facts([], T0 + HOUR), SETTINGS)).toMatchObject({
      status: "pending",
      due: true,
      stableChecks: 0,
    });
  });

  it("data_not_available: the API answered with no usage", () => {
    const attempts = [reading(T0 + HOUR, ZERO)];
    const e = evaluateRun(facts(attempts, T0 + HOUR + 10), SETTINGS);
    expect(e).toMatchObject({ status: "data_not_available", due: false, stableChecks: 0 });
    expect(e.basis).toBeUndefined();
    expect(evaluateRun(facts(attempts, T0 + 2 * HOUR), SETTINGS).due).toBe(true);
  });

  it("pending while stable checks accumulate", () => {
    const attempts = [reading(T0 + HOUR, X), reading(T0 + 2 * HOUR, X)];
    const e = evaluateRun(facts(attempts, T0 + 2 * HOUR + 60), SETTINGS);
    expect(e).toMatchObject({ status: "pending", stableChecks: 1, due: false });
    expect(e.basis).toBe(attempts[1]);
    expect(e.message).toContain("1 of 2 stable checks");
  });

  it("verified after stable-checks stable pairs; verifiedAt is the reading that completed the walk", () => {
    const attempts = [
      reading(T0 + HOUR, X),
      reading(T0 + 2 * HOUR, X),
      reading(T0 + 3 * HOUR, X),
      reading(T0 + 4 * HOUR, X),
    ];
    const e = evaluateRun(facts(attempts, T0 + 10 * HOUR), SETTINGS);
    expect(e).toMatchObject({ status: "verified", due: false, stableChecks: 3 });
    expect(e.basis).toBe(attempts[3]);
    expect(e.verifiedAt).toBe(attempts[2]!.timestamp);
    expect(
      evaluateRun(facts(attempts, T0 + 10 * HOUR), { ...SETTINGS, stableChecks: 3 }).verifiedAt,
    ).toBe(attempts[3]!.timestamp);
  });

  it("verifiedAt skips readings passed over and starts at the current value", () => {
    const attempts = [
      reading(T0 + HOUR, Y),
      reading(T0 + 2 * HOUR, X),
      reading(T0 + 2 * HOUR + 6, X),
      reading(T0 + 3 * HOUR + 10, X),
      reading(T0 + 5 * HOUR, X),
    ];
    const e = evaluateRun(facts(attempts, T0 + 10 * HOUR), SETTINGS);
    // pairs: (1,2) passed over, (2,3) stable, (3,4) stable → the walk completes at reading 4
    expect(e.status).toBe("verified");
    expect(e.verifiedAt).toBe(attempts[4]!.timestamp);
  });

  it("warning when a count decreased since the previous reading", () => {
    const attempts = [reading(T0 + HOUR, Y), reading(T0 + 2 * HOUR, X)];
    const e = evaluateRun(facts(attempts, T0 + 2 * HOUR + 60), SETTINGS);
    expect(e.status).toBe("warning");
    expect(e.message).toContain("TOK_IN decreased from 36,000 to 35,167");
    expect(e.basis).toBe(attempts[1]);
    expect(e.due).toBe(false);
    expect(evaluateRun(facts(attempts, T0 + 3 * HOUR), SETTINGS).due).toBe(true);
  });

  it("an increase is not a warning: verification starts over as pending", () => {
    const attempts = [reading(T0 + HOUR, X), reading(T0 + 2 * HOUR, X), reading(T0 + 3 * HOUR, Y)];
    expect(evaluateRun(facts(attempts, T0 + 4 * HOUR), SETTINGS)).toMatchObject({
      status: "pending",
      stableChecks: 0,
      due: true,
    });
  });

  it("warning when the API reports zero after non-zero, keeping the earlier values as the basis", () => {
    const attempts = [
      reading(T0 + HOUR, Y),
      reading(T0 + 2 * HOUR, X),
      reading(T0 + 3 * HOUR, ZERO),
    ];
    const e = evaluateRun(facts(attempts, T0 + 3 * HOUR + 60), SETTINGS);
    expect(e.status).toBe("warning");
    expect(e.basis).toBe(attempts[1]);
    expect(e.message).toContain(attempts[1]!.timestamp);
    expect(e.message).toContain("35,167 in");
    // even past give-up-after-hours it is not "no_usage": the run had usage
    expect(evaluateRun(facts(attempts, T0 + 100 * HOUR), SETTINGS).status).toBe("warning");
  });

  it("ambiguous when the window shares minutes with another run; never verified, no basis", () => {
    const shared = {
      with_runs: ["other"],
      minutes: 2,
      tokens_in: 500,
      tokens_out: 50,
      cached_tokens: 0,
      api_calls: 1,
    };
    const attempts = [
      reading(T0 + HOUR, X),
      reading(T0 + 2 * HOUR, X),
      reading(T0 + 3 * HOUR, X, { shared }),
    ];
    const e = evaluateRun(facts(attempts, T0 + 4 * HOUR, { sharesWith: ["other-run"] }), SETTINGS);
    expect(e.status).toBe("ambiguous");
    expect(e.basis).toBeUndefined();
    expect(e.verifiedAt).toBeUndefined();
    expect(e.message).toContain("other-run");
    expect(e.message).toContain("500 in / 50 out in 2 shared minute(s)");
  });

  it("no_usage needs two zero readings the interval apart, the newer past give-up-after-hours", () => {
    const giveUp = T0 + 72 * HOUR;
    // one empty page, however late, is not enough
    const once = [reading(giveUp + 10 * HOUR, ZERO, { api_key_id: "key_old" })];
    const single = evaluateRun(facts(once, giveUp + 11 * HOUR, { keyId: "key_old" }), SETTINGS);
    expect(single).toMatchObject({ status: "data_not_available", due: true });
    expect(single.message).toMatch(/no_usage only once zero readings at least 60 min apart/);
    // two zero readings closer than the interval are not either
    const close = [
      reading(giveUp, ZERO, { api_key_id: "key_old" }),
      reading(giveUp + HOUR - 1, ZERO, { api_key_id: "key_old" }),
    ];
    expect(evaluateRun(facts(close, giveUp + HOUR, { keyId: "key_old" }), SETTINGS).status).toBe(
      "data_not_available",
    );
    // two zero readings an hour apart, both before give-up: the run is read again past it first
    const early = [reading(T0 + HOUR, ZERO), reading(T0 + 2 * HOUR, ZERO)];
    expect(evaluateRun(facts(early, giveUp + HOUR), SETTINGS)).toMatchObject({
      status: "data_not_available",
      due: true,
    });
    const confirmed = [
      reading(giveUp - HOUR, ZERO, { api_key_id: "key_old" }),
      reading(giveUp, ZERO, { api_key_id: "key_old" }),
    ];
    const e = evaluateRun(facts(confirmed, giveUp + 60, { keyId: "key_old" }), SETTINGS);
    expect(e).toMatchObject({ status: "no_usage", due: false });
    expect(e.message).toContain("key_old");
    expect(e.message).toContain("check the key id");
    expect(
      evaluateRun(facts(confirmed, giveUp + 60, { keyId: "key_old" }), { ...SETTINGS, force: true })
        .due,
    ).toBe(true);
    // give-up-after-hours is a setting
    const shortly = [reading(T0 + 9 * HOUR, ZERO), reading(T0 + 10 * HOUR, ZERO)];
    const giveUpAt = (hours: number) =>
      evaluateRun(facts(shortly, T0 + 10 * HOUR + 60), { ...SETTINGS, giveUpAfterHours: hours })
        .status;
    expect(giveUpAt(9.5)).toBe("no_usage");
    expect(giveUpAt(10.5)).toBe("data_not_available");
  });

  it("no_usage is read again once a day, and at once when the key id changes", () => {
    const giveUp = T0 + 72 * HOUR;
    const confirmed = [
      reading(giveUp - HOUR, ZERO, { api_key_id: "key_old" }),
      reading(giveUp, ZERO, { api_key_id: "key_old" }),
    ];
    const at = (now: number, keyId = "key_old") =>
      evaluateRun(facts(confirmed, now, { keyId }), SETTINGS);
    expect(at(giveUp + 24 * HOUR - 1)).toMatchObject({ status: "no_usage", due: false });
    expect(at(giveUp + 24 * HOUR)).toMatchObject({ status: "no_usage", due: true });
    expect(at(giveUp + 24 * HOUR).message).toContain("read again once a day");
    // another key now: the old zero readings vouch for nothing, the run is read at once
    const changed = at(giveUp + 60, "key_new");
    expect(changed).toMatchObject({ status: "pending", due: true });
    expect(changed.message).toContain("taken with key key_old");
  });

  it("no_usage does not blame the key when other runs on it have usage", () => {
    const giveUp = T0 + 72 * HOUR;
    const confirmed = [
      reading(giveUp - HOUR, ZERO, { api_key_id: "key_a" }),
      reading(giveUp, ZERO, { api_key_id: "key_a" }),
    ];
    const e = evaluateRun(
      facts(confirmed, giveUp + 60, { keyId: "key_a", keyUsage: "elsewhere" }),
      SETTINGS,
    );
    expect(e.status).toBe("no_usage");
    expect(e.message).not.toContain("check the key id");
    expect(e.message).toContain("other runs on key key_a have usage");
    expect(e.message).toContain("timestamps");
  });
});

describe("evaluateRun: readings that do not vouch (SPEC §4)", () => {
  const verified = [reading(T0 + HOUR, X), reading(T0 + 2 * HOUR, X), reading(T0 + 3 * HOUR, X)];
  const otherWindow = () => "taken over another window";

  it("a verified run whose readings no longer vouch is pending, has no numbers and is read at once", () => {
    const e = evaluateRun(
      facts(verified, T0 + 3 * HOUR + 60, { untrusted: otherWindow, wasVerified: true }),
      SETTINGS,
    );
    expect(e).toMatchObject({ status: "pending", due: true, stableChecks: 0 });
    expect(e.basis).toBeUndefined();
    expect(e.message).toBe("no longer verified: taken over another window");
  });

  it("a fresh reading after stale ones counts alone: its numbers, and the walk starts again", () => {
    const fresh = reading(T0 + 3 * HOUR + 120, Y);
    const e = evaluateRun(
      facts([...verified, fresh], T0 + 3 * HOUR + 180, {
        untrusted: (a) => (a === fresh ? undefined : "taken over another window"),
      }),
      SETTINGS,
    );
    expect(e).toMatchObject({ status: "pending", stableChecks: 0, due: false });
    expect(e.basis).toBe(fresh);
    // a zero fresh reading is "no usage yet", never a warning about the stale numbers
    const zero = reading(T0 + 3 * HOUR + 120, ZERO);
    const z = evaluateRun(
      facts([...verified, zero], T0 + 3 * HOUR + 180, {
        untrusted: (a) => (a === zero ? undefined : "taken over another window"),
      }),
      SETTINGS,
    );
    expect(z.status).toBe("data_not_available");
    expect(z.basis).toBeUndefined();
  });

  it("readings taken with another key than the one configured vouch for nothing", () => {
    const withKey = verified.map((a) => ({ ...a, api_key_id: "key_swapped" }));
    const e = evaluateRun(
      facts(withKey, T0 + 3 * HOUR + 60, { keyId: "key_right", wasVerified: true }),
      SETTINGS,
    );
    expect(e).toMatchObject({ status: "pending", due: true });
    expect(e.basis).toBeUndefined();
    expect(e.message).toContain("taken with key key_swapped");
    // readings that name no key (the old script's) are not refused for it
    expect(
      evaluateRun(facts(verified, T0 + 10 * HOUR, { keyId: "key_right" }), SETTINGS).status,
    ).toBe("verified");
  });
});

describe("evaluateRun: due", () => {
  const verified = [reading(T0 + HOUR, X), reading(T0 + 2 * HOUR, X), reading(T0 + 3 * HOUR, X)];

  it("a verified run is not due, however old its last reading, unless forced", () => {
    expect(evaluateRun(facts(verified, T0 + 1000 * HOUR), SETTINGS).due).toBe(false);
    expect(evaluateRun(facts(verified, T0 + 3 * HOUR + 1), { ...SETTINGS, force: true }).due).toBe(
      true,
    );
  });

  it("other runs are due once the interval has passed since their last reading", () => {
    const pending = verified.slice(0, 2);
    const last = T0 + 2 * HOUR;
    expect(evaluateRun(facts(pending, last + HOUR - 1), SETTINGS).due).toBe(false);
    expect(evaluateRun(facts(pending, last + HOUR), SETTINGS).due).toBe(true);
    expect(evaluateRun(facts(pending, last + 60), { ...SETTINGS, force: true }).due).toBe(true);
    expect(
      evaluateRun(facts(pending, last + 30 * 60), { ...SETTINGS, verificationIntervalMinutes: 30 })
        .due,
    ).toBe(true);
  });

  it("a too-recent run is never due, even when forced", () => {
    expect(evaluateRun(facts([], T0 + 60), { ...SETTINGS, force: true }).due).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Real data

interface RealRun {
  path: string;
  file: ReturnType<typeof MetricsFileSchema.parse>;
}

function realRuns(dataset: string): RealRun[] {
  const root = join(SHARED_DATA, dataset, "runs");
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((fw) =>
      readdirSync(join(root, fw.name)).map((id) => {
        const path = join(root, fw.name, id, "metrics.json");
        return { path, file: MetricsFileSchema.parse(JSON.parse(readFileSync(path, "utf8"))) };
      }),
    );
}

function evaluateReal(run: RealRun) {
  const attempts = chronological(run.file.usage_api_reconciliation?.attempts ?? []);
  const last = attempts.at(-1);
  const now = (last ? attemptTime(last) : parseIsoSeconds("2025-11-05T00:00:00Z")!) + 24 * HOUR;
  const window = activityWindow(run.file, undefined, now);
  if (!("ok" in window)) throw new Error(`${run.path}: ${window.error}`);
  return {
    attempts,
    evaluation: evaluateRun({ now, endedAt: window.ok.end, attempts, sharesWith: [] }, SETTINGS),
  };
}

describe("the walk on real readings", () => {
  it.skipIf(!sharedDataPresent("baes-berk"))(
    `verifies every one of the 300 baes-berk runs from its recorded attempts ${onSharedData("baes-berk")}`,
    () => {
      const runs = realRuns("baes-berk");
      expect(runs).toHaveLength(300);
      for (const run of runs) {
        const { attempts, evaluation } = evaluateReal(run);
        expect(walkReadings(attempts, HOUR).stablePairs, run.path).toBeGreaterThanOrEqual(2);
        expect(evaluation.status, run.path).toBe("verified");
        expect(evaluation.basis, run.path).toBe(attempts.at(-1));
        const at = parseIsoSeconds(evaluation.verifiedAt!)!;
        expect(at).toBeLessThanOrEqual(attemptTime(attempts.at(-1)!));
        expect(attempts.some((a) => a.timestamp === evaluation.verifiedAt)).toBe(true);
      }
    },
  );

  it.skipIf(!sharedDataPresent("legacy-v1"))(
    `does not verify legacy-v1 runs the old script called verified on readings seconds apart or zeros ${onSharedData("legacy-v1")}`,
    () => {
      const suspicious = realRuns("legacy-v1").filter((run) => {
        const rec = run.file.usage_api_reconciliation;
        if (rec?.verification_status !== "verified") return false;
        const attempts = chronological(rec.attempts ?? []);
        const gaps = attempts.slice(1).map((a, i) => attemptTime(a) - attemptTime(attempts[i]!));
        return gaps.some((g) => g < HOUR) || attempts.some((a) => a.total_tokens_in === 0);
      });
      expect(suspicious.length).toBeGreaterThanOrEqual(1);
      for (const run of suspicious) {
        const { evaluation } = evaluateReal(run);
        expect(evaluation.status, run.path).not.toBe("verified");
        expect(evaluation.status, run.path).toBe("pending");
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Properties

const VALUES: Totals[] = [X, Y, ZERO];
const attemptsArb = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 2 * HOUR }), fc.integer({ min: 0, max: 2 })), {
    maxLength: 10,
  })
  .map((steps) => {
    let t = T0 + HOUR;
    return steps.map(([gap, v]) => {
      t += gap;
      return reading(t, VALUES[v]!);
    });
  });

describe("walk and evaluation: properties", () => {
  it("never counts more stable pairs than identical consecutive readings an interval apart", () => {
    fc.assert(
      fc.property(attemptsArb, fc.integer({ min: 1, max: 120 }), (attempts, minutes) => {
        const interval = minutes * 60;
        const walk = walkReadings(attempts, interval);
        const pairs = attempts.slice(1).map((a, i) => ({ newer: a, older: attempts[i]! }));
        const eligible = pairs.filter(
          (p) =>
            sameReading(p.newer, p.older) &&
            attemptTime(p.newer) - attemptTime(p.older) >= interval,
        ).length;
        expect(walk.stablePairs).toBeLessThanOrEqual(eligible);
        // exactly: the pairs of the newest run of identical readings
        let k = attempts.length - 1;
        while (k > 0 && sameReading(attempts[k]!, attempts[k - 1]!)) k--;
        const tail = pairs.slice(Math.max(0, k));
        const apart = tail.filter(
          (p) => attemptTime(p.newer) - attemptTime(p.older) >= interval,
        ).length;
        expect(walk.stablePairs).toBe(apart);
        expect(walk.passedOver).toBe(tail.length - apart);
        expect(walk.stoppedBy).toBe(k > 0 ? "differs" : undefined);
      }),
      { numRuns: 1000 },
    );
  });

  it("never returns verified when the two newest readings differ, or from a zero reading", () => {
    fc.assert(
      fc.property(
        attemptsArb,
        fc.integer({ min: 0, max: 200 * HOUR }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 120 }),
        fc.boolean(),
        (attempts, later, stableChecks, minutes, force) => {
          const last = attempts.at(-1);
          const now = (last ? attemptTime(last) : T0 + HOUR) + later;
          const settings = {
            ...SETTINGS,
            stableChecks,
            verificationIntervalMinutes: minutes,
            force,
          };
          const e = evaluateRun(facts(attempts, now), settings);
          if (e.status !== "verified") return;
          expect(attempts.length).toBeGreaterThanOrEqual(2);
          expect(sameReading(attempts.at(-1)!, attempts.at(-2)!)).toBe(true);
          expect(attempts.at(-1)!.total_tokens_in).toBeGreaterThan(0);
          expect(e.stableChecks).toBeGreaterThanOrEqual(stableChecks);
          expect(e.due).toBe(force);
          expect(attempts.some((a) => a.timestamp === e.verifiedAt)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
