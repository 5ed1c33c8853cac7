import { BUILTIN_PRICES } from "./builtin-prices.ts";
import type { ModelPrice, PriceTable } from "./schema.ts";

/** A named set of prices; the first source that knows a model wins. */
export interface PriceSource {
  name: string;
  models: Record<string, ModelPrice>;
}

export interface ResolvedPrice {
  price: ModelPrice;
  /** The table entry used (`gpt-4o-mini` for `gpt-4o-mini-2024-07-18`). */
  pricedAs: string;
  source: string;
}

export const builtinSource = (table: PriceTable = BUILTIN_PRICES): PriceSource => ({
  name: `built-in price table (${table.as_of})`,
  models: table.models,
});

const DATED_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{4})$/;

/**
 * Names to look a model up by, most specific first. Dated snapshots fall back to their base name;
 * a fine-tuned model (`ft:base:org::id`) to its base's fine-tuning price, never to the base model.
 */
export function candidateNames(model: string): string[] {
  const names = [model];
  const base = model.startsWith("ft:") ? `ft:${model.split(":")[1] ?? ""}` : model;
  if (base !== model) names.push(base);
  const undated = base.replace(DATED_SUFFIX, "");
  if (undated !== base) names.push(undated);
  return names;
}

/** Looks a model up in each source in order of precedence. */
export function resolvePrice(
  model: string,
  sources: readonly PriceSource[],
): ResolvedPrice | undefined {
  for (const source of sources) {
    for (const name of candidateNames(model)) {
      const price = source.models[name];
      if (price) return { price, pricedAs: name, source: source.name };
    }
  }
  return undefined;
}
