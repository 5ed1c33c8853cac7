import { basename, dirname, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import type { Files } from "../fs/types.ts";
import { describeIssues } from "../runs/schema.ts";
import { builtinSources, type PriceSource } from "./prices.ts";
import { ExperimentPricingSchema, fromConfigPrices, type ModelPrice } from "./schema.ts";

export class PricingFileError extends Error {
  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = "PricingFileError";
  }
}

/**
 * Reads experiment prices (`pricing.models.<name>.{input_price,cached_price,output_price,…}`, USD
 * per 1M tokens, one key per token class) from a YAML or JSON file: the experiment's config.yaml or
 * a pricing file. A pricing
 * file may also hold the `models` map at its top level. Returns undefined when the file has no
 * pricing section and `required` is false.
 */
export async function loadPricingFile(
  files: Files,
  path: string,
  name: string,
  required: boolean,
): Promise<PriceSource | undefined> {
  let doc: unknown;
  try {
    doc = parseYaml(new TextDecoder().decode(await files.read(path)));
  } catch (error) {
    throw new PricingFileError(
      path,
      `cannot be read as YAML or JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const record = (v: unknown): Record<string, unknown> | undefined =>
    v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const section = record(record(doc)?.pricing) ?? (required ? record(doc) : undefined);
  if (!section) {
    if (required)
      throw new PricingFileError(path, "expected a mapping with pricing.models or models");
    return undefined;
  }
  const parsed = ExperimentPricingSchema.safeParse(section);
  if (!parsed.success) throw new PricingFileError(path, `pricing: ${describeIssues(parsed.error)}`);
  const models: Record<string, ModelPrice> = {};
  for (const [model, p] of Object.entries(parsed.data.models)) models[model] = fromConfigPrices(p);
  return { name, models };
}

/**
 * Price sources in order of precedence (SPEC §5, §12): the `pricing-file` input, the experiment's
 * own `config.yaml` (beside the runs directory), then the built-in dated tables (OpenAI's, then
 * Anthropic's). Precedence decides
 * between entries under the same name; a more specific name wins whatever its source.
 */
export async function loadPriceSources(
  files: Files,
  runsDir: string,
  pricingFile: string | undefined,
): Promise<PriceSource[]> {
  const sources: PriceSource[] = [];
  if (pricingFile) {
    if (!(await files.exists(pricingFile)))
      throw new PricingFileError(pricingFile, "pricing file not found");
    // Named without the directory: the name is written into metrics.json, which must not depend
    // on where the repository is checked out.
    sources.push(
      (await loadPricingFile(files, pricingFile, `pricing file ${basename(pricingFile)}`, true))!,
    );
  }
  const configYaml = join(dirname(resolve(runsDir)), "config.yaml");
  if (await files.exists(configYaml)) {
    const fromConfig = await loadPricingFile(files, configYaml, "experiment config.yaml", false);
    if (fromConfig) sources.push(fromConfig);
  }
  sources.push(...builtinSources());
  return sources;
}
