import { BUILTIN_ANTHROPIC_PRICES } from "./builtin-anthropic-prices.ts";
import { BUILTIN_PRICES } from "./builtin-prices.ts";
import { type ModelPrice, PRICE_KEYS, type PriceTable } from "./schema.ts";

/** A named set of prices, in order of precedence among the others. */
export interface PriceSource {
  name: string;
  /** The date of the prices, when the source has one (the built-in table does). */
  as_of?: string;
  /** One of the tables shipped with the tool: the yardstick a user's price is checked against. */
  builtin?: boolean;
  models: Record<string, ModelPrice>;
}

/**
 * A user's rate this many times the built-in one (or this many times smaller) is a units mix-up
 * far more often than a real price: USD per 1K tokens written where USD per 1M is meant is a
 * factor of 1,000. Real price changes and negotiated rates stay well within it.
 */
export const UNITS_FACTOR = 10;

/** One source's entry for one of a model's names. */
export interface PriceEntry {
  price: ModelPrice;
  /** The name the entry is under (`gpt-4o-mini` for `gpt-4o-mini-2024-07-18`). */
  pricedAs: string;
  source: string;
  as_of?: string;
}

export interface ResolvedPrice extends PriceEntry {
  /**
   * Every entry that prices the model like the chosen one (the same figure for every rate both
   * state), most specific first: where the chosen entry lacks a rate (a tier, a class), one of
   * these may have it.
   */
  agreeing: PriceEntry[];
  /** Entries of higher-precedence sources that lost to a more specific name and disagree. */
  warnings: string[];
}

export const builtinSource = (table: PriceTable = BUILTIN_PRICES): PriceSource => ({
  name: `built-in price table (${table.as_of})`,
  as_of: table.as_of,
  builtin: true,
  models: table.models,
});

/** Claude's built-in prices: a table of their own, with their own date and source. */
export const builtinAnthropicSource = (
  table: PriceTable = BUILTIN_ANTHROPIC_PRICES,
): PriceSource => ({
  name: `built-in Anthropic price table (${table.as_of})`,
  as_of: table.as_of,
  builtin: true,
  models: table.models,
});

/** Every built-in table, in the order they are consulted (their model names do not overlap). */
export const builtinSources = (): PriceSource[] => [builtinSource(), builtinAnthropicSource()];

/** OpenAI's `-2024-07-18` and `-0613`, Anthropic's `-20250929`. */
const DATED_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4})$/;

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

/** The rates two entries both state and price differently. */
export function disagreements(
  a: ModelPrice,
  b: ModelPrice,
): Array<{ key: (typeof PRICE_KEYS)[number]; a: number; b: number }> {
  return PRICE_KEYS.filter(
    (k) => a[k.rate] !== undefined && b[k.rate] !== undefined && a[k.rate] !== b[k.rate],
  ).map((key) => ({ key, a: a[key.rate]!, b: b[key.rate]! }));
}

/** Same figure for every rate both state: the two entries price the same thing. */
export const agree = (a: ModelPrice, b: ModelPrice): boolean => disagreements(a, b).length === 0;

/**
 * Looks a model up in every source (docs/design.md#token-classes): the most specific name wins
 * across all sources, and among sources with that name, the first in precedence. A
 * higher-precedence source's entry under a less specific name (a config.yaml alias `gpt-4o` for
 * `gpt-4o-2024-05-13`) only loses its say: when it agrees with the winner it is the one credited
 * (the user's own prices, same figure), when it disagrees it is named in a warning.
 */
export function resolvePrice(
  model: string,
  sources: readonly PriceSource[],
): ResolvedPrice | undefined {
  const entries: Array<PriceEntry & { rank: number }> = [];
  for (const name of candidateNames(model))
    sources.forEach((source, rank) => {
      // own keys only: a model named `constructor` is not priced by Object.prototype
      const price = Object.hasOwn(source.models, name) ? source.models[name] : undefined;
      if (price)
        entries.push({
          price,
          pricedAs: name,
          source: source.name,
          ...(source.as_of !== undefined ? { as_of: source.as_of } : {}),
          rank,
        });
    });
  const best = entries[0];
  if (!best) return undefined;

  const warnings: string[] = [];
  let chosen: (typeof entries)[number] | undefined;
  // what each higher-precedence source would have priced the model as, on its own
  for (let rank = 0; rank < best.rank; rank++) {
    const own = entries.find((e) => e.rank === rank);
    if (!own) continue;
    const differ = disagreements(own.price, best.price);
    if (differ.length === 0) chosen ??= own;
    else
      warnings.push(
        `${model} is priced as ${best.pricedAs} from the ${best.source}, not as ${own.pricedAs} from the ${own.source}, which differs (${differ
          .map((d) => `${d.key.config} ${d.a} there, ${d.b} here`)
          .join("; ")}); list ${model} in the ${own.source} to price it otherwise`,
      );
  }
  const picked = chosen ?? best;
  const yardstick = entries.find((e) => sources[e.rank]?.builtin);
  if (yardstick && !sources[picked.rank]?.builtin)
    warnings.push(...unitsWarnings(model, picked, yardstick));
  const strip = ({ rank: _, ...e }: PriceEntry & { rank: number }): PriceEntry => e;
  const agreeing = entries
    .filter((e) => e !== picked && agree(e.price, best.price) && agree(e.price, picked.price))
    .map(strip);
  return { ...strip(picked), agreeing, warnings };
}

/** `1,000 times`, `1/1,000 of`; past a million either way, just that. */
function times(r: number): string {
  if (r >= 1e6) return "over a million times";
  if (r <= 1e-6) return "under a millionth of";
  const n = (x: number) => Number(x.toPrecision(3)).toLocaleString("en-US");
  return r >= 1 ? `${n(r)} times` : `1/${n(1 / r)} of`;
}

/** A user's rate far from the built-in one for the same model (see UNITS_FACTOR). */
function unitsWarnings(model: string, user: PriceEntry, builtin: PriceEntry): string[] {
  return PRICE_KEYS.flatMap((k) => {
    const a = user.price[k.rate];
    const b = builtin.price[k.rate];
    if (a === undefined || b === undefined || a === 0 || b === 0) return [];
    const ratio = a / b;
    if (ratio < UNITS_FACTOR && ratio > 1 / UNITS_FACTOR) return [];
    return [
      `${model}: ${k.config} ${a} in the ${user.source} is ${times(ratio)} the built-in price for ${builtin.pricedAs} (${b}, ${builtin.source}); prices are USD per 1M tokens, so a price per 1K tokens must be multiplied by 1,000. Costs use ${a} until it is corrected`,
    ];
  });
}
