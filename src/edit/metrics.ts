import type { Totals } from "../model.ts";
import type { CostResult, ModelCost, ModelCostProvenance } from "../pricing/cost.ts";
import {
  type Attempt,
  describeIssues,
  KeptMetricsSchema,
  LEGACY_STEP_TOKEN_FIELDS,
  type MetricsFile,
} from "../runs/schema.ts";
import { parseJson } from "../util/json-read.ts";
import {
  editJsonText,
  editsChangeNothing,
  type JsonEdits,
  type JsonPath,
  PyFloat,
} from "../util/json-text.ts";
import { attemptTime } from "../verify/reading.ts";
import type { Status } from "../verify/status.ts";

/** What a pass wants a metrics.json to say; everything else in the file stays byte for byte. */
export interface MetricsTarget {
  /** Readings to add at the end of `usage_api_reconciliation.attempts`. */
  newAttempts: Attempt[];
  status: Status;
  message: string;
  /** Set when verified; null clears a stale value. */
  verifiedAt: string | null;
  /** Totals of the reading the aggregates come from; absent leaves them as they are. */
  totals?: Totals;
  cost?: CostResult;
}

const REC = "usage_api_reconciliation";

/**
 * One model's entry in `cost_breakdown.models[]`: its cost as always listed, then what a reader
 * needs to recompute it (docs/design.md#token-classes): the rate tier, the price table's date, each
 * token class with its tokens, rate and cost, and the hash of the rates used.
 */
function withProvenance(m: ModelCost, p: ModelCostProvenance | undefined): Record<string, unknown> {
  if (!p) return { ...m };
  return {
    ...m,
    tier: p.tier,
    ...(p.price_date !== undefined ? { price_date: p.price_date } : {}),
    classes: p.classes,
    prices_sha256: p.prices_sha256,
  };
}

function costBreakdown(
  cost: CostResult,
  declaredModel: string | undefined,
  hadUnpriced: boolean,
): Record<string, unknown> {
  return {
    uncached_input_cost: new PyFloat(cost.uncachedInputCost),
    cached_input_cost: new PyFloat(cost.cachedInputCost),
    output_cost: new PyFloat(cost.outputCost),
    cache_savings: new PyFloat(cost.cacheSavings),
    model: cost.primaryModel ?? declaredModel ?? null,
    models: cost.models.map((m, i) => withProvenance(m, cost.provenance[i])),
    // once listed, the key stays (emptied) when every model has a price again: a stale list
    // beside a numeric COST_USD would contradict it
    ...(cost.unknown.length > 0 || hadUnpriced ? { unpriced_models: cost.unknown } : {}),
  };
}

/**
 * Where new readings go in the file's attempts: at the end, except a reading older than some already
 * there (a pass re-applied on the head another pass pushed first), which goes before the first
 * later one, so the file stays in time order.
 */
function inChronologicalPlaces(
  existing: readonly Attempt[],
  added: readonly Attempt[],
): NonNullable<JsonEdits["append"]> {
  const byPlace = new Map<number | undefined, Attempt[]>();
  for (const a of added) {
    const i = existing.findIndex((e) => attemptTime(e) > attemptTime(a));
    const at = i < 0 ? undefined : i;
    byPlace.set(at, [...(byPlace.get(at) ?? []), a]);
  }
  return [...byPlace].map(([at, values]) => ({
    path: [REC, "attempts"],
    values,
    ...(at === undefined ? {} : { at }),
  }));
}

/**
 * Edits a metrics.json text to match the target (docs/design.md#writing-files): the old script's
 * keys are updated in place, new keys are added beside them, legacy step-level token fields that
 * are only zero placeholders are dropped when the file is rewritten anyway. Returns the same text
 * when nothing would change. `file` is the schema's reading of `text` (loose: it keeps every
 * value as read).
 */
export function applyMetricsTarget(text: string, file: MetricsFile, target: MetricsTarget): string {
  return editMetricsText(text, file, metricsEdits(file, target));
}

/**
 * The value edits that make a metrics.json say the target, worked out from the file's parsed
 * content alone: whether they change anything is known before its text is read
 * (`editsChangeNothing`).
 */
export function metricsEdits(file: MetricsFile, target: MetricsTarget): JsonEdits {
  const set: Array<{ path: JsonPath; value: unknown }> = [];
  const append: JsonEdits["append"] = [];
  const rec = file[REC];

  set.push({ path: ["verification_status"], value: target.status });
  if (!rec) {
    set.push({
      path: [REC],
      value: {
        verification_status: target.status,
        verification_message: target.message,
        verified_at: target.verifiedAt,
        attempts: target.newAttempts,
      },
    });
  } else {
    // A pass that adds no reading and finds the status already recorded keeps the recorded
    // message and verified_at: they still hold, and rewording them (or moving verified_at to
    // where our walk would have put it) is churn in a committed file.
    const settled = target.newAttempts.length === 0 && rec.verification_status === target.status;
    set.push({ path: [REC, "verification_status"], value: target.status });
    if (!settled || typeof rec.verification_message !== "string")
      set.push({ path: [REC, "verification_message"], value: target.message });
    const keepVerifiedAt =
      settled && typeof rec.verified_at === "string" && target.verifiedAt !== null;
    if (!keepVerifiedAt && (target.verifiedAt !== null || rec.verified_at !== undefined))
      set.push({ path: [REC, "verified_at"], value: target.verifiedAt });
    if (rec.attempts)
      for (const place of inChronologicalPlaces(rec.attempts, target.newAttempts))
        append.push(place);
    else set.push({ path: [REC, "attempts"], value: target.newAttempts });
  }

  if (target.totals) {
    const t = target.totals;
    const aggregates: Record<string, unknown> = {
      TOK_IN: t.tokensIn,
      TOK_OUT: t.tokensOut,
      API_CALLS: t.requests,
      CACHED_TOKENS: t.cachedTokens,
    };
    if (target.cost)
      aggregates.COST_USD = target.cost.total === null ? null : new PyFloat(target.cost.total);
    if (file.aggregate_metrics)
      for (const [k, v] of Object.entries(aggregates))
        set.push({ path: ["aggregate_metrics", k], value: v });
    else set.push({ path: ["aggregate_metrics"], value: aggregates });
  }
  if (target.cost) {
    const breakdown = costBreakdown(
      target.cost,
      file.model,
      file.cost_breakdown?.unpriced_models !== undefined,
    );
    if (file.cost_breakdown)
      for (const [k, v] of Object.entries(breakdown))
        set.push({ path: ["cost_breakdown", k], value: v });
    else set.push({ path: ["cost_breakdown"], value: breakdown });
  }

  return { set, append };
}

/**
 * Makes the edits in the text (`file` is its parsed content). Returns the same text when nothing
 * would change. `keys`, when the text is the very bytes `file` was read from (discovery's reading,
 * the digest still matching): how many keys those bytes write. The editor then takes `file` as
 * its value instead of parsing the text again.
 */
export function editMetricsText(
  text: string,
  file: MetricsFile,
  edits: JsonEdits,
  keys?: number,
): string {
  // most files of a pass with nothing due already say all this: known without parsing the text
  if (editsChangeNothing(file, edits)) return text;
  const known = keys === undefined ? undefined : { value: file, keys };
  const edited = editJsonText(text, edits, known);
  if (edited === text) return text;
  const remove = zeroStepPlaceholders(file);
  return remove.length > 0 ? editJsonText(text, { ...edits, remove }, known) : edited;
}

/**
 * Costs above this many USD are refused. No run costs a quadrillion dollars: such a number comes
 * from a price in the wrong unit (1e300 per 1M tokens), and a sum of a few of them overflows to
 * Infinity in the pass's report.
 */
export const MAX_COST_USD = 1e15;

/**
 * The first value of a target that would make the file unreadable (docs/design.md#trust-rules
 * "Nothing invalid is written"), named by its place in the file: a count that is not a whole number
 * from 0 to 2^53 − 1 (a bigger one is not exact in a double, and the schema refuses it), a cost
 * that is not a finite number (JSON has no Infinity or NaN) from 0 to MAX_COST_USD, or a time that
 * is not finite. Undefined when every value can be written.
 */
export function unwritableValue(target: MetricsTarget): string | undefined {
  const counts: Array<[string, unknown]> = [];
  const amounts: Array<[string, unknown]> = [];
  const times: Array<[string, unknown]> = [];
  if (target.totals) {
    const t = target.totals;
    counts.push(
      ["aggregate_metrics.TOK_IN", t.tokensIn],
      ["aggregate_metrics.TOK_OUT", t.tokensOut],
      ["aggregate_metrics.API_CALLS", t.requests],
      ["aggregate_metrics.CACHED_TOKENS", t.cachedTokens],
    );
  }
  target.newAttempts.forEach((a, i) => {
    const at = `${REC}.attempts (new reading ${i + 1})`;
    for (const k of [
      "total_tokens_in",
      "total_tokens_out",
      "total_api_calls",
      "total_cached_tokens",
    ] as const)
      counts.push([`${at}.${k}`, a[k]]);
    (a.models ?? []).forEach((m, j) => {
      for (const k of ["tokens_in", "tokens_out", "cached_tokens", "api_calls"] as const)
        counts.push([`${at}.models[${j}].${k}`, m[k]]);
    });
    for (const k of ["start", "end"] as const)
      if (a.query_window) times.push([`${at}.query_window.${k}`, a.query_window[k]]);
  });
  const cost = target.cost;
  if (cost) {
    amounts.push(
      ["aggregate_metrics.COST_USD", cost.total ?? 0],
      ["cost_breakdown.uncached_input_cost", cost.uncachedInputCost],
      ["cost_breakdown.cached_input_cost", cost.cachedInputCost],
      ["cost_breakdown.output_cost", cost.outputCost],
      ["cost_breakdown.cache_savings", cost.cacheSavings],
    );
    cost.models.forEach((m, j) => {
      for (const k of [
        "uncached_input_cost",
        "cached_input_cost",
        "output_cost",
        "cache_savings",
        "cost",
      ] as const)
        amounts.push([`cost_breakdown.models[${j}].${k}`, m[k]]);
    });
  }
  // a request count is null where the provider gives none (Anthropic): that is written as null
  for (const [field, v] of counts)
    if (v === null && /(API_CALLS|api_calls)$/.test(field)) continue;
    else if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
      return `${field} would be ${String(v)}, not a whole count from 0 to 2^53 − 1`;
  for (const [field, v] of amounts)
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > MAX_COST_USD)
      return `${field} would be ${String(v)}, not a finite number of USD from 0 to ${MAX_COST_USD} (a price in the wrong unit?)`;
  for (const [field, v] of times)
    if (typeof v !== "number" || !Number.isFinite(v))
      return `${field} would be ${String(v)}, not a finite number`;
  return undefined;
}

/**
 * Whether an edited metrics.json still reads back as one: JSON, and valid by the same schema the
 * next pass reads it with. A description of the fault, or undefined.
 */
export function unreadableEdit(text: string): string | undefined {
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (error) {
    return `the edited file would not be valid JSON (${error instanceof Error ? error.message : String(error)})`;
  }
  // the schema discovery reads a file with: the checks of MetricsFileSchema, without copying
  // the keys no pass reads
  const parsed = KeptMetricsSchema.safeParse(value);
  return parsed.success
    ? undefined
    : `the edited file would not validate (${describeIssues(parsed.error)})`;
}

/**
 * Legacy step-level token fields that are only placeholders: a step whose counts are all 0 (a
 * framework that did not count them). A step with any non-zero count is data the framework
 * measured and stays whole (docs/design.md#trust-rules, "data already in a file stays"), its zeros
 * included.
 */
function zeroStepPlaceholders(file: MetricsFile): JsonPath[] {
  const remove: JsonPath[] = [];
  (file.steps ?? []).forEach((step, i) => {
    const present = LEGACY_STEP_TOKEN_FIELDS.filter((field) => field in step);
    if (present.length > 0 && present.every((field) => step[field] === 0))
      for (const field of present) remove.push(["steps", i, field]);
  });
  return remove;
}
