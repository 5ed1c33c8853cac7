/** Event storage indexed by time, and aggregation of one page of time buckets. */

import { encodeCursor, type GroupField, type UsageQuery } from "./query.ts";
import type { UsageEvent } from "./types.ts";

export interface Values {
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  requests: number;
}

export interface StoredEvent {
  apiKeyId: string;
  model: string;
  completedAt: number;
  projectId: string;
  userId: string | null;
  batch: boolean;
  serviceTier: string;
  /** Undefined: completedAt + lagSeconds at query time. */
  visibleAt: number | undefined;
  base: Values;
  /** Sorted by `at`, ascending (stable for equal `at`). */
  revisions: Array<{ at: number } & Values>;
}

export interface CompletionsResult {
  object: "organization.usage.completions.result";
  input_tokens: number;
  input_cached_tokens: number;
  input_cache_write_tokens: number;
  input_uncached_tokens: number;
  output_tokens: number;
  input_text_tokens: number;
  output_text_tokens: number;
  input_cached_text_tokens: number;
  input_audio_tokens: number;
  input_cached_audio_tokens: number;
  output_audio_tokens: number;
  input_image_tokens: number;
  input_cached_image_tokens: number;
  output_image_tokens: number;
  num_model_requests: number;
  project_id: string | null;
  user_id: string | null;
  api_key_id: string | null;
  model: string | null;
  batch: boolean | null;
  service_tier: string | null;
}

/** One time bucket of any endpoint's page. */
export interface Bucket<R> {
  object: "bucket";
  start_time: number;
  end_time: number;
  results: R[];
}

/** A UsageResponse page of any endpoint (completions or costs). */
export interface Page<R> {
  object: "page";
  data: Array<Bucket<R>>;
  has_more: boolean;
  next_page: string | null;
}

export type UsageBucket = Bucket<CompletionsResult>;
export type UsagePage = Page<CompletionsResult>;

export interface PageSettings {
  now: number;
  lagSeconds: number;
  emptyBuckets: "include" | "omit";
  maxBucketsPerPage: number | undefined;
}

export function normalize(event: UsageEvent): StoredEvent {
  const base: Values = {
    inputTokens: event.inputTokens,
    cachedTokens: event.cachedTokens ?? 0,
    outputTokens: event.outputTokens,
    requests: event.requests ?? 1,
  };
  const revisions = (event.revisions ?? [])
    .map((r) => ({
      at: r.at,
      inputTokens: r.inputTokens ?? base.inputTokens,
      cachedTokens: r.cachedTokens ?? base.cachedTokens,
      outputTokens: r.outputTokens ?? base.outputTokens,
      requests: r.requests ?? base.requests,
    }))
    .sort((a, b) => a.at - b.at);
  return {
    apiKeyId: event.apiKeyId,
    model: event.model,
    completedAt: event.completedAt,
    projectId: event.projectId ?? "proj_default",
    userId: event.userId ?? null,
    batch: event.batch ?? false,
    serviceTier: event.serviceTier ?? "default",
    visibleAt: event.visibleAt,
    base,
    revisions,
  };
}

/** The values an event reports at server time `now`: its latest revision with at <= now. */
export function valuesAt(event: StoredEvent, now: number): Values {
  const { revisions } = event;
  for (let i = revisions.length - 1; i >= 0; i--) {
    const revision = revisions[i]!;
    if (revision.at <= now) return revision;
  }
  return event.base;
}

/** First index whose completedAt >= t in an array sorted by completedAt. */
export function lowerBound(events: StoredEvent[], t: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (events[mid]!.completedAt < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function groupValue(event: StoredEvent, field: GroupField): string | boolean | null {
  switch (field) {
    case "project_id":
      return event.projectId;
    case "user_id":
      return event.userId;
    case "api_key_id":
      return event.apiKeyId;
    case "model":
      return event.model;
    case "batch":
      return event.batch;
    case "service_tier":
      return event.serviceTier;
  }
}

/** Deterministic result order: api_key_id, model, then the remaining identity fields. */
const ORDER: ReadonlyArray<keyof CompletionsResult> = [
  "api_key_id",
  "model",
  "project_id",
  "user_id",
  "batch",
  "service_tier",
];

function compareResults(a: CompletionsResult, b: CompletionsResult): number {
  for (const key of ORDER) {
    const x = a[key] === null ? "" : String(a[key]);
    const y = b[key] === null ? "" : String(b[key]);
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function emptyResult(event: StoredEvent, groupBy: GroupField[]): CompletionsResult {
  const grouped = (field: GroupField) =>
    groupBy.includes(field) ? groupValue(event, field) : null;
  return {
    object: "organization.usage.completions.result",
    input_tokens: 0,
    input_cached_tokens: 0,
    input_cache_write_tokens: 0,
    input_uncached_tokens: 0,
    output_tokens: 0,
    input_text_tokens: 0,
    output_text_tokens: 0,
    input_cached_text_tokens: 0,
    input_audio_tokens: 0,
    input_cached_audio_tokens: 0,
    output_audio_tokens: 0,
    input_image_tokens: 0,
    input_cached_image_tokens: 0,
    output_image_tokens: 0,
    num_model_requests: 0,
    project_id: grouped("project_id") as string | null,
    user_id: grouped("user_id") as string | null,
    api_key_id: grouped("api_key_id") as string | null,
    model: grouped("model") as string | null,
    batch: grouped("batch") as boolean | null,
    service_tier: grouped("service_tier") as string | null,
  };
}

export class EventStore {
  #events: StoredEvent[] = [];
  #sorted = true;

  set(events: UsageEvent[]): void {
    this.#events = events.map(normalize);
    this.#sorted = false;
  }

  add(events: UsageEvent[]): void {
    for (const event of events) this.#events.push(normalize(event));
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

  /** Number of time buckets in the query's whole range (at least one). */
  #bucketCount(query: UsageQuery, now: number): number {
    const { startTime, widthSeconds } = query;
    let end: number;
    if (query.endTime !== undefined) {
      end = query.endTime;
    } else if (Number.isFinite(now)) {
      // Up to and including the bucket that contains the server's "now".
      end = startTime + (Math.floor((now - startTime) / widthSeconds) + 1) * widthSeconds;
    } else {
      const events = this.ordered();
      const last = events[events.length - 1];
      end = last === undefined ? startTime : last.completedAt + widthSeconds;
    }
    return Math.max(1, Math.ceil((end - startTime) / widthSeconds));
  }

  /** One page of the query's answer at server time settings.now. */
  page(query: UsageQuery, settings: PageSettings): UsagePage {
    const { now } = settings;
    const { startTime, widthSeconds: w, groupBy } = query;
    const total = this.#bucketCount(query, now);
    const perPage = Math.min(query.limit, settings.maxBucketsPerPage ?? Number.POSITIVE_INFINITY);
    const first = Math.min(query.offset, total);
    const last = Math.min(first + perPage, total); // exclusive bucket index
    const rangeEnd = query.endTime ?? Number.POSITIVE_INFINITY;

    const buckets: Array<Map<string, CompletionsResult>> = [];
    for (let i = first; i < last; i++) buckets.push(new Map());

    const pageStart = startTime + first * w;
    const pageEnd = Math.min(startTime + last * w, rangeEnd);
    const events = this.ordered();
    const filters = {
      projectIds: query.projectIds.length > 0 ? new Set(query.projectIds) : undefined,
      userIds: query.userIds.length > 0 ? new Set(query.userIds) : undefined,
      apiKeyIds: query.apiKeyIds.length > 0 ? new Set(query.apiKeyIds) : undefined,
      models: query.models.length > 0 ? new Set(query.models) : undefined,
    };
    for (let i = lowerBound(events, pageStart); i < events.length; i++) {
      const event = events[i]!;
      if (event.completedAt >= pageEnd) break;
      if (now < (event.visibleAt ?? event.completedAt + settings.lagSeconds)) continue;
      if (filters.projectIds && !filters.projectIds.has(event.projectId)) continue;
      if (filters.userIds && (event.userId === null || !filters.userIds.has(event.userId)))
        continue;
      if (filters.apiKeyIds && !filters.apiKeyIds.has(event.apiKeyId)) continue;
      if (filters.models && !filters.models.has(event.model)) continue;
      if (query.batch !== undefined && event.batch !== query.batch) continue;

      const bucket = buckets[Math.floor((event.completedAt - pageStart) / w)]!;
      const key = JSON.stringify(groupBy.map((field) => groupValue(event, field)));
      let result = bucket.get(key);
      if (result === undefined) {
        result = emptyResult(event, groupBy);
        bucket.set(key, result);
      }
      const values = valuesAt(event, now);
      result.input_tokens += values.inputTokens;
      result.input_cached_tokens += values.cachedTokens;
      result.output_tokens += values.outputTokens;
      result.num_model_requests += values.requests;
    }

    const data: UsageBucket[] = [];
    buckets.forEach((bucket, i) => {
      if (bucket.size === 0 && settings.emptyBuckets === "omit") return;
      const start = pageStart + i * w;
      const results = [...bucket.values()].sort(compareResults);
      for (const r of results) {
        r.input_uncached_tokens = r.input_tokens - r.input_cached_tokens;
        r.input_text_tokens = r.input_uncached_tokens;
        r.input_cached_text_tokens = r.input_cached_tokens;
        r.output_text_tokens = r.output_tokens;
      }
      data.push({
        object: "bucket",
        start_time: start,
        end_time: Math.min(start + w, rangeEnd),
        results,
      });
    });

    return finishPage(data, last, total, query.hash);
  }
}

/** A page of buckets: more follow while the last bucket served is before the total. */
export function finishPage<R>(
  data: Bucket<R>[],
  last: number,
  total: number,
  hash: string,
): Page<R> {
  const hasMore = last < total;
  return {
    object: "page",
    data,
    has_more: hasMore,
    next_page: hasMore ? encodeCursor(last, hash) : null,
  };
}
