import { UsageApiError } from "../errors.ts";
import type { RunOnKey, Span, Totals } from "../model.ts";
import { byProvider, PROVIDERS, providerFor } from "../providers/registry.ts";
import type { Attempt } from "../runs/schema.ts";
import type { PageSource } from "../transport/source.ts";
import { makeAttempt } from "../usage/attempt.ts";
import { attributor, type UnattributedUsage } from "../usage/attribute.ts";
import { pageSizedPieces } from "../usage/paginate.ts";
import { planSpans, requestLowerBound } from "../usage/plan.ts";
import type { UsageProvider } from "../usage/provider.ts";
import { addRequests, sumGuard, type UsageRow } from "../usage/rows.ts";
import { mapInOrder } from "../util/concurrency.ts";
import { floorMinute, formatMinute, MINUTE } from "../util/time.ts";
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

/** Runs whose every minute has been read (or whose read failed), handed on as they come. */
export interface ReadyRuns {
  /** New readings, by run id. */
  readings: Map<string, Attempt>;
  /** Runs whose reading failed, with the reason. */
  failures: Map<string, string>;
}

const messageOf = (error: unknown): string =>
  error instanceof UsageApiError
    ? error.message
    : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
const kindOf = (error: unknown): string =>
  error instanceof UsageApiError ? error.kind : "unexpected";

/** One page's time of a planned span: what one request (and its cursor chain) reads. */
interface Piece {
  provider: UsageProvider;
  source: PageSource;
  keyIds: readonly string[];
  /** Index of its span in the pass's spans. */
  spanIndex: number;
  span: Span;
  /** Its rows, until every run whose window it touches has its reading. */
  rows?: UsageRow[];
  failed?: FailedSpan;
  /** Due runs whose window this piece's minutes touch. */
  runs: RunState[];
  /** How many of them have not had their reading yet. */
  unread: number;
}

/** The pieces, in time order, whose minutes touch a window (pieces sorted by start, disjoint). */
function piecesTouching(pieces: readonly Piece[], window: Span): Piece[] {
  let lo = 0;
  let hi = pieces.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (pieces[mid]!.span.end <= window.start) lo = mid + 1;
    else hi = mid;
  }
  const touching: Piece[] = [];
  for (let i = lo; i < pieces.length && pieces[i]!.span.start < window.end; i++)
    touching.push(pieces[i]!);
  return touching;
}

/**
 * Takes one reading for each due run (docs/design.md#reading-usage): plans, per provider, the
 * fewest spans covering every due window in its pages, fetches each span once for all its keys, and
 * attributes minute buckets to runs locally. A span that fails turns every run of its provider
 * whose window touches it into a failure, never into a reading.
 *
 * Spans are read in page-long pieces, a few at a time (the same requests as following each
 * span's cursor, in the time of a few). A run's reading is made as soon as every piece its window
 * touches has come, and handed to `onReady`, so a pass edits the runs read while it waits for
 * the rest; the result holds every reading too.
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
  /** Pieces read at a time. */
  concurrency?: number;
  onProgress?: (p: Progress) => void;
  /** Called with each set of runs as soon as their readings (or failures) are known. */
  onReady?: (ready: ReadyRuns) => void;
}): Promise<Collected> {
  const { due, states, settings, now, providers = PROVIDERS } = args;
  // minutes after `now - min-age` may belong to runs not committed yet: not worth reporting
  const fillUntil = floorMinute(now - settings.minAgeMinutes * 60);
  const groups = byProvider(due, (s) => s.keyId!, providers).map(([provider, runs]) => ({
    provider,
    source: args.sourceOf(provider),
    runs,
    spans: planSpans(
      runs.map((s) => s.window!),
      provider.pageMinutes,
      fillUntil,
    ),
    keyIds: [...new Set(runs.map((s) => s.keyId!))].sort(),
  }));
  const spans = groups.flatMap((g) => g.spans);
  const keyIds = [...new Set(due.map((s) => s.keyId!))].sort();
  const progress: Progress = { spansDone: 0, spans: spans.length, pages: 0 };
  const onPage = () => {
    progress.pages++;
  };

  // Every piece, and for each due run the pieces its window touches: a run is ready once they
  // have all come (a window lies in one span, and most in one piece).
  const pieces: Piece[] = [];
  const waiting = new Map<string, number>();
  const ready: RunState[] = [];
  const touchedBy = new Map<string, Piece[]>();
  let spanIndex = 0;
  for (const g of groups) {
    const own: Piece[] = [];
    for (const span of g.spans) {
      for (const piece of pageSizedPieces(span, g.provider.pageMinutes * MINUTE))
        own.push({
          provider: g.provider,
          source: g.source,
          keyIds: g.keyIds,
          spanIndex,
          span: piece,
          runs: [],
          unread: 0,
        });
      spanIndex++;
    }
    for (const s of g.runs) {
      const touching = piecesTouching(own, s.window!);
      touchedBy.set(s.id, touching);
      for (const p of touching) {
        p.runs.push(s);
        p.unread++;
      }
      waiting.set(s.id, touching.length);
      if (touching.length === 0) ready.push(s);
    }
    pieces.push(...own);
  }
  const piecesLeft = new Map<number, number>();
  for (const p of pieces) piecesLeft.set(p.spanIndex, (piecesLeft.get(p.spanIndex) ?? 0) + 1);

  const onKeys: RunOnKey[] = states.flatMap((s) =>
    s.keyId && s.window ? [{ id: s.id, keyId: s.keyId, window: s.window }] : [],
  );
  const attributing = attributor(onKeys);
  const counted = (keyId: string) => providerFor(keyId, providers).countsRequests;
  const readings = new Map<string, Attempt>();
  const failures = new Map<string, string>();
  /** Makes the readings of runs whose pieces have all come, and hands them on. */
  const release = (runs: readonly RunState[]) => {
    if (runs.length === 0) return;
    const batch: ReadyRuns = { readings: new Map(), failures: new Map() };
    const targets: RunOnKey[] = [];
    const rowPieces = new Set<Piece>();
    for (const s of runs) {
      const touching = touchedBy.get(s.id)!;
      // no run is read from a partial window: a failed piece it touches is its failure
      const failed = touching.find((p) => p.failed)?.failed;
      if (failed) {
        batch.failures.set(s.id, `${failed.provider.usageApi}: ${failed.message}`);
        continue;
      }
      targets.push({ id: s.id, keyId: s.keyId!, window: s.window! });
      for (const p of touching) rowPieces.add(p);
    }
    const rows: UsageRow[] = [];
    for (const p of [...rowPieces].sort((a, b) => a.span.start - b.span.start))
      for (const r of p.rows!) rows.push(r);
    const perRun = attributing.usageOf(targets, rows);
    // a piece's rows are let go once every run in its minutes has its reading
    for (const s of runs)
      for (const p of touchedBy.get(s.id)!) if (--p.unread === 0) p.rows = undefined;
    for (const s of runs) {
      const usage = perRun.get(s.id);
      if (!usage) continue;
      // a reading without usage has no rows to say so: its provider's word is that it counts none
      if (!counted(s.keyId!)) {
        usage.totals.requests = null;
        if (usage.shared) usage.shared.totals.requests = null;
      }
      batch.readings.set(
        s.id,
        makeAttempt({ now, usage, window: s.window!, settings, keyId: s.keyId!, tool: args.tool }),
      );
    }
    for (const [id, a] of batch.readings) readings.set(id, a);
    for (const [id, f] of batch.failures) failures.set(id, f);
    args.onReady?.(batch);
  };
  release(ready.splice(0));

  // A span's rows summed in any order must stay exact: a piece whose rows take a key's sum past
  // 2^53 is refused, whichever piece came first (the pass's sums per key, never just a page's).
  const guards = new Map(groups.map((g) => [g.provider, sumGuard(g.provider.countNames)]));
  /** Failures that end the rest of a span (the key is refused, the pass's time ran out). */
  const spanEnded = new Map<number, FailedSpan>();
  // What the report needs of all the rows: each key's totals, and the rows no run owns.
  const keyTotals = new Map<string, Totals>(
    keyIds.map((k) => [
      k,
      { tokensIn: 0, tokensOut: 0, cachedTokens: 0, requests: counted(k) ? 0 : null },
    ]),
  );
  const unowned: UsageRow[] = [];
  await mapInOrder(pieces, args.concurrency ?? 4, async (p) => {
    const ended = spanEnded.get(p.spanIndex);
    if (ended) p.failed = { ...ended, span: p.span };
    else {
      try {
        p.rows = (await p.provider.fetchUsage(p.source, p.span, p.keyIds, { onPage })).rows;
      } catch (error) {
        p.failed = {
          provider: p.provider,
          span: p.span,
          message: messageOf(error),
          kind: kindOf(error),
        };
        // another request might not meet a bad page, a timeout or a busy server: the other
        // pieces are still read; anything else would meet every page of the span the same way
        if (!p.provider.splittable.has(p.failed.kind)) spanEnded.set(p.spanIndex, p.failed);
      }
    }
    if (p.rows) {
      const guard = guards.get(p.provider)!;
      for (const row of p.rows) {
        const unsafe = guard(row);
        if (!unsafe) continue;
        const message = `bucket ${row.minute} (${formatMinute(row.minute)}): ${unsafe}; the page is refused`;
        p.failed = { provider: p.provider, span: p.span, message, kind: "protocol" };
        p.rows = undefined;
        break;
      }
      for (const r of p.rows ?? []) {
        if (!attributing.owns(r)) unowned.push(r);
        const t = keyTotals.get(r.apiKeyId);
        if (!t) continue;
        t.tokensIn += r.inputTokens;
        t.tokensOut += r.outputTokens;
        t.cachedTokens += r.cachedTokens;
        t.requests = addRequests(t.requests, r.requests);
      }
      if (p.unread === 0) p.rows = undefined;
    }
    const left = piecesLeft.get(p.spanIndex)! - 1;
    piecesLeft.set(p.spanIndex, left);
    if (left === 0) {
      progress.spansDone++;
      args.onProgress?.({ ...progress });
    }
    const nowReady: RunState[] = [];
    for (const s of p.runs) {
      const n = waiting.get(s.id)! - 1;
      waiting.set(s.id, n);
      if (n === 0) nowReady.push(s);
    }
    release(nowReady);
  });

  const failedSpans = pieces.flatMap((p) => (p.failed ? [p.failed] : []));
  const warnings: string[] = [];
  for (const { provider } of groups) {
    const late = due.filter((s) =>
      touchedBy.get(s.id)?.some((p) => p.failed?.kind === "deadline" && p.provider === provider),
    );
    if (late.length > 0)
      warnings.push(
        `${provider.usageApi}: the pass's time for the API ran out (pass-deadline-minutes); ${late.length} run(s) not read are error for this pass and the next pass reads them again`,
      );
  }
  // in the due runs' order, whatever order the pieces came in
  const inOrder = <T>(m: Map<string, T>) =>
    new Map(due.flatMap((s): Array<[string, T]> => (m.has(s.id) ? [[s.id, m.get(s.id)!]] : [])));
  return {
    readings: inOrder(readings),
    failures: inOrder(failures),
    unattributed: attributing.unattributed(unowned),
    keyTotals,
    spans,
    failedSpans: failedSpans.map((f) => f.span),
    pages: progress.pages,
    lowerBound: groups.reduce((n, g) => n + requestLowerBound(g.spans, g.provider.pageMinutes), 0),
    warnings,
  };
}
