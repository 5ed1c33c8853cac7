import { ConfigError } from "../errors.ts";
import type { Files } from "../fs/types.ts";
import type { PriceSource } from "../pricing/prices.ts";
import { byProvider, PROVIDERS, providerFor } from "../providers/registry.ts";
import type { PassReport } from "../report/schema.ts";
import { discoverRuns } from "../runs/discover.ts";
import type { Attempt } from "../runs/schema.ts";
import type { PageSource } from "../transport/source.ts";
import type { UsageProvider } from "../usage/provider.ts";
import type { NearestRun } from "../usage/unattributed.ts";
import { formatIsoSeconds } from "../util/time.ts";
import { evaluateRun } from "../verify/evaluate.ts";
import { chronological } from "../verify/reading.ts";
import { STATUSES } from "../verify/status.ts";
import {
  type Applied,
  type Applier,
  applyReadings,
  type ChangeSink,
  type FileChange,
  startApplying,
} from "./apply.ts";
import { type Collected, collectReadings, type Progress } from "./collect.ts";
import { crossCheckCosts } from "./costcheck.ts";
import type { HeldReadings } from "./held.ts";
import { keyWarnings } from "./keys.ts";
import { emptyRunsDir, resolveRunIds } from "./select.ts";
import type { PassSettings } from "./settings.ts";
import { buildRunStates, type RunState } from "./state.ts";

export interface PassDeps {
  files: Files;
  /** The pass's clock, Unix seconds. */
  now: number;
  prices: readonly PriceSource[];
  /** Where readings come from; absent in list mode (and without an admin key). */
  source?: PageSource;
  /**
   * A source per provider id, for an experiment whose keys belong to several providers; `source`
   * serves every provider not in it.
   */
  sources?: ReadonlyMap<string, PageSource>;
  /** The providers key ids are matched against; default the registry's (src/providers/). */
  providers?: readonly UsageProvider[];
  /** HTTP requests the source has sent so far. */
  requestCount?: () => number;
  tool: string;
  version: string;
  concurrency?: number;
  onProgress?: (p: Progress) => void;
  /** Readings held back from the files by earlier passes (the action keeps them in the cache). */
  held?: HeldReadings;
  /** Hold back new readings that only repeat a file's last one (quiet commits). */
  holdIdentical?: boolean;
  /** Takes each change as it is made (the workspace's writer); without it they are returned. */
  sink?: ChangeSink;
}

export interface PassOutcome {
  report: PassReport;
  /** The changes, when no sink took them. */
  changes: FileChange[];
  /** What this pass read, to re-apply on another head (see applyReadings). */
  collected?: Collected;
  /** Every run's readings after the pass, oldest first. */
  readings: Map<string, Attempt[]>;
  /** Readings held back after this pass. */
  held: HeldReadings;
  /**
   * This pass's changes recomputed from `files` as they are now: the same readings applied again
   * to another head, or to a file another process changed meanwhile (see reapplyPass).
   */
  reapply(files: Files): Promise<Applied>;
}

/**
 * One reconciliation pass: discover runs → plan queries → fetch usage → attribute → verify →
 * price → edit files → report. Configuration problems throw ConfigError before any request; a
 * broken run is reported and the pass goes on. Writes nothing itself: the caller writes
 * `changes` (or commits them), so a dry run and a commit share every step.
 */
export async function runPass(given: PassSettings, deps: PassDeps): Promise<PassOutcome> {
  const { files, now } = deps;
  if (!(await files.exists(given.runsDir)))
    throw new ConfigError(`runs directory ${given.runsDir} does not exist (runs-dir)`);
  const discovery = await discoverRuns(files, given.runsDir, given.frameworks);
  const found = discovery.frameworks;
  const missing = given.frameworks.filter((f) => !found.includes(f));
  if (missing.length > 0) {
    throw new ConfigError(
      `framework ${missing.join(", ")} not found under ${given.runsDir} (found: ${discovery.frameworks.join(", ") || "none"})`,
    );
  }
  const empty = await emptyRunsDir(files, given.runsDir, discovery);
  // run ids as typed (a unique prefix, the table's short id) become the runs' full ids
  const runIds = await resolveRunIds(
    given.runIds,
    given.frameworks,
    discovery,
    files,
    given.runsDir,
  );
  const settings: PassSettings = { ...given, runIds };

  let collected: Collected | undefined;
  let runStates: ReturnType<typeof buildRunStates> | undefined;
  let due: RunState[] = [];
  if (settings.mode === "reconcile") {
    runStates = buildRunStates(discovery, settings, now);
    due = runStates.states.filter(
      (s) =>
        s.selected &&
        s.window &&
        evaluateRun(
          {
            now,
            endedAt: s.activity!.end,
            attempts: chronological([...s.attempts, ...(deps.held?.get(s.id) ?? [])]),
            keyId: s.keyId,
            sharesWith: s.sharesWith,
            untrusted: s.untrusted,
          },
          settings,
        ).due,
    );
    const keyless = [...new Set(due.filter((s) => !s.keyId).map((s) => s.run.framework))];
    if (keyless.length > 0) throw new ConfigError(providersOf(deps)[0]!.hints.noKeyId(keyless));
    for (const [provider] of byProvider(due, (s) => s.keyId!, providersOf(deps)))
      if (!sourceOf(deps, provider)) throw new ConfigError(provider.hints.noAdminKey);
  }

  const applier = startApplying({
    discovery,
    files,
    sink: deps.sink,
    settings,
    now,
    prices: deps.prices,
    held: deps.held,
    holdIdentical: deps.holdIdentical,
    runStates,
  });
  // Runs are applied (edited, written) while the provider's pages for others are still coming:
  // first those not due, then each due run once every page of its window has come. One call at a
  // time; a failure stops the rest and is thrown once the reading is over.
  const applying = appliedInTurn(applier);
  const dueIds = new Set(due.map((s) => s.id));
  applying.add(
    applier.states.filter((s) => !dueIds.has(s.id)),
    new Map(),
    new Map(),
  );
  if (due.length > 0) {
    const byId = new Map(due.map((s) => [s.id, s]));
    try {
      collected = await collectReadings({
        states: applier.states,
        due,
        settings,
        sourceOf: (provider) => sourceOf(deps, provider)!,
        providers: providersOf(deps),
        now,
        tool: deps.tool,
        concurrency: deps.concurrency,
        onProgress: deps.onProgress,
        onReady: ({ readings, failures }) =>
          applying.add(
            [...readings.keys(), ...failures.keys()].map((id) => byId.get(id)!),
            readings,
            failures,
          ),
      });
    } catch (error) {
      // nothing of this pass is still being applied when it ends, however it ends
      await applying.done().catch(() => undefined);
      throw error;
    }
  }
  await applying.done();
  const applied = await applier.finish(collected?.keyTotals);
  applied.warnings.push(...keyWarnings(settings, discovery, collected), ...(empty ? [empty] : []));
  const report = buildReport(settings, deps, applied, collected);
  if (settings.mode === "reconcile" && settings.crossCheckCosts) {
    await addCostCheck(report, settings, deps, applied.states);
  }
  return {
    report,
    changes: applied.changes,
    collected,
    readings: applied.readings,
    held: applied.held,
    reapply: reapplyLater(settings, deps, collected),
  };
}

/**
 * `reapply` for an outcome, made out here: a closure made inside runPass would share its context
 * with runPass's other closures, and so keep the applier (every run's state, readings and row)
 * alive for as long as the outcome is kept.
 */
const reapplyLater =
  (settings: PassSettings, deps: PassDeps, collected: Collected | undefined) =>
  (files: Files): Promise<Applied> =>
    reapplyPass(settings, { ...deps, files }, collected);

export function buildReport(
  settings: PassSettings,
  deps: Pick<PassDeps, "now" | "version" | "requestCount">,
  applied: Applied,
  collected: Collected | undefined,
): PassReport {
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<
    (typeof STATUSES)[number],
    number
  >;
  let tokensIn = 0;
  let tokensOut = 0;
  let cached = 0;
  let calls = 0;
  let callsUnknown = 0;
  let cost = 0;
  let costUnknown = 0;
  for (const r of applied.runs) {
    byStatus[r.status]++;
    tokensIn += r.tokens_in ?? 0;
    tokensOut += r.tokens_out ?? 0;
    cached += r.cached_tokens ?? 0;
    calls += r.api_calls ?? 0;
    if (r.api_calls === null && r.tokens_in !== null) callsUnknown++;
    if (r.cost_usd === null) costUnknown += r.tokens_in === null ? 0 : 1;
    else cost += r.cost_usd;
  }
  const keyToFramework = new Map(Object.entries(settings.apiKeyIds).map(([f, k]) => [k, f]));
  return {
    version: deps.version,
    now: formatIsoSeconds(deps.now),
    mode: settings.mode,
    dry_run: settings.dryRun,
    requests: deps.requestCount?.() ?? 0,
    pages: collected?.pages ?? 0,
    request_lower_bound: collected?.lowerBound ?? 0,
    spans: collected?.spans.length ?? 0,
    runs: applied.runs,
    totals: {
      runs: applied.runs.length,
      by_status: byStatus,
      tokens_in: tokensIn,
      tokens_out: tokensOut,
      cached_tokens: cached,
      api_calls: calls,
      api_calls_unknown_runs: callsUnknown,
      cost_usd: Math.round(cost * 1e10) / 1e10,
      cost_unknown_runs: costUnknown,
    },
    cost_check: null,
    unattributed: (collected?.unattributed ?? []).map((u) => {
      const nearest = (n: NearestRun | undefined) => {
        if (!n) return null;
        const [framework = "", ...rest] = n.id.split("/");
        return {
          framework,
          run_id: rest.join("/"),
          gap_minutes: Math.round(n.gapMinutes),
          side: n.side,
        };
      };
      return {
        api_key_id: u.keyId,
        framework: keyToFramework.get(u.keyId) ?? null,
        tokens_in: u.totals.tokensIn,
        tokens_out: u.totals.tokensOut,
        cached_tokens: u.totals.cachedTokens,
        api_calls: u.totals.requests,
        minutes: u.minutes,
        first_minute: formatIsoSeconds(u.firstMinute),
        last_minute: formatIsoSeconds(u.lastMinute),
        nearest_run: nearest(u.clusters[0]?.nearest),
        clusters: u.clusters.map((c) => ({
          first_minute: formatIsoSeconds(c.firstMinute),
          last_minute: formatIsoSeconds(c.lastMinute),
          minutes: c.minutes,
          tokens_in: c.totals.tokensIn,
          tokens_out: c.totals.tokensOut,
          cached_tokens: c.totals.cachedTokens,
          api_calls: c.totals.requests,
          nearest_run: nearest(c.nearest),
        })),
      };
    }),
    warnings: [...(collected?.warnings ?? []), ...applied.warnings],
    changed_files: applied.changedPaths,
    errors: byStatus.error + applied.otherProblems.length,
  };
}

const providersOf = (deps: PassDeps): readonly UsageProvider[] => deps.providers ?? PROVIDERS;

/** The pages of a provider: its own source, or the pass's. */
const sourceOf = (deps: PassDeps, provider: UsageProvider): PageSource | undefined =>
  deps.sources?.get(provider.id) ?? deps.source;

/** Runs the cost cross-check and puts it in the report; flagged days become warnings. */
async function addCostCheck(
  report: PassReport,
  settings: PassSettings,
  deps: PassDeps,
  states: readonly RunState[],
): Promise<void> {
  const tolerance = settings.costTolerancePercent;
  // the providers of the configured keys that have a cost report (the first when no key is known)
  const keyIds = Object.values(settings.apiKeyIds);
  const providers =
    keyIds.length > 0
      ? byProvider(keyIds, (k) => k, providersOf(deps)).map(([p]) => p)
      : [providersOf(deps)[0]!];
  const withCosts = providers.filter((p) => p.costs);
  for (const p of providers.filter((q) => !q.costs))
    report.warnings.push(
      `cross-check-costs: ${p.costsUnavailable ?? `${p.usageApi} has no cost report`}; skipped for its frameworks`,
    );
  const unread = withCosts.filter((p) => !sourceOf(deps, p));
  for (const p of unread)
    report.warnings.push(
      `cross-check-costs: no admin key to read the ${p.costs!.api} with; skipped`,
    );
  if (unread.length === withCosts.length) return;
  try {
    const rows = await crossCheckCosts({
      sourceOf: (provider) => sourceOf(deps, provider),
      providers: providersOf(deps),
      states,
      runs: report.runs,
      prices: deps.prices,
      now: deps.now,
      tolerancePercent: tolerance,
      apiKeyIds: settings.apiKeyIds,
    });
    report.cost_check = {
      tolerance_percent: tolerance,
      days: rows.map((r) => ({
        date: r.date,
        framework: r.framework,
        api_key_id: r.apiKeyId,
        ours_usd: r.oursUsd,
        theirs_usd: r.theirsUsd,
        difference_usd: r.differenceUsd,
        difference_percent: r.differencePercent,
        coverage: r.coverage,
        runs: r.runs,
        settled: r.settled,
        flagged: r.flagged,
        causes: r.causes,
        token_differences: r.tokenDifferences,
        error: r.error,
      })),
    };
    // A cross-check that could not be made is a warning: no run's numbers are wrong for it, so
    // the exit status (runs that errored) is not touched (issue 15).
    for (const r of rows.filter((x) => x.error !== null))
      report.warnings.push(`costs ${r.date} ${r.framework ?? r.apiKeyId}: ${r.error}`);
    for (const r of rows.filter((x) => x.flagged)) {
      report.warnings.push(
        `costs ${r.date} ${r.framework ?? r.apiKeyId}: ours $${r.oursUsd.toFixed(4)}, ${providerFor(r.apiKeyId, providersOf(deps)).costs!.api} ${r.theirsUsd === null ? "nothing" : `$${r.theirsUsd.toFixed(4)}`} (${r.differencePercent === null ? "no amount" : `${r.differencePercent > 0 ? "+" : ""}${r.differencePercent.toFixed(2)}%`}, tolerance ${tolerance}%); likely: ${r.causes.join("; ")}`,
      );
    }
  } catch (error) {
    report.warnings.push(
      `cross-check-costs failed (the runs are reconciled; only the comparison is missing): ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  report.requests = deps.requestCount?.() ?? report.requests;
}

/**
 * This pass's changes recomputed from the files as they are now: re-discovers the runs and applies
 * the same readings again. Used after a rejected push, on the new remote head, so that another
 * writer's changes to the same files are kept and ours are added on top.
 */
export async function reapplyPass(
  settings: PassSettings,
  deps: Pick<PassDeps, "files" | "now" | "prices" | "held" | "holdIdentical">,
  collected: Collected | undefined,
): Promise<Applied> {
  const discovery = await discoverRuns(deps.files, settings.runsDir, settings.frameworks);
  return applyReadings({
    discovery,
    files: deps.files,
    settings,
    now: deps.now,
    prices: deps.prices,
    readings: collected?.readings ?? new Map(),
    failures: collected?.failures ?? new Map(),
    held: deps.held,
    holdIdentical: deps.holdIdentical,
    keyTotals: collected?.keyTotals,
  });
}

/** Runs handed to an applier one call after another, in the order they come (see runPass). */
function appliedInTurn(applier: Applier): {
  add(
    states: readonly RunState[],
    readings: ReadonlyMap<string, Attempt>,
    failures: ReadonlyMap<string, string>,
  ): void;
  /** Resolves once every call has run; rejects with the first failure (no call runs after it). */
  done(): Promise<void>;
} {
  let turn: Promise<void> = Promise.resolve();
  let failed: { error: unknown } | undefined;
  return {
    add(states, readings, failures) {
      turn = turn.then(async () => {
        if (failed || states.length === 0) return;
        try {
          await applier.apply(states, readings, failures);
        } catch (error) {
          failed = { error };
        }
      });
    },
    async done() {
      await turn;
      if (failed) throw failed.error;
    },
  };
}
