import { z } from "zod";

const rate = z.number().nonnegative();

/** Prices of one model in USD per 1M tokens. Absent rates are unknown, never zero. */
export const ModelPriceSchema = z.object({
  input: rate,
  cached_input: rate.optional(),
  output: rate,
  batch_input: rate.optional(),
  batch_output: rate.optional(),
  flex_input: rate.optional(),
  flex_cached_input: rate.optional(),
  flex_output: rate.optional(),
  priority_input: rate.optional(),
  priority_cached_input: rate.optional(),
  priority_output: rate.optional(),
});
export type ModelPrice = z.infer<typeof ModelPriceSchema>;

export const PriceTableSchema = z.object({
  as_of: z.string(),
  source: z.string(),
  models: z.record(z.string(), ModelPriceSchema),
});
export type PriceTable = z.infer<typeof PriceTableSchema>;

/** An experiment's `config.yaml` pricing section (and the `pricing-file` input): USD per 1M tokens. */
export const ExperimentPricingSchema = z.object({
  models: z.record(
    z.string(),
    z.object({
      input_price: rate,
      cached_price: rate.optional(),
      output_price: rate,
    }),
  ),
});
