import type { z } from "zod";
import { TOKEN_CLASS_NAMES } from "../pricing/schema.ts";
import type { ClassTokens } from "../pricing/usage.ts";
import { describeIssues } from "../runs/schema.ts";
import { formatMinute, MINUTE } from "../util/time.ts";
import { UsageApiError } from "./errors.ts";
import type { Span } from "./plan.ts";
import {
  GROUP_BY,
  MAX_DAY_BUCKETS,
  MAX_MINUTE_BUCKETS,
  type PageRequest,
  type PageSource,
} from "./query.ts";
import { classesOfResult, UsagePageSchema } from "./schema.ts";

/** One result of one time bucket: usage of one key and model in that minute (or day). */
export interface UsageRow {
  /** Start of the bucket. */
  minute: number;
  apiKeyId: string;
  model: string;
  batch: boolean | null;
  serviceTier: string | null;
  /** The provider's total input (`input_tokens`): TOK_IN. */
  inputTokens: number;
  /** Cache reads: CACHED_TOKENS. */
  cachedTokens: number;
  outputTokens: number;
  requests: number;
  /** The same usage in disjoint token classes (SPEC §12): only classes with tokens. */
  classes: ClassTokens;
  /** The generation of the API's usage fields the classes were read from (`openai-2026-07`…). */
  schema: string;
}

export interface SpanFetch {
  rows: UsageRow[];
  pages: number;
}

/** A body that does not match the schema is asked for again this many more times. */
const SCHEMA_RETRIES = 2;

export const spanName = (span: Span): string =>
  `${formatMinute(span.start)} – ${formatMinute(span.end)}`;

interface Bucketed {
  data: Array<{ start_time: number; end_time: number }>;
  has_more: boolean;
  next_page?: string | null;
}

/**
 * Every page of one query, following `next_page` to the end: each page validated (asked for
 * again when it does not match the schema), buckets aligned to the width, inside the span and
 * never returned twice, cursors that move forward. Anything off throws, so a doubtful answer
 * never becomes a reading.
 */
export async function* paginate<S extends z.ZodType<Bucketed>>(
  source: PageSource,
  request: Omit<PageRequest, "page">,
  schema: S,
  what: string,
): AsyncGenerator<z.infer<S>> {
  const width = request.bucketWidth === "1d" ? 86_400 : MINUTE;
  const span = { start: request.startTime, end: request.endTime };
  const seenCursors = new Set<string>();
  const seenBuckets = new Set<number>();
  const maxPages = Math.ceil((span.end - span.start) / width) + 2;
  let cursor: string | undefined;
  for (let pages = 0; ; pages++) {
    if (pages >= maxPages) {
      throw new UsageApiError(
        "protocol",
        `the ${what} returned more than ${maxPages} pages for ${spanName(span)}; stopped`,
      );
    }
    const req: PageRequest = { ...request, page: cursor };
    let parsed = schema.safeParse(await source.fetchPage(req));
    for (let retry = 0; !parsed.success && retry < SCHEMA_RETRIES; retry++) {
      parsed = schema.safeParse(await source.fetchPage(req));
    }
    if (!parsed.success) {
      throw new UsageApiError(
        "malformed",
        `a page for ${spanName(span)} does not match the ${what} schema: ${describeIssues(parsed.error)}`,
      );
    }
    const page = parsed.data as Bucketed;
    for (const bucket of page.data) {
      const where = `bucket ${bucket.start_time} (${formatMinute(bucket.start_time)})`;
      if (
        (bucket.start_time - span.start) % width !== 0 ||
        bucket.end_time - bucket.start_time !== width
      ) {
        throw new UsageApiError(
          "protocol",
          `${where} is not a whole ${request.bucketWidth} bucket (start ${bucket.start_time}, end ${bucket.end_time})`,
        );
      }
      if (bucket.start_time < span.start || bucket.start_time >= span.end) {
        throw new UsageApiError(
          "protocol",
          `${where} lies outside the requested span ${spanName(span)}`,
        );
      }
      if (seenBuckets.has(bucket.start_time))
        throw new UsageApiError("protocol", `${where} was returned twice`);
      seenBuckets.add(bucket.start_time);
    }
    yield parsed.data;
    if (!page.has_more) return;
    const next = page.next_page;
    if (!next)
      throw new UsageApiError(
        "protocol",
        `a page for ${spanName(span)} has has_more but no next_page cursor`,
      );
    if (seenCursors.has(next) || next === cursor) {
      throw new UsageApiError(
        "protocol",
        `the ${what} repeated the page cursor "${next.slice(0, 40)}" for ${spanName(span)}; stopped instead of looping`,
      );
    }
    seenCursors.add(next);
    cursor = next;
  }
}

/** The four counts of a row, by the name the API gives them (for messages). */
const COUNTS = [
  ["inputTokens", "input_tokens"],
  ["cachedTokens", "input_cached_tokens"],
  ["outputTokens", "output_tokens"],
  ["requests", "num_model_requests"],
] as const;

/**
 * Sums of each count (and each token class) per API key, kept as rows come in: the first key
 * whose sum passes 2^53 − 1 is named (a run's or a key's total could then no longer be exact, nor
 * be written as a JSON number every reader takes the same way). Every run's window lies inside one
 * span, so a span whose per-key sums are safe has safe per-run sums too.
 */
export function sumGuard(): (row: UsageRow) => string | undefined {
  const sums = new Map<string, number[]>();
  const width = COUNTS.length + TOKEN_CLASS_NAMES.length;
  return (r) => {
    const s = sums.get(r.apiKeyId) ?? new Array<number>(width).fill(0);
    sums.set(r.apiKeyId, s);
    for (let i = 0; i < COUNTS.length; i++) {
      s[i]! += r[COUNTS[i]![0]];
      if (s[i]! > Number.MAX_SAFE_INTEGER)
        return `the ${COUNTS[i]![1]} of ${r.apiKeyId} add up past 2^53 − 1, more than can be counted exactly`;
    }
    for (let k = 0; k < TOKEN_CLASS_NAMES.length; k++) {
      const i = COUNTS.length + k;
      s[i]! += r.classes[TOKEN_CLASS_NAMES[k]!] ?? 0;
      if (s[i]! > Number.MAX_SAFE_INTEGER)
        return `the ${TOKEN_CLASS_NAMES[k]} tokens of ${r.apiKeyId} add up past 2^53 − 1, more than can be counted exactly`;
    }
    return undefined;
  };
}

/**
 * Fetches the usage of one span for the given keys, grouped by key, model, batch and service
 * tier, in minute buckets (attribution) or day buckets (cost cross-check), each result with its
 * token classes. A page means one thing (SPEC §11): besides what paginate checks, a group twice in
 * one bucket (adding them up would double a reading), token counts that contradict their totals
 * (more cached than input tokens, parts past their total), or per-key sums past 2^53 refuse it.
 */
export async function fetchSpan(
  source: PageSource,
  span: Span,
  apiKeyIds: readonly string[],
  onPage?: () => void,
  bucketWidth: "1m" | "1d" = "1m",
): Promise<SpanFetch> {
  const limit = bucketWidth === "1d" ? MAX_DAY_BUCKETS : MAX_MINUTE_BUCKETS;
  const pieces = pageSizedPieces(span, limit * (bucketWidth === "1d" ? 86_400 : MINUTE));
  const fetched = await inOrderAtMost(PAGE_CONCURRENCY, pieces, (piece) =>
    fetchPiece(source, piece, apiKeyIds, onPage, bucketWidth, limit),
  );
  // the sums are checked over the whole span: a run's window may cross pieces
  const guard = sumGuard();
  const rows: UsageRow[] = [];
  let pages = 0;
  for (const piece of fetched) {
    pages += piece.pages;
    for (const row of piece.rows) {
      const unsafe = guard(row);
      if (unsafe)
        throw new UsageApiError(
          "protocol",
          `bucket ${row.minute} (${formatMinute(row.minute)}): ${unsafe}; the page is refused`,
        );
      rows.push(row);
    }
  }
  return { rows, pages };
}

/** Pieces of a span fetched at a time (each one page, normally). */
const PAGE_CONCURRENCY = 4;

/**
 * A span cut into pieces of one page's time each (the last one shorter; an empty span stays whole). Each piece is its own
 * query, so pages that follow one another by cursor can be asked for at once instead: the same
 * number of requests (one page per piece, as the cursor chain has one per page's time), in the
 * time of a few.
 */
export function pageSizedPieces(span: Span, pageSeconds: number): Span[] {
  const pieces: Span[] = [];
  for (let start = span.start; start < span.end; start += pageSeconds)
    pieces.push({ start, end: Math.min(start + pageSeconds, span.end) });
  // a span without time is still asked for as it is: the API says what is wrong with it
  return pieces.length > 0 ? pieces : [span];
}

/**
 * `work` over every item, at most `limit` at a time, results in the items' order. After a failure
 * nothing new starts, and the first error is thrown only once the work under way has settled: no
 * request of a refused span is still running when the caller goes on.
 */
async function inOrderAtMost<T, R>(
  limit: number,
  items: readonly T[],
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i]!);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

/** Every page of one piece of a span (see fetchSpan), its rows unchecked against the sums. */
async function fetchPiece(
  source: PageSource,
  span: Span,
  apiKeyIds: readonly string[],
  onPage: (() => void) | undefined,
  bucketWidth: "1m" | "1d",
  limit: number,
): Promise<SpanFetch> {
  const rows: UsageRow[] = [];
  let pages = 0;
  const request = {
    startTime: span.start,
    endTime: span.end,
    apiKeyIds,
    groupBy: GROUP_BY,
    bucketWidth,
    limit,
  };
  for await (const page of paginate(source, request, UsagePageSchema, "Usage API")) {
    pages++;
    onPage?.();
    for (const bucket of page.data) {
      const where = `bucket ${bucket.start_time} (${formatMinute(bucket.start_time)})`;
      const groups = new Set<string>();
      for (const r of bucket.results) {
        if (!r.api_key_id || !r.model) {
          throw new UsageApiError(
            "protocol",
            `${where} has a result without api_key_id or model although the query groups by them`,
          );
        }
        const group = JSON.stringify([
          r.api_key_id,
          r.model,
          r.batch ?? null,
          r.service_tier ?? null,
        ]);
        if (groups.has(group)) {
          throw new UsageApiError(
            "protocol",
            `${where} has two results for the same group (${r.api_key_id}, ${r.model}, batch ${r.batch ?? null}, tier ${r.service_tier ?? null}); a page that says two things is refused`,
          );
        }
        groups.add(group);
        // each result by the generation of its own fields: a span that crosses the day the API
        // changed them holds buckets of both
        const derived = classesOfResult(r);
        if (derived.problem !== undefined) {
          throw new UsageApiError(
            "protocol",
            `${where}: the result of ${r.api_key_id}, ${r.model} ${derived.problem}; a page that says two things is refused`,
          );
        }
        const row: UsageRow = {
          minute: bucket.start_time,
          apiKeyId: r.api_key_id,
          model: r.model,
          batch: r.batch ?? null,
          serviceTier: r.service_tier ?? null,
          inputTokens: r.input_tokens,
          cachedTokens: r.input_cached_tokens ?? 0,
          outputTokens: r.output_tokens,
          requests: r.num_model_requests,
          classes: derived.classes,
          schema: derived.schema,
        };
        rows.push(row);
      }
    }
  }
  return { rows, pages };
}
