import { z } from "zod";
import { UsageApiError } from "../../errors.ts";
import type { Span } from "../../model.ts";
import type { TokenClass } from "../../token-classes.ts";
import type { PageSource } from "../../transport/source.ts";
import { paginate } from "../../usage/paginate.ts";
import type { CostProblem, CostRow } from "../../usage/provider.ts";
import { parseAmount } from "../../util/decimal.ts";
import { formatMinute } from "../../util/time.ts";
import { MAX_COST_BUCKETS } from "./query.ts";
import { apiName } from "./schema.ts";

/**
 * `GET /organization/costs` (day buckets, grouped by key and line item), after the OpenAPI
 * description: loose objects, `amount.value` a number or a decimal string, `quantity` and
 * `quantity_unit` where the API gives them.
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
  /** What the line bills, in `quantity_unit` (since 2026-08; before, tokens for token lines). */
  quantity: z.number().nullable().optional(),
  quantity_unit: apiName.nullable().optional(),
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

/**
 * Token line items, as the Costs API names them: `<model>[ <modality>], <direction>`
 * ("gpt-4o-mini, input", "gpt-4o-mini, cached input", "gpt-5, cache writes",
 * "gpt-4o audio, output", "gpt-image-1 image, input").
 */
const TOKEN_LINE =
  /^(.+?)(?: (text|audio|image))?, (input|cached input|cache writes?|cache write input|output)$/i;

function tokenClassOf(modality: string, direction: string): TokenClass {
  if (direction === "cached input") return "cached_input";
  if (direction.startsWith("cache write")) return "cache_write_input";
  const input = direction === "input";
  if (modality === "audio") return input ? "audio_input" : "audio_output";
  if (modality === "image") return input ? "image_input" : "image_output";
  return input ? "uncached_text_input" : "text_output";
}

/**
 * The tokens a line's quantity stands for: `tokens` and `1000_tokens` convert, a quantity
 * without `quantity_unit` (answers from before 2026-08) is taken as tokens on a token line; any
 * other unit, a null unit ("no single unit applies"), or a count that is not whole says nothing.
 */
function quantityTokens(quantity: unknown, unit: unknown): number | null {
  if (typeof quantity !== "number") return null;
  const factor = unit === undefined || unit === "tokens" ? 1 : unit === "1000_tokens" ? 1000 : 0;
  const tokens = Math.round(quantity * factor);
  const whole = Math.abs(tokens - quantity * factor) < 1e-6;
  return factor > 0 && whole && Number.isSafeInteger(tokens) && tokens >= 0 ? tokens : null;
}

/** The model and token class a line item bills, and its tokens where the line says. */
export function tokenLineOf(
  lineItem: string,
  quantity: unknown,
  unit: unknown,
): CostRow["token"] | undefined {
  const m = TOKEN_LINE.exec(lineItem);
  if (!m) return undefined;
  return {
    model: m[1]!,
    class: tokenClassOf((m[2] ?? "text").toLowerCase(), m[3]!.toLowerCase()),
    tokens: quantityTokens(quantity, unit),
  };
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
        const token = tokenLineOf(lineItem, r.quantity, r.quantity_unit);
        rows.push({
          day: bucket.start_time,
          apiKeyId: r.api_key_id,
          lineItem,
          amountPico: amount.pico,
          ...(token ? { token } : {}),
        });
      }
    }
  }
  return { rows, problems };
}
