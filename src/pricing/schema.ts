import { z } from "zod";
import { TOKEN_CLASS_NAMES, TOKEN_CLASSES, type TokenClass } from "../token-classes.ts";

/** Rates apart from standard ones: batch, and the flex and priority service tiers. */
export const TIERS = ["standard", "batch", "flex", "priority"] as const;
export type Tier = (typeof TIERS)[number];

// the classes are shared by readings, usage rows and prices: they live below all three
export { TOKEN_CLASS_NAMES, TOKEN_CLASSES, type TokenClass } from "../token-classes.ts";

type Prefix<T extends Tier> = T extends "standard" ? "" : `${T}_`;
type ClassInfo = (typeof TOKEN_CLASSES)[TokenClass];
export type RateKey = `${Prefix<Tier>}${ClassInfo["rate"]}`;
export type ConfigPriceKey = `${Prefix<Tier>}${ClassInfo["config"]}`;

const prefix = (tier: Tier): string => (tier === "standard" ? "" : `${tier}_`);
export const rateKey = (cls: TokenClass, tier: Tier): RateKey =>
  `${prefix(tier)}${TOKEN_CLASSES[cls].rate}` as RateKey;
export const configPriceKey = (cls: TokenClass, tier: Tier): ConfigPriceKey =>
  `${prefix(tier)}${TOKEN_CLASSES[cls].config}` as ConfigPriceKey;

/** Every rate key a price entry may hold, paired with its config.yaml key. */
export const PRICE_KEYS: ReadonlyArray<{ rate: RateKey; config: ConfigPriceKey }> = TIERS.flatMap(
  (tier) =>
    TOKEN_CLASS_NAMES.map((cls) => ({
      rate: rateKey(cls, tier),
      config: configPriceKey(cls, tier),
    })),
);
export const RATE_KEYS: readonly RateKey[] = PRICE_KEYS.map((k) => k.rate);

/** USD per 1M tokens: finite (zod numbers are) and not negative. */
const rate = z.number().nonnegative();

type OptionalRates<K extends string> = Record<K, z.ZodOptional<typeof rate>>;
const optionalRates = <K extends string>(keys: readonly K[]): OptionalRates<K> =>
  Object.fromEntries(keys.map((k) => [k, rate.optional()])) as OptionalRates<K>;

/**
 * Prices of one model in USD per 1M tokens, one rate per token class and tier. Text input and
 * output are always known; any other absent rate is unknown, never zero.
 */
export const ModelPriceSchema = z.object({
  ...optionalRates(RATE_KEYS.filter((k) => k !== "input" && k !== "output")),
  input: rate,
  output: rate,
});
export type ModelPrice = z.infer<typeof ModelPriceSchema>;

/** A built-in table entry: prices plus the recorded reasons that explain them. */
export const BuiltinModelPriceSchema = ModelPriceSchema.extend({
  /** Why this dated snapshot is priced unlike its base name (a test requires one when it is). */
  differs_from_base: z.string().min(1).optional(),
  /** Why this entry's figures differ from the reference data it is derived from. */
  corrected: z.string().min(1).optional(),
});
export type BuiltinModelPrice = z.infer<typeof BuiltinModelPriceSchema>;

export const PriceTableSchema = z.object({
  as_of: z.string(),
  source: z.string(),
  models: z.record(z.string(), BuiltinModelPriceSchema),
});
export type PriceTable = z.infer<typeof PriceTableSchema>;

const CONFIG_KEYS = PRICE_KEYS.map((k) => k.config);
const knownConfigKeys = new Set<string>(CONFIG_KEYS);

/**
 * One model in an experiment's `config.yaml` pricing section (and the `pricing-file` input), USD
 * per 1M tokens. Other keys are allowed (experiments note things beside prices), except a
 * `…_price` key we do not know: a misspelt price would otherwise be dropped without a word.
 */
const ConfigModelPriceSchema = z
  .looseObject({
    ...optionalRates(CONFIG_KEYS.filter((k) => k !== "input_price" && k !== "output_price")),
    input_price: rate,
    output_price: rate,
  })
  .superRefine((entry, ctx) => {
    for (const key of Object.keys(entry)) {
      if (key.endsWith("_price") && !knownConfigKeys.has(key))
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `unknown price key (the class keys are ${TOKEN_CLASS_NAMES.map((c) => TOKEN_CLASSES[c].config).join(", ")}, each also with a batch_, flex_ or priority_ prefix)`,
        });
    }
  });

export const ExperimentPricingSchema = z.object({
  models: z.record(z.string(), ConfigModelPriceSchema),
});

/** The internal price entry of a config.yaml / pricing-file model. */
export function fromConfigPrices(entry: Record<string, unknown>): ModelPrice {
  const price: Record<string, number> = {};
  for (const k of PRICE_KEYS) {
    const v = entry[k.config];
    if (typeof v === "number") price[k.rate] = v;
  }
  return price as ModelPrice;
}

/** The rates of a price entry, without the notes a built-in entry carries. */
export function ratesOf(price: ModelPrice): Partial<Record<RateKey, number>> {
  const rates: Partial<Record<RateKey, number>> = {};
  for (const k of RATE_KEYS) if (price[k] !== undefined) rates[k] = price[k];
  return rates;
}
