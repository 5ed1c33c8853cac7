import type { ModelUsage } from "../runs/schema.ts";
import { candidateNames, type PriceSource, resolvePrice } from "./prices.ts";
import type { ModelPrice } from "./schema.ts";

export interface ModelCost {
  model: string;
  batch?: boolean;
  service_tier?: string;
  priced_as: string;
  price_source: string;
  uncached_input_cost: number;
  cached_input_cost: number;
  output_cost: number;
  cache_savings: number;
  cost: number;
}

export interface CostResult {
  /** Null when any model's price is unknown: a partial sum would be a silent undercount. */
  total: number | null;
  uncachedInputCost: number;
  cachedInputCost: number;
  outputCost: number;
  cacheSavings: number;
  /** The model with the most tokens. */
  primaryModel?: string;
  models: ModelCost[];
  unknown: Array<{ model: string; reason: string }>;
}

/** Costs are kept to 1e-10 USD: enough for any sum of token prices, free of float noise. */
export const roundUsd = (usd: number): number => Math.round(usd * 1e10) / 1e10;

interface Rates {
  input?: number;
  cached?: number;
  output?: number;
  tier: string;
}

function ratesFor(price: ModelPrice, usage: ModelUsage): Rates {
  if (usage.batch)
    return {
      input: price.batch_input,
      output: price.batch_output,
      cached: undefined,
      tier: "batch",
    };
  if (usage.service_tier === "flex") {
    return {
      input: price.flex_input,
      cached: price.flex_cached_input,
      output: price.flex_output,
      tier: "flex",
    };
  }
  if (usage.service_tier === "priority") {
    return {
      input: price.priority_input,
      cached: price.priority_cached_input,
      output: price.priority_output,
      tier: "priority",
    };
  }
  return { input: price.input, cached: price.cached_input, output: price.output, tier: "standard" };
}

function missingRates(r: Rates, usage: ModelUsage): string[] {
  return [
    r.input === undefined ? "input" : undefined,
    r.output === undefined ? "output" : undefined,
    usage.cached_tokens > 0 && r.cached === undefined ? "cached input" : undefined,
  ].filter((x): x is string => x !== undefined);
}

/**
 * Cost of a reading's per-model split (SPEC §5): `(input − cached) × input + cached × cached_input
 * + output × output` per model, at batch or service-tier rates where the usage says so. A model or
 * rate we do not know makes the total unknown and is listed, never priced at zero.
 */
export function costOf(usage: readonly ModelUsage[], sources: readonly PriceSource[]): CostResult {
  const models: ModelCost[] = [];
  const unknown: CostResult["unknown"] = [];
  for (const u of usage) {
    let resolved = resolvePrice(u.model, sources);
    if (!resolved) {
      unknown.push({ model: u.model, reason: "no price for this model" });
      continue;
    }
    let r = ratesFor(resolved.price, u);
    let missing = missingRates(r, u);
    if (missing.length > 0) {
      // A dated snapshot's entry may lack the tier rates its base name has in the same source
      // (the table lists priority rates under `gpt-4o-mini`, the API reports
      // `gpt-4o-mini-2024-07-18`): use the less specific entry that has them.
      const source = sources.find((s) => s.name === resolved!.source);
      const names = candidateNames(u.model);
      for (const name of names.slice(names.indexOf(resolved.pricedAs) + 1)) {
        const price = source?.models[name];
        if (price && missingRates(ratesFor(price, u), u).length === 0) {
          resolved = { price, pricedAs: name, source: resolved.source };
          r = ratesFor(price, u);
          missing = [];
          break;
        }
      }
    }
    const uncached = u.tokens_in - u.cached_tokens;
    if (missing.length > 0) {
      unknown.push({
        model: u.model,
        reason: `no ${r.tier} ${missing.join(" / ")} rate for ${resolved.pricedAs} in ${resolved.source}`,
      });
      continue;
    }
    const uncachedCost = (uncached * r.input!) / 1e6;
    const cachedCost = (u.cached_tokens * (r.cached ?? 0)) / 1e6;
    const outputCost = (u.tokens_out * r.output!) / 1e6;
    models.push({
      model: u.model,
      ...(u.batch ? { batch: true } : {}),
      ...(u.service_tier && u.service_tier !== "default" ? { service_tier: u.service_tier } : {}),
      priced_as: resolved.pricedAs,
      price_source: resolved.source,
      uncached_input_cost: roundUsd(uncachedCost),
      cached_input_cost: roundUsd(cachedCost),
      output_cost: roundUsd(outputCost),
      cache_savings: roundUsd((u.cached_tokens * (r.input! - (r.cached ?? r.input!))) / 1e6),
      cost: roundUsd(uncachedCost + cachedCost + outputCost),
    });
  }
  const sum = (f: (m: ModelCost) => number) => roundUsd(models.reduce((s, m) => s + f(m), 0));
  const primary = [...usage].sort(
    (a, b) => b.tokens_in + b.tokens_out - (a.tokens_in + a.tokens_out),
  )[0];
  return {
    total: unknown.length > 0 ? null : sum((m) => m.cost),
    uncachedInputCost: sum((m) => m.uncached_input_cost),
    cachedInputCost: sum((m) => m.cached_input_cost),
    outputCost: sum((m) => m.output_cost),
    cacheSavings: sum((m) => m.cache_savings),
    primaryModel: primary?.model,
    models,
    unknown,
  };
}
