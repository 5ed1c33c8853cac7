import { z } from "zod";
import { UsageApiError } from "../../errors.ts";
import type { Span } from "../../model.ts";
import type { ClassTokens } from "../../pricing/usage.ts";
import type { PageSource } from "../../transport/source.ts";
import { type ReportReader, readSpan } from "../../usage/paginate.ts";
import type { CountNames, SpanFetch, UsageRow } from "../../usage/rows.ts";
import { classifyResult, UsageResultError } from "./classes.ts";
import { GROUP_BY, MAX_DAY_BUCKETS, MAX_MINUTE_BUCKETS } from "./query.ts";
import {
  ANTHROPIC_VERSION,
  UsageBucketSchema,
  UsageReportPageSchema,
  unixSeconds,
} from "./schema.ts";

/** The generation of the usage fields a reading's classes come from (docs/design.md#token-classes). */
export const USAGE_SCHEMA = `anthropic-${ANTHROPIC_VERSION}`;

/** A bucket's RFC 3339 bounds as Unix seconds too, so the shared pagination checks apply. */
const withTimes = <T extends { starting_at: string; ending_at: string }>(b: T) => ({
  ...b,
  start_time: unixSeconds(b.starting_at),
  end_time: unixSeconds(b.ending_at),
});

export const TimedUsagePageSchema = UsageReportPageSchema.extend({
  data: z.array(UsageBucketSchema.transform(withTimes)),
});

/** The counts of a row, by the name the API gives them (for messages); there is no request count. */
export const COUNT_NAMES: CountNames = {
  inputTokens: "input tokens (uncached + cache reads + cache writes)",
  cachedTokens: "cache_read_input_tokens",
  outputTokens: "output_tokens",
  requests: "requests",
};

/** Only the classes with tokens (a reading lists no empty class). */
const nonZero = (tokens: ClassTokens): ClassTokens =>
  Object.fromEntries(Object.entries(tokens).filter(([, n]) => (n ?? 0) > 0)) as ClassTokens;

/**
 * Fetches the Messages usage of one span for the given keys from the usage report, grouped by
 * key, model, tier, context band, region and speed, in minute (or day) buckets. A page means one
 * thing (docs/design.md#trust-rules): besides the shared pagination checks, a result without a key or model, a group
 * twice in one bucket, or sums past 2^53 refuse it. Empty minutes come back as `results: []` or
 * not at all; either reads as no usage.
 */
export const fetchSpan = (
  source: PageSource,
  span: Span,
  apiKeyIds: readonly string[],
  onPage?: () => void,
  bucketWidth: "1m" | "1d" = "1m",
): Promise<SpanFetch> => readSpan(READER, source, span, apiKeyIds, onPage, bucketWidth);

const READER: ReportReader<typeof TimedUsagePageSchema> = {
  schema: TimedUsagePageSchema,
  what: "usage report",
  groupBy: GROUP_BY,
  limits: { minute: MAX_MINUTE_BUCKETS, day: MAX_DAY_BUCKETS },
  names: COUNT_NAMES,
  rowsOf(bucket) {
    const rows: UsageRow[] = [];
    const where = `bucket ${bucket.starting_at}`;
    const groups = new Set<string>();
    for (const r of bucket.results) {
      if (!r.api_key_id || !r.model) {
        throw new UsageApiError(
          "protocol",
          `${where} has a result without api_key_id or model although the query groups by them`,
        );
      }
      const dims = [r.service_tier, r.context_window, r.inference_geo, r.speed].map(
        (d) => d ?? null,
      );
      const group = JSON.stringify([r.api_key_id, r.model, ...dims]);
      if (groups.has(group)) {
        throw new UsageApiError(
          "protocol",
          `${where} has two results for the same group (${r.api_key_id}, ${r.model}, ${dims.join(", ")}); a page that says two things is refused`,
        );
      }
      groups.add(group);
      let c: ReturnType<typeof classifyResult>;
      try {
        c = classifyResult(r, bucket.start_time);
      } catch (error) {
        if (!(error instanceof UsageResultError)) throw error;
        throw new UsageApiError("protocol", `${where}: ${error.message}; the page is refused`);
      }
      const row: UsageRow = {
        minute: bucket.start_time,
        apiKeyId: r.api_key_id,
        model: r.model,
        batch: c.usage.batch ?? false,
        serviceTier: c.usage.service_tier ?? null,
        inputTokens: c.totals.tokensIn,
        cachedTokens: c.totals.cachedTokens,
        outputTokens: c.totals.tokensOut,
        requests: null,
        classes: nonZero(c.usage.tokens),
        schema: USAGE_SCHEMA,
        ...(c.unpriced !== undefined ? { unpriced: c.unpriced } : {}),
      };
      rows.push(row);
    }
    return rows;
  },
};
