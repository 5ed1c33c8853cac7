/** Event storage indexed by time, and aggregation of one page of time buckets. */

import { encodeCursor, type GroupField, type UsageQuery } from "./query.ts";
import type { UsageEvent } from "./types.ts";

/**
 * What an event (or one of its revisions) counts, in the 2026-07 generation's terms: inputTokens
 * is every input token (text, audio, image; uncached, cached and cache writes), cachedTokens every
 * cache read, outputTokens every output token; the other counts are parts of those.
 */
export interface Values {
  inputTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  /** Uncached audio input. */
  audioInputTokens: number;
  cachedAudioTokens: number;
  /** Uncached image input. */
  imageInputTokens: number;
  cachedImageTokens: number;
  outputTokens: number;
  audioOutputTokens: number;
  imageOutputTokens: number;
  requests: number;
}

const VALUE_KEYS = [
  "inputTokens",
  "cachedTokens",
  "cacheWriteTokens",
  "audioInputTokens",
  "cachedAudioTokens",
  "imageInputTokens",
  "cachedImageTokens",
  "outputTokens",
  "audioOutputTokens",
  "imageOutputTokens",
  "requests",
] as const satisfies ReadonlyArray<keyof Values>;

const zeroValues = (): Values =>
  Object.fromEntries(VALUE_KEYS.map((k) => [k, 0])) as unknown as Values;

/** The generations of the completions result the fake can answer in (see usageResult). */
export type UsageGeneration = "2024-12" | "2026-07";

/** Throws when an event's parts exceed their totals: a test's mistake, not a page to serve. */
function checkValues(v: Values, what: string): void {
  const uncached = v.inputTokens - v.cachedTokens - v.cacheWriteTokens;
  const problems = [
    [uncached - v.audioInputTokens - v.imageInputTokens, "uncached input"],
    [v.cachedTokens - v.cachedAudioTokens - v.cachedImageTokens, "cached input"],
    [v.outputTokens - v.audioOutputTokens - v.imageOutputTokens, "output"],
  ].filter(([rest]) => (rest as number) < 0);
  if (problems.length > 0 || VALUE_KEYS.some((k) => !(v[k] >= 0)))
    throw new Error(
      `${what}: its parts exceed its ${problems.map(([, n]) => n).join(", ")} tokens`,
    );
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

/** A completions result: the 2026-07 generation has every field, the 2024-12 one no `?` field. */
export interface CompletionsResult {
  object: "organization.usage.completions.result";
  input_tokens: number;
  input_cached_tokens: number;
  input_cache_write_tokens?: number;
  input_uncached_tokens?: number;
  output_tokens: number;
  input_text_tokens?: number;
  output_text_tokens?: number;
  input_cached_text_tokens?: number;
  input_audio_tokens: number;
  input_cached_audio_tokens?: number;
  output_audio_tokens: number;
  input_image_tokens?: number;
  input_cached_image_tokens?: number;
  output_image_tokens?: number;
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
  /** The generation a bucket starting at `start` is answered in. */
  generationOf: (start: number) => UsageGeneration;
}

export function normalize(event: UsageEvent): StoredEvent {
  const base: Values = { ...zeroValues(), requests: 1 };
  for (const k of VALUE_KEYS) base[k] = event[k] ?? base[k];
  checkValues(base, `event at ${event.completedAt}`);
  const revisions = (event.revisions ?? [])
    .map((r) => {
      const values = { at: r.at, ...base };
      for (const k of VALUE_KEYS) values[k] = r[k] ?? base[k];
      checkValues(values, `revision at ${r.at} of the event at ${event.completedAt}`);
      return values;
    })
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

function identityOf(event: StoredEvent, groupBy: GroupField[]) {
  const grouped = (field: GroupField) =>
    groupBy.includes(field) ? groupValue(event, field) : null;
  return {
    project_id: grouped("project_id") as string | null,
    user_id: grouped("user_id") as string | null,
    api_key_id: grouped("api_key_id") as string | null,
    model: grouped("model") as string | null,
    batch: grouped("batch") as boolean | null,
    service_tier: grouped("service_tier") as string | null,
  };
}

/**
 * A group's summed values as one result of the given generation (SPEC §12, after the OpenAPI
 * descriptions before and after the spec sync of 2026-07-15). 2026-07: every field, input_tokens
 * counting everything, input_audio_tokens and input_image_tokens uncached only. 2024-12:
 * input_tokens is text input including cached text (images were billed as text then, cache writes
 * as uncached input: both are in it), input_cached_tokens cached text, input_audio_tokens audio
 * including cached audio, output_tokens text output, output_audio_tokens audio output.
 */
export function usageResult(
  v: Values,
  identity: ReturnType<typeof identityOf>,
  generation: UsageGeneration,
): CompletionsResult {
  const object = "organization.usage.completions.result" as const;
  if (generation === "2024-12")
    return {
      object,
      input_tokens: v.inputTokens - v.audioInputTokens - v.cachedAudioTokens,
      input_cached_tokens: v.cachedTokens - v.cachedAudioTokens,
      output_tokens: v.outputTokens - v.audioOutputTokens,
      input_audio_tokens: v.audioInputTokens + v.cachedAudioTokens,
      output_audio_tokens: v.audioOutputTokens,
      num_model_requests: v.requests,
      ...identity,
    };
  const uncached = v.inputTokens - v.cachedTokens - v.cacheWriteTokens;
  return {
    object,
    input_tokens: v.inputTokens,
    input_cached_tokens: v.cachedTokens,
    input_cache_write_tokens: v.cacheWriteTokens,
    input_uncached_tokens: uncached,
    output_tokens: v.outputTokens,
    input_text_tokens: uncached - v.audioInputTokens - v.imageInputTokens,
    output_text_tokens: v.outputTokens - v.audioOutputTokens - v.imageOutputTokens,
    input_cached_text_tokens: v.cachedTokens - v.cachedAudioTokens - v.cachedImageTokens,
    input_audio_tokens: v.audioInputTokens,
    input_cached_audio_tokens: v.cachedAudioTokens,
    output_audio_tokens: v.audioOutputTokens,
    input_image_tokens: v.imageInputTokens,
    input_cached_image_tokens: v.cachedImageTokens,
    output_image_tokens: v.imageOutputTokens,
    num_model_requests: v.requests,
    ...identity,
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

    const buckets: Array<Map<string, { identity: ReturnType<typeof identityOf>; sum: Values }>> =
      [];
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
      let group = bucket.get(key);
      if (group === undefined) {
        group = { identity: identityOf(event, groupBy), sum: zeroValues() };
        bucket.set(key, group);
      }
      const values = valuesAt(event, now);
      for (const k of VALUE_KEYS) group.sum[k] += values[k];
    }

    const data: UsageBucket[] = [];
    buckets.forEach((bucket, i) => {
      if (bucket.size === 0 && settings.emptyBuckets === "omit") return;
      const start = pageStart + i * w;
      const generation = settings.generationOf(start);
      const results = [...bucket.values()]
        .map((g) => usageResult(g.sum, g.identity, generation))
        .sort(compareResults);
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
