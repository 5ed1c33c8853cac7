import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import PRICE_NOTES from "../scripts/price-notes.json" with { type: "json" };
import {
  derivePriceTable,
  type PriceNotes,
  type Reference,
  snapshotPairs,
  tableProblems,
} from "../scripts/price-table.ts";
import { PricingFileError } from "../src/errors.ts";
import { nodeFiles } from "../src/fs/node.ts";
import { BUILTIN_PRICES } from "../src/pricing/builtin-prices.ts";
import { costOf, costOfClasses } from "../src/pricing/cost.ts";
import { loadPriceSources, loadPricingFile } from "../src/pricing/load.ts";
import {
  builtinSource,
  candidateNames,
  type PriceSource,
  resolvePrice,
} from "../src/pricing/prices.ts";
import { ratesOf, TOKEN_CLASS_NAMES, TOKEN_CLASSES } from "../src/pricing/schema.ts";
import { type TokenClassUsage, TokenClassUsageSchema } from "../src/pricing/usage.ts";
import type { ModelUsage } from "../src/runs/schema.ts";
import { runCli } from "./support/cli.ts";
import {
  allEvents,
  generateExperiment,
  keyIdFor,
  onSharedData,
  SHARED_DATA,
  sharedDataPresent,
  tempDir,
  writeExperiment,
} from "./support/experiment.ts";
import { startFakeUsageApi } from "./support/fake-usage-api.ts";

const REFERENCE = "openai-prices.reference.json";
const sha256_12 = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12);

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
async function dir(): Promise<string> {
  const d = await tempDir("reconcile-usage-pricing-");
  dirs.push(d);
  return d;
}

const usage = (
  model: string,
  tokensIn: number,
  cached: number,
  out: number,
  extra: Partial<ModelUsage> = {},
): ModelUsage => ({
  model,
  batch: false,
  service_tier: "default",
  tokens_in: tokensIn,
  tokens_out: out,
  cached_tokens: cached,
  api_calls: 1,
  ...extra,
});

const BUILTIN = [builtinSource()];

describe("candidateNames and resolvePrice", () => {
  it("falls back from a dated snapshot to its base name", () => {
    expect(candidateNames("gpt-4o-mini-2024-07-18")).toEqual([
      "gpt-4o-mini-2024-07-18",
      "gpt-4o-mini",
    ]);
    expect(candidateNames("gpt-4-0613")).toEqual(["gpt-4-0613", "gpt-4"]);
    expect(candidateNames("gpt-4o-mini")).toEqual(["gpt-4o-mini"]);
  });

  it("prices a fine-tuned model at its base's fine-tuning price, never at the base model's", () => {
    const ft = "ft:gpt-4o-mini-2024-07-18:org::abc";
    const names = candidateNames(ft);
    expect(names).toEqual([ft, "ft:gpt-4o-mini-2024-07-18", "ft:gpt-4o-mini"]);
    expect(names).not.toContain("gpt-4o-mini");
    expect(names).not.toContain("gpt-4o-mini-2024-07-18");
    expect(resolvePrice(ft, BUILTIN)).toMatchObject({
      pricedAs: "ft:gpt-4o-mini-2024-07-18",
      price: { input: 0.3, output: 1.2 },
    });
    // a fine-tune of a base without a fine-tuning price stays unpriced rather than cheap
    const onlyBase: PriceSource = {
      name: "t",
      models: { "gpt-4o-mini": { input: 0.15, output: 0.6 } },
    };
    expect(resolvePrice(ft, [onlyBase])).toBeUndefined();
    expect(costOf([usage(ft, 100, 0, 10)], [onlyBase]).total).toBeNull();
  });

  it("lets a more specific name win across sources, and precedence decide between equal names", () => {
    const file: PriceSource = {
      name: "pricing file",
      models: { "acme-1": { input: 1, output: 1 }, "acme-2": { input: 9, output: 9 } },
    };
    const config: PriceSource = {
      name: "config",
      models: {
        "acme-1": { input: 2, output: 2 },
        "acme-2-2025-01-01": { input: 3, output: 3 },
      },
    };
    const table: PriceSource = {
      name: "table",
      models: { "acme-1-2025-01-01": { input: 4, output: 4 } },
    };
    const sources = [file, config, table];
    // equal names: the pricing file before config.yaml
    expect(resolvePrice("acme-1", sources)).toMatchObject({ source: "pricing file" });
    // a dated name beats a base name whatever the sources' order
    expect(resolvePrice("acme-1-2025-01-01", sources)).toMatchObject({
      source: "table",
      pricedAs: "acme-1-2025-01-01",
      price: { input: 4 },
    });
    expect(resolvePrice("acme-2-2025-01-01", sources)).toMatchObject({
      source: "config",
      price: { input: 3 },
    });
    expect(resolvePrice("no-such-model", BUILTIN)).toBeUndefined();
    for (const odd of ["constructor", "__proto__", "toString"])
      expect(resolvePrice(odd, sources), odd).toBeUndefined();
  });

  it("names an alias that disagrees with the more specific entry that wins, and credits one that agrees", () => {
    const config: PriceSource = {
      name: "experiment config.yaml",
      models: {
        "gpt-4o": { input: 2.5, cached_input: 1.25, output: 10 },
        "gpt-4o-mini": { input: 0.15, cached_input: 0.075, output: 0.6 },
      },
    };
    const sources = [config, ...BUILTIN];
    const snapshot = resolvePrice("gpt-4o-2024-05-13", sources)!;
    expect(snapshot).toMatchObject({
      pricedAs: "gpt-4o-2024-05-13",
      source: "built-in price table (2025-09)",
      price: { input: 5, output: 15 },
    });
    expect(snapshot.warnings).toEqual([
      "gpt-4o-2024-05-13 is priced as gpt-4o-2024-05-13 from the built-in price table (2025-09), not as gpt-4o from the experiment config.yaml, which differs (input_price 2.5 there, 5 here; output_price 10 there, 15 here); list gpt-4o-2024-05-13 in the experiment config.yaml to price it otherwise",
    ]);
    // the same prices under the alias: the user's own source is credited, nothing to warn about
    for (const model of ["gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18"]) {
      const agreeing = resolvePrice(model, sources)!;
      expect(agreeing.source).toBe("experiment config.yaml");
      expect(agreeing.warnings).toEqual([]);
    }
  });

  it("ships gpt-4o-mini at 0.15 / 0.075 / 0.6 USD per 1M tokens", () => {
    expect(BUILTIN_PRICES.models["gpt-4o-mini"]).toMatchObject({
      input: 0.15,
      cached_input: 0.075,
      output: 0.6,
    });
    expect(resolvePrice("gpt-4o-mini-2024-07-18", BUILTIN)!.price).toMatchObject({
      input: 0.15,
      cached_input: 0.075,
      output: 0.6,
    });
    expect(BUILTIN_PRICES.as_of).toMatch(/^\d{4}-\d{2}/);
  });
});

describe("costOf", () => {
  it("applies (in − cached) × input + cached × cached_input + out × output per 1M tokens", () => {
    const cost = costOf([usage("gpt-4o-mini-2024-07-18", 1_000_000, 400_000, 500_000)], BUILTIN);
    expect(cost.uncachedInputCost).toBeCloseTo(0.09, 12);
    expect(cost.cachedInputCost).toBeCloseTo(0.03, 12);
    expect(cost.outputCost).toBeCloseTo(0.3, 12);
    expect(cost.cacheSavings).toBeCloseTo(0.03, 12);
    expect(cost.total).toBeCloseTo(0.42, 12);
    expect(cost.unknown).toEqual([]);
    expect(cost.primaryModel).toBe("gpt-4o-mini-2024-07-18");
    expect(cost.models).toEqual([
      expect.objectContaining({
        model: "gpt-4o-mini-2024-07-18",
        priced_as: "gpt-4o-mini-2024-07-18",
      }),
    ]);
    expect(cost.models[0]).not.toHaveProperty("service_tier");
    expect(cost.models[0]).not.toHaveProperty("batch");
  });

  it("matches the formula for any token counts, summed over models", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.nat(50_000_000),
            fc.nat(1000),
            fc.nat(10_000_000),
            fc.constantFrom("gpt-4o-mini", "gpt-4o-2024-08-06"),
          ),
          { minLength: 1, maxLength: 4 },
        ),
        (rows) => {
          const list = rows.map(([tin, share, out, m], i) =>
            usage(m, tin, Math.floor((tin * share) / 1000), out, {
              service_tier: i % 2 ? "default" : null,
            }),
          );
          const rate = (m: string) =>
            m === "gpt-4o-mini" ? { i: 0.15, c: 0.075, o: 0.6 } : { i: 2.5, c: 1.25, o: 10 };
          const expected = list.reduce((s, u) => {
            const r = rate(u.model);
            return (
              s +
              ((u.tokens_in - u.cached_tokens) * r.i + u.cached_tokens * r.c + u.tokens_out * r.o) /
                1e6
            );
          }, 0);
          const cost = costOf(list, BUILTIN);
          expect(cost.total).not.toBeNull();
          expect(Math.abs(cost.total! - expected)).toBeLessThan(1e-8);
          expect(cost.total!).toBeCloseTo(
            cost.uncachedInputCost + cost.cachedInputCost + cost.outputCost,
            8,
          );
        },
      ),
    );
  });

  it("uses batch rates for batch usage", () => {
    const cost = costOf(
      [usage("gpt-4o-mini-2024-07-18", 1_000_000, 0, 1_000_000, { batch: true })],
      BUILTIN,
    );
    expect(cost.total).toBeCloseTo(0.075 + 0.3, 12);
    expect(cost.models[0]).toMatchObject({ batch: true });
    // no batch rate for cached input is known: the cost is unknown, not priced at 0
    const cached = costOf(
      [usage("gpt-4o-mini", 1_000_000, 10, 1_000_000, { batch: true })],
      BUILTIN,
    );
    expect(cached.total).toBeNull();
    expect(cached.unknown[0]!.reason).toMatch(/batch cached input/);
  });

  it("uses flex and priority rates for those service tiers", () => {
    const flex = costOf(
      [usage("gpt-5-mini", 1_000_000, 200_000, 100_000, { service_tier: "flex" })],
      BUILTIN,
    );
    expect(flex.total).toBeCloseTo(0.8 * 0.125 + 0.2 * 0.0125 + 0.1 * 1, 12);
    expect(flex.models[0]).toMatchObject({ service_tier: "flex" });
    const priority = costOf(
      [usage("gpt-4o-mini", 1_000_000, 200_000, 100_000, { service_tier: "priority" })],
      BUILTIN,
    );
    expect(priority.total).toBeCloseTo(0.8 * 0.25 + 0.2 * 0.125 + 0.1 * 1, 12);
  });

  it("prices a dated snapshot's tier usage at its base's tier rates when the snapshot entry lacks them", () => {
    // the Usage API reports the snapshot name; the table has priority rates under the base name
    const priority = costOf(
      [usage("gpt-4o-mini-2024-07-18", 1_000_000, 200_000, 100_000, { service_tier: "priority" })],
      BUILTIN,
    );
    expect(priority.unknown).toEqual([]);
    expect(priority.total).toBeCloseTo(0.8 * 0.25 + 0.2 * 0.125 + 0.1 * 1, 12);
    expect(priority.models[0]).toMatchObject({
      priced_as: "gpt-4o-mini",
      service_tier: "priority",
    });
    const flex = costOf(
      [usage("gpt-5-mini-2025-08-07", 1_000_000, 0, 0, { service_tier: "flex" })],
      BUILTIN,
    );
    expect(flex.total).toBeCloseTo(0.125, 12);
  });

  it("leaves the total unknown and lists the model when a model or rate is unknown", () => {
    const cost = costOf(
      [usage("gpt-4o-mini", 1_000_000, 0, 0), usage("mystery-model", 10, 0, 10)],
      BUILTIN,
    );
    expect(cost.total).toBeNull();
    expect(cost.unknown).toEqual([{ model: "mystery-model", reason: "no price for this model" }]);
    // the known model is still itemised
    expect(cost.models.map((m) => m.model)).toEqual(["gpt-4o-mini"]);

    const noFlex = costOf([usage("gpt-4o-mini", 1000, 0, 10, { service_tier: "flex" })], BUILTIN);
    expect(noFlex.total).toBeNull();
    expect(noFlex.unknown[0]!.reason).toMatch(/no flex input \/ output rate for gpt-4o-mini/);

    // a price without cached_input is fine while nothing is cached, unknown once something is
    const plain: PriceSource = { name: "plain", models: { m: { input: 1, output: 2 } } };
    expect(costOf([usage("m", 1_000_000, 0, 0)], [plain]).total).toBeCloseTo(1, 12);
    expect(costOf([usage("m", 1_000_000, 1, 0)], [plain]).total).toBeNull();
    expect(costOf([], BUILTIN)).toMatchObject({ total: 0, unknown: [], models: [] });
  });
});

describe("loadPricingFile and loadPriceSources", () => {
  it("gives the pricing file precedence over config.yaml over the built-in table", async () => {
    const root = await dir();
    await mkdir(join(root, "runs"));
    await writeFile(
      join(root, "config.yaml"),
      "model: gpt-4o-mini\npricing:\n  models:\n    gpt-4o-mini:\n      input_price: 1\n      cached_price: 0.5\n      output_price: 2\n    gpt-4o:\n      input_price: 3\n      output_price: 4\n",
    );
    const pricingFile = join(root, "prices.yaml");
    await writeFile(pricingFile, "models:\n  gpt-4o:\n    input_price: 5\n    output_price: 6\n");

    const sources = await loadPriceSources(nodeFiles, join(root, "runs"), pricingFile);
    expect(sources).toHaveLength(4); // pricing file, config.yaml, OpenAI's and Anthropic's tables
    const price = (m: string) => resolvePrice(m, sources)!;
    expect(price("gpt-4o")).toMatchObject({ price: { input: 5, output: 6 }, pricedAs: "gpt-4o" });
    expect(price("gpt-4o").source).toMatch(/pricing file/);
    expect(price("gpt-4o-mini")).toMatchObject({
      price: { input: 1, cached_input: 0.5, output: 2 },
    });
    expect(price("gpt-4o-mini").source).toMatch(/config\.yaml/);
    expect(price("o1-mini").source).toMatch(/built-in/);
    // the Usage API's snapshot names are in the built-in table: those entries win over the
    // aliases, and each disagreeing alias is named
    expect(price("gpt-4o-2024-08-06")).toMatchObject({
      price: { input: 2.5, output: 10 },
      pricedAs: "gpt-4o-2024-08-06",
    });
    expect(price("gpt-4o-2024-08-06").warnings).toHaveLength(2);
    expect(price("gpt-4o-2024-08-06").warnings[0]).toMatch(
      /not as gpt-4o from the pricing file prices\.yaml, which differs \(input_price 5 there, 2\.5 here/,
    );
    expect(price("gpt-4o-2024-08-06").warnings[1]).toMatch(/experiment config\.yaml/);

    // without the pricing file, config.yaml wins over the table
    const withoutFile = await loadPriceSources(nodeFiles, join(root, "runs"), undefined);
    expect(resolvePrice("gpt-4o", withoutFile)!.price).toMatchObject({ input: 3, output: 4 });
    // without either, the table
    const bare = await dir();
    await mkdir(join(bare, "runs"));
    const onlyBuiltin = await loadPriceSources(nodeFiles, join(bare, "runs"), undefined);
    expect(onlyBuiltin).toHaveLength(2); // OpenAI's and Anthropic's built-in tables
    expect(resolvePrice("gpt-4o", onlyBuiltin)!.price.input).toBe(2.5);
  });

  it("reads JSON pricing files and config.yaml without a pricing section", async () => {
    const root = await dir();
    const json = join(root, "prices.json");
    await writeFile(
      json,
      JSON.stringify({ pricing: { models: { m: { input_price: 1, output_price: 2 } } } }),
    );
    expect(await loadPricingFile(nodeFiles, json, "json", true)).toEqual({
      name: "json",
      models: { m: { input: 1, output: 2 } },
    });
    const config = join(root, "config.yaml");
    await writeFile(config, "steps: []\nmodel: gpt-4o-mini\n");
    expect(await loadPricingFile(nodeFiles, config, "config", false)).toBeUndefined();
  });

  const bad: Array<[string, string, RegExp]> = [
    ["not YAML", "pricing: [unclosed\n  - : :", /cannot be read as YAML or JSON/],
    [
      "a price that is not a number",
      "pricing:\n  models:\n    gpt-x:\n      input_price: cheap\n      output_price: 1\n",
      /pricing: models\.gpt-x\.input_price: /,
    ],
    [
      "a negative price",
      "pricing:\n  models:\n    gpt-x:\n      input_price: 1\n      output_price: -2\n",
      /models\.gpt-x\.output_price: /,
    ],
    [
      "a missing output price",
      "pricing:\n  models:\n    gpt-x:\n      input_price: 1\n",
      /models\.gpt-x\.output_price: /,
    ],
    ["no models", "pricing:\n  currency: USD\n", /models: /],
    ["a scalar document", "just a string\n", /expected a mapping with pricing\.models or models/],
  ];
  for (const [what, text, message] of bad) {
    it(`names the file and the field for ${what}`, async () => {
      const root = await dir();
      const path = join(root, "prices.yaml");
      await writeFile(path, text);
      const error = await loadPricingFile(nodeFiles, path, "p", true).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PricingFileError);
      expect((error as Error).message.startsWith(`${path}: `)).toBe(true);
      expect((error as Error).message).toMatch(message);
    });
  }

  it("rejects a bad pricing section in config.yaml too, and a pricing file that is not there", async () => {
    const root = await dir();
    await mkdir(join(root, "runs"));
    await writeFile(
      join(root, "config.yaml"),
      "pricing:\n  models:\n    m:\n      input_price: x\n      output_price: 1\n",
    );
    await expect(loadPriceSources(nodeFiles, join(root, "runs"), undefined)).rejects.toThrow(
      /config\.yaml: pricing: models\.m\.input_price/,
    );
    const missing = join(root, "nope.yaml");
    await expect(loadPriceSources(nodeFiles, join(root, "runs"), missing)).rejects.toThrow(
      `${missing}: pricing file not found`,
    );
  });

  it.skipIf(!sharedDataPresent("baes-berk"))(
    `loads the real baes-berk config.yaml ${onSharedData("baes-berk")}`,
    async () => {
      const path = join(SHARED_DATA, "baes-berk", "config.yaml");
      const source = await loadPricingFile(nodeFiles, path, "baes-berk", false);
      expect(source?.models["gpt-4o-mini"]).toEqual({
        input: 0.15,
        cached_input: 0.075,
        output: 0.6,
      });
      expect(source?.models["gpt-4o"]).toEqual({ input: 2.5, cached_input: 1.25, output: 10 });
      expect(Object.keys(source?.models ?? {}).sort()).toEqual([
        "gpt-4o",
        "gpt-4o-mini",
        "o1-mini",
        "o1-preview",
      ]);
      const sources = await loadPriceSources(
        nodeFiles,
        join(SHARED_DATA, "baes-berk", "runs"),
        undefined,
      );
      const cost = costOf([usage("gpt-4o-mini-2024-07-18", 35_167, 0, 8_987)], sources);
      expect(cost.total).toBeCloseTo((35_167 * 0.15 + 8_987 * 0.6) / 1e6, 12);
      expect(cost.models[0]!.price_source).toMatch(/config\.yaml/);
    },
  );
});

describe("the built-in price table", () => {
  it("prices no dated snapshot unlike its base name without a recorded reason", () => {
    expect(tableProblems(BUILTIN_PRICES.models)).toEqual([]);
    // the check bites: the reference's stale o1-mini snapshot, back without a reason
    const stale = structuredClone(BUILTIN_PRICES.models);
    stale["o1-mini-2024-09-12"] = { input: 3, cached_input: 1.5, output: 12 };
    expect(tableProblems(stale)).toEqual([
      "o1-mini-2024-09-12 and o1-mini disagree (input 3 vs 1.1, cached_input 1.5 vs 0.55, output 12 vs 4.4) without a recorded reason",
    ]);
    // and a reason left behind on a pair that agrees again is stale
    const healed = structuredClone(BUILTIN_PRICES.models);
    healed["gpt-3.5-turbo-1106"] = { ...healed["gpt-3.5-turbo"]!, differs_from_base: "old" };
    expect(tableProblems(healed)).toEqual([
      "gpt-3.5-turbo-1106 agrees with gpt-3.5-turbo, yet has a reason for differing",
    ]);
  });

  it("has every snapshot that is priced unlike its base explained, and the o1-mini and gpt-3.5-turbo entries fixed", () => {
    const differing = snapshotPairs(BUILTIN_PRICES.models)
      .filter((p) => p.differ.length > 0)
      .map((p) => p.snapshot);
    expect(differing).toEqual([
      "gpt-3.5-turbo-0301",
      "gpt-3.5-turbo-0613",
      "gpt-3.5-turbo-1106",
      "gpt-4o-2024-05-13",
      "gpt-4o-audio-preview-2024-10-01",
      "gpt-4o-realtime-preview-2024-10-01",
    ]);
    const price = (m: string) => resolvePrice(m, BUILTIN)!.price;
    expect(price("o1-mini-2024-09-12")).toMatchObject({
      input: 1.1,
      cached_input: 0.55,
      output: 4.4,
    });
    // the alias is gpt-3.5-turbo-0125's price, not the old 0613 snapshot's
    expect(price("gpt-3.5-turbo")).toMatchObject({ input: 0.5, output: 1.5 });
    expect(price("gpt-3.5-turbo-0125")).toMatchObject({ input: 0.5, output: 1.5 });
    expect(price("gpt-3.5-turbo-1106")).toMatchObject({ input: 1, output: 2 });
  });

  it.skipIf(!sharedDataPresent(REFERENCE))(
    `is what npm run prices makes of the reference price data ${onSharedData(REFERENCE)}`,
    () => {
      const reference = JSON.parse(readFileSync(join(SHARED_DATA, REFERENCE), "utf8")) as Reference;
      const notes = PRICE_NOTES as PriceNotes;
      const { table, problems } = derivePriceTable(reference, notes, BUILTIN_PRICES.as_of);
      expect(problems).toEqual([]);
      expect(table).toEqual(BUILTIN_PRICES);
    },
  );

  it("carries the reference's cache-write, audio and image prices, and leaves unknown ones absent", () => {
    expect(BUILTIN_PRICES.models["gpt-5.6"]).toMatchObject({ input: 5, cache_write_input: 6.25 });
    expect(BUILTIN_PRICES.models["gpt-realtime"]).toMatchObject({
      input_audio: 32,
      output_audio: 64,
      input_image: 5,
    });
    // the reference's "cache creation" figure here is a cached-input rate, not a write price
    expect(BUILTIN_PRICES.models["ft:gpt-4o-2024-11-20"]).not.toHaveProperty("cache_write_input");
    expect(BUILTIN_PRICES.models["gpt-4o-mini"]).not.toHaveProperty("cache_write_input");
    expect(BUILTIN_PRICES.models["gpt-4o-mini"]).not.toHaveProperty("input_audio");
    for (const entry of Object.values(BUILTIN_PRICES.models))
      for (const value of Object.values(ratesOf(entry))) expect(value).toBeGreaterThan(0);
  });
});

/** A worked example over several classes, by hand: USD = tokens × USD per 1M / 1e6. */
const WORKED: TokenClassUsage[] = [
  {
    model: "gpt-5.6",
    tokens: {
      uncached_text_input: 200_000, // × 5     = 1.0
      cached_input: 800_000, //        × 0.5   = 0.4
      cache_write_input: 100_000, //   × 6.25  = 0.625
      text_output: 50_000, //          × 30    = 1.5     → 3.525
    },
  },
  {
    model: "gpt-realtime-2025-08-28",
    tokens: {
      uncached_text_input: 10_000, // × 4     = 0.04
      cached_input: 5_000, //         × 0.4   = 0.002
      audio_input: 20_000, //         × 32    = 0.64
      image_input: 4_000, //          × 5     = 0.02
      text_output: 1_000, //         × 16    = 0.016
      audio_output: 10_000, //       × 64    = 0.64    → 1.358
    },
  },
];

describe("costOfClasses", () => {
  it("prices each token class at its own rate, as a hand calculation does", () => {
    const cost = costOfClasses(WORKED, BUILTIN);
    expect(cost.unknown).toEqual([]);
    expect(cost.total).toBe(4.883);
    expect(cost.models).toEqual([
      {
        model: "gpt-5.6",
        priced_as: "gpt-5.6",
        price_source: "built-in price table (2025-09)",
        uncached_input_cost: 1.625, // text 1.0 + cache writes 0.625
        cached_input_cost: 0.4,
        output_cost: 1.5,
        cache_savings: 3.6, // 800,000 × (5 − 0.5) / 1e6
        cost: 3.525,
      },
      {
        model: "gpt-realtime-2025-08-28",
        priced_as: "gpt-realtime-2025-08-28",
        price_source: "built-in price table (2025-09)",
        uncached_input_cost: 0.7, // text 0.04 + audio 0.64 + image 0.02
        cached_input_cost: 0.002,
        output_cost: 0.656, // text 0.016 + audio 0.64
        cache_savings: 0.018,
        cost: 1.358,
      },
    ]);
    expect(cost).toMatchObject({
      uncachedInputCost: 2.325,
      cachedInputCost: 0.402,
      outputCost: 2.156,
      cacheSavings: 3.618,
      primaryModel: "gpt-5.6",
    });
  });

  it("hashes the rates each reading used, also where readings of one model used other classes", () => {
    // one pass prices thousands of runs: the hash is worked out once per entry, tier and classes
    const plain: TokenClassUsage = {
      model: "gpt-5",
      tokens: { uncached_text_input: 1_000, text_output: 10 },
    };
    const cached: TokenClassUsage = {
      model: "gpt-5",
      tokens: { uncached_text_input: 1_000, cached_input: 500, text_output: 10 },
    };
    const flex: TokenClassUsage = { ...plain, service_tier: "flex" };
    const hashes = [plain, cached, plain, flex, cached, flex].map(
      (u) => costOfClasses([u], BUILTIN).provenance[0]!.prices_sha256,
    );
    const standard = sha256_12('{"input":1.25,"output":10}');
    const withCached = sha256_12('{"cached_input":0.125,"input":1.25,"output":10}');
    const atFlex = sha256_12('{"flex_input":0.625,"flex_output":5}');
    expect(hashes).toEqual([standard, withCached, standard, atFlex, withCached, atFlex]);
  });

  it("records per model the classes, the rate of each, the source, its date and a hash of the rates", () => {
    const cost = costOfClasses(WORKED, BUILTIN);
    expect(cost.provenance[0]).toEqual({
      model: "gpt-5.6",
      tier: "standard",
      priced_as: "gpt-5.6",
      price_source: "built-in price table (2025-09)",
      price_date: "2025-09",
      classes: {
        uncached_text_input: { tokens: 200_000, usd_per_1m: 5, cost: 1 },
        cached_input: { tokens: 800_000, usd_per_1m: 0.5, cost: 0.4 },
        cache_write_input: { tokens: 100_000, usd_per_1m: 6.25, cost: 0.625 },
        text_output: { tokens: 50_000, usd_per_1m: 30, cost: 1.5 },
      },
      // what a reader recomputes: sha256 of the rates used, keys sorted, first 12 hex digits
      prices_sha256: sha256_12(
        '{"cache_write_input":6.25,"cached_input":0.5,"input":5,"output":30}',
      ),
    });
    // the rates of the second model, and the figure they give back
    const realtime = cost.provenance[1]!;
    expect(realtime.prices_sha256).toBe(
      sha256_12(
        '{"cached_input":0.4,"input":4,"input_audio":32,"input_image":5,"output":16,"output_audio":64}',
      ),
    );
    const recomputed = Object.values(realtime.classes).reduce(
      (s, c) => s + (c.tokens * c.usd_per_1m) / 1e6,
      0,
    );
    expect(recomputed).toBeCloseTo(cost.models[1]!.cost, 12);
    // prices from config.yaml have no date
    const config: PriceSource = { name: "config", models: { m: { input: 1, output: 2 } } };
    const own = costOfClasses([{ model: "m", tokens: { uncached_text_input: 10 } }], [config]);
    expect(own.provenance[0]).not.toHaveProperty("price_date");
    expect(own.provenance[0]!.price_source).toBe("config");
  });

  it("makes the cost unknown when a class with tokens has no rate, naming model and class, never using another class's rate", () => {
    const audio = costOfClasses(
      [
        {
          model: "gpt-4o-mini-2024-07-18",
          tokens: { uncached_text_input: 1_000, audio_input: 100, text_output: 10 },
        },
      ],
      BUILTIN,
    );
    expect(audio.total).toBeNull();
    expect(audio.models).toEqual([]);
    expect(audio.unknown).toEqual([
      {
        model: "gpt-4o-mini-2024-07-18",
        reason:
          "no standard audio input rate for gpt-4o-mini-2024-07-18 in built-in price table (2025-09)",
      },
    ]);
    // cache writes on a model without a cache-write price: not the input rate, not zero
    const writes = costOfClasses(
      [{ model: "gpt-4o-2024-08-06", tokens: { cache_write_input: 5, cache_write_1h_input: 5 } }],
      BUILTIN,
    );
    expect(writes.total).toBeNull();
    expect(writes.unknown[0]!.reason).toMatch(
      /^no standard cache-write input \/ 1-hour cache-write input rate for gpt-4o-2024-08-06/,
    );
    // a class without tokens needs no rate
    const textOnly = costOfClasses(
      [
        {
          model: "gpt-4o-mini-2024-07-18",
          tokens: { uncached_text_input: 1_000_000, audio_input: 0 },
        },
      ],
      BUILTIN,
    );
    expect(textOnly.total).toBe(0.15);
  });

  it("uses batch, flex and priority rates per class, and nothing else where the tier lacks one", () => {
    const batch = costOfClasses(
      [{ model: "gpt-5.6", batch: true, tokens: { uncached_text_input: 1e6, text_output: 1e6 } }],
      BUILTIN,
    );
    expect(batch.total).toBe(2.5 + 15);
    expect(batch.provenance[0]).toMatchObject({
      tier: "batch",
      classes: { uncached_text_input: { usd_per_1m: 2.5 }, text_output: { usd_per_1m: 15 } },
    });
    // no batch cache-write rate is known: unknown, not the standard 6.25
    const batchWrites = costOfClasses(
      [{ model: "gpt-5.6", batch: true, tokens: { cache_write_input: 1e6 } }],
      BUILTIN,
    );
    expect(batchWrites.total).toBeNull();
    expect(batchWrites.unknown[0]!.reason).toMatch(/^no batch cache-write input rate for gpt-5\.6/);
    const flex = costOfClasses(
      [
        {
          model: "o3-2025-04-16",
          service_tier: "flex",
          tokens: { uncached_text_input: 1e6, cached_input: 1e6, text_output: 1e6 },
        },
      ],
      BUILTIN,
    );
    expect(flex.total).toBe(1 + 0.25 + 4);
    expect(flex.models[0]).toMatchObject({ priced_as: "o3", service_tier: "flex" });
  });

  it("never lends a base name's rates to a snapshot priced unlike it", () => {
    // gpt-4o-2024-05-13 has no priority rates; gpt-4o's (4.25 / 17) are another model's price
    const priority = costOf(
      [usage("gpt-4o-2024-05-13", 1_000_000, 0, 100_000, { service_tier: "priority" })],
      BUILTIN,
    );
    expect(priority.total).toBeNull();
    expect(priority.unknown[0]!.reason).toBe(
      "no priority input / output rate for gpt-4o-2024-05-13 in built-in price table (2025-09)",
    );
    // cached audio costs 20 on this snapshot, cached text 2.5: cached input stays unknown
    const realtime = costOf([usage("gpt-4o-realtime-preview-2024-10-01", 100, 50, 10)], BUILTIN);
    expect(realtime.total).toBeNull();
    expect(realtime.unknown[0]!.reason).toMatch(/cached input rate/);
  });

  it("gives no cost, rather than Infinity, for a mistyped price", () => {
    const typo: PriceSource = { name: "prices.yaml", models: { m: { input: 1e300, output: 1 } } };
    const cost = costOfClasses([{ model: "m", tokens: { uncached_text_input: 1e9 } }], [typo]);
    expect(cost.total).toBeNull();
    expect(cost.unknown[0]!.reason).toMatch(
      /would exceed 1000000000000 USD \(a mistyped price\?\)/,
    );
    expect(cost.models).toEqual([]);
    for (const v of [cost.uncachedInputCost, cost.cachedInputCost, cost.outputCost])
      expect(Number.isFinite(v)).toBe(true);
  });

  it("reports each disagreeing alias once, however many models and runs use it", () => {
    const config: PriceSource = {
      name: "experiment config.yaml",
      models: { "gpt-4o": { input: 2.5, output: 10 } },
    };
    const cost = costOfClasses(
      [
        { model: "gpt-4o-2024-05-13", tokens: { uncached_text_input: 1e6 } },
        { model: "gpt-4o-2024-05-13", batch: true, tokens: { uncached_text_input: 1e6 } },
        { model: "gpt-4o-2024-08-06", tokens: { uncached_text_input: 1e6 } },
      ],
      [config, ...BUILTIN],
    );
    expect(cost.total).toBe(5 + 2.5 + 2.5);
    expect(cost.warnings).toHaveLength(1);
    expect(cost.warnings[0]).toMatch(/^gpt-4o-2024-05-13 is priced as gpt-4o-2024-05-13 /);
  });
});

describe("the token-class usage schema and today's readings", () => {
  it("accepts the nine classes and refuses an unknown class or a bad count", () => {
    const ok = TokenClassUsageSchema.parse({
      model: "m",
      tokens: Object.fromEntries(TOKEN_CLASS_NAMES.map((c, i) => [c, i])),
    });
    expect(Object.keys(ok.tokens)).toHaveLength(9);
    for (const tokens of [{ audio_inptu: 1 }, { cached_input: -1 }, { text_output: 1.5 }])
      expect(TokenClassUsageSchema.safeParse({ model: "m", tokens }).success).toBe(false);
  });

  it("prices today's per-model usage exactly as the classes it maps to", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            model: fc.constantFrom("gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "gpt-5-mini"),
            tokensIn: fc.nat(50_000_000),
            share: fc.nat(1000),
            out: fc.nat(10_000_000),
            batch: fc.boolean(),
            tier: fc.constantFrom("default", "flex", "priority", null),
          }),
          { maxLength: 4 },
        ),
        (rows) => {
          const list = rows.map((r) =>
            usage(r.model, r.tokensIn, Math.floor((r.tokensIn * r.share) / 1000), r.out, {
              batch: r.batch,
              service_tier: r.tier,
            }),
          );
          const legacy = costOf(list, BUILTIN);
          const classes = costOfClasses(
            list.map((u) => ({
              model: u.model,
              batch: u.batch,
              service_tier: u.service_tier,
              tokens: {
                uncached_text_input: u.tokens_in - u.cached_tokens,
                cached_input: u.cached_tokens,
                text_output: u.tokens_out,
              },
            })),
            BUILTIN,
          );
          expect(legacy).toEqual(classes);
        },
      ),
    );
  });

  it("refuses to price a reading with more cached than input tokens", () => {
    const cost = costOf([usage("gpt-4o-mini", 100, 150, 10), usage("gpt-4o", 10, 0, 1)], BUILTIN);
    expect(cost.total).toBeNull();
    expect(cost.unknown).toEqual([
      {
        model: "gpt-4o-mini",
        reason: "150 cached tokens exceed the 100 input tokens they are part of",
      },
    ]);
    expect(cost.primaryModel).toBe("gpt-4o-mini");
  });
});

describe("price keys in config.yaml and pricing files", () => {
  it("reads a price for every class, with batch, flex and priority variants", async () => {
    const root = await dir();
    const path = join(root, "config.yaml");
    await writeFile(
      path,
      [
        "pricing:",
        "  models:",
        "    claude-x:",
        "      input_price: 3",
        "      cached_price: 0.3",
        "      cache_write_price: 3.75",
        "      cache_write_1h_price: 6",
        "      output_price: 15",
        "      batch_input_price: 1.5",
        "      batch_cache_write_price: 1.875",
        "    voice-x:",
        "      input_price: 4",
        "      output_price: 16",
        "      input_audio_price: 32",
        "      input_image_price: 5",
        "      output_audio_price: 64",
        "      output_image_price: 40",
        "      flex_input_price: 2",
        "      priority_output_audio_price: 100",
        "      context_window: 128000",
        "",
      ].join("\n"),
    );
    const source = await loadPricingFile(nodeFiles, path, "config", false);
    expect(source?.models).toEqual({
      "claude-x": {
        input: 3,
        cached_input: 0.3,
        cache_write_input: 3.75,
        cache_write_1h_input: 6,
        output: 15,
        batch_input: 1.5,
        batch_cache_write_input: 1.875,
      },
      "voice-x": {
        input: 4,
        output: 16,
        input_audio: 32,
        input_image: 5,
        output_audio: 64,
        output_image: 40,
        flex_input: 2,
        priority_output_audio: 100,
      },
    });
    // and they price the classes: 1h writes at their own rate, batch writes at the batch rate
    const cost = costOfClasses(
      [
        { model: "claude-x", tokens: { cache_write_input: 1e6, cache_write_1h_input: 1e6 } },
        { model: "claude-x", batch: true, tokens: { cache_write_input: 1e6 } },
        { model: "voice-x", tokens: { image_input: 1e6, image_output: 1e6 } },
      ],
      [source!],
    );
    expect(cost.total).toBe(3.75 + 6 + 1.875 + 5 + 40);
  });

  const badKeys: Array<[string, string, RegExp]> = [
    [
      "a negative cache-write price",
      "cache_write_price: -1",
      /models\.m\.cache_write_price: Too small/,
    ],
    [
      "an audio price that is not a number",
      "input_audio_price: dear",
      /models\.m\.input_audio_price: /,
    ],
    ["an infinite image price", "output_image_price: .inf", /models\.m\.output_image_price: /],
    [
      "a price that is not a number at all",
      "batch_input_price: .nan",
      /models\.m\.batch_input_price: /,
    ],
    [
      "a misspelt price key",
      "cache_writes_price: 3",
      /models\.m\.cache_writes_price: unknown price key \(the class keys are input_price, cached_price, cache_write_price, /,
    ],
  ];
  for (const [what, line, message] of badKeys) {
    it(`names the file and the key for ${what}`, async () => {
      const root = await dir();
      await mkdir(join(root, "runs"));
      const text = `pricing:\n  models:\n    m:\n      input_price: 1\n      output_price: 2\n      ${line}\n`;
      await writeFile(join(root, "config.yaml"), text);
      await expect(loadPriceSources(nodeFiles, join(root, "runs"), undefined)).rejects.toThrow(
        new RegExp(
          `^${join(root, "config.yaml").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: pricing: `,
        ),
      );
      await expect(loadPriceSources(nodeFiles, join(root, "runs"), undefined)).rejects.toThrow(
        message,
      );
      // the pricing file too, with the models map at its top level
      const file = join(root, "prices.yaml");
      await writeFile(
        file,
        text.replace("pricing:\n  models:\n    m:", "models:\n  m:").replace(/^ {6}/gm, "    "),
      );
      const error = await loadPricingFile(nodeFiles, file, "p", true).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PricingFileError);
      expect((error as Error).message.startsWith(`${file}: `)).toBe(true);
      expect((error as Error).message).toMatch(message);
    });
  }
});

describe("issue 9's alias case, from the files", () => {
  it("prices gpt-4o-2024-05-13 at the built-in snapshot's rate despite config.yaml's gpt-4o, and says so", async () => {
    const root = await dir();
    await mkdir(join(root, "runs"));
    await writeFile(
      join(root, "config.yaml"),
      "pricing:\n  models:\n    gpt-4o:\n      input_price: 2.5\n      cached_price: 1.25\n      output_price: 10.0\n",
    );
    const sources = await loadPriceSources(nodeFiles, join(root, "runs"), undefined);
    const cost = costOf([usage("gpt-4o-2024-05-13", 1_000_000, 0, 100_000)], sources);
    expect(cost.total).toBe(5 + 1.5);
    expect(cost.models[0]).toMatchObject({
      priced_as: "gpt-4o-2024-05-13",
      price_source: "built-in price table (2025-09)",
    });
    expect(cost.warnings).toEqual([
      expect.stringMatching(
        /^gpt-4o-2024-05-13 is priced as gpt-4o-2024-05-13 from the built-in price table \(2025-09\), not as gpt-4o from the experiment config\.yaml, which differs \(input_price 2\.5 there, 5 here; output_price 10 there, 15 here\)/,
      ),
    ]);
    // o1-mini's snapshot is priced like o1-mini (it was 2.7 times dearer)
    const o1 = costOf([usage("o1-mini-2024-09-12", 1_000_000, 0, 1_000_000)], BUILTIN);
    expect(o1.total).toBe(1.1 + 4.4);
  });
});

describe("README's cost section", () => {
  it("lists the price key of every token class, in config.yaml and in the built-in table", () => {
    const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("### Cost"), readme.indexOf("## Trusting"));
    for (const c of TOKEN_CLASS_NAMES) {
      const { config, rate } = TOKEN_CLASSES[c];
      expect(section, c).toMatch(
        new RegExp(`\\| \`${config}\`( \\(required\\))? \\| \`${rate}\` \\|`),
      );
    }
  });
});

describe("a pass over an experiment whose config.yaml alias disagrees with the snapshot", () => {
  it("writes the snapshot's cost and warns about the alias, over the fake Usage API", async () => {
    const runs = generateExperiment({ frameworks: ["baes"], runsPerFramework: 1, seed: 11 });
    const root = await dir();
    await writeExperiment(root, runs);
    // the API reports gpt-4o-mini-2024-07-18, which the built-in table prices at 0.15 / 0.075 / 0.6
    await writeFile(
      join(root, "config.yaml"),
      "pricing:\n  models:\n    gpt-4o-mini:\n      input_price: 0.2\n      cached_price: 0.1\n      output_price: 0.8\n",
    );
    const adminKey = "sk-admin-pricing-test-01";
    const api = await startFakeUsageApi({ adminKey, events: allEvents(runs) });
    try {
      const run = runs[0]!;
      const result = await runCli(
        [
          "--api-base-url",
          api.baseUrl,
          "--api-key-id",
          `baes=${keyIdFor("baes")}`,
          "--now",
          new Date((Math.floor(run.end) + 40 * 60) * 1000).toISOString(),
          "--json",
        ],
        { cwd: root, env: { OPENAI_ADMIN_KEY: adminKey } },
      );
      expect(result.code, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout) as { warnings: string[] };
      expect(report.warnings).toEqual([
        "gpt-4o-mini-2024-07-18 is priced as gpt-4o-mini-2024-07-18 from the built-in price table (2025-09), not as gpt-4o-mini from the experiment config.yaml, which differs (input_price 0.2 there, 0.15 here; cached_price 0.1 there, 0.075 here; output_price 0.8 there, 0.6 here); list gpt-4o-mini-2024-07-18 in the experiment config.yaml to price it otherwise",
      ]);
      const file = JSON.parse(await readFile(join(root, "runs", run.path), "utf8")) as {
        aggregate_metrics: { COST_USD: number };
        cost_breakdown: { models: Array<{ priced_as: string }> };
      };
      const t = run.totals;
      expect(file.aggregate_metrics.COST_USD).toBeCloseTo(
        ((t.tokensIn - t.cachedTokens) * 0.15 + t.cachedTokens * 0.075 + t.tokensOut * 0.6) / 1e6,
        9,
      );
      expect(file.cost_breakdown.models[0]!.priced_as).toBe("gpt-4o-mini-2024-07-18");
    } finally {
      await api.close();
    }
  });
});
