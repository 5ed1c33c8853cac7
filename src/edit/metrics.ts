import type { CostResult, ModelCost, ModelCostProvenance } from "../pricing/cost.ts";
import { type Attempt, LEGACY_STEP_TOKEN_FIELDS, type MetricsFile } from "../runs/schema.ts";
import { attemptTime, type Totals } from "../verify/reading.ts";
import type { Status } from "../verify/status.ts";
import { editJsonText, type JsonEdits, type JsonPath, PyFloat } from "./json-text.ts";

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
 * needs to recompute it (SPEC §12): the rate tier, the price table's date, each token class with
 * its tokens, rate and cost, and the hash of the rates used.
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
 * Edits a metrics.json text to match the target (SPEC §6): the old script's keys are updated in
 * place, new keys are added beside them, legacy step-level token fields are dropped when the file
 * is rewritten anyway. Returns the same text when nothing would change.
 */
export function applyMetricsTarget(text: string, file: MetricsFile, target: MetricsTarget): string {
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
    if (rec.attempts) append.push(...inChronologicalPlaces(rec.attempts, target.newAttempts));
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

  const edited = editJsonText(text, { set, append });
  if (edited === text) return text;
  const remove: JsonPath[] = [];
  (file.steps ?? []).forEach((step, i) => {
    for (const field of LEGACY_STEP_TOKEN_FIELDS)
      if (field in step) remove.push(["steps", i, field]);
  });
  return remove.length > 0 ? editJsonText(text, { set, append, remove }) : edited;
}
