import { type CostResult, costOfClasses } from "../../pricing/cost.ts";
import type { PriceSource } from "../../pricing/prices.ts";
import { TOKEN_CLASS_NAMES } from "../../pricing/schema.ts";
import type { ClassTokens, TokenClassUsage } from "../../pricing/usage.ts";
import type { UsageResult } from "./schema.ts";

/**
 * From one result of Anthropic's usage report to the project's token classes (docs/design.md#token-classes, #providers).
 * Anthropic reports input in four disjoint parts, so no class is derived by subtraction:
 * uncached input, cache reads, 5-minute cache writes and 1-hour cache writes; output is one count.
 */

/** A reading's totals from one result. There is no request count: `apiCalls` is always null. */
export interface ResultTotals {
  /** Every input token: uncached + cache reads + 5-minute and 1-hour cache writes. */
  tokensIn: number;
  tokensOut: number;
  /** Cache reads only (writes are input billed above the base rate, not cached input). */
  cachedTokens: number;
  apiCalls: null;
  webSearchRequests: number;
}

export interface ClassifiedUsage {
  /** What `costOfClasses` prices; `batch` and `service_tier` are set the way it reads them. */
  usage: TokenClassUsage;
  totals: ResultTotals;
  /**
   * Why these tokens cannot be priced from per-token rates (a tier, band, region or speed the
   * price table has no rates for, or per-search charges beside the tokens); undefined when they
   * can. Such usage makes a cost unknown, never priced at standard rates.
   */
  unpriced?: string;
}

/** A result that cannot become a reading: the page that carries it must be refused. */
export class UsageResultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageResultError";
  }
}

const safeSum = (what: string, ...parts: number[]): number => {
  const sum = parts.reduce((s, n) => s + n, 0);
  if (!Number.isSafeInteger(sum))
    throw new UsageResultError(`${what} add up past 2^53 (${parts.join(" + ")})`);
  return sum;
};

/**
 * Models billed at their standard rates over the whole 1M-token window, from when. Before that
 * (and for the other models with a 1M window) input over 200k tokens was billed at premium
 * long-context rates the price table does not hold. From Anthropic's pricing page: premium rates
 * for Opus 4.6 and Sonnet 4.6 until the page stored on 2026-03-14 said otherwise.
 */
const LONG_CONTEXT_AT_STANDARD_RATES: ReadonlyArray<{ model: RegExp; since: number }> = [
  { model: /^claude-(opus|sonnet)-4-6(-|$)/, since: Date.parse("2026-03-14T00:00:00Z") / 1000 },
  { model: /^claude-opus-4-[7-9](-|$)/, since: 0 },
  { model: /^claude-(opus|sonnet|fable|mythos)-5(-|$)/, since: 0 },
  { model: /^claude-mythos-preview(-|$)/, since: 0 },
];

const longContextAtStandardRates = (model: string, at: number): boolean =>
  LONG_CONTEXT_AT_STANDARD_RATES.some((r) => r.model.test(model) && at >= r.since);

/** The reasons a result's tokens cannot be priced from per-token rates, if any. */
function unpricedReasons(r: UsageResult, model: string, at: number, searches: number): string[] {
  const reasons: string[] = [];
  const tier = r.service_tier;
  if (tier == null)
    reasons.push("the usage report gave no service tier (the query must group by service_tier)");
  else if (tier !== "standard" && tier !== "batch")
    reasons.push(`service tier ${tier} is billed apart from the listed per-token rates`);
  const band = r.context_window;
  if (band == null)
    reasons.push(
      "the usage report gave no context window (the query must group by context_window)",
    );
  else if (band === "200k-1M") {
    if (!longContextAtStandardRates(model, at))
      reasons.push("input over 200k tokens was billed at long-context rates the price table lacks");
  } else if (band !== "0-200k") reasons.push(`context window ${band} is not one the table prices`);
  const geo = r.inference_geo;
  if (geo == null)
    reasons.push("the usage report gave no inference geo (the query must group by inference_geo)");
  else if (geo === "us")
    reasons.push("US-only inference (inference_geo us) costs 1.1 times the listed rates");
  else if (geo !== "global" && geo !== "not_available")
    reasons.push(`inference geo ${geo} is not one the table prices`);
  if (r.speed != null && r.speed !== "standard")
    reasons.push(`${r.speed} mode is billed at premium rates the price table lacks`);
  if (searches > 0)
    reasons.push(`${searches} web searches are billed per search, beside the tokens`);
  return reasons;
}

/**
 * One usage result (of the bucket starting at `at`, Unix seconds) as disjoint token classes,
 * totals and, when its tokens cannot be priced per token, why. Counts are validated by the schema;
 * a result without a model, or whose input adds up past 2^53, throws: it cannot be read.
 */
export function classifyResult(r: UsageResult, at: number): ClassifiedUsage {
  const model = r.model;
  if (!model)
    throw new UsageResultError("a result has no model although the query groups by model");
  const fiveMinute = r.cache_creation.ephemeral_5m_input_tokens;
  const oneHour = r.cache_creation.ephemeral_1h_input_tokens;
  const tokensIn = safeSum(
    `${model}'s input tokens`,
    r.uncached_input_tokens,
    r.cache_read_input_tokens,
    fiveMinute,
    oneHour,
  );
  const searches = r.server_tool_use?.web_search_requests ?? 0;
  const tier = r.service_tier ?? null;
  const reasons = unpricedReasons(r, model, at, searches);
  return {
    usage: {
      model,
      batch: tier === "batch",
      // standard and batch read as the table's standard and batch rates; any other tier is kept
      // by name (and is unpriced above)
      service_tier: tier === "standard" || tier === "batch" ? null : tier,
      tokens: {
        uncached_text_input: r.uncached_input_tokens,
        cached_input: r.cache_read_input_tokens,
        cache_write_input: fiveMinute,
        cache_write_1h_input: oneHour,
        text_output: r.output_tokens,
      },
    },
    totals: {
      tokensIn,
      tokensOut: r.output_tokens,
      cachedTokens: r.cache_read_input_tokens,
      apiCalls: null,
      webSearchRequests: searches,
    },
    ...(reasons.length > 0 ? { unpriced: reasons.join("; ") } : {}),
  };
}

const pricingKey = (c: ClassifiedUsage): string =>
  JSON.stringify([c.usage.model, c.usage.batch, c.usage.service_tier, c.unpriced ?? null]);

/**
 * Sums classified usage that is priced alike (same model, tier and reason for being unpriced):
 * a run's per-model split. Order of first appearance is kept; sums past 2^53 throw.
 */
export function mergeClassified(items: readonly ClassifiedUsage[]): ClassifiedUsage[] {
  const merged = new Map<string, ClassifiedUsage>();
  for (const item of items) {
    const key = pricingKey(item);
    const into = merged.get(key);
    if (!into) {
      merged.set(key, structuredClone(item));
      continue;
    }
    const what = `${item.usage.model}'s`;
    const tokens: ClassTokens = {};
    for (const c of TOKEN_CLASS_NAMES) {
      const a = into.usage.tokens[c];
      const b = item.usage.tokens[c];
      if (a !== undefined || b !== undefined) tokens[c] = safeSum(`${what} ${c}`, a ?? 0, b ?? 0);
    }
    into.usage.tokens = tokens;
    const t = into.totals;
    t.tokensIn = safeSum(`${what} input tokens`, t.tokensIn, item.totals.tokensIn);
    t.tokensOut = safeSum(`${what} output tokens`, t.tokensOut, item.totals.tokensOut);
    t.cachedTokens = safeSum(`${what} cached tokens`, t.cachedTokens, item.totals.cachedTokens);
    t.webSearchRequests = safeSum(
      `${what} web searches`,
      t.webSearchRequests,
      item.totals.webSearchRequests,
    );
  }
  return [...merged.values()];
}

/**
 * The cost of classified usage: what can be priced per token through `costOfClasses`, and each
 * unpriced part listed as unknown, which makes the total null (a partial sum would be a silent
 * undercount).
 */
export function costOfClassified(
  items: readonly ClassifiedUsage[],
  sources: readonly PriceSource[],
): CostResult {
  const priceable = items.filter((i) => i.unpriced === undefined).map((i) => i.usage);
  const result = costOfClasses(priceable, sources);
  const unknown = [...result.unknown];
  const listed = new Set(unknown.map((u) => JSON.stringify([u.model, u.reason])));
  for (const i of items) {
    if (i.unpriced === undefined) continue;
    const key = JSON.stringify([i.usage.model, i.unpriced]);
    if (listed.has(key)) continue;
    listed.add(key);
    unknown.push({ model: i.usage.model, reason: i.unpriced });
  }
  if (unknown.length === result.unknown.length) return result;
  const primary = [...items].sort((a, b) => size(b) - size(a))[0];
  return { ...result, total: null, primaryModel: primary?.usage.model, unknown };
}

const size = (i: ClassifiedUsage): number => i.totals.tokensIn + i.totals.tokensOut;
