import type { Totals } from "../model.ts";
import type { Attempt, ModelUsage } from "../runs/schema.ts";
import type { ClassTokens } from "../token-classes.ts";
import { TOKEN_CLASS_NAMES } from "../token-classes.ts";
import { remembered } from "../util/remembered.ts";
import { parseIsoSeconds } from "../util/time.ts";

export const totalsOf = (a: Attempt): Totals => ({
  tokensIn: a.total_tokens_in,
  tokensOut: a.total_tokens_out,
  cachedTokens: a.total_cached_tokens,
  requests: a.total_api_calls,
});

export const isZero = (t: Totals): boolean =>
  t.tokensIn === 0 && t.tokensOut === 0 && t.cachedTokens === 0 && !t.requests;

export const sameTotals = (a: Totals, b: Totals): boolean =>
  a.tokensIn === b.tokensIn &&
  a.tokensOut === b.tokensOut &&
  a.cachedTokens === b.cachedTokens &&
  // null (no request count from the provider) equals null
  a.requests === b.requests;

const modelKey = (m: ModelUsage): string =>
  `${m.model}\u0000${m.batch ?? ""}\u0000${m.service_tier ?? ""}\u0000${m.unpriced ?? ""}`;

/**
 * Token classes agree when every class holds the same tokens (an absent class holds none). A
 * model recorded before token classes existed has none to compare: what both readings have (its
 * tokens in, out, cached and requests) is compared, as per-model splits are against readings
 * without one.
 */
const sameClasses = (a: ClassTokens | undefined, b: ClassTokens | undefined): boolean =>
  !a || !b || TOKEN_CLASS_NAMES.every((c) => (a[c] ?? 0) === (b[c] ?? 0));

function sameModels(a: ModelUsage[] | undefined, b: ModelUsage[] | undefined): boolean {
  // Old attempts carry no per-model split; their totals are all there is to compare.
  if (!a || !b) return true;
  if (a.length !== b.length) return false;
  const byKey = new Map(a.map((m) => [modelKey(m), m]));
  return b.every((m) => {
    const other = byKey.get(modelKey(m));
    return (
      other !== undefined &&
      other.tokens_in === m.tokens_in &&
      other.tokens_out === m.tokens_out &&
      other.cached_tokens === m.cached_tokens &&
      other.api_calls === m.api_calls &&
      sameClasses(other.classes, m.classes)
    );
  });
}

/**
 * Two readings agree when their totals, and their per-model splits and token classes where both
 * have them, match: a revision that only moves tokens from one class to another is a change. The
 * schema generation a reading was taken with is not compared; its numbers are.
 */
export const sameReading = (a: Attempt, b: Attempt): boolean =>
  sameTotals(totalsOf(a), totalsOf(b)) && sameModels(a.models, b.models);

/**
 * Readings' times by timestamp, each parsed once: the walk and the evaluation ask them of every
 * reading often. Keyed by the text, not by the reading (a WeakMap of every reading of a
 * 100,000-run pass slowed each garbage collection).
 */
const secondsOf = remembered((timestamp: string) => parseIsoSeconds(timestamp) ?? 0, 1 << 16);

export const attemptTime = (a: Attempt): number => secondsOf(a.timestamp);

/** Attempts oldest first. Stable for equal timestamps, so file order breaks ties. */
export const chronological = (attempts: readonly Attempt[]): Attempt[] =>
  attempts
    .map((a, i) => ({ a, i, t: attemptTime(a) }))
    .sort((x, y) => x.t - y.t || x.i - y.i)
    .map((x) => x.a);

/** The first count that went down from `before` to `after`, if any. */
export function firstDecrease(
  before: Totals,
  after: Totals,
): { field: string; from: number; to: number } | undefined {
  const fields: Array<[string, keyof Totals]> = [
    ["TOK_IN", "tokensIn"],
    ["TOK_OUT", "tokensOut"],
    ["CACHED_TOKENS", "cachedTokens"],
    ["API_CALLS", "requests"],
  ];
  for (const [field, key] of fields) {
    const [from, to] = [before[key], after[key]];
    // a count the provider does not give cannot decrease
    if (from !== null && to !== null && to < from) return { field, from, to };
  }
  return undefined;
}
