import { UsageApiError } from "../../errors.ts";
import type { Span } from "../../model.ts";
import type { PageSource } from "../../transport/source.ts";
import { type ReportReader, readSpan } from "../../usage/paginate.ts";
import type { CountNames, SpanFetch, UsageRow } from "../../usage/rows.ts";
import { formatMinute } from "../../util/time.ts";
import { GROUP_BY, MAX_DAY_BUCKETS, MAX_MINUTE_BUCKETS } from "./query.ts";
import { classesOfResult, UsagePageSchema } from "./schema.ts";

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
export const fetchSpan = (
  source: PageSource,
  span: Span,
  apiKeyIds: readonly string[],
  onPage?: () => void,
  bucketWidth: "1m" | "1d" = "1m",
): Promise<SpanFetch> => readSpan(READER, source, span, apiKeyIds, onPage, bucketWidth);

const READER: ReportReader<typeof UsagePageSchema> = {
  schema: UsagePageSchema,
  what: "Usage API",
  groupBy: GROUP_BY,
  limits: { minute: MAX_MINUTE_BUCKETS, day: MAX_DAY_BUCKETS },
  names: COUNT_NAMES,
  rowsOf(bucket) {
    const rows: UsageRow[] = [];
    // named only when something is wrong: naming every minute of every page costs time and
    // fills formatMinute's table
    const where = () => `bucket ${bucket.start_time} (${formatMinute(bucket.start_time)})`;
    const groups = new Set<string>();
    for (const r of bucket.results) {
      if (!r.api_key_id || !r.model) {
        throw new UsageApiError(
          "protocol",
          `${where()} has a result without api_key_id or model although the query groups by them`,
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
          `${where()} has two results for the same group (${r.api_key_id}, ${r.model}, batch ${r.batch ?? null}, tier ${r.service_tier ?? null}); a page that says two things is refused`,
        );
      }
      groups.add(group);
      // each result by the generation of its own fields: a span that crosses the day the API
      // changed them holds buckets of both
      const derived = classesOfResult(r);
      if (derived.problem !== undefined) {
        throw new UsageApiError(
          "protocol",
          `${where()}: the result of ${r.api_key_id}, ${r.model} ${derived.problem}; a page that says two things is refused`,
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
    return rows;
  },
};
