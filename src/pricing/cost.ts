import { createHash } from "node:crypto";
import type { ModelUsage } from "../runs/schema.ts";
import { remembered } from "../util/remembered.ts";
import { type PriceEntry, type PriceSource, resolvePrice } from "./prices.ts";
import {
  type RateKey,
  rateKey,
  type Tier,
  TOKEN_CLASS_NAMES,
  TOKEN_CLASSES,
  type TokenClass,
} from "./schema.ts";
import { classesOfModelUsage, type TokenClassUsage, tokensOf } from "./usage.ts";

/** One model's cost as `cost_breakdown.models[]` has always listed it. */
export interface ModelCost {
  model: string;
  batch?: boolean;
  service_tier?: string;
  priced_as: string;
  price_source: string;
  /** Every input class but cached input: text, cache writes, audio, images. */
  uncached_input_cost: number;
  cached_input_cost: number;
  /** Every output class: text, audio, images. */
  output_cost: number;
  cache_savings: number;
  cost: number;
}

export interface ClassCost {
  tokens: number;
  usd_per_1m: number;
  cost: number;
}

/**
 * What a reader needs to recompute one model's cost: each class with tokens, the rate applied to
 * it and where that rate came from. `prices_sha256` is the first 12 hex digits of the SHA-256 of
 * the rates used, as a JSON object of rate key (`input`, `batch_output`, …) to USD per 1M tokens
 * with its keys sorted: equal hashes, equal prices.
 */
export interface ModelCostProvenance {
  model: string;
  tier: Tier;
  priced_as: string;
  price_source: string;
  /** The date of the price table, when the source has one. */
  price_date?: string;
  classes: Partial<Record<TokenClass, ClassCost>>;
  prices_sha256: string;
}

export interface CostResult {
  /** Null when any model or class is unpriced: a partial sum would be a silent undercount. */
  total: number | null;
  uncachedInputCost: number;
  cachedInputCost: number;
  outputCost: number;
  cacheSavings: number;
  /** The model with the most tokens. */
  primaryModel?: string;
  models: ModelCost[];
  /** Per priced model, in the order of `models`. */
  provenance: ModelCostProvenance[];
  /** Models (or classes of them) that have tokens and no price, and why. */
  unknown: Array<{ model: string; reason: string }>;
  /** Price look-ups worth a word (an alias that disagrees with a more specific entry). */
  warnings: string[];
}

/** Costs are kept to 1e-10 USD: enough for any sum of token prices, free of float noise. */
export const roundUsd = (usd: number): number => Math.round(usd * 1e10) / 1e10;

/**
 * No run costs a trillion dollars: a model's cost above this comes from a mistyped price (1e300),
 * and is unknown rather than written as Infinity or rounded into nonsense (sums of many such
 * costs, times 1e10 for rounding, stay finite).
 */
export const MAX_MODEL_COST_USD = 1e12;

function tierOf(u: TokenClassUsage): Tier {
  if (u.batch) return "batch";
  if (u.service_tier === "flex" || u.service_tier === "priority") return u.service_tier;
  return "standard";
}

const missingRates = (entry: PriceEntry, classes: readonly TokenClass[], tier: Tier) =>
  classes.filter((c) => entry.price[rateKey(c, tier)] === undefined);

// A pass prices thousands of runs at the same few sets of rates: each set is hashed once.
const hashOf = remembered(
  (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12),
  1024,
);

export function pricesHash(rates: Partial<Record<RateKey, number>>): string {
  const sorted = Object.fromEntries(Object.entries(rates).sort(([a], [b]) => (a < b ? -1 : 1)));
  return hashOf(JSON.stringify(sorted));
}

// The rates a model is priced at follow from its price entry, its tier and the classes it used:
// a pass prices thousands of runs alike, so the hash is made once for each such triple.
const ratesHashes = new WeakMap<object, Map<string, string>>();

function ratesHashOf(
  price: object,
  tier: Tier,
  used: readonly TokenClass[],
  rates: Partial<Record<RateKey, number>>,
): string {
  let byUse = ratesHashes.get(price);
  if (!byUse) {
    byUse = new Map();
    ratesHashes.set(price, byUse);
  }
  const key = `${tier} ${used.join(" ")}`;
  let hash = byUse.get(key);
  if (hash === undefined) {
    hash = pricesHash(rates);
    byUse.set(key, hash);
  }
  return hash;
}

// Looking a model up walks every source under every candidate name; a pass asks the same few
// models of the same sources for every run. The sources are never changed once loaded.
const resolvedBySources = new WeakMap<
  readonly PriceSource[],
  Map<string, ReturnType<typeof resolvePrice>>
>();

function resolvePriceOnce(model: string, sources: readonly PriceSource[]) {
  let byModel = resolvedBySources.get(sources);
  if (!byModel) {
    byModel = new Map();
    resolvedBySources.set(sources, byModel);
  }
  if (!byModel.has(model)) byModel.set(model, resolvePrice(model, sources));
  return byModel.get(model);
}

const INPUT_CLASSES_BUT_CACHED: readonly TokenClass[] = [
  "uncached_text_input",
  "cache_write_input",
  "cache_write_1h_input",
  "audio_input",
  "image_input",
];
const OUTPUT_CLASSES: readonly TokenClass[] = ["text_output", "audio_output", "image_output"];

type Priced =
  | { cost: ModelCost; provenance: ModelCostProvenance; warnings: string[] }
  | { unknown: string; warnings: string[] };

function priceModel(u: TokenClassUsage, sources: readonly PriceSource[]): Priced {
  const resolved = resolvePriceOnce(u.model, sources);
  if (!resolved) return { unknown: "no price for this model", warnings: [] };
  const { warnings } = resolved;
  const tier = tierOf(u);
  const used = TOKEN_CLASS_NAMES.filter((c) => tokensOf(u, c) > 0);
  // the chosen entry may lack a rate that an entry agreeing with it has (the table lists
  // priority rates under `gpt-4o-mini`, the API reports `gpt-4o-mini-2024-07-18`)
  const entry = [resolved, ...resolved.agreeing].find(
    (e) => missingRates(e, used, tier).length === 0,
  );
  if (!entry) {
    const missing = missingRates(resolved, used, tier).map((c) => TOKEN_CLASSES[c].label);
    return {
      unknown: `no ${tier} ${missing.join(" / ")} rate for ${resolved.pricedAs} in ${resolved.source}`,
      warnings,
    };
  }

  const classes: Partial<Record<TokenClass, ClassCost>> = {};
  const raw: Partial<Record<TokenClass, number>> = {};
  const rates: Partial<Record<RateKey, number>> = {};
  for (const c of used) {
    const key = rateKey(c, tier);
    const usdPer1m = entry.price[key]!;
    raw[c] = (tokensOf(u, c) * usdPer1m) / 1e6;
    rates[key] = usdPer1m;
    classes[c] = { tokens: tokensOf(u, c), usd_per_1m: usdPer1m, cost: roundUsd(raw[c]) };
  }
  const sum = (cs: readonly TokenClass[]) => cs.reduce((s, c) => s + (raw[c] ?? 0), 0);
  const uncachedCost = sum(INPUT_CLASSES_BUT_CACHED);
  const cachedCost = raw.cached_input ?? 0;
  const outputCost = sum(OUTPUT_CLASSES);
  const total = uncachedCost + cachedCost + outputCost;
  if (!(total <= MAX_MODEL_COST_USD))
    return {
      unknown: `the cost at ${entry.pricedAs}'s prices in ${entry.source} would exceed ${MAX_MODEL_COST_USD} USD (a mistyped price?)`,
      warnings,
    };
  const inputRate = entry.price[rateKey("uncached_text_input", tier)];
  const cachedRate = entry.price[rateKey("cached_input", tier)];
  const cached = tokensOf(u, "cached_input");
  const savings =
    cached > 0 && inputRate !== undefined
      ? (cached * (inputRate - (cachedRate ?? inputRate))) / 1e6
      : 0;
  return {
    cost: {
      model: u.model,
      ...(u.batch ? { batch: true } : {}),
      ...(u.service_tier && u.service_tier !== "default" ? { service_tier: u.service_tier } : {}),
      priced_as: entry.pricedAs,
      price_source: entry.source,
      uncached_input_cost: roundUsd(uncachedCost),
      cached_input_cost: roundUsd(cachedCost),
      output_cost: roundUsd(outputCost),
      cache_savings: roundUsd(savings),
      cost: roundUsd(total),
    },
    provenance: {
      model: u.model,
      tier,
      priced_as: entry.pricedAs,
      price_source: entry.source,
      ...(entry.as_of !== undefined ? { price_date: entry.as_of } : {}),
      classes,
      prices_sha256: ratesHashOf(entry.price, tier, used, rates),
    },
    warnings,
  };
}

/**
 * Cost of a reading's usage by token class (docs/design.md#token-classes): per model, each class's
 * tokens times that class's rate, at batch or service-tier rates where the usage says so. A model,
 * or a class with tokens, whose price we do not know makes the total unknown and is listed, never
 * priced at zero or at another class's rate.
 */
export function costOfClasses(
  usage: readonly TokenClassUsage[],
  sources: readonly PriceSource[],
): CostResult {
  const models: ModelCost[] = [];
  const provenance: ModelCostProvenance[] = [];
  const unknown: CostResult["unknown"] = [];
  const warnings = new Set<string>();
  for (const u of usage) {
    const priced = priceModel(u, sources);
    for (const w of priced.warnings) warnings.add(w);
    if ("unknown" in priced) unknown.push({ model: u.model, reason: priced.unknown });
    else {
      models.push(priced.cost);
      provenance.push(priced.provenance);
    }
  }
  const sum = (f: (m: ModelCost) => number) => roundUsd(models.reduce((s, m) => s + f(m), 0));
  const size = (u: TokenClassUsage) => TOKEN_CLASS_NAMES.reduce((s, c) => s + tokensOf(u, c), 0);
  const primary = [...usage].sort((a, b) => size(b) - size(a))[0];
  return {
    total: unknown.length > 0 ? null : sum((m) => m.cost),
    uncachedInputCost: sum((m) => m.uncached_input_cost),
    cachedInputCost: sum((m) => m.cached_input_cost),
    outputCost: sum((m) => m.output_cost),
    cacheSavings: sum((m) => m.cache_savings),
    primaryModel: primary?.model,
    models,
    provenance,
    unknown,
    warnings: [...warnings],
  };
}

/**
 * Cost of a reading's per-model split: through its recorded token classes (costOfClasses) where
 * it has them, and for readings from before token classes (input including cached, output) as
 * `(input − cached) × input + cached × cached_input + output × output` per model. Usage the
 * provider marked `unpriced` (a tier, band, region or speed the table has no rates for) is unknown.
 */
export function costOf(usage: readonly ModelUsage[], sources: readonly PriceSource[]): CostResult {
  const classes: TokenClassUsage[] = [];
  const contradictory: CostResult["unknown"] = [];
  for (const u of usage) {
    // the provider said these tokens are billed otherwise than per token at the table's rates
    if (u.unpriced !== undefined) {
      contradictory.push({ model: u.model, reason: u.unpriced });
      continue;
    }
    const c = classesOfModelUsage(u);
    if (c) classes.push(c);
    else
      contradictory.push({
        model: u.model,
        reason: `${u.cached_tokens} cached tokens exceed the ${u.tokens_in} input tokens they are part of`,
      });
  }
  const result = costOfClasses(classes, sources);
  if (contradictory.length === 0) return result;
  const primary = [...usage].sort(
    (a, b) => b.tokens_in + b.tokens_out - (a.tokens_in + a.tokens_out),
  )[0];
  return {
    ...result,
    total: null,
    primaryModel: primary?.model,
    unknown: [...result.unknown, ...contradictory],
  };
}
