/** Claude usage events indexed by time, and the usage report's pages of time buckets. */
import { encodeCursor, GROUP_FIELDS, type GroupField, type UsageQuery } from "./query.ts";
import type { ClaudeTokens, ClaudeUsageEvent } from "./types.ts";

export interface Counts {
  uncached: number;
  cacheRead: number;
  write5m: number;
  write1h: number;
  output: number;
  webSearches: number;
}

export interface StoredEvent {
  apiKeyId: string | null;
  model: string;
  completedAt: number;
  serviceTier: string;
  contextWindow: string;
  inferenceGeo: string;
  speed: string;
  workspaceId: string | null;
  /** Undefined: completedAt + lagSeconds at query time. */
  visibleAt: number | undefined;
  base: Counts;
  /** Sorted by `at`, ascending. */
  revisions: Array<{ at: number } & Counts>;
}

const counts = (t: Partial<ClaudeTokens>, fallback?: Counts): Counts => ({
  uncached: t.uncachedInputTokens ?? fallback?.uncached ?? 0,
  cacheRead: t.cacheReadInputTokens ?? fallback?.cacheRead ?? 0,
  write5m: t.cacheWrite5mInputTokens ?? fallback?.write5m ?? 0,
  write1h: t.cacheWrite1hInputTokens ?? fallback?.write1h ?? 0,
  output: t.outputTokens ?? fallback?.output ?? 0,
  webSearches: t.webSearchRequests ?? fallback?.webSearches ?? 0,
});

export function normalize(e: ClaudeUsageEvent): StoredEvent {
  const base = counts(e);
  return {
    apiKeyId: e.apiKeyId,
    model: e.model,
    completedAt: e.completedAt,
    serviceTier: e.serviceTier ?? "standard",
    contextWindow: e.contextWindow ?? "0-200k",
    inferenceGeo: e.inferenceGeo ?? "global",
    speed: e.speed ?? "standard",
    workspaceId: e.workspaceId ?? null,
    visibleAt: e.visibleAt,
    base,
    revisions: (e.revisions ?? [])
      .map((r) => ({ at: r.at, ...counts(r, base) }))
      .sort((a, b) => a.at - b.at),
  };
}

/** The counts an event reports at server time `now`: its latest revision with at <= now. */
export function countsAt(e: StoredEvent, now: number): Counts {
  for (let i = e.revisions.length - 1; i >= 0; i--)
    if (e.revisions[i]!.at <= now) return e.revisions[i]!;
  return e.base;
}

/** First index whose completedAt >= t in events sorted by completedAt. */
export function lowerBound(events: readonly StoredEvent[], t: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (events[mid]!.completedAt < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const iso = (t: number): string => new Date(t * 1000).toISOString().replace(".000Z", "Z");

export interface UsageResult {
  uncached_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
  cache_read_input_tokens: number;
  output_tokens: number;
  server_tool_use: { web_search_requests: number };
  api_key_id: string | null;
  workspace_id: string | null;
  model: string | null;
  service_tier: string | null;
  context_window: string | null;
  inference_geo: string | null;
  account_id: string | null;
  service_account_id: string | null;
  /** Present only when grouped by speed. */
  speed?: string | null;
}

export interface Bucket<R> {
  starting_at: string;
  ending_at: string;
  results: R[];
}

export interface Page<R> {
  data: Array<Bucket<R>>;
  has_more: boolean;
  next_page: string | null;
}

export interface PageSettings {
  now: number;
  lagSeconds: number;
  emptyBuckets: "include" | "omit";
  maxBucketsPerPage: number | undefined;
}

function groupValue(e: StoredEvent, field: GroupField): string | null {
  switch (field) {
    case "api_key_id":
      return e.apiKeyId;
    case "workspace_id":
      return e.workspaceId;
    case "model":
      return e.model;
    case "service_tier":
      return e.serviceTier;
    case "context_window":
      return e.contextWindow;
    case "inference_geo":
      return e.inferenceGeo;
    case "speed":
      return e.speed;
    // API-key calls have no user account or service account
    case "account_id":
    case "service_account_id":
      return null;
  }
}

function emptyResult(e: StoredEvent, groupBy: readonly GroupField[]): UsageResult {
  const g = (f: GroupField) => (groupBy.includes(f) ? groupValue(e, f) : null);
  return {
    uncached_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    cache_read_input_tokens: 0,
    output_tokens: 0,
    server_tool_use: { web_search_requests: 0 },
    api_key_id: g("api_key_id"),
    workspace_id: g("workspace_id"),
    model: g("model"),
    service_tier: g("service_tier"),
    context_window: g("context_window"),
    inference_geo: g("inference_geo"),
    account_id: g("account_id"),
    service_account_id: g("service_account_id"),
    ...(groupBy.includes("speed") ? { speed: g("speed") } : {}),
  };
}

/** Results in a fixed order: by each dimension in the API's order of group_by values. */
function compareResults(a: UsageResult, b: UsageResult): number {
  for (const f of GROUP_FIELDS) {
    const x = a[f] ?? "";
    const y = b[f] ?? "";
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Number of buckets in a query's whole range (at least one); open-ended up to `now`'s bucket. */
export function bucketCount(
  q: { startTime: number; endTime: number | undefined; widthSeconds: number },
  now: number,
  lastAt: number,
): number {
  const { startTime, widthSeconds: w } = q;
  let end: number;
  if (q.endTime !== undefined) end = q.endTime;
  else if (Number.isFinite(now)) end = startTime + (Math.floor((now - startTime) / w) + 1) * w;
  else end = Number.isFinite(lastAt) ? lastAt + w : startTime;
  return Math.max(1, Math.ceil((end - startTime) / w));
}

/** A page of buckets: more follow while the last bucket served is before the total. */
export function finishPage<R>(
  data: Array<Bucket<R>>,
  last: number,
  total: number,
  hash: string,
): Page<R> {
  const hasMore = last < total;
  return { data, has_more: hasMore, next_page: hasMore ? encodeCursor(last, hash) : null };
}

/** The buckets [first, last) a page of the query serves. */
export function pageBounds(
  query: { offset: number; limit: number },
  total: number,
  settings: { maxBucketsPerPage: number | undefined },
): { first: number; last: number } {
  const perPage = Math.min(query.limit, settings.maxBucketsPerPage ?? Number.POSITIVE_INFINITY);
  const first = Math.min(query.offset, total);
  return { first, last: Math.min(first + perPage, total) };
}

export const bucketTimes = (start: number, width: number) => ({
  starting_at: iso(start),
  ending_at: iso(start + width),
});

export class EventStore {
  #events: StoredEvent[] = [];
  #sorted = true;

  set(events: ClaudeUsageEvent[]): void {
    this.#events = events.map(normalize);
    this.#sorted = false;
  }

  add(events: ClaudeUsageEvent[]): void {
    for (const e of events) this.#events.push(normalize(e));
    this.#sorted = false;
  }

  /** Every stored event, sorted by completedAt (do not mutate). */
  ordered(): StoredEvent[] {
    if (!this.#sorted) {
      this.#events.sort((a, b) => a.completedAt - b.completedAt);
      this.#sorted = true;
    }
    return this.#events;
  }

  lastAt(): number {
    return this.ordered().at(-1)?.completedAt ?? Number.NEGATIVE_INFINITY;
  }

  /** One page of the usage report at server time settings.now. */
  page(q: UsageQuery, settings: PageSettings): Page<UsageResult> {
    const { now } = settings;
    const w = q.widthSeconds;
    const total = bucketCount(q, now, this.lastAt());
    const { first, last } = pageBounds(q, total, settings);
    const pageStart = q.startTime + first * w;
    const pageEnd = q.startTime + last * w;
    const buckets: Array<Map<string, UsageResult>> = [];
    for (let i = first; i < last; i++) buckets.push(new Map());

    const f = q.filters;
    const keep = (values: string[], v: string | null) =>
      values.length === 0 || (v !== null && values.includes(v));
    const events = this.ordered();
    for (let i = lowerBound(events, pageStart); i < events.length; i++) {
      const e = events[i]!;
      if (e.completedAt >= pageEnd) break;
      if (now < (e.visibleAt ?? e.completedAt + settings.lagSeconds)) continue;
      if (
        !keep(f.apiKeyIds, e.apiKeyId) ||
        !keep(f.workspaceIds, e.workspaceId) ||
        !keep(f.models, e.model) ||
        !keep(f.serviceTiers, e.serviceTier) ||
        !keep(f.contextWindows, e.contextWindow) ||
        !keep(f.inferenceGeos, e.inferenceGeo) ||
        !keep(f.speeds, e.speed)
      )
        continue;
      const bucket = buckets[Math.floor((e.completedAt - pageStart) / w)]!;
      const key = JSON.stringify(q.groupBy.map((g) => groupValue(e, g)));
      let r = bucket.get(key);
      if (!r) {
        r = emptyResult(e, q.groupBy);
        bucket.set(key, r);
      }
      const c = countsAt(e, now);
      r.uncached_input_tokens += c.uncached;
      r.cache_read_input_tokens += c.cacheRead;
      r.cache_creation.ephemeral_5m_input_tokens += c.write5m;
      r.cache_creation.ephemeral_1h_input_tokens += c.write1h;
      r.output_tokens += c.output;
      r.server_tool_use.web_search_requests += c.webSearches;
    }

    const data: Array<Bucket<UsageResult>> = [];
    buckets.forEach((bucket, i) => {
      if (bucket.size === 0 && settings.emptyBuckets === "omit") return;
      data.push({
        ...bucketTimes(pageStart + i * w, w),
        results: [...bucket.values()].sort(compareResults),
      });
    });
    return finishPage(data, last, total, q.hash);
  }
}
