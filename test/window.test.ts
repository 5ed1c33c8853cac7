import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ManifestEntry, MetricsFile } from "../src/runs/schema.ts";
import { activityWindow, overlaps, queryWindow, windowMinutes } from "../src/runs/window.ts";
import { formatMinute, parseIsoSeconds } from "../src/util/time.ts";

const iso = (text: string): number => parseIsoSeconds(text)!;
/** Well after every time used below. */
const NOW = iso("2025-11-05T00:00:00Z");

const file = (extra: Partial<MetricsFile> = {}): MetricsFile => ({ run_id: "r1", ...extra });
const step = (start: number | null | undefined, end: number | null | undefined) => ({
  start_timestamp: start,
  end_timestamp: end,
});
const entry = (start?: string | null, end?: string | null): ManifestEntry => ({
  run_id: "r1",
  start_time: start,
  end_time: end,
});

function ok(result: ReturnType<typeof activityWindow>) {
  if ("error" in result) throw new Error(`expected a window, got: ${result.error}`);
  return result.ok;
}
function error(result: ReturnType<typeof activityWindow>): string {
  if ("ok" in result) throw new Error(`expected an error, got ${JSON.stringify(result.ok)}`);
  return result.error;
}

describe("activityWindow", () => {
  it("spans the earliest step start to the latest step end, in any step order", () => {
    const f = file({
      start_timestamp: "2025-10-30T09:00:00Z",
      end_timestamp: "2025-10-30T12:00:00Z",
      steps: [
        step(1_761_821_153, 1_761_821_188),
        step(1_761_821_076, 1_761_821_121),
        step(1_761_821_252, 1_761_821_486),
      ],
    });
    expect(
      ok(activityWindow(f, entry("2020-01-01T00:00:00Z", "2020-01-01T01:00:00Z"), NOW)),
    ).toEqual({
      start: 1_761_821_076,
      end: 1_761_821_486,
      source: "steps",
    });
  });

  it("ignores steps whose times are null or missing", () => {
    const f = file({
      steps: [
        step(null, null),
        step(1_761_821_076, 1_761_821_121),
        step(undefined, 1_761_821_200),
        step(1_761_821_000, null),
      ],
    });
    expect(ok(activityWindow(f, undefined, NOW))).toEqual({
      start: 1_761_821_000,
      end: 1_761_821_200,
      source: "steps",
    });
  });

  it("falls back to the top-level ISO timestamps, read as UTC when they carry no offset", () => {
    const f = file({
      start_timestamp: "2025-10-30T10:44:36.881209Z",
      end_timestamp: "2025-10-30T10:51:26.345345",
      steps: [step(null, null)],
    });
    const w = ok(activityWindow(f, undefined, NOW));
    expect(w.source).toBe("timestamps");
    expect(w.start).toBeCloseTo(iso("2025-10-30T10:44:36Z") + 0.881209, 5);
    expect(w.end).toBeCloseTo(iso("2025-10-30T10:51:26Z") + 0.345345, 5);
    // an offset is honoured
    const offset = file({
      start_timestamp: "2025-10-30T12:44:36+02:00",
      end_timestamp: "2025-10-30T12:51:26+02:00",
    });
    expect(ok(activityWindow(offset, undefined, NOW)).start).toBe(iso("2025-10-30T10:44:36Z"));
  });

  it("falls back to the manifest entry", () => {
    const f = file({ start_timestamp: "2025-10-30T10:44:36Z", end_timestamp: null, steps: [] });
    expect(
      ok(activityWindow(f, entry("2025-10-30T10:40:00Z", "2025-10-30T10:50:00Z"), NOW)),
    ).toEqual({
      start: iso("2025-10-30T10:40:00Z"),
      end: iso("2025-10-30T10:50:00Z"),
      source: "manifest",
    });
  });

  it("is an error, naming every source it tried, when there is no window", () => {
    const message = error(
      activityWindow(file({ steps: [step(null, null)] }), entry(null, "2025-10-30T10:50:00Z"), NOW),
    );
    expect(message).toMatch(/no run window/);
    expect(message).toMatch(/start_timestamp/);
    expect(message).toMatch(/manifest/);
    expect("error" in activityWindow(file(), undefined, NOW)).toBe(true);
  });

  it("rejects millisecond timestamps with a clear message", () => {
    const message = error(
      activityWindow(file({ steps: [step(1_761_821_076_000, 1_761_821_486_000)] }), undefined, NOW),
    );
    expect(message).toMatch(/step timestamps look like milliseconds/);
    expect(message).toMatch(/expected Unix seconds/);
  });

  it("rejects an end before the start", () => {
    expect(
      error(activityWindow(file({ steps: [step(1_761_821_486, 1_761_821_076)] }), undefined, NOW)),
    ).toMatch(
      /^steps\[0\] starts at 2025-10-30T10:51:26.000Z and ends \(1761821076\) before it starts \(1761821486\), and no end is known after it/,
    );
    const backwards = file({
      start_timestamp: "2025-10-30T11:00:00Z",
      end_timestamp: "2025-10-30T10:00:00Z",
    });
    expect(error(activityWindow(backwards, undefined, NOW))).toMatch(
      /^start_timestamp\/end_timestamp end \(.*\) before they start/,
    );
  });

  describe("a step with a start and no end, or an end before its start (SPEC §11)", () => {
    // the real shape: six steps, the framework killed during the last one
    const t0 = 1_761_821_000;
    const sixSteps = (last: ReturnType<typeof step>) => [
      ...Array.from({ length: 5 }, (_, k) => ({
        step: k + 1,
        ...step(t0 + k * 600, t0 + k * 600 + 590),
      })),
      { step: 6, ...last },
    ];

    it("never shrinks the window: it ends at the top-level end_timestamp when that is later", () => {
      const f = file({
        start_timestamp: "2025-10-30T10:43:20Z",
        end_timestamp: "2025-10-30T11:43:20Z",
        steps: sixSteps(step(t0 + 3000, null)),
      });
      // on main the window stopped at step 5's end (t0 + 2990), before step 6 started
      expect(ok(activityWindow(f, undefined, NOW))).toEqual({
        start: t0,
        end: iso("2025-10-30T11:43:20Z"),
        source: "steps",
      });
    });

    it("takes the latest end known: a manifest end_time later than the file's", () => {
      const f = file({
        end_timestamp: "2025-10-30T11:30:00Z",
        steps: sixSteps(step(t0 + 3000, t0 + 2000)),
      });
      expect(
        ok(activityWindow(f, entry("2025-10-30T10:43:20Z", "2025-10-30T11:50:00Z"), NOW)).end,
      ).toBe(iso("2025-10-30T11:50:00Z"));
    });

    it("is an error naming the step when nothing ends after the step started", () => {
      const f = file({
        end_timestamp: null,
        steps: sixSteps(step(t0 + 3000, undefined)),
      });
      expect(error(activityWindow(f, undefined, NOW))).toMatch(
        /^step 6 \(steps\[5\]\) starts at 2025-10-30T11:33:20.000Z and has no end_timestamp, and no end is known after it/,
      );
      // an end only before the step's start is no help either
      const early = file({
        end_timestamp: "2025-10-30T11:00:00Z",
        steps: sixSteps(step(t0 + 3000, t0 + 10)),
      });
      expect(error(activityWindow(early, entry(null, "2025-10-30T11:10:00Z"), NOW))).toMatch(
        /^step 6 \(steps\[5\]\) starts at .* and ends \(\d+\) before it starts \(\d+\), and no end is known after it/,
      );
    });

    it("names legacy steps by step_number, and leaves steps with no times at all alone", () => {
      const f = file({
        steps: [
          { step_number: 1, ...step(null, null) },
          { step_number: 2, ...step(t0, t0 + 100) },
          { step_number: 3, ...step(t0 + 200, null) },
        ],
      });
      expect(error(activityWindow(f, undefined, NOW))).toMatch(/^step 3 \(steps\[2\]\) starts at/);
      // the real legacy shape (a first step with null times) keeps its window from the others
      const legacy = file({
        steps: [
          { step_number: 1, ...step(null, null) },
          { step_number: 2, ...step(t0, t0 + 100) },
        ],
      });
      expect(ok(activityWindow(legacy, undefined, NOW))).toEqual({
        start: t0,
        end: t0 + 100,
        source: "steps",
      });
    });

    it("starts no later than a step whose start and end look swapped", () => {
      const f = file({
        end_timestamp: "2025-10-30T11:43:20Z",
        steps: [step(t0 + 590, t0), ...sixSteps(step(t0 + 3000, t0 + 3590)).slice(1)],
      });
      expect(ok(activityWindow(f, undefined, NOW)).start).toBe(t0);
    });

    it("handles 130,000 steps without a stack overflow", () => {
      const steps = Array.from({ length: 130_000 }, (_, k) => step(t0 + k, t0 + k + 1));
      expect(ok(activityWindow(file({ steps }), undefined, NOW))).toEqual({
        start: t0,
        end: t0 + 130_000,
        source: "steps",
      });
    });
  });

  it("rejects an end in the future, allowing a few minutes of clock skew", () => {
    const now = iso("2025-10-30T12:00:00Z");
    const f = (end: number) => file({ steps: [step(now - 3600, end)] });
    expect(error(activityWindow(f(now + 301), undefined, now))).toBe(
      "step timestamps end in the future (2025-10-30T12:05:01.000Z)",
    );
    expect(ok(activityWindow(f(now + 300), undefined, now)).end).toBe(now + 300);
    const m = error(
      activityWindow(file(), entry("2025-10-30T11:00:00Z", "2025-10-31T00:00:00Z"), now),
    );
    expect(m).toMatch(/^manifest start_time\/end_time end in the future/);
  });
});

describe("queryWindow", () => {
  const at = (t: string) => iso(`2025-10-30T${t}Z`);
  const activity = (start: string, end: string) => ({
    start: at(start),
    end: at(end),
    source: "steps" as const,
  });

  it("covers the whole minutes of the run plus the minute after and the tail", () => {
    const w = queryWindow(activity("10:44:36", "10:51:26"), {
      windowTailSeconds: 120,
      windowPaddingSeconds: 0,
    });
    expect(w).toEqual({ start: at("10:44:00"), end: at("10:54:00") });
    expect(windowMinutes(w)).toBe(10);
  });

  it("keeps the bounds on whole minutes for any tail and padding", () => {
    // no tail: [floor(start), floor(end) + 60)
    expect(
      queryWindow(activity("10:44:36", "10:51:26"), {
        windowTailSeconds: 0,
        windowPaddingSeconds: 0,
      }),
    ).toEqual({
      start: at("10:44:00"),
      end: at("10:52:00"),
    });
    // a tail that is not whole minutes rounds up
    expect(
      queryWindow(activity("10:44:36", "10:51:26"), {
        windowTailSeconds: 90,
        windowPaddingSeconds: 0,
      }),
    ).toEqual({
      start: at("10:44:00"),
      end: at("10:54:00"),
    });
    // the old script's ±300 s padding widens both ends
    expect(
      queryWindow(activity("10:44:36", "10:51:26"), {
        windowTailSeconds: 120,
        windowPaddingSeconds: 300,
      }),
    ).toEqual({
      start: at("10:39:00"),
      end: at("10:59:00"),
    });
    expect(
      queryWindow(activity("10:44:36", "10:51:26"), {
        windowTailSeconds: 0,
        windowPaddingSeconds: 30,
      }),
    ).toEqual({
      start: at("10:43:00"),
      end: at("10:53:00"),
    });
    // a run that starts and ends on a minute boundary, or within one minute
    expect(
      queryWindow(activity("10:44:00", "10:44:00"), {
        windowTailSeconds: 0,
        windowPaddingSeconds: 0,
      }),
    ).toEqual({
      start: at("10:44:00"),
      end: at("10:45:00"),
    });
    expect(
      queryWindow(activity("10:44:59", "10:45:00"), {
        windowTailSeconds: 120,
        windowPaddingSeconds: 0,
      }),
    ).toEqual({
      start: at("10:44:00"),
      end: at("10:48:00"),
    });
  });

  it("overlaps only windows that share a minute", () => {
    const a = { start: at("10:00:00"), end: at("10:10:00") };
    expect(overlaps(a, { start: at("10:09:00"), end: at("10:20:00") })).toBe(true);
    expect(overlaps(a, { start: at("10:10:00"), end: at("10:20:00") })).toBe(false);
    expect(overlaps(a, { start: at("09:00:00"), end: at("11:00:00") })).toBe(true);
  });
});

describe("formatMinute", () => {
  it("names the minute a time falls in, whichever second of it was asked first", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e9, max: 4e9, noNaN: true }), { minLength: 1, maxLength: 30 }),
        (times) => {
          // the same minutes again at other seconds, after the first were remembered
          for (const t of [...times, ...times.map((t) => Math.floor(t / 60) * 60 + 59.5)])
            expect(formatMinute(t)).toBe(
              `${new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`,
            );
        },
      ),
    );
    expect(formatMinute(1_761_824_525)).toBe("2025-10-30 11:42 UTC");
  });
});
