import { createHash } from "node:crypto";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UsageApiError } from "../src/errors.ts";
import { tokenLineOf } from "../src/providers/openai/costs.ts";
import { createHttpPageSource } from "../src/providers/openai/http.ts";
import { fetchSpan } from "../src/providers/openai/pages.ts";
import { type PassReport, PassReportSchema } from "../src/report/schema.ts";
import { type Attempt, MetricsFileSchema, type ModelUsage } from "../src/runs/schema.ts";
import { formatIsoSeconds } from "../src/util/time.ts";
import { evaluateRun, type VerifySettings } from "../src/verify/evaluate.ts";
import { sameReading } from "../src/verify/reading.ts";
import { runCli } from "./support/cli.ts";
import {
  copySharedData,
  type GeneratedRun,
  onSharedData,
  sharedDataPresent,
  tempDir,
  writeExperiment,
} from "./support/experiment.ts";
import {
  type FakeUsageApiOptions,
  newSchemaFrom,
  startFakeUsageApi,
  type UsageEvent,
} from "./support/fake-usage-api.ts";
import { fakeApiWithSource } from "./support/page-source.ts";

/**
 * Token classes (SPEC §12) end to end: the fake Usage API answers in the 2024-12 generation of the
 * completions fields, the 2026-07 one, or both (bucket by bucket); the CLI reads, records and
 * prices them. Every expected cost below is worked out by hand from the events and the prices in
 * CONFIG, class by class, never taken from the code under test.
 */

const ADMIN_KEY = "sk-admin-classes-test-01";
const KEY = "key_baesClasses01";
const MIN = 60;
const HOUR = 3600;
/** 2026-08-03T09:00:00Z: after OpenAI's change of 2026-07-15. */
const T0 = Date.UTC(2026, 7, 3, 9) / 1000;
const at = (minute: number) => T0 + minute * MIN + 10;

/** USD per 1M tokens, as the experiment's config.yaml states them. */
const CONFIG = `pricing:
  models:
    gpt-5.6:
      input_price: 5
      cached_price: 0.5
      cache_write_price: 6.25
      output_price: 30
    gpt-realtime:
      input_price: 4
      cached_price: 0.4
      input_audio_price: 32
      input_image_price: 5
      output_price: 16
      output_audio_price: 64
    gpt-image-1:
      input_price: 5
      cached_price: 1.25
      input_image_price: 10
      output_price: 10
      output_image_price: 40
`;

/**
 * One run's calls, in the 2026-07 generation's terms (inputTokens counts everything, cached and
 * cache writes included; outputTokens every modality).
 */
const EVENTS: UsageEvent[] = [
  // text with cache reads and writes: 5,000 uncached text + 4,000 cached + 3,000 cache writes
  {
    apiKeyId: KEY,
    model: "gpt-5.6",
    completedAt: at(1),
    inputTokens: 12_000,
    cachedTokens: 4_000,
    cacheWriteTokens: 3_000,
    outputTokens: 1_500,
  },
  // speech and a picture: 5,500 text + 2,000 audio + 500 image uncached, 1,000 cached (600 audio)
  {
    apiKeyId: KEY,
    model: "gpt-realtime",
    completedAt: at(2),
    inputTokens: 9_000,
    cachedTokens: 1_000,
    cachedAudioTokens: 600,
    audioInputTokens: 2_000,
    imageInputTokens: 500,
    outputTokens: 2_400,
    audioOutputTokens: 1_800,
  },
  // an image made from a prompt and a picture: 200 text + 1,000 image in, 4,160 image out
  {
    apiKeyId: KEY,
    model: "gpt-image-1",
    completedAt: at(3),
    inputTokens: 1_200,
    imageInputTokens: 1_000,
    outputTokens: 4_160,
    imageOutputTokens: 4_160,
  },
  // more text: 500 uncached text + 500 cached + 1,000 cache writes
  {
    apiKeyId: KEY,
    model: "gpt-5.6",
    completedAt: at(5),
    inputTokens: 2_000,
    cachedTokens: 500,
    cacheWriteTokens: 1_000,
    outputTokens: 200,
  },
];

/**
 * The hand calculation, 2026-07 generation: every class at its own rate (tokens × USD per 1M).
 *   gpt-5.6:      text in 5,500 × 5 + cached 4,500 × 0.5 + cache writes 4,000 × 6.25
 *                 + text out 1,700 × 30                                   = 0.10575
 *   gpt-realtime: text in 5,500 × 4 + cached 1,000 × 0.4 + audio in 2,000 × 32 + image in 500 × 5
 *                 + text out 600 × 16 + audio out 1,800 × 64              = 0.2137
 *   gpt-image-1:  text in 200 × 5 + image in 1,000 × 10 + image out 4,160 × 40 = 0.1774
 */
const NEW_COST =
  (5_500 * 5 + 4_500 * 0.5 + 4_000 * 6.25 + 1_700 * 30) / 1e6 +
  (5_500 * 4 + 1_000 * 0.4 + 2_000 * 32 + 500 * 5 + 600 * 16 + 1_800 * 64) / 1e6 +
  (200 * 5 + 1_000 * 10 + 4_160 * 40) / 1e6;

/**
 * The same calls as the 2024-12 generation reported them: input_tokens is text input with its
 * cache reads (cache writes and images were text input then), audio comes apart with its cached
 * part, output_tokens is text output (images included).
 *   gpt-5.6:      text in (12,000 − 4,000) + (2,000 − 500) = 9,500 × 5 + cached 4,500 × 0.5
 *                 + text out 1,700 × 30                                     = 0.10075
 *   gpt-realtime: input_tokens 9,000 − 2,000 − 600 = 6,400 of which cached 400: text in 6,000 × 4
 *                 + cached 400 × 0.4 + audio in (2,000 + 600) × 32 + text out 600 × 16
 *                 + audio out 1,800 × 64                                    = 0.23216
 *   gpt-image-1:  text in 1,200 × 5 + text out 4,160 × 10                    = 0.0476
 */
const OLD_COST =
  (9_500 * 5 + 4_500 * 0.5 + 1_700 * 30) / 1e6 +
  (6_000 * 4 + 400 * 0.4 + 2_600 * 32 + 600 * 16 + 1_800 * 64) / 1e6 +
  (1_200 * 5 + 4_160 * 10) / 1e6;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const RUN: GeneratedRun = {
  framework: "baes",
  runId: "6f1c2a9e-3b4d-4e5f-a6b7-c8d9e0f1a2b3",
  keyId: KEY,
  model: "gpt-5.6",
  start: T0 + 5,
  end: T0 + 9 * MIN + 30,
  totals: { tokensIn: 24_200, tokensOut: 8_260, cachedTokens: 5_500, requests: 4 },
  events: EVENTS,
  path: "baes/6f1c2a9e-3b4d-4e5f-a6b7-c8d9e0f1a2b3/metrics.json",
};

async function experiment(server: FakeUsageApiOptions, config = CONFIG) {
  const root = await tempDir("reconcile-usage-classes-");
  await writeExperiment(root, [RUN]);
  await writeFile(join(root, "config.yaml"), config);
  const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events: EVENTS, ...server });
  cleanups.push(async () => {
    await api.close();
    await rm(root, { recursive: true, force: true });
  });
  const path = join(root, "runs", RUN.path);
  const pass = async (now: number, extra: string[] = []): Promise<PassReport> => {
    const result = await runCli(
      [
        "--api-base-url",
        api.baseUrl,
        "--api-key-id",
        `baes=${KEY}`,
        "--now",
        new Date(now * 1000).toISOString(),
        "--json",
        ...extra,
      ],
      { cwd: root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
    );
    expect(result.code, result.stderr).toBeLessThan(2);
    return PassReportSchema.parse(JSON.parse(result.stdout));
  };
  const file = async () => MetricsFileSchema.parse(JSON.parse(await readFile(path, "utf8")));
  return { api, root, path, pass, file };
}

type Breakdown = {
  models: Array<{
    model: string;
    priced_as: string;
    price_source: string;
    tier: string;
    classes: Record<string, { tokens: number; usd_per_1m: number; cost: number }>;
    prices_sha256: string;
    cost: number;
  }>;
};

describe("token classes from the Usage API to COST_USD", () => {
  it("2026-07 pages: cache writes, audio and images each at their own rate, as the hand calculation", async () => {
    const exp = await experiment({ usageSchema: "2026-07" });
    const report = await exp.pass(T0 + HOUR);
    expect(report.runs[0]!.status).toBe("pending");
    expect(report.warnings).toEqual([]);
    const file = await exp.file();
    expect(file.aggregate_metrics?.COST_USD).toBeCloseTo(NEW_COST, 10);
    expect(report.runs[0]!.cost_usd).toBeCloseTo(NEW_COST, 10);
    // TOK_IN is the provider's total input; CACHED_TOKENS the cache reads
    expect(file.aggregate_metrics?.TOK_IN).toBe(12_000 + 9_000 + 1_200 + 2_000);
    expect(file.aggregate_metrics?.CACHED_TOKENS).toBe(4_000 + 1_000 + 500);
    expect(file.aggregate_metrics?.TOK_OUT).toBe(1_500 + 2_400 + 4_160 + 200);

    const reading = file.usage_api_reconciliation!.attempts!.at(-1)!;
    expect(reading.models!.map((m) => [m.model, m.usage_schema, m.classes])).toEqual([
      [
        "gpt-5.6",
        "openai-2026-07",
        {
          uncached_text_input: 5_500,
          cached_input: 4_500,
          cache_write_input: 4_000,
          text_output: 1_700,
        },
      ],
      [
        "gpt-image-1",
        "openai-2026-07",
        { uncached_text_input: 200, image_input: 1_000, image_output: 4_160 },
      ],
      [
        "gpt-realtime",
        "openai-2026-07",
        {
          uncached_text_input: 5_500,
          cached_input: 1_000,
          audio_input: 2_000,
          image_input: 500,
          text_output: 600,
          audio_output: 1_800,
        },
      ],
    ]);

    // provenance: each class's tokens and rate, the source and a hash of the rates used
    const breakdown = file.cost_breakdown as unknown as Breakdown;
    const gpt56 = breakdown.models.find((m) => m.model === "gpt-5.6")!;
    expect(gpt56.classes).toEqual({
      uncached_text_input: { tokens: 5_500, usd_per_1m: 5, cost: 0.0275 },
      cached_input: { tokens: 4_500, usd_per_1m: 0.5, cost: 0.00225 },
      cache_write_input: { tokens: 4_000, usd_per_1m: 6.25, cost: 0.025 },
      text_output: { tokens: 1_700, usd_per_1m: 30, cost: 0.051 },
    });
    expect(gpt56.tier).toBe("standard");
    expect(gpt56.price_source).toMatch(/config\.yaml/);
    expect(gpt56.prices_sha256).toMatch(/^[0-9a-f]{12}$/);
    // today's keys stay beside the new ones
    expect(Object.keys(file.cost_breakdown!)).toEqual(
      expect.arrayContaining([
        "uncached_input_cost",
        "cached_input_cost",
        "output_cost",
        "cache_savings",
        "model",
        "models",
      ]),
    );
  });

  it("2024-12 pages: the old fields' classes, priced as the hand calculation", async () => {
    const exp = await experiment({ usageSchema: "2024-12" });
    const report = await exp.pass(T0 + HOUR);
    expect(report.warnings).toEqual([]);
    const file = await exp.file();
    expect(file.aggregate_metrics?.COST_USD).toBeCloseTo(OLD_COST, 10);
    // under the old fields, input_tokens left audio out: TOK_IN is still what the API said
    expect(file.aggregate_metrics?.TOK_IN).toBe(12_000 + 6_400 + 1_200 + 2_000);
    expect(file.aggregate_metrics?.CACHED_TOKENS).toBe(4_000 + 400 + 500);
    const models = file.usage_api_reconciliation!.attempts!.at(-1)!.models!;
    expect(new Set(models.map((m) => m.usage_schema))).toEqual(new Set(["openai-2024-12"]));
    expect(models.find((m) => m.model === "gpt-realtime")!.classes).toEqual({
      uncached_text_input: 6_000,
      cached_input: 400,
      audio_input: 2_600,
      text_output: 600,
      audio_output: 1_800,
    });
  });

  it("mixed pages: each bucket read by its own generation, a model spanning both records both", async () => {
    // buckets from minute 2 on are in the new generation: the first gpt-5.6 call is read the old way
    const exp = await experiment({ usageSchema: newSchemaFrom(T0 + 2 * MIN) });
    await exp.pass(T0 + HOUR);
    const file = await exp.file();
    // gpt-5.6, minute 1 (old): text in 8,000 × 5 + cached 4,000 × 0.5 + text out 1,500 × 30
    //   = 0.087; minute 5 (new): text in 500 × 5 + cached 500 × 0.5 + cache writes 1,000 × 6.25
    //   + text out 200 × 30 = 0.015; gpt-realtime and gpt-image-1 as in the new generation
    const expected =
      (8_000 * 5 + 4_000 * 0.5 + 1_500 * 30) / 1e6 +
      (500 * 5 + 500 * 0.5 + 1_000 * 6.25 + 200 * 30) / 1e6 +
      (5_500 * 4 + 1_000 * 0.4 + 2_000 * 32 + 500 * 5 + 600 * 16 + 1_800 * 64) / 1e6 +
      (200 * 5 + 1_000 * 10 + 4_160 * 40) / 1e6;
    expect(file.aggregate_metrics?.COST_USD).toBeCloseTo(expected, 10);
    const models = file.usage_api_reconciliation!.attempts!.at(-1)!.models!;
    expect(models.find((m) => m.model === "gpt-5.6")).toMatchObject({
      usage_schema: "openai-2024-12+openai-2026-07",
      classes: {
        uncached_text_input: 8_500,
        cached_input: 4_500,
        cache_write_input: 1_000,
        text_output: 1_700,
      },
    });
    expect(models.find((m) => m.model === "gpt-realtime")!.usage_schema).toBe("openai-2026-07");
  });

  it("a class with tokens and no price leaves COST_USD null and a warning naming the model and the class", async () => {
    // the experiment's prices lack gpt-5.6's cache-write rate; the run wrote to the cache
    const noCacheWrite = CONFIG.replace("      cache_write_price: 6.25\n", "").replace(
      "gpt-5.6:",
      "gpt-5.6-lab:",
    );
    const events = EVENTS.map((e) => (e.model === "gpt-5.6" ? { ...e, model: "gpt-5.6-lab" } : e));
    const exp = await experiment({ usageSchema: "2026-07", events }, noCacheWrite);
    const report = await exp.pass(T0 + HOUR);
    expect(report.runs[0]!.cost_usd).toBeNull();
    const file = await exp.file();
    expect(file.aggregate_metrics?.COST_USD).toBeNull();
    const warning = report.warnings.find((w) => w.includes("gpt-5.6-lab"));
    expect(warning).toMatch(/no cost for 1 run\(s\) using gpt-5\.6-lab: .*cache-write input/);
    expect(warning).toMatch(/COST_USD is left null, not 0/);
    // the other models are priced and listed; the unpriced one is named in the breakdown
    expect(file.cost_breakdown!.unpriced_models).toEqual([
      { model: "gpt-5.6-lab", reason: expect.stringMatching(/cache-write input/) },
    ]);
  });
});

describe("pages whose token classes contradict their totals are refused", () => {
  const SPAN = { start: T0, end: T0 + 10 * MIN };
  async function fetchRewritten(change: Record<string, number>) {
    const { source } = await fakeApiWithSource(
      {
        adminKey: ADMIN_KEY,
        events: EVENTS,
        faults: () => ({
          kind: "rewrite",
          rewrite: (page) => ({
            ...page,
            data: page.data.map((b, i) =>
              i === 1 ? { ...b, results: b.results.map((r) => ({ ...r, ...change })) } : b,
            ),
          }),
        }),
      },
      cleanups,
    );
    return fetchSpan(source, SPAN, [KEY]).then(
      () => undefined,
      (e: unknown) => e,
    );
  }

  it.each([
    [
      "uncached, cached and cache-write tokens that do not make up the input",
      { input_uncached_tokens: 6_000 },
      /gpt-5\.6 divides its 12000 input_tokens into input_uncached_tokens \(6000\) \+ input_cached_tokens \(4000\) \+ input_cache_write_tokens \(3000\)/,
    ],
    [
      "cache writes past the input",
      { input_cache_write_tokens: 20_000, input_uncached_tokens: 0 },
      /divides its 12000 input_tokens/,
    ],
    [
      "audio and image parts past the uncached input",
      { input_text_tokens: 0, input_audio_tokens: 4_000, input_image_tokens: 1_001 },
      /input_text_tokens \(0\) \+ input_audio_tokens \(4000\) \+ input_image_tokens \(1001\) past its 5000 input_uncached_tokens/,
    ],
    [
      "output parts past the output",
      { output_text_tokens: 0, output_audio_tokens: 1_501 },
      /output_audio_tokens \(1501\) \+ output_image_tokens \(0\) past its 1500 output_tokens/,
    ],
  ])("%s", async (_, change, message) => {
    const error = await fetchRewritten(change);
    expect(error).toBeInstanceOf(UsageApiError);
    expect((error as UsageApiError).message).toMatch(message);
    expect((error as UsageApiError).message).toMatch(/a page that says two things is refused/);
  });

  it("a result without the new fields is read as the old generation, whatever its bucket's date", async () => {
    const api = await startFakeUsageApi({
      adminKey: ADMIN_KEY,
      events: EVENTS,
      usageSchema: "2024-12",
    });
    const source = createHttpPageSource({
      baseUrl: api.baseUrl,
      adminKey: ADMIN_KEY,
      sleep: async () => {},
    });
    cleanups.push(async () => {
      await source.close();
      await api.close();
    });
    const { rows } = await fetchSpan(source, SPAN, [KEY]);
    expect(rows.map((r) => [r.model, r.schema, r.inputTokens, r.classes])).toEqual([
      [
        "gpt-5.6",
        "openai-2024-12",
        12_000,
        { uncached_text_input: 8_000, cached_input: 4_000, text_output: 1_500 },
      ],
      [
        "gpt-realtime",
        "openai-2024-12",
        6_400,
        {
          uncached_text_input: 6_000,
          cached_input: 400,
          audio_input: 2_600,
          text_output: 600,
          audio_output: 1_800,
        },
      ],
      ["gpt-image-1", "openai-2024-12", 1_200, { uncached_text_input: 1_200, text_output: 4_160 }],
      [
        "gpt-5.6",
        "openai-2024-12",
        2_000,
        { uncached_text_input: 1_500, cached_input: 500, text_output: 200 },
      ],
    ]);
  });
});

describe("the verification walk compares every class", () => {
  const SETTINGS: VerifySettings = {
    minAgeMinutes: 30,
    verificationIntervalMinutes: 60,
    stableChecks: 2,
    giveUpAfterHours: 72,
    force: false,
  };
  const gpt56 = (classes: ModelUsage["classes"]): ModelUsage => ({
    model: "gpt-5.6",
    batch: false,
    service_tier: "default",
    tokens_in: 12_000,
    tokens_out: 1_500,
    cached_tokens: 4_000,
    api_calls: 1,
    ...(classes ? { classes, usage_schema: "openai-2026-07" } : {}),
  });
  const reading = (t: number, model: ModelUsage): Attempt => ({
    timestamp: formatIsoSeconds(t),
    total_tokens_in: 12_000,
    total_tokens_out: 1_500,
    total_api_calls: 1,
    total_cached_tokens: 4_000,
    models: [model],
  });
  const before = {
    uncached_text_input: 5_000,
    cached_input: 4_000,
    cache_write_input: 3_000,
    text_output: 1_500,
  };
  // the same totals, per-model counts included; 1,000 tokens moved from cache reads to cache writes
  const after = {
    uncached_text_input: 5_000,
    cached_input: 3_000,
    cache_write_input: 4_000,
    text_output: 1_500,
  };
  const evaluate = (attempts: Attempt[]) =>
    evaluateRun({ now: T0 + 10 * HOUR, endedAt: T0, attempts, sharesWith: [] }, SETTINGS);

  it("two readings with the same totals and tokens moved from cached to cache-write are not identical; the run is not verified on them", () => {
    const a = reading(T0 + HOUR, gpt56(before));
    const b = reading(T0 + 2 * HOUR, gpt56(after));
    expect(sameReading(a, b)).toBe(false);
    const attempts = [
      a,
      reading(T0 + 2 * HOUR, gpt56(before)),
      b,
      reading(T0 + 4 * HOUR, gpt56(after)),
    ];
    const evaluation = evaluate(attempts);
    // only the newest pair agrees: one stable check of two
    expect(evaluation.status).toBe("pending");
    expect(evaluation.stableChecks).toBe(1);
  });

  it("a reading from before token classes is compared with a new one on what both have, and verifies as before", () => {
    const attempts = [
      reading(T0 + HOUR, gpt56(undefined)),
      reading(T0 + 2 * HOUR, gpt56(undefined)),
      reading(T0 + 3 * HOUR, gpt56(before)),
    ];
    expect(sameReading(attempts[1]!, attempts[2]!)).toBe(true);
    expect(evaluate(attempts).status).toBe("verified");
    // and a per-model count that differs still tells them apart
    expect(
      sameReading(attempts[1]!, reading(T0 + 3 * HOUR, { ...gpt56(before), cached_tokens: 3_000 })),
    ).toBe(false);
  });

  it("end to end: a revision that only moves tokens from uncached input to cache writes restarts the walk", async () => {
    // the API revises the first call three hours after the run: 2,000 of its uncached tokens were
    // cache writes; input_tokens, cached tokens, output and requests stay as they were
    const revised = EVENTS.map((e, i) =>
      i === 0 ? { ...e, revisions: [{ at: T0 + 3.5 * HOUR, cacheWriteTokens: 5_000 }] } : e,
    );
    let serverNow = 0;
    const exp = await experiment({ usageSchema: "2026-07", events: revised, now: () => serverNow });
    const statuses: string[] = [];
    for (const hours of [1, 2, 3, 4, 5]) {
      serverNow = T0 + hours * HOUR;
      statuses.push((await exp.pass(serverNow)).runs[0]!.status);
    }
    // 1–3: the same reading (verified at 3); from 4 on the classes changed, and verification
    // starts over: a verified run is not read again unless forced, so force the later passes
    expect(statuses.slice(0, 3)).toEqual(["pending", "pending", "verified"]);
    const forced: string[] = [];
    for (const hours of [4, 5, 6]) {
      serverNow = T0 + hours * HOUR;
      forced.push((await exp.pass(serverNow, ["--force"])).runs[0]!.status);
    }
    const attempts = (await exp.file()).usage_api_reconciliation!.attempts!;
    const totals = new Set(
      attempts.map((a) =>
        [a.total_tokens_in, a.total_tokens_out, a.total_cached_tokens, a.total_api_calls].join(),
      ),
    );
    expect(totals.size).toBe(1);
    // the reading at 4 h differs from the one before only in its classes: the walk starts over
    expect(forced).toEqual(["pending", "pending", "verified"]);
  });
});

describe("the Costs API cross-check compares tokens per class", () => {
  /** The Costs API bills at the experiment's prices (USD per 1M), each class on its own line. */
  const BILLED = {
    "gpt-5.6": { input: 5, cachedInput: 0.5, cacheWrite: 6.25, output: 30 },
    "gpt-realtime": {
      input: 4,
      cachedInput: 0.4,
      audioInput: 32,
      imageInput: 5,
      output: 16,
      audioOutput: 64,
    },
    "gpt-image-1": { input: 5, cachedInput: 1.25, imageInput: 10, output: 10, imageOutput: 40 },
  };
  /** Three days after the run: its day is settled. */
  const SETTLED = T0 + 3 * 24 * HOUR;
  type CostsPageLike = {
    data: Array<{ results: Array<{ line_item: string | null; quantity?: number | null }> }>;
  };
  const changeQuantity = (lineItem: string, quantity: number) => (page: unknown) => {
    const p = page as CostsPageLike;
    return {
      ...p,
      data: p.data.map((b) => ({
        ...b,
        results: b.results.map((r) => (r.line_item === lineItem ? { ...r, quantity } : r)),
      })),
    };
  };
  const onCosts =
    (rewrite: (page: unknown) => unknown): FakeUsageApiOptions["faults"] =>
    (ctx) =>
      ctx.path.endsWith("/organization/costs") ? { kind: "rewrite", rewrite } : undefined;
  const dayOf = (report: PassReport) => {
    const days = report.cost_check!.days;
    expect(days).toHaveLength(1);
    return days[0]!;
  };

  it("reads a line item's model, class and tokens from its name and quantity", () => {
    expect(tokenLineOf("gpt-4o-mini-2024-07-18, input", 10_000, "tokens")).toEqual({
      model: "gpt-4o-mini-2024-07-18",
      class: "uncached_text_input",
      tokens: 10_000,
    });
    expect(tokenLineOf("gpt-5.6, cached input", 12.5, "1000_tokens")?.tokens).toBe(12_500);
    expect(tokenLineOf("gpt-5.6, cache writes", 7, undefined)?.class).toBe("cache_write_input");
    expect(tokenLineOf("gpt-image-1 image, output", 4_160, "tokens")?.class).toBe("image_output");
    expect(tokenLineOf("gpt-image-2-2026-04-21 text, input", 1, "tokens")).toMatchObject({
      model: "gpt-image-2-2026-04-21",
      class: "uncached_text_input",
    });
    expect(tokenLineOf("gpt-realtime audio, input", 2_000, "tokens")?.class).toBe("audio_input");
    expect(tokenLineOf("gpt-realtime audio, cached input", 600, "tokens")?.class).toBe(
      "cached_input",
    );
    // a quantity in another unit, with no single unit, or not whole says nothing about tokens
    expect(tokenLineOf("gpt-5.6, output", 90, "duration_seconds")?.tokens).toBeNull();
    expect(tokenLineOf("gpt-5.6, output", 90, null)?.tokens).toBeNull();
    expect(tokenLineOf("gpt-5.6, output", 90.5, "tokens")?.tokens).toBeNull();
    expect(tokenLineOf("gpt-5.6, output", null, "tokens")?.tokens).toBeNull();
    // not token lines at all
    expect(tokenLineOf("web search tool calls", 3, null)).toBeUndefined();
    expect(tokenLineOf("whisper", 90, "duration_seconds")).toBeUndefined();
  });

  it("agrees line by line when the Costs API bills the same tokens per class", async () => {
    const exp = await experiment({ usageSchema: "2026-07", costs: { prices: BILLED } });
    const day = dayOf(await exp.pass(SETTLED, ["--cross-check-costs"]));
    expect(day.theirs_usd).toBeCloseTo(NEW_COST, 10);
    expect(day.ours_usd).toBeCloseTo(NEW_COST, 10);
    expect(day.token_differences).toEqual([]);
    expect(day.flagged).toBe(false);
  });

  it("a class whose tokens differ is named, even when the dollars agree", async () => {
    const exp = await experiment({
      usageSchema: "2026-07",
      costs: { prices: BILLED },
      faults: onCosts(changeQuantity("gpt-5.6, cache writes", 4_200)),
    });
    const report = await exp.pass(SETTLED, ["--cross-check-costs"]);
    const day = dayOf(report);
    expect(Math.abs(day.difference_percent!)).toBeLessThan(1e-9);
    expect(day.token_differences).toEqual([
      { model: "gpt-5.6", class: "cache_write_input", ours: 4_000, theirs: 4_200 },
    ]);
    expect(day.flagged).toBe(true);
    expect(day.causes.join("; ")).toMatch(
      /token counts differ from the Costs API's quantities: gpt-5\.6 cache-write input ours 4,000, theirs 4,200/,
    );
    expect(report.warnings.join("\n")).toMatch(
      /gpt-5\.6 cache-write input ours 4,000, theirs 4,200/,
    );
  });

  it("reads quantities without quantity_unit (answers from before 2026-08) as tokens", async () => {
    const exp = await experiment({
      usageSchema: "2026-07",
      costs: { prices: BILLED, quantities: "without-unit" },
      faults: onCosts(changeQuantity("gpt-realtime audio, output", 1_700)),
    });
    const day = dayOf(await exp.pass(SETTLED, ["--cross-check-costs"]));
    expect(day.token_differences).toEqual([
      { model: "gpt-realtime", class: "audio_output", ours: 1_800, theirs: 1_700 },
    ]);
    expect(day.flagged).toBe(true);
  });

  it("keeps checking dollars when the Costs API gives no quantities", async () => {
    const exp = await experiment({
      usageSchema: "2026-07",
      costs: { prices: BILLED, quantities: "absent" },
    });
    const day = dayOf(await exp.pass(SETTLED, ["--cross-check-costs"]));
    expect(day.theirs_usd).toBeCloseTo(NEW_COST, 10);
    expect(day.token_differences).toEqual([]);
    expect(day.flagged).toBe(false);
  });
});

describe("files reconciled before token classes", () => {
  it("this tool's readings without classes still parse, stay as written and verify with new ones", async () => {
    const exp = await experiment({ usageSchema: "2026-07" });
    await exp.pass(T0 + HOUR);
    // the reading as the tool wrote it before token classes: per-model counts only
    const text = await readFile(exp.path, "utf8");
    const json = JSON.parse(text) as {
      usage_api_reconciliation: { attempts: Array<{ models: Array<Record<string, unknown>> }> };
    };
    for (const m of json.usage_api_reconciliation.attempts[0]!.models) {
      delete m.classes;
      delete m.usage_schema;
    }
    await writeFile(exp.path, `${JSON.stringify(json, null, 2)}\n`);
    const old = (await exp.file()).usage_api_reconciliation!.attempts![0]!;
    expect(old.models![0]!.classes).toBeUndefined();

    expect((await exp.pass(T0 + 2 * HOUR)).runs[0]!.status).toBe("pending");
    const report = await exp.pass(T0 + 3 * HOUR);
    expect(report.runs[0]!.status).toBe("verified");
    expect(report.runs[0]!.stable_checks).toBe(2);
    const file = await exp.file();
    expect(file.usage_api_reconciliation!.attempts![0]).toEqual(old);
    // priced from the newest reading, which has classes
    expect(file.aggregate_metrics?.COST_USD).toBeCloseTo(NEW_COST, 10);
  });

  it.skipIf(!sharedDataPresent("baes-berk"))(
    `the old script's baes-berk readings keep their numbers, statuses and prices ${onSharedData("baes-berk")}`,
    async () => {
      const root = await copySharedData("baes-berk");
      cleanups.push(() => rm(root, { recursive: true, force: true }));
      const read = async (framework: string, runId: string) =>
        JSON.parse(
          await readFile(join(root, "runs", framework, runId, "metrics.json"), "utf8"),
        ) as {
          model: string;
          aggregate_metrics: Record<string, number>;
          usage_api_reconciliation: unknown;
          cost_breakdown: Breakdown & Record<string, unknown>;
        };
      const listed = await runCli(["--list", "--now", "2025-11-05T00:00:00Z", "--json"], {
        cwd: root,
        env: {},
      });
      expect(listed.code, listed.stderr).toBe(0);
      const list = PassReportSchema.parse(JSON.parse(listed.stdout));
      expect(list.runs).toHaveLength(300);
      expect(list.totals.by_status).toMatchObject({ verified: 286, pending: 14 });
      // config.yaml prices gpt-4o-mini at 0.15 / 0.075 / 0.6 per 1M: the old readings have no
      // classes, so (in − cached) × input + cached × cached + out × output, as before
      const oldCost = (a: Record<string, number>) =>
        ((a.TOK_IN! - a.CACHED_TOKENS!) * 0.15 + a.CACHED_TOKENS! * 0.075 + a.TOK_OUT! * 0.6) / 1e6;
      const before = new Map<string, Awaited<ReturnType<typeof read>>>();
      for (const row of list.runs) {
        const file = await read(row.framework, row.run_id);
        before.set(row.run_id, file);
        const a = file.aggregate_metrics;
        expect(file.model).toBe("gpt-4o-mini");
        // the 14 whose ±300 s readings take in a neighbour's minutes vouch for nothing (SPEC §4)
        if (row.status === "pending") {
          expect(row.tokens_in).toBeNull();
          continue;
        }
        expect([row.tokens_in, row.tokens_out, row.cached_tokens, row.api_calls]).toEqual([
          a.TOK_IN,
          a.TOK_OUT,
          a.CACHED_TOKENS,
          a.API_CALLS,
        ]);
        expect(row.cost_usd).toBeCloseTo(oldCost(a), 10);
      }

      // a pass over the baes runs (all verified: nothing is read) writes the cost with its classes
      const api = await startFakeUsageApi({ adminKey: ADMIN_KEY });
      cleanups.push(() => api.close());
      const result = await runCli(
        [
          "baes",
          ...["--api-base-url", api.baseUrl, "--api-key-id", "baes=key_baesReal01"],
          ...["--now", "2025-11-05T00:00:00Z", "--json"],
        ],
        { cwd: root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
      );
      expect(result.code, result.stderr).toBe(0);
      expect(api.requests).toEqual([]);
      // the hash of the rates used: SHA-256 of the sorted JSON of rate key → USD per 1M
      const sha = (rates: Record<string, number>) =>
        createHash("sha256").update(JSON.stringify(rates)).digest("hex").slice(0, 12);
      for (const runId of await readdir(join(root, "runs", "baes"))) {
        const old = before.get(runId)!;
        const now = await read("baes", runId);
        expect(now.usage_api_reconciliation).toEqual(old.usage_api_reconciliation);
        const a = old.aggregate_metrics;
        expect(now.aggregate_metrics.COST_USD).toBeCloseTo(oldCost(a), 10);
        const [model] = now.cost_breakdown.models;
        expect(model!.priced_as).toBe("gpt-4o-mini");
        expect(model!.classes.uncached_text_input).toMatchObject({
          tokens: a.TOK_IN! - a.CACHED_TOKENS!,
          usd_per_1m: 0.15,
        });
        expect(model!.classes.text_output).toMatchObject({ tokens: a.TOK_OUT, usd_per_1m: 0.6 });
        expect(model!.prices_sha256).toBe(
          sha(
            a.CACHED_TOKENS! > 0
              ? { cached_input: 0.075, input: 0.15, output: 0.6 }
              : { input: 0.15, output: 0.6 },
          ),
        );
      }
    },
  );
});
