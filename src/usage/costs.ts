import { z } from "zod";
import { UsageApiError } from "../errors.ts";
import type { Span } from "../model.ts";
import { parseAmount } from "../util/decimal.ts";
import { formatMinute } from "../util/time.ts";
import { paginate } from "./pages.ts";
import { MAX_COST_BUCKETS, type PageSource } from "./query.ts";
import { apiName } from "./schema.ts";

/**
 * `GET /organization/costs` (day buckets, grouped by key and line item), after the OpenAPI
 * description: loose objects, `amount.value` a number or a decimal string.
 */
export const CostsResultSchema = z.looseObject({
  object: z.string().optional(),
  amount: z.looseObject({
    value: z.union([z.number(), z.string()]),
    currency: z.string().optional(),
  }),
  line_item: apiName.nullable().optional(),
  api_key_id: apiName.nullable().optional(),
  project_id: apiName.nullable().optional(),
});

export const CostsPageSchema = z.looseObject({
  object: z.string().optional(),
  data: z.array(
    z.looseObject({
      object: z.string().optional(),
      start_time: z.int(),
      end_time: z.int(),
      results: z.array(CostsResultSchema),
    }),
  ),
  has_more: z.boolean(),
  next_page: z.string().nullable().optional(),
});

export interface CostRow {
  /** Start of the UTC day. */
  day: number;
  apiKeyId: string;
  lineItem: string;
  /** USD in 1e-12 units, exact. */
  amountPico: bigint;
}

/** A cost line whose amount is not a plain, finite number: that key's day cannot be checked. */
export interface CostProblem {
  day: number;
  apiKeyId: string;
  problem: string;
}

/**
 * Every cost line of the span's days for the given keys. A non-USD amount or a result without a
 * key throws (the page is wrong); an amount that is not plain and finite is that day's problem,
 * never a number.
 */
export async function fetchCosts(
  source: PageSource,
  span: Span,
  apiKeyIds: readonly string[],
  onPage?: () => void,
): Promise<{ rows: CostRow[]; problems: CostProblem[] }> {
  const rows: CostRow[] = [];
  const problems: CostProblem[] = [];
  const request = {
    endpoint: "costs" as const,
    startTime: span.start,
    endTime: span.end,
    apiKeyIds,
    groupBy: ["api_key_id", "line_item"],
    bucketWidth: "1d" as const,
    limit: MAX_COST_BUCKETS,
  };
  for await (const page of paginate(source, request, CostsPageSchema, "Costs API")) {
    onPage?.();
    for (const bucket of page.data) {
      for (const r of bucket.results) {
        const where = `cost bucket ${formatMinute(bucket.start_time)}`;
        const currency = (r.amount.currency ?? "usd").toLowerCase();
        if (currency !== "usd")
          throw new UsageApiError(
            "protocol",
            `${where} is in ${JSON.stringify(currency.slice(0, 20))}, not USD`,
          );
        if (!r.api_key_id)
          throw new UsageApiError(
            "protocol",
            `${where} has a result without api_key_id although the query groups by it`,
          );
        const lineItem = r.line_item ?? "(no line item)";
        const amount = parseAmount(r.amount.value);
        if ("problem" in amount) {
          problems.push({
            day: bucket.start_time,
            apiKeyId: r.api_key_id,
            problem: `line ${JSON.stringify(lineItem.slice(0, 80))}: ${amount.problem}`,
          });
          continue;
        }
        rows.push({
          day: bucket.start_time,
          apiKeyId: r.api_key_id,
          lineItem,
          amountPico: amount.pico,
        });
      }
    }
  }
  return { rows, problems };
}
