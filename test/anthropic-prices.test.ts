import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type AnthropicPrices, deriveAnthropicTable } from "../scripts/anthropic-price-table.ts";
import ANTHROPIC_PRICES from "../scripts/anthropic-prices.json" with { type: "json" };
import { tableProblems } from "../scripts/price-table.ts";
import { nodeFiles } from "../src/fs/node.ts";
import { BUILTIN_ANTHROPIC_PRICES } from "../src/pricing/builtin-anthropic-prices.ts";
import { BUILTIN_PRICES } from "../src/pricing/builtin-prices.ts";
import { costOfClasses } from "../src/pricing/cost.ts";
import { loadPriceSources } from "../src/pricing/load.ts";
import {
  builtinAnthropicSource,
  builtinSources,
  candidateNames,
  resolvePrice,
} from "../src/pricing/prices.ts";
import type { TokenClassUsage } from "../src/pricing/usage.ts";
import { tempDir } from "./support/experiment.ts";

const PRICES = ANTHROPIC_PRICES as AnthropicPrices;
const CLAUDE = [builtinAnthropicSource()];
const SOURCE = "built-in Anthropic price table (2026-08)";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/**
 * A worked example by hand (USD = tokens × USD per 1M / 1e6), at the rates Anthropic's pricing
 * page lists for Sonnet 4.5 (3 / 3.75 / 6 / 0.30 / 15) and Haiku 4.5 in batch (half of 1 / 1.25 /
 * 2 / 0.10 / 5).
 */
const WORKED: TokenClassUsage[] = [
  {
    model: "claude-sonnet-4-5-20250929",
    tokens: {
      uncached_text_input: 200_000, // × 3     = 0.6
      cached_input: 1_000_000, //      × 0.3   = 0.3
      cache_write_input: 100_000, //   × 3.75  = 0.375
      cache_write_1h_input: 50_000, // × 6     = 0.3
      text_output: 40_000, //          × 15    = 0.6     → 2.175
    },
  },
  {
    model: "claude-haiku-4-5-20251001",
    batch: true,
    tokens: {
      uncached_text_input: 100_000, // × 0.5   = 0.05
      cached_input: 400_000, //        × 0.05  = 0.02
      cache_write_input: 20_000, //    × 0.625 = 0.0125
      cache_write_1h_input: 10_000, // × 1     = 0.01
      text_output: 30_000, //          × 2.5   = 0.075   → 0.1675
    },
  },
];

describe("the built-in Anthropic price table", () => {
  it("prices every Claude token class, batch included, as a hand calculation does", () => {
    const cost = costOfClasses(WORKED, CLAUDE);
    expect(cost.unknown).toEqual([]);
    expect(cost.total).toBe(2.3425);
    expect(cost.models).toEqual([
      {
        model: "claude-sonnet-4-5-20250929",
        priced_as: "claude-sonnet-4-5-20250929",
        price_source: SOURCE,
        uncached_input_cost: 1.275, // uncached 0.6 + 5-minute writes 0.375 + 1-hour writes 0.3
        cached_input_cost: 0.3,
        output_cost: 0.6,
        cache_savings: 2.7, // 1,000,000 × (3 − 0.3) / 1e6
        cost: 2.175,
      },
      {
        model: "claude-haiku-4-5-20251001",
        batch: true,
        priced_as: "claude-haiku-4-5-20251001",
        price_source: SOURCE,
        uncached_input_cost: 0.0725,
        cached_input_cost: 0.02,
        output_cost: 0.075,
        cache_savings: 0.18, // 400,000 × (0.5 − 0.05) / 1e6
        cost: 0.1675,
      },
    ]);
    expect(cost.provenance[1]).toMatchObject({
      tier: "batch",
      price_date: "2026-08",
      classes: {
        cache_write_input: { tokens: 20_000, usd_per_1m: 0.625, cost: 0.0125 },
        cache_write_1h_input: { tokens: 10_000, usd_per_1m: 1, cost: 0.01 },
      },
    });
  });

  it("is what npm run prices makes of scripts/anthropic-prices.json", () => {
    const { table, problems } = deriveAnthropicTable(PRICES);
    expect(problems).toEqual([]);
    expect(table).toEqual(BUILTIN_ANTHROPIC_PRICES);
    expect(BUILTIN_ANTHROPIC_PRICES.as_of).toBe("2026-08");
    expect(BUILTIN_ANTHROPIC_PRICES.source).toMatch(/pricing page .*stored on 2026-08-21/);
  });

  it("lists the current Claude models and prices aliases like the model they point to", () => {
    for (const model of [
      "claude-fable-5",
      "claude-opus-5",
      "claude-opus-4-8",
      "claude-opus-4-7",
      "claude-opus-4-6",
      "claude-opus-4-5-20251101",
      "claude-sonnet-5",
      "claude-sonnet-4-6",
      "claude-sonnet-4-5-20250929",
      "claude-haiku-4-5-20251001",
      "claude-3-7-sonnet-20250219",
      "claude-3-5-haiku-20241022",
    ])
      expect(resolvePrice(model, CLAUDE)?.pricedAs, model).toBe(model);
    expect(resolvePrice("claude-haiku-4-5", CLAUDE)?.price).toEqual(
      BUILTIN_ANTHROPIC_PRICES.models["claude-haiku-4-5-20251001"],
    );
    expect(BUILTIN_ANTHROPIC_PRICES.models["claude-opus-4-1-20250805"]).toMatchObject({
      input: 15,
      cache_write_input: 18.75,
      cache_write_1h_input: 30,
      cached_input: 1.5,
      output: 75,
    });
    expect(tableProblems(BUILTIN_ANTHROPIC_PRICES.models)).toEqual([]);
    // no name in both built-in tables: neither can shadow the other
    const openai = new Set(Object.keys(BUILTIN_PRICES.models));
    expect(Object.keys(BUILTIN_ANTHROPIC_PRICES.models).filter((m) => openai.has(m))).toEqual([]);
  });

  it("derives batch cache rates only where the cache rates are the documented multiples", () => {
    expect(BUILTIN_ANTHROPIC_PRICES.models["claude-opus-5"]).toMatchObject({
      batch_input: 2.5,
      batch_cached_input: 0.25,
      batch_cache_write_input: 3.125,
      batch_cache_write_1h_input: 5,
      batch_output: 12.5,
    });
    // Haiku 3's cache rates (0.30 / 0.50 / 0.03 on 0.25) are not 1.25 / 2 / 0.1 times its input
    // rate, so how the batch discount combines with them is unknown: batch cache use is unpriced
    const haiku3 = BUILTIN_ANTHROPIC_PRICES.models["claude-3-haiku-20240307"]!;
    expect(haiku3).toMatchObject({ batch_input: 0.125, batch_output: 0.625 });
    expect(haiku3).not.toHaveProperty("batch_cached_input");
    const cost = costOfClasses(
      [{ model: "claude-3-haiku-20240307", batch: true, tokens: { cached_input: 10 } }],
      CLAUDE,
    );
    expect(cost.total).toBeNull();
    expect(cost.unknown[0]?.reason).toMatch(/no batch cached input rate/);
  });

  it("refuses a price file with a typo in a batch rate, an unknown key or a dangling alias", () => {
    const broken: AnthropicPrices = structuredClone(PRICES);
    broken.models["claude-opus-5"]!.batch_output = 125;
    (broken.models["claude-sonnet-5"] as Record<string, number>).cache_read = 0.2;
    broken.aliases["claude-sonnet-9"] = "claude-sonnet-9-20300101";
    const { problems } = deriveAnthropicTable(broken);
    expect(problems).toEqual([
      "claude-opus-5: batch rates 2.5 / 125 are not half of 5 / 25",
      "claude-sonnet-5: unknown rate key cache_read",
      "alias claude-sonnet-9 points to claude-sonnet-9-20300101, not in the table",
    ]);
  });

  it("falls back from a dated Claude snapshot to its alias, so config.yaml may price the alias", () => {
    expect(candidateNames("claude-sonnet-4-5-20250929")).toEqual([
      "claude-sonnet-4-5-20250929",
      "claude-sonnet-4-5",
    ]);
    expect(candidateNames("claude-opus-4-6")).toEqual(["claude-opus-4-6"]);
    // a snapshot the table does not know yet is priced by the user's alias entry
    const config = {
      name: "experiment config.yaml",
      models: { "claude-sonnet-4-5": { input: 2, output: 10 } },
    };
    expect(resolvePrice("claude-sonnet-4-5-20991231", [config, ...CLAUDE])).toMatchObject({
      pricedAs: "claude-sonnet-4-5",
      source: "experiment config.yaml",
    });
  });

  it("is one of the sources a pass prices with, after the experiment's own prices", async () => {
    const dir = await tempDir("reconcile-usage-anthropic-prices-");
    dirs.push(dir);
    await mkdir(join(dir, "runs"), { recursive: true });
    await writeFile(
      join(dir, "config.yaml"),
      "pricing:\n  models:\n    claude-opus-5:\n      input_price: 4\n      output_price: 20\n",
    );
    const sources = await loadPriceSources(nodeFiles, join(dir, "runs"), undefined);
    expect(sources.map((s) => s.name)).toEqual([
      "experiment config.yaml",
      "built-in price table (2025-09)",
      SOURCE,
    ]);
    expect(builtinSources().map((s) => s.name)).toEqual(sources.slice(1).map((s) => s.name));
    expect(resolvePrice("claude-opus-5", sources)).toMatchObject({
      source: "experiment config.yaml",
      price: { input: 4, output: 20 },
    });
    expect(resolvePrice("claude-opus-4-8", sources)).toMatchObject({ source: SOURCE });
  });
});
