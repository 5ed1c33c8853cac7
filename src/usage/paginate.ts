import type { z } from "zod";
import { UsageApiError } from "../errors.ts";
import type { Span } from "../model.ts";
import { describeIssues } from "../runs/schema.ts";
import type { PageRequest, PageSource } from "../transport/source.ts";
import { mapInOrder } from "../util/concurrency.ts";
import { formatMinute, MINUTE } from "../util/time.ts";
import { type CountNames, type SpanFetch, sumGuard, type UsageRow } from "./rows.ts";

/**
 * Following a provider's paginated report of time buckets (docs/design.md#providers): every
 * provider's pages come as `data` buckets, `has_more` and a `next_page` cursor; a provider whose
 * buckets carry their times otherwise (Anthropic's RFC 3339 strings) maps them to Unix seconds in
 * its page schema, so the checks below are the same for all.
 */

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
      // named only when something is wrong: naming every minute of every page costs time and
      // fills formatMinute's table
      const where = () => `bucket ${bucket.start_time} (${formatMinute(bucket.start_time)})`;
      if (
        (bucket.start_time - span.start) % width !== 0 ||
        bucket.end_time - bucket.start_time !== width
      ) {
        throw new UsageApiError(
          "protocol",
          `${where()} is not a whole ${request.bucketWidth} bucket (start ${bucket.start_time}, end ${bucket.end_time})`,
        );
      }
      if (bucket.start_time < span.start || bucket.start_time >= span.end) {
        throw new UsageApiError(
          "protocol",
          `${where()} lies outside the requested span ${spanName(span)}`,
        );
      }
      if (seenBuckets.has(bucket.start_time))
        throw new UsageApiError("protocol", `${where()} was returned twice`);
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

/** Pieces of a span fetched at a time (each one page, normally). */
const PAGE_CONCURRENCY = 4;

/**
 * A span cut into pieces of one page's time each (the last one shorter; an empty span stays
 * whole). Each piece is its own query, so pages that would follow one another by cursor are asked
 * for at once instead: the same number of requests (one page per piece, as the cursor chain has
 * one per page's time), in the time of a few.
 */
export function pageSizedPieces(span: Span, pageSeconds: number): Span[] {
  const pieces: Span[] = [];
  for (let start = span.start; start < span.end; start += pageSeconds)
    pieces.push({ start, end: Math.min(start + pageSeconds, span.end) });
  // a span without time is still asked for as it is: the API says what is wrong with it
  return pieces.length > 0 ? pieces : [span];
}

/** How one provider's usage report is read: its page schema, query and the rows of a bucket. */
export interface ReportReader<S extends z.ZodType<Bucketed>> {
  schema: S;
  /** The report's name in messages. */
  what: string;
  groupBy: readonly string[];
  /** Buckets in one page, by width. */
  limits: { minute: number; day: number };
  names: CountNames;
  /** The rows of one bucket, validated: a bucket that says two things throws UsageApiError. */
  rowsOf(bucket: z.infer<S>["data"][number]): UsageRow[];
}

/**
 * A span's usage for the keys, read as page-sized pieces a few at a time (see pageSizedPieces),
 * every page of a piece followed, in order. The sums are checked over the whole span, since a
 * run's window may cross pieces: a row that takes a key's total past 2^53 refuses the span.
 */
export async function readSpan<S extends z.ZodType<Bucketed>>(
  reader: ReportReader<S>,
  source: PageSource,
  span: Span,
  apiKeyIds: readonly string[],
  onPage?: () => void,
  bucketWidth: "1m" | "1d" = "1m",
): Promise<SpanFetch> {
  const limit = bucketWidth === "1d" ? reader.limits.day : reader.limits.minute;
  const pageSeconds = limit * (bucketWidth === "1d" ? 86_400 : MINUTE);
  const readPiece = async (piece: Span): Promise<SpanFetch> => {
    const rows: UsageRow[] = [];
    let pages = 0;
    const request = {
      startTime: piece.start,
      endTime: piece.end,
      apiKeyIds,
      groupBy: reader.groupBy,
      bucketWidth,
      limit,
    };
    for await (const page of paginate(source, request, reader.schema, reader.what)) {
      pages++;
      onPage?.();
      for (const bucket of (page as { data: z.infer<S>["data"] }).data)
        for (const row of reader.rowsOf(bucket)) rows.push(row);
    }
    return { rows, pages };
  };
  const fetched = await mapInOrder(pageSizedPieces(span, pageSeconds), PAGE_CONCURRENCY, readPiece);
  const guard = sumGuard(reader.names);
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
