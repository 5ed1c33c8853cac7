import type { ClassTokens } from "../token-classes.ts";
import { TOKEN_CLASS_NAMES } from "../token-classes.ts";

/**
 * What a provider's usage report becomes (docs/design.md#providers): rows of one key and model in
 * one time bucket, the same for every provider, so attribution, verification and pricing never
 * ask which provider a number came from.
 */

/** One result of one time bucket: usage of one key and model in that minute (or day). */
export interface UsageRow {
  /** Start of the bucket. */
  minute: number;
  apiKeyId: string;
  model: string;
  batch: boolean | null;
  serviceTier: string | null;
  /** The provider's total input (`input_tokens`): TOK_IN. */
  inputTokens: number;
  /** Cache reads: CACHED_TOKENS. */
  cachedTokens: number;
  outputTokens: number;
  /** Model requests; null where the provider's report has no request count (Anthropic). */
  requests: number | null;
  /**
   * The same usage in disjoint token classes (docs/design.md#token-classes): only classes with
   * tokens.
   */
  classes: ClassTokens;
  /** The generation of the API's usage fields the classes were read from (`openai-2026-07`…). */
  schema: string;
  /**
   * Why these tokens cannot be priced from the price table's per-token rates (a service tier,
   * context band, region or speed billed otherwise, per-search charges), in the provider's words;
   * absent when they can. Such usage makes a cost unknown, never priced at standard rates.
   */
  unpriced?: string;
}

/**
 * Sum of two request counts: unknown (null) when either is, so a total never passes off a
 * provider's missing count as zero requests.
 */
export const addRequests = (a: number | null, b: number | null): number | null =>
  a === null || b === null ? null : a + b;

export interface SpanFetch {
  rows: UsageRow[];
  pages: number;
}

/** The counts of a row as the provider's API names them, for messages. */
export type CountNames = Record<
  "inputTokens" | "cachedTokens" | "outputTokens" | "requests",
  string
>;

/**
 * Sums of each count (and each token class) per API key, kept as rows come in: the first key
 * whose sum passes 2^53 − 1 is named (a run's or a key's total could then no longer be exact, nor
 * be written as a JSON number every reader takes the same way). Every run's window lies inside one
 * span, so a span whose per-key sums are safe has safe per-run sums too.
 */
export function sumGuard(names: CountNames): (row: UsageRow) => string | undefined {
  const counts = Object.entries(names) as Array<[keyof CountNames, string]>;
  const sums = new Map<string, number[]>();
  const width = counts.length + TOKEN_CLASS_NAMES.length;
  return (r) => {
    const s = sums.get(r.apiKeyId) ?? new Array<number>(width).fill(0);
    sums.set(r.apiKeyId, s);
    for (let i = 0; i < counts.length; i++) {
      s[i]! += r[counts[i]![0]] ?? 0;
      if (s[i]! > Number.MAX_SAFE_INTEGER)
        return `the ${counts[i]![1]} of ${r.apiKeyId} add up past 2^53 − 1, more than can be counted exactly`;
    }
    for (let k = 0; k < TOKEN_CLASS_NAMES.length; k++) {
      const i = counts.length + k;
      s[i]! += r.classes[TOKEN_CLASS_NAMES[k]!] ?? 0;
      if (s[i]! > Number.MAX_SAFE_INTEGER)
        return `the ${TOKEN_CLASS_NAMES[k]} tokens of ${r.apiKeyId} add up past 2^53 − 1, more than can be counted exactly`;
    }
    return undefined;
  };
}
