/**
 * The built-in price table as data: derived from the reference per-token prices (LiteLLM's data)
 * and the project's recorded corrections and reasons (scripts/price-notes.json). Pure, so a test
 * can check that the committed table is what the script makes of the reference.
 */
import { candidateNames, disagreements } from "../src/pricing/prices.ts";
import {
  type BuiltinModelPrice,
  type PriceTable,
  PriceTableSchema,
  RATE_KEYS,
  type RateKey,
} from "../src/pricing/schema.ts";

export interface Reference {
  _source: string;
  models: Record<string, Record<string, unknown>>;
}

export interface PriceNotes {
  corrections: Record<
    string,
    { set?: Partial<Record<RateKey, number>>; drop?: RateKey[]; reason: string }
  >;
  differs_from_base: Record<string, string>;
}

/** Reference field (USD per token) for each rate we take from it. */
export const REFERENCE_FIELDS: ReadonlyArray<[RateKey, string]> = [
  ["input", "input_cost_per_token"],
  ["cached_input", "cache_read_input_token_cost"],
  ["cache_write_input", "cache_creation_input_token_cost"],
  ["input_audio", "input_cost_per_audio_token"],
  ["output", "output_cost_per_token"],
  ["output_audio", "output_cost_per_audio_token"],
  ["batch_input", "input_cost_per_token_batches"],
  ["batch_output", "output_cost_per_token_batches"],
  ["flex_input", "input_cost_per_token_flex"],
  ["flex_cached_input", "cache_read_input_token_cost_flex"],
  ["flex_output", "output_cost_per_token_flex"],
  ["priority_input", "input_cost_per_token_priority"],
  ["priority_cached_input", "cache_read_input_token_cost_priority"],
  ["priority_output", "output_cost_per_token_priority"],
];

/**
 * Reference fields left out, and why: none is a per-token price of one of our classes.
 * `cache_creation_input_audio_token_cost` is, despite its name, the price of cached (read) audio
 * input, a class readings do not separate yet.
 */
export const UNUSED_FIELDS: Record<string, string> = {
  cache_creation_input_audio_token_cost: "the price of cached audio input, a read despite its name",
  input_cost_per_image: "per image, not per token",
  input_cost_per_token_above_272k_tokens: "per-request long-context rate",
  search_context_cost_per_query: "per query, not per token",
};

const perMillion = (perToken: number): number => Math.round(perToken * 1e6 * 1e6) / 1e6;

export const TABLE_SOURCE =
  "LiteLLM model_prices_and_context_window.json (tokencost e7f7c19, 2025-09; litellm 00035b6), USD per token x 1e6; corrections and reasons in scripts/price-notes.json";

/** Snapshot / base pairs of the table that price a rate differently, with the reason recorded. */
export function snapshotPairs(models: Record<string, BuiltinModelPrice>): Array<{
  snapshot: string;
  base: string;
  differ: string[];
  reason: string | undefined;
}> {
  const pairs = [];
  for (const snapshot of Object.keys(models).sort())
    for (const base of candidateNames(snapshot).slice(1)) {
      if (!models[base]) continue;
      const differ = disagreements(models[snapshot]!, models[base]).map(
        (d) => `${d.key.rate} ${d.a} vs ${d.b}`,
      );
      pairs.push({ snapshot, base, differ, reason: models[snapshot]!.differs_from_base });
    }
  return pairs;
}

/** What is wrong with a table: unexplained or stale reasons. */
export function tableProblems(models: Record<string, BuiltinModelPrice>): string[] {
  const problems: string[] = [];
  const paired = new Set<string>();
  for (const p of snapshotPairs(models)) {
    paired.add(p.snapshot);
    if (p.differ.length > 0 && !p.reason)
      problems.push(
        `${p.snapshot} and ${p.base} disagree (${p.differ.join(", ")}) without a recorded reason`,
      );
    if (p.differ.length === 0 && p.reason)
      problems.push(`${p.snapshot} agrees with ${p.base}, yet has a reason for differing`);
  }
  for (const [name, m] of Object.entries(models))
    if (m.differs_from_base && !paired.has(name))
      problems.push(`${name} has a reason for differing from a base name the table lacks`);
  return problems;
}

export function derivePriceTable(
  reference: Reference,
  notes: PriceNotes,
  asOf: string,
): { table: PriceTable; problems: string[]; unused: string[] } {
  const problems: string[] = [];
  const unused: string[] = [];
  for (const name of [...Object.keys(notes.corrections), ...Object.keys(notes.differs_from_base)])
    if (!reference.models[name]) problems.push(`price notes name ${name}, not in the reference`);

  const models: Record<string, BuiltinModelPrice> = {};
  for (const name of Object.keys(reference.models).sort()) {
    const src = reference.models[name]!;
    const entry: Record<string, number | string> = {};
    for (const [ours, theirs] of REFERENCE_FIELDS) {
      const v = src[theirs];
      if (typeof v === "number") entry[ours] = perMillion(v);
    }
    for (const field of Object.keys(src))
      if (!REFERENCE_FIELDS.some(([, theirs]) => theirs === field))
        unused.push(
          `${name}: ${field} (${UNUSED_FIELDS[field] ?? "not a field this script knows"})`,
        );
    const correction = notes.corrections[name];
    if (correction) {
      for (const key of correction.drop ?? []) {
        if (entry[key] === undefined) problems.push(`${name}: nothing to drop at ${key}`);
        delete entry[key];
      }
      for (const [key, value] of Object.entries(correction.set ?? {})) {
        if (!(RATE_KEYS as readonly string[]).includes(key))
          problems.push(`${name}: unknown rate key ${key}`);
        if (entry[key] === value) problems.push(`${name}: ${key} is ${value} already`);
        entry[key] = value;
      }
      entry.corrected = correction.reason;
    }
    const reason = notes.differs_from_base[name];
    if (reason) entry.differs_from_base = reason;
    if (entry.input !== undefined && entry.output !== undefined)
      models[name] = entry as unknown as BuiltinModelPrice;
  }
  // validated, but kept as built: a parsed copy would reorder each entry's keys
  const table: PriceTable = { as_of: asOf, source: TABLE_SOURCE, models };
  const valid = PriceTableSchema.safeParse(table);
  if (!valid.success) problems.push(`the table does not fit its schema: ${valid.error.message}`);
  problems.push(...tableProblems(models));
  return { table, problems, unused };
}
