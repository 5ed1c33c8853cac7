import type { Span } from "../model.ts";
import { type CostResult, costOf } from "../pricing/cost.ts";
import { candidateNames, type PriceSource } from "../pricing/prices.ts";
import { classesOfModelUsage } from "../pricing/usage.ts";
import { byProvider, PROVIDERS, providerFor } from "../providers/registry.ts";
import type { RunReport } from "../report/schema.ts";
import type { ModelUsage } from "../runs/schema.ts";
import { TOKEN_CLASS_NAMES, TOKEN_CLASSES, type TokenClass } from "../token-classes.ts";
import type { PageSource } from "../transport/source.ts";
import { addToModel, emptyModelUsage } from "../usage/attribute.ts";
import type { CostRow, UsageProvider } from "../usage/provider.ts";
import { countText } from "../util/count.ts";
import { picoToUsd } from "../util/decimal.ts";
import type { RunState } from "./state.ts";

const DAY = 86_400;

export interface CostCheckRow {
  /** UTC day, YYYY-MM-DD. */
  date: string;
  framework: string | null;
  apiKeyId: string;
  /** Our cost of all usage on the key that day, priced from the usage report's per-model split. */
  oursUsd: number;
  /** The provider's cost report's amount for the key that day; null when it reported nothing. */
  theirsUsd: number | null;
  differenceUsd: number | null;
  /** Difference as a percentage of theirs. */
  differencePercent: number | null;
  /** Share of our cost that the experiment's runs account for (the rest is usage outside the runs). */
  coverage: number | null;
  runs: number;
  settled: boolean;
  flagged: boolean;
  causes: string[];
  /** Classes whose tokens differ from the quantities the cost report bills (when it gives them). */
  tokenDifferences: TokenDifference[];
  /** Why the day could not be checked (an amount that is not a plain, finite number); null when it was. */
  error: string | null;
}

const dayOf = (t: number): number => Math.floor(t / DAY) * DAY;
const isoDay = (t: number): string => new Date(t * 1000).toISOString().slice(0, 10);

export interface TokenDifference {
  /** The model as the cost report's line item names it. */
  model: string;
  class: TokenClass;
  ours: number;
  theirs: number;
}

/**
 * Tokens per model and class: ours from the usage report's day buckets, theirs from the quantities
 * of the cost report's token line items. A line item names a dated snapshot or a base name; ours
 * are summed over the models it covers. Only classes whose every line says how many tokens it
 * bills are compared (a quantity is not always given), and only for models the cost report bills
 * by token line: a model it does not bill at all shows in the amounts already.
 */
export function compareTokens(
  models: readonly ModelUsage[],
  lines: ReadonlyArray<NonNullable<CostRow["token"]>>,
): TokenDifference[] {
  const theirs = new Map<string, Map<TokenClass, number | null>>();
  for (const l of lines) {
    const byClass = theirs.get(l.model) ?? new Map<TokenClass, number | null>();
    theirs.set(l.model, byClass);
    const before = byClass.has(l.class) ? byClass.get(l.class)! : 0;
    byClass.set(l.class, before === null || l.tokens === null ? null : before + l.tokens);
  }
  const differences: TokenDifference[] = [];
  for (const [lineModel, byClass] of theirs) {
    const covered = models.filter((m) => candidateNames(m.model).includes(lineModel));
    // classes with no line are billed nothing, when the model's lines all say how many
    const complete = [...byClass.values()].every((t) => t !== null);
    for (const cls of TOKEN_CLASS_NAMES) {
      const ours = covered.reduce((sum, m) => sum + (classesOfModelUsage(m)?.tokens[cls] ?? 0), 0);
      const them = byClass.has(cls) ? byClass.get(cls)! : complete ? 0 : null;
      if (them !== null && them !== ours)
        differences.push({ model: lineModel, class: cls, ours, theirs: them });
    }
  }
  return differences;
}

/** Contiguous ranges of whole days. */
function dayRanges(days: readonly number[]): Span[] {
  const ranges: Span[] = [];
  for (const d of [...days].sort((a, b) => a - b)) {
    const last = ranges.at(-1);
    if (last && last.end === d) last.end = d + DAY;
    else ranges.push({ start: d, end: d + DAY });
  }
  return ranges;
}

/**
 * The cost cross-check (docs/design.md#cost): for every UTC day the runs touch and every configured
 * key of a provider with a cost report, our cost of the day's usage (all of it: runs, shared and
 * unattributed minutes), priced from the provider's per-model split, against its cost report's
 * amount. Days the provider has not settled yet are never a mismatch. A difference over the
 * tolerance is flagged with its likely causes.
 */
export async function crossCheckCosts(args: {
  /** Where each provider's pages come from; keys of a provider without one are not checked. */
  sourceOf: (provider: UsageProvider) => PageSource | undefined;
  /** The providers keys are matched against; default the registry's. */
  providers?: readonly UsageProvider[];
  states: readonly RunState[];
  runs: readonly RunReport[];
  prices: readonly PriceSource[];
  now: number;
  tolerancePercent: number;
  apiKeyIds: Record<string, string>;
}): Promise<CostCheckRow[]> {
  const { now, providers = PROVIDERS } = args;
  const providerOfKey = (keyId: string) => providerFor(keyId, providers);
  const selected = args.states.filter((s) => s.selected && s.window && s.keyId);
  const days = new Set<number>();
  for (const s of selected)
    for (let d = dayOf(s.window!.start); d < s.window!.end; d += DAY) days.add(d);
  // only keys of a provider with a cost report (and a source to read it from) can be checked
  const keys = [...new Set(selected.map((s) => s.keyId!))]
    .filter((k) => providerOfKey(k).costs && args.sourceOf(providerOfKey(k)))
    .sort();
  if (days.size === 0 || keys.length === 0) return [];

  const usage = new Map<string, Map<string, ModelUsage>>();
  const theirs = new Map<
    string,
    { pico: bigint; otherLines: Set<string>; tokens: NonNullable<CostRow["token"]>[] }
  >();
  const unreadable = new Map<string, string[]>();
  for (const [provider, providerKeys] of byProvider(keys, (k) => k, providers)) {
    const source = args.sourceOf(provider)!;
    for (const range of dayRanges([...days])) {
      const [daily, costs] = await Promise.all([
        provider.fetchUsage(source, range, providerKeys, { bucketWidth: "1d" }),
        provider.costs!.fetchCosts(source, range, providerKeys),
      ]);
      for (const r of daily.rows) {
        const key = `${r.apiKeyId}|${r.minute}`;
        const byModel = usage.get(key) ?? new Map<string, ModelUsage>();
        usage.set(key, byModel);
        const m = `${r.model}|${r.batch}|${r.serviceTier}`;
        const u = byModel.get(m) ?? emptyModelUsage(r);
        addToModel(u, r);
        byModel.set(m, u);
      }
      for (const p of costs.problems) {
        const key = `${p.apiKeyId}|${p.day}`;
        unreadable.set(key, [...(unreadable.get(key) ?? []), p.problem]);
      }
      for (const c of costs.rows) {
        const key = `${c.apiKeyId}|${c.day}`;
        const t = theirs.get(key) ?? { pico: 0n, otherLines: new Set<string>(), tokens: [] };
        t.pico += c.amountPico;
        if (c.token) t.tokens.push(c.token);
        else t.otherLines.add(c.lineItem);
        theirs.set(key, t);
      }
    }
  }

  // the runs of each key and start day, indexed once: a scan of every run per day and key grows
  // with runs × days
  const startingOn = new Map<string, RunState[]>();
  for (const s of selected) {
    const key = `${s.keyId}|${dayOf(s.window!.start)}`;
    const list = startingOn.get(key);
    if (list) list.push(s);
    else startingOn.set(key, [s]);
  }
  const frameworkOf = new Map(Object.entries(args.apiKeyIds).map(([f, k]) => [k, f]));
  const reportById = new Map(args.runs.map((r) => [`${r.framework}/${r.run_id}`, r]));
  const rows: CostCheckRow[] = [];
  for (const day of [...days].sort((a, b) => a - b)) {
    for (const keyId of keys) {
      const costsOf = providerOfKey(keyId).costs!;
      const models = [...(usage.get(`${keyId}|${day}`)?.values() ?? [])];
      const cost: CostResult = costOf(models, args.prices);
      const ours = cost.uncachedInputCost + cost.cachedInputCost + cost.outputCost;
      const problems = unreadable.get(`${keyId}|${day}`);
      // one unreadable line makes the day's total unknown: no amount, and never "ok"
      const them = problems ? undefined : theirs.get(`${keyId}|${day}`);
      const theirsUsd = them ? picoToUsd(them.pico) : null;
      const mine = startingOn.get(`${keyId}|${day}`) ?? [];
      const runCost = mine.reduce((sum, s) => sum + (reportById.get(s.id)?.cost_usd ?? 0), 0);
      if (models.length === 0 && !them && !problems && mine.length === 0) continue;
      const difference = theirsUsd === null ? null : ours - theirsUsd;
      const differencePercent =
        difference === null
          ? null
          : theirsUsd
            ? (difference / theirsUsd) * 100
            : ours > 0
              ? 100
              : 0;
      const settled = day + DAY <= now - costsOf.settleSeconds;
      const coverage = ours > 0 ? Math.min(1, runCost / ours) : null;
      const causes: string[] = [];
      if (cost.unknown.length > 0)
        causes.push(`no price for ${[...new Set(cost.unknown.map((u) => u.model))].join(", ")}`);
      if (models.some((m) => costsOf.otherRates(m))) causes.push("batch or service-tier rates");
      if (coverage !== null && coverage < 0.99)
        causes.push(
          `usage outside the runs (runs account for ${(coverage * 100).toFixed(1)}% of the key's cost that day)`,
        );
      const otherLines = [...(them?.otherLines ?? [])];
      if (otherLines.length > 0)
        causes.push(`cost lines that are not token usage: ${otherLines.join(", ")}`);
      const tokenDifferences = compareTokens(models, them?.tokens ?? []);
      if (tokenDifferences.length > 0)
        causes.push(
          `token counts differ from the ${costsOf.api}'s quantities: ${tokenDifferences
            .map(
              (d) =>
                `${d.model} ${TOKEN_CLASSES[d.class].label} ours ${countText(d.ours)}, theirs ${countText(d.theirs)}`,
            )
            .join("; ")}`,
        );
      const off =
        differencePercent === null
          ? theirsUsd === null && ours > 0
          : Math.abs(differencePercent) > args.tolerancePercent;
      const flagged =
        !problems && settled && (off || cost.unknown.length > 0 || tokenDifferences.length > 0);
      if (flagged && causes.length === 0)
        causes.push("the price table differs from what was billed (check its date)");
      rows.push({
        date: isoDay(day),
        framework: frameworkOf.get(keyId) ?? null,
        apiKeyId: keyId,
        oursUsd: Math.round(ours * 1e10) / 1e10,
        theirsUsd,
        differenceUsd: difference === null ? null : Math.round(difference * 1e10) / 1e10,
        differencePercent:
          differencePercent === null ? null : Math.round(differencePercent * 1000) / 1000,
        coverage: coverage === null ? null : Math.round(coverage * 10000) / 10000,
        runs: mine.length,
        settled,
        flagged,
        causes: flagged ? causes : [],
        tokenDifferences,
        error: problems
          ? `the ${costsOf.api}'s ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more line(s))` : ""}; the day is not checked`
          : null,
      });
    }
  }
  return rows;
}
