import { describeIssues } from "../runs/schema.ts";
import { formatMinute, MINUTE } from "../util/time.ts";
import { UsageApiError } from "./errors.ts";
import type { Span } from "./plan.ts";
import { GROUP_BY, MAX_MINUTE_BUCKETS, type PageSource } from "./query.ts";
import { UsagePageSchema } from "./schema.ts";

/** One result of one minute bucket: usage of one key and model in that minute. */
export interface UsageRow {
  minute: number;
  apiKeyId: string;
  model: string;
  batch: boolean | null;
  serviceTier: string | null;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  requests: number;
}

export interface SpanFetch {
  rows: UsageRow[];
  pages: number;
}

/** A body that does not match the schema is asked for again this many more times. */
const SCHEMA_RETRIES = 2;

const spanName = (span: Span): string => `${formatMinute(span.start)} – ${formatMinute(span.end)}`;

/**
 * Fetches every page of one span and checks it: schema, bucket alignment, no bucket twice, cursors
 * that move forward. Anything off throws, so a doubtful answer never becomes a reading.
 */
export async function fetchSpan(
  source: PageSource,
  span: Span,
  apiKeyIds: readonly string[],
  onPage?: () => void,
): Promise<SpanFetch> {
  const rows: UsageRow[] = [];
  const seenCursors = new Set<string>();
  const seenMinutes = new Set<number>();
  const maxPages = Math.ceil((span.end - span.start) / MINUTE) + 2;
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    if (pages >= maxPages) {
      throw new UsageApiError(
        "protocol",
        `the Usage API returned more than ${maxPages} pages for ${spanName(span)}; stopped`,
      );
    }
    const request = {
      startTime: span.start,
      endTime: span.end,
      apiKeyIds,
      groupBy: GROUP_BY,
      bucketWidth: "1m" as const,
      limit: MAX_MINUTE_BUCKETS,
      page: cursor,
    };
    let parsed = UsagePageSchema.safeParse(await source.fetchPage(request));
    for (let retry = 0; !parsed.success && retry < SCHEMA_RETRIES; retry++) {
      parsed = UsagePageSchema.safeParse(await source.fetchPage(request));
    }
    if (!parsed.success) {
      throw new UsageApiError(
        "malformed",
        `a page for ${spanName(span)} does not match the Usage API schema: ${describeIssues(parsed.error)}`,
      );
    }
    pages++;
    onPage?.();
    const page = parsed.data;
    for (const bucket of page.data) {
      const where = `bucket ${bucket.start_time} (${formatMinute(bucket.start_time)})`;
      if (bucket.start_time % MINUTE !== 0 || bucket.end_time - bucket.start_time !== MINUTE) {
        throw new UsageApiError(
          "protocol",
          `${where} is not a whole minute (start ${bucket.start_time}, end ${bucket.end_time})`,
        );
      }
      if (bucket.start_time < span.start || bucket.start_time >= span.end) {
        throw new UsageApiError(
          "protocol",
          `${where} lies outside the requested span ${spanName(span)}`,
        );
      }
      if (seenMinutes.has(bucket.start_time))
        throw new UsageApiError("protocol", `${where} was returned twice`);
      seenMinutes.add(bucket.start_time);
      for (const r of bucket.results) {
        if (!r.api_key_id || !r.model) {
          throw new UsageApiError(
            "protocol",
            `${where} has a result without api_key_id or model although the query groups by them`,
          );
        }
        const cached = r.input_cached_tokens ?? 0;
        if (cached > r.input_tokens) {
          throw new UsageApiError(
            "protocol",
            `${where} reports more cached tokens (${cached}) than input tokens (${r.input_tokens})`,
          );
        }
        rows.push({
          minute: bucket.start_time,
          apiKeyId: r.api_key_id,
          model: r.model,
          batch: r.batch ?? null,
          serviceTier: r.service_tier ?? null,
          inputTokens: r.input_tokens,
          cachedTokens: cached,
          outputTokens: r.output_tokens,
          requests: r.num_model_requests,
        });
      }
    }
    if (!page.has_more) return { rows, pages };
    const next = page.next_page;
    if (!next)
      throw new UsageApiError(
        "protocol",
        `a page for ${spanName(span)} has has_more but no next_page cursor`,
      );
    if (seenCursors.has(next) || next === cursor) {
      throw new UsageApiError(
        "protocol",
        `the Usage API repeated the page cursor "${next.slice(0, 40)}" for ${spanName(span)}; stopped instead of looping`,
      );
    }
    seenCursors.add(next);
    cursor = next;
  }
}
