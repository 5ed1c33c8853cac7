import { UsageApiError } from "../errors.ts";
import type { RunOnKey, Span, Totals } from "../model.ts";
import { byProvider, PROVIDERS, providerFor } from "../providers/registry.ts";
import type { Attempt } from "../runs/schema.ts";
import type { PageSource } from "../transport/source.ts";
import { makeAttempt } from "../usage/attempt.ts";
import { attribute, type UnattributedUsage } from "../usage/attribute.ts";
import { planSpans, requestLowerBound } from "../usage/plan.ts";
import type { UsageProvider } from "../usage/provider.ts";
import { addRequests, sumGuard, type UsageRow } from "../usage/rows.ts";
import { mapInOrder } from "../util/concurrency.ts";
import { floorMinute } from "../util/time.ts";
import type { PassSettings } from "./settings.ts";
import type { RunState } from "./state.ts";

export interface Progress {
  spansDone: number;
  spans: number;
  pages: number;
}

export interface Collected {
  /** New readings, by run id (`framework/run_id`). */
  readings: Map<string, Attempt>;
  /** Runs whose reading failed this pass, with the reason; nothing is written for them. */
  failures: Map<string, string>;
  unattributed: UnattributedUsage[];
  /**
   * All usage fetched this pass per key read (attributed or not; zero for a key with none), so a
   * key with no usage at all, or far more outside the runs than inside, can be named.
   */
  keyTotals: Map<string, Totals>;
  spans: Span[];
  /** Spans (or page-long pieces of them) that could not be read: their minutes were not seen. */
  failedSpans?: Span[];
  pages: number;
  lowerBound: number;
  /** Problems of the pass as a whole (the API deadline ran out), for the report's warnings. */
  warnings: string[];
}

interface FailedSpan {
  provider: UsageProvider;
  span: Span;
  message: string;
  kind: string;
}

const messageOf = (error: unknown): string =>
  error instanceof UsageApiError
    ? error.message
    : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
const kindOf = (error: unknown): string =>
  error instanceof UsageApiError ? error.kind : "unexpected";

/**
 * Fetches a span; when it fails after its retries and spans several pages, fetches each
 * page-long piece on its own, so one bad page costs only the runs in its own minutes. Rows of a
 * piece that failed are never kept: no run is read from a partial window.
 */
async function fetchOrSplit(
  provider: UsageProvider,
  source: PageSource,
  span: Span,
  keyIds: readonly string[],
  onPage: () => void,
): Promise<{ rows: UsageRow[]; failed: FailedSpan[] }> {
  const fetch = (piece: Span) => provider.fetchUsage(source, piece, keyIds, { onPage });
  const failure = (piece: Span, error: unknown): FailedSpan => ({
    provider,
    span: piece,
    message: messageOf(error),
    kind: kindOf(error),
  });
  try {
    return { rows: (await fetch(span)).rows, failed: [] };
  } catch (error) {
    const page = provider.pageMinutes * 60;
    if (span.end - span.start <= page || !provider.splittable.has(kindOf(error)))
      return { rows: [], failed: [failure(span, error)] };
    const rows: UsageRow[] = [];
    const failed: FailedSpan[] = [];
    for (let start = span.start; start < span.end; start += page) {
      const piece = { start, end: Math.min(start + page, span.end) };
      try {
        rows.push(...(await fetch(piece)).rows);
      } catch (pieceError) {
        failed.push(failure(piece, pieceError));
      }
    }
    // each piece was checked alone; a run's window may cross pieces, so check their sum again
    const guard = sumGuard(provider.countNames);
    const unsafe = rows.map(guard).find(Boolean);
    if (unsafe)
      return {
        rows: [],
        failed: [{ provider, span, message: `${unsafe}; refused`, kind: "protocol" }],
      };
    return { rows, failed };
  }
}

/**
 * Takes one reading for each due run (docs/design.md#reading-usage): plans, per provider, the
 * fewest spans covering every due window in its pages, fetches each span once for all its keys, and
 * attributes minute buckets to runs locally. A span that fails turns every run of its provider
 * whose window touches it into a failure, never into a reading.
 */
export async function collectReadings(args: {
  states: readonly RunState[];
  due: readonly RunState[];
  settings: PassSettings;
  /** Where each provider's pages come from (pass.ts makes sure every due run's has one). */
  sourceOf: (provider: UsageProvider) => PageSource;
  /** The providers keys are matched against; default the registry's. */
  providers?: readonly UsageProvider[];
  now: number;
  tool: string;
  concurrency?: number;
  onProgress?: (p: Progress) => void;
}): Promise<Collected> {
  const { due, states, settings, now, providers = PROVIDERS } = args;
  // minutes after `now - min-age` may belong to runs not committed yet: not worth reporting
  const fillUntil = floorMinute(now - settings.minAgeMinutes * 60);
  const groups = byProvider(due, (s) => s.keyId!, providers).map(([provider, runs]) => ({
    provider,
    source: args.sourceOf(provider),
    spans: planSpans(
      runs.map((s) => s.window!),
      provider.pageMinutes,
      fillUntil,
    ),
    keyIds: [...new Set(runs.map((s) => s.keyId!))].sort(),
  }));
  const work = groups.flatMap((g) => g.spans.map((span) => ({ ...g, span })));
  const spans = work.map((w) => w.span);
  const keyIds = [...new Set(due.map((s) => s.keyId!))].sort();
  const rows: UsageRow[] = [];
  const failedSpans: FailedSpan[] = [];
  const progress: Progress = { spansDone: 0, spans: spans.length, pages: 0 };
  const onPage = () => {
    progress.pages++;
  };
  await mapInOrder(work, args.concurrency ?? 4, async (w) => {
    const outcome = await fetchOrSplit(w.provider, w.source, w.span, w.keyIds, onPage);
    for (const r of outcome.rows) rows.push(r);
    failedSpans.push(...outcome.failed);
    progress.spansDone++;
    args.onProgress?.({ ...progress });
  });

  // a run fails with a span of its own provider that touches its window
  const touching = (s: RunState, f: FailedSpan) =>
    f.provider === providerFor(s.keyId!, providers) &&
    f.span.start < s.window!.end &&
    s.window!.start < f.span.end;
  const failures = new Map<string, string>();
  for (const s of due) {
    const failed = failedSpans.find((f) => touching(s, f));
    if (failed) failures.set(s.id, `${failed.provider.usageApi}: ${failed.message}`);
  }
  const warnings: string[] = [];
  for (const { provider } of groups) {
    const late = due.filter((s) =>
      failedSpans.some((f) => f.kind === "deadline" && f.provider === provider && touching(s, f)),
    );
    if (late.length > 0)
      warnings.push(
        `${provider.usageApi}: the pass's time for the API ran out (pass-deadline-minutes); ${late.length} run(s) not read are error for this pass and the next pass reads them again`,
      );
  }
  // Only rows of spans that succeeded exist; a failed span's runs are failures, so no run is read
  // from a partial window.
  const onKeys: RunOnKey[] = states.flatMap((s) =>
    s.keyId && s.window ? [{ id: s.id, keyId: s.keyId, window: s.window }] : [],
  );
  const targets = new Set(due.filter((s) => !failures.has(s.id)).map((s) => s.id));
  const { perRun, unattributed } = attribute(onKeys, targets, rows);
  const counted = (keyId: string) => providerFor(keyId, providers).countsRequests;
  const keyTotals = new Map<string, Totals>(
    keyIds.map((k) => [
      k,
      { tokensIn: 0, tokensOut: 0, cachedTokens: 0, requests: counted(k) ? 0 : null },
    ]),
  );
  for (const r of rows) {
    const t = keyTotals.get(r.apiKeyId);
    if (!t) continue;
    t.tokensIn += r.inputTokens;
    t.tokensOut += r.outputTokens;
    t.cachedTokens += r.cachedTokens;
    t.requests = addRequests(t.requests, r.requests);
  }
  const readings = new Map<string, Attempt>();
  for (const s of due) {
    const usage = perRun.get(s.id);
    if (!usage) continue;
    // a reading without usage has no rows to say so: its provider's word is that it counts none
    if (!counted(s.keyId!)) {
      usage.totals.requests = null;
      if (usage.shared) usage.shared.totals.requests = null;
    }
    readings.set(
      s.id,
      makeAttempt({ now, usage, window: s.window!, settings, keyId: s.keyId!, tool: args.tool }),
    );
  }
  return {
    readings,
    failures,
    unattributed,
    keyTotals,
    spans,
    failedSpans: failedSpans.map((f) => f.span),
    pages: progress.pages,
    lowerBound: groups.reduce((n, g) => n + requestLowerBound(g.spans, g.provider.pageMinutes), 0),
    warnings,
  };
}
