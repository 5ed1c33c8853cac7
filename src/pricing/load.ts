import { basename, dirname, join, resolve } from "node:path";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { PricingFileError } from "../errors.ts";
import { isWithin, repositoryRoot, resolvesInside } from "../fs/repository.ts";
import { describeReadError, type Files } from "../fs/types.ts";
import { describeIssues } from "../runs/schema.ts";
import { builtinSources, type PriceSource } from "./prices.ts";
import { ExperimentPricingSchema, fromConfigPrices, type ModelPrice } from "./schema.ts";

/** Price files are small; a larger one is a mistake (a data file named by accident). */
const MAX_PRICING_BYTES = 4 * 1024 * 1024;

/**
 * A YAML error in words and position only. The library's message quotes the offending line, which
 * may hold anything (a config.yaml that is really a credentials file): it is never repeated.
 */
function yamlProblem(error: unknown): string {
  if (!(error instanceof YAMLParseError)) return "not YAML";
  const words = error.code.toLowerCase().replaceAll("_", " ");
  const at = error.linePos?.[0];
  return at ? `${words} at line ${at.line}, column ${at.col}` : words;
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
  let bytes: Uint8Array;
  try {
    bytes = await files.read(path, MAX_PRICING_BYTES);
  } catch (error) {
    throw new PricingFileError(path, describeReadError(error));
  }
  if (bytes.length > MAX_PRICING_BYTES)
    throw new PricingFileError(path, `is larger than ${MAX_PRICING_BYTES} bytes; not read`);
  let doc: unknown;
  try {
    // logLevel "error": warnings would be printed with the offending line quoted
    doc = parseYaml(new TextDecoder().decode(bytes), { logLevel: "error" });
  } catch (error) {
    throw new PricingFileError(path, `cannot be read as YAML or JSON (${yamlProblem(error)})`);
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
 * Price sources in order of precedence (docs/design.md#cost, #token-classes): the `pricing-file`
 * input, the experiment's own `config.yaml` (beside the runs directory), then the built-in dated
 * tables (OpenAI's, then Anthropic's). Precedence decides between entries under the same name; a
 * more specific name wins whatever its source. `repository` (default: see repositoryRoot) bounds
 * where links may lead: a config.yaml outside it is not read.
 */
export async function loadPriceSources(
  files: Files,
  runsDir: string,
  pricingFile: string | undefined,
  repository?: string,
): Promise<PriceSource[]> {
  const root = repository ?? (await repositoryRoot(files, runsDir));
  const sources: PriceSource[] = [];
  if (pricingFile) {
    if (!(await files.exists(pricingFile)))
      throw new PricingFileError(pricingFile, "pricing file not found");
    // A path the user gives outside the repository is theirs to choose; one inside it must not
    // lead out of it through a link (a pull request could commit such a link).
    if (isWithin(pricingFile, root)) await refuseLinkOut(files, pricingFile, root);
    // Named without the directory: the name is written into metrics.json, which must not depend
    // on where the repository is checked out.
    sources.push(
      (await loadPricingFile(files, pricingFile, `pricing file ${basename(pricingFile)}`, true))!,
    );
  }
  const configYaml = join(dirname(resolve(runsDir)), "config.yaml");
  if (isWithin(configYaml, root) && (await files.exists(configYaml))) {
    await refuseLinkOut(files, configYaml, root);
    const fromConfig = await loadPricingFile(files, configYaml, "experiment config.yaml", false);
    if (fromConfig) sources.push(fromConfig);
  }
  sources.push(...builtinSources());
  return sources;
}

/**
 * Links are never followed out of the repository (docs/design.md#trust-rules): such a file is
 * refused, unread.
 */
async function refuseLinkOut(files: Files, path: string, root: string): Promise<void> {
  if (!(await resolvesInside(files, path, root)))
    throw new PricingFileError(
      path,
      `is a symbolic link (or lies under one) leading outside the repository (${root}); not read: links are not followed out of the repository`,
    );
}
