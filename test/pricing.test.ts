import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { nodeFiles } from "../src/fs/node.ts";
import { BUILTIN_PRICES } from "../src/pricing/builtin-prices.ts";
import { costOf } from "../src/pricing/cost.ts";
import { loadPriceSources, loadPricingFile, PricingFileError } from "../src/pricing/load.ts";
import {
  builtinSource,
  candidateNames,
  type PriceSource,
  resolvePrice,
} from "../src/pricing/prices.ts";
import type { ModelUsage } from "../src/runs/schema.ts";
import { onSharedData, SHARED_DATA, sharedDataPresent, tempDir } from "./support/experiment.ts";

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

  it("lets the first source that knows a model win, before trying less specific names", () => {
    const config: PriceSource = {
      name: "config",
      models: { "gpt-4o-mini": { input: 1, output: 2 } },
    };
    const resolved = resolvePrice("gpt-4o-mini-2024-07-18", [config, ...BUILTIN]);
    expect(resolved).toMatchObject({
      source: "config",
      pricedAs: "gpt-4o-mini",
      price: { input: 1 },
    });
    expect(resolvePrice("no-such-model", BUILTIN)).toBeUndefined();
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
    expect(sources).toHaveLength(3);
    const price = (m: string) => resolvePrice(m, sources)!;
    expect(price("gpt-4o-2024-08-06")).toMatchObject({
      price: { input: 5, output: 6 },
      pricedAs: "gpt-4o",
    });
    expect(price("gpt-4o-2024-08-06").source).toMatch(/pricing file/);
    expect(price("gpt-4o-mini-2024-07-18")).toMatchObject({
      price: { input: 1, cached_input: 0.5, output: 2 },
    });
    expect(price("gpt-4o-mini-2024-07-18").source).toMatch(/config\.yaml/);
    expect(price("o1-mini").source).toMatch(/built-in/);

    // without the pricing file, config.yaml wins over the table
    const withoutFile = await loadPriceSources(nodeFiles, join(root, "runs"), undefined);
    expect(resolvePrice("gpt-4o", withoutFile)!.price).toMatchObject({ input: 3, output: 4 });
    // without either, the table
    const bare = await dir();
    await mkdir(join(bare, "runs"));
    const onlyBuiltin = await loadPriceSources(nodeFiles, join(bare, "runs"), undefined);
    expect(onlyBuiltin).toHaveLength(1);
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
