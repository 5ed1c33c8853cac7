import { rm } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { writeChanges } from "../src/delivery/write.ts";
import { UsageApiError } from "../src/errors.ts";
import { nodeFiles } from "../src/fs/node.ts";
import type { Span } from "../src/model.ts";
import { builtinSource } from "../src/pricing/prices.ts";
import { fetchSpan } from "../src/providers/openai/pages.ts";
import { runPass } from "../src/reconcile/pass.ts";
import { TOOL, VERSION } from "../src/version.ts";
import { allEvents, generateExperiment, tempDir, writeExperiment } from "./support/experiment.ts";
import type { Fault, UsageEvent } from "./support/fake-usage-api.ts";
import { fakeApiWithSource } from "./support/page-source.ts";
import { testSettings } from "./support/settings.ts";

/**
 * SPEC §11 "A page means one thing": a page that says something twice, or something that cannot
 * be a count, is refused (its span's runs are `error`), never added up into a reading. Every test
 * drives the real client over HTTP against the fake Usage API, which sends the bad page.
 */

const T0 = 1_761_820_800;
const MIN = 60;
const ADMIN_KEY = "sk-admin-pages-0001";
const KEY_A = "key_alphaPages01";
const SPAN: Span = { start: T0, end: T0 + 10 * MIN };
const event = (minute: number, inputTokens: number): UsageEvent => ({
  apiKeyId: KEY_A,
  model: "gpt-4o-mini-2024-07-18",
  completedAt: T0 + minute * MIN + 5,
  inputTokens,
  outputTokens: 100,
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function fetchWith(events: UsageEvent[], fault?: Fault) {
  const { api, source } = await fakeApiWithSource(
    { adminKey: ADMIN_KEY, events, faults: fault ? () => fault : undefined },
    cleanups,
  );
  try {
    return { rows: (await fetchSpan(source, SPAN, [KEY_A])).rows, api };
  } catch (error) {
    if (error instanceof UsageApiError) return { error, api };
    throw error;
  }
}

type AnyPage = { data: Array<{ start_time: number; end_time: number; results: unknown[] }> };
/** The page with the first result of its first non-empty bucket changed. */
const withFirstResult =
  (change: Record<string, unknown>) =>
  (page: unknown): unknown => {
    const p = page as AnyPage;
    const i = p.data.findIndex((b) => b.results.length > 0);
    return {
      ...p,
      data: p.data.map((b, k) =>
        k === i
          ? { ...b, results: [{ ...(b.results[0] as object), ...change }, ...b.results.slice(1)] }
          : b,
      ),
    };
  };

describe("a page means one thing", () => {
  it("two results of the same group in one bucket refuse the page instead of being added up", async () => {
    const { error, rows } = await fetchWith([event(0, 1000), event(3, 500)], {
      kind: "duplicate-row",
    });
    expect(rows).toBeUndefined();
    expect(error?.kind).toBe("protocol");
    expect(error?.message).toMatch(
      /^bucket \d+ \(2025-10-30 10:40 UTC\) has two results for the same group \(key_alphaPages01, gpt-4o-mini-2024-07-18, batch false, tier default\)/,
    );
  });

  it("the same model with another batch flag or tier is another group, and is kept", async () => {
    const batch = { ...event(0, 40), batch: true };
    const flex = { ...event(0, 30), serviceTier: "flex" };
    const { rows, error } = await fetchWith([event(0, 1000), batch, flex]);
    expect(error).toBeUndefined();
    expect(rows?.map((r) => r.inputTokens).sort((a, b) => a - b)).toEqual([30, 40, 1000]);
  });

  it("a bucket outside the requested span refuses the page", async () => {
    const { error } = await fetchWith([event(0, 1000)], {
      kind: "rewrite",
      rewrite: (page) => {
        const p = page as AnyPage;
        const first = p.data[0]!;
        return {
          ...p,
          data: [{ ...first, start_time: T0 - MIN, end_time: T0 }, ...p.data.slice(1)],
        };
      },
    });
    expect(error?.kind).toBe("protocol");
    expect(error?.message).toMatch(/lies outside the requested span/);
  });

  const badCounts: Array<[string, Record<string, unknown>, RegExp]> = [
    ["a negative count", { input_tokens: -5 }, /input_tokens: Too small/],
    ["a fractional count", { output_tokens: 1.5 }, /output_tokens: .*expected int/],
    ["a count past 2^53", { num_model_requests: 2 ** 53 + 2 }, /num_model_requests: Too big/],
    ["a cached count past 2^53", { input_cached_tokens: 1e300 }, /input_cached_tokens: Too big/],
    ["a model name of a megabyte", { model: "m".repeat(1 << 20) }, /model: Too big/],
    ["a model name with a line break", { model: "gpt-4o\n::error::x" }, /model: /],
  ];
  for (const [name, change, message] of badCounts) {
    it(`${name} refuses the page (after asking again)`, async () => {
      const { error, api } = await fetchWith([event(0, 1000)], {
        kind: "rewrite",
        rewrite: withFirstResult(change),
      });
      expect(error?.kind).toBe("malformed");
      expect(error?.message).toMatch(message);
      expect(error!.message.length).toBeLessThan(600);
      expect(api.requests).toHaveLength(3);
    });
  }

  it("counts whose sum for a key passes 2^53 refuse the page, though each is a safe integer", async () => {
    const big = 2 ** 52 + 7;
    const { error } = await fetchWith([event(0, big), event(1, big)]);
    expect(error?.kind).toBe("protocol");
    expect(error?.message).toMatch(
      /the input_tokens of key_alphaPages01 add up past 2\^53 − 1, more than can be counted exactly; the page is refused/,
    );
  });
});

describe("a refused page fails its span's runs, at the pass level", () => {
  it("duplicated rows never become a doubled reading, however many passes", async () => {
    const runs = generateExperiment({ frameworks: ["baes"], runsPerFramework: 4, seed: 3 });
    const root = await tempDir();
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const runsDir = await writeExperiment(root, runs);
    const { source } = await fakeApiWithSource(
      { adminKey: ADMIN_KEY, events: allEvents(runs), faults: () => ({ kind: "duplicate-row" }) },
      cleanups,
    );
    const lastEnd = Math.max(...runs.map((r) => r.end));
    for (let pass = 0; pass < 4; pass++) {
      const outcome = await runPass(testSettings(runsDir, ["baes"]), {
        files: nodeFiles,
        now: lastEnd + 3600 + pass * 2 * 3600,
        prices: [builtinSource()],
        source,
        tool: TOOL,
        version: VERSION,
      });
      expect(await writeChanges(nodeFiles, outcome.changes)).toEqual([]);
      for (const r of outcome.report.runs) {
        expect(r.status, `pass ${pass} ${r.run_id}`).toBe("error");
        expect(r.message).toMatch(/two results for the same group/);
        expect(r.tokens_in).toBeNull();
      }
    }
  });

  it("a run whose usage sums past 2^53 across two pages is an error, not a reading", async () => {
    // one run of 25 hours: its window crosses two pages of one span
    const runs = generateExperiment({
      frameworks: ["baes"],
      runsPerFramework: 1,
      seed: 5,
      durationSeconds: [90_000, 90_001],
    });
    const run = runs[0]!;
    const big = 2 ** 52 + 11;
    const extra: UsageEvent[] = [run.start + 600, run.end - 600].map((t) => ({
      apiKeyId: run.keyId,
      model: "gpt-4o-mini-2024-07-18",
      completedAt: Math.floor(t),
      inputTokens: big,
      outputTokens: 1,
    }));
    const root = await tempDir();
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const runsDir = await writeExperiment(root, runs);
    const { source } = await fakeApiWithSource(
      { adminKey: ADMIN_KEY, events: [...allEvents(runs), ...extra] },
      cleanups,
    );
    const outcome = await runPass(testSettings(runsDir, ["baes"]), {
      files: nodeFiles,
      now: run.end + 3 * 3600,
      prices: [builtinSource()],
      source,
      tool: TOOL,
      version: VERSION,
    });
    const [row] = outcome.report.runs;
    expect(row!.status).toBe("error");
    expect(row!.message).toMatch(/add up past 2\^53/);
    expect(outcome.changes.filter((c) => c.path.endsWith("metrics.json"))).toEqual([]);
  });
});
