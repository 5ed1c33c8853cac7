/**
 * Shapes every stage of a pass shares (discover → plan → fetch → attribute → verify → price → edit
 * → report). They live here, below every folder, so that no stage has to import another stage
 * (or a provider) for a type: the import graph stays free of cycles (test/architecture.test.ts).
 * Shapes that a zod schema describes are derived from it where the schema lives instead.
 */

/** The totals of one reading, the unit the verification walk compares. */
export interface Totals {
  tokensIn: number;
  tokensOut: number;
  cachedTokens: number;
  /** Model requests; null where the provider gives no request count (Anthropic). */
  requests: number | null;
}

/** The minutes whose usage belongs to a run: `[start, end)`, both multiples of 60. */
export interface QueryWindow {
  start: number;
  end: number;
}

/** A stretch of whole minutes fetched with one paginated query: `[start, end)`. */
export interface Span {
  start: number;
  end: number;
}

/** A run as attribution sees it: the key its framework uses and the minutes it owns. */
export interface RunOnKey {
  /** `framework/run_id`. */
  id: string;
  keyId: string;
  window: QueryWindow;
}
