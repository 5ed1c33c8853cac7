/**
 * The built-in Anthropic price table as data: the hand-kept Claude prices of
 * scripts/anthropic-prices.json, checked, with the batch cache rates the pricing page implies and
 * the aliases filled in. Pure, so a test can check that the committed table is what the script
 * makes of the file.
 */
import {
  type BuiltinModelPrice,
  type PriceTable,
  PriceTableSchema,
  RATE_KEYS,
  type RateKey,
} from "../src/pricing/schema.ts";
import { tableProblems } from "./price-table.ts";

export interface AnthropicPrices {
  as_of: string;
  source: string;
  models: Record<string, Partial<Record<RateKey, number>>>;
  /** Alias → the model name it points to; priced the same. */
  aliases: Record<string, string>;
}

/** The cache rates as multiples of the input rate, per Anthropic's pricing page. */
const CACHE_MULTIPLES: ReadonlyArray<[RateKey, number]> = [
  ["cache_write_input", 1.25],
  ["cache_write_1h_input", 2],
  ["cached_input", 0.1],
];
/** The batch counterpart of each cache rate. */
const BATCH_OF: Partial<Record<RateKey, RateKey>> = {
  cache_write_input: "batch_cache_write_input",
  cache_write_1h_input: "batch_cache_write_1h_input",
  cached_input: "batch_cached_input",
};

/** Rounded to 1e-9 USD per 1M tokens: products of short decimals, free of float noise. */
const exact = (n: number): number => Math.round(n * 1e9) / 1e9;

/** The entry's rates in the order the schema lists rate keys, so the file reads the same way. */
function ordered(rates: Partial<Record<RateKey, number>>): BuiltinModelPrice {
  const out: Partial<Record<RateKey, number>> = {};
  for (const k of RATE_KEYS) if (rates[k] !== undefined) out[k] = rates[k];
  return out as BuiltinModelPrice;
}

export function deriveAnthropicTable(prices: AnthropicPrices): {
  table: PriceTable;
  problems: string[];
} {
  const problems: string[] = [];
  const models: Record<string, BuiltinModelPrice> = {};
  for (const name of Object.keys(prices.models).sort()) {
    const given = prices.models[name]!;
    for (const key of Object.keys(given))
      if (!(RATE_KEYS as readonly string[]).includes(key))
        problems.push(`${name}: unknown rate key ${key}`);
    const { input, output } = given;
    if (input === undefined || output === undefined) {
      problems.push(`${name}: input and output rates are required`);
      continue;
    }
    // the Batch API halves input and output: a figure that does not is a typo
    if (given.batch_input !== exact(input / 2) || given.batch_output !== exact(output / 2))
      problems.push(
        `${name}: batch rates ${given.batch_input} / ${given.batch_output} are not half of ${input} / ${output}`,
      );
    const rates: Partial<Record<RateKey, number>> = { ...given };
    const multiples = CACHE_MULTIPLES.every(([k, m]) => given[k] === exact(input * m));
    // the batch discount stacks on the cache multipliers; where a model's cache rates are not the
    // usual multiples (Claude Haiku 3), how they combine is not stated, so they stay unknown
    if (multiples) for (const [k] of CACHE_MULTIPLES) rates[BATCH_OF[k]!] = exact(given[k]! / 2);
    models[name] = ordered(rates);
  }
  for (const [alias, target] of Object.entries(prices.aliases).sort()) {
    if (models[alias]) problems.push(`${alias} is both a model and an alias`);
    else if (!models[target]) problems.push(`alias ${alias} points to ${target}, not in the table`);
    else models[alias] = { ...models[target]! };
  }
  const sorted = Object.fromEntries(Object.entries(models).sort(([a], [b]) => (a < b ? -1 : 1)));
  const table: PriceTable = { as_of: prices.as_of, source: prices.source, models: sorted };
  const valid = PriceTableSchema.safeParse(table);
  if (!valid.success) problems.push(`the table does not fit its schema: ${valid.error.message}`);
  problems.push(...tableProblems(sorted));
  return { table, problems };
}
