import type { z } from "zod";
import { UsageApiError } from "../../errors.ts";
import type { Span } from "../../model.ts";
import { describeIssues } from "../../runs/schema.ts";
import type { PageRequest, PageSource } from "../../transport/source.ts";
import { type CountNames, type SpanFetch, sumGuard, type UsageRow } from "../../usage/rows.ts";
import { formatMinute, MINUTE } from "../../util/time.ts";
import { GROUP_BY, MAX_DAY_BUCKETS, MAX_MINUTE_BUCKETS } from "./query.ts";
import { classesOfResult, UsagePageSchema } from "./schema.ts";

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
export const COUNT_NAMES: CountNames = {
  inputTokens: "input_tokens",
  cachedTokens: "input_cached_tokens",
  outputTokens: "output_tokens",
  requests: "num_model_requests",
};

/**
 * Fetches the usage of one span for the given keys, grouped by key, model, batch and service
 * tier, in minute buckets (attribution) or day buckets (cost cross-check), each result with its
 * token classes. A page means one thing (docs/design.md#trust-rules): besides what paginate checks,
 * a group twice in one bucket (adding them up would double a reading), token counts that contradict
 * their totals (more cached than input tokens, parts past their total), or per-key sums past 2^53
 * refuse it.
 */
export async function fetchSpan(
  source: PageSource,
  span: Span,
  apiKeyIds: readonly string[],
  onPage?: () => void,
  bucketWidth: "1m" | "1d" = "1m",
): Promise<SpanFetch> {
  const rows: UsageRow[] = [];
  const guard = sumGuard(COUNT_NAMES);
  let pages = 0;
  const request = {
    startTime: span.start,
    endTime: span.end,
    apiKeyIds,
    groupBy: GROUP_BY,
    bucketWidth,
    limit: bucketWidth === "1d" ? MAX_DAY_BUCKETS : MAX_MINUTE_BUCKETS,
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
        const unsafe = guard(row);
        if (unsafe) throw new UsageApiError("protocol", `${where}: ${unsafe}; the page is refused`);
        rows.push(row);
      }
    }
  }
  return { rows, pages };
}
