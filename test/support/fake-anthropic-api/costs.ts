/**
 * The fake cost report (`GET /v1/organizations/cost_report`): the stored events priced per token
 * type in exact decimals, in cents, aggregated into day buckets; plus `expectedCosts`, the same
 * lines for tests to compare against. Like the real endpoint it cannot be filtered or grouped by
 * API key, and Priority Tier (and any tier but standard and batch) is not in it.
 */
import {
  addDecimal,
  type Decimal,
  formatDecimal,
  mulDecimal,
  toDecimal,
} from "../fake-usage-api/costs.ts";
import type { CostQuery } from "./query.ts";
import {
  type Bucket,
  bucketCount,
  bucketTimes,
  type Counts,
  countsAt,
  type EventStore,
  finishPage,
  lowerBound,
  normalize,
  type Page,
  pageBounds,
  type StoredEvent,
} from "./store.ts";
import type { ClaudeTokenPrices, ClaudeUsageEvent, CostsOptions } from "./types.ts";

const DAY = 86_400;
const ZERO: Decimal = { n: 0n, scale: 0 };

/** Each token type of the report, the count it prices and the price it takes. */
const TOKEN_TYPES: ReadonlyArray<{
  type: string;
  label: string;
  count: (c: Counts) => number;
  price: keyof ClaudeTokenPrices;
}> = [
  {
    type: "uncached_input_tokens",
    label: "Input Tokens",
    count: (c) => c.uncached,
    price: "input",
  },
  {
    type: "cache_read_input_tokens",
    label: "Cache Read Input Tokens",
    count: (c) => c.cacheRead,
    price: "cacheRead",
  },
  {
    type: "cache_creation.ephemeral_5m_input_tokens",
    label: "5m Cache Write Input Tokens",
    count: (c) => c.write5m,
    price: "cacheWrite5m",
  },
  {
    type: "cache_creation.ephemeral_1h_input_tokens",
    label: "1h Cache Write Input Tokens",
    count: (c) => c.write1h,
    price: "cacheWrite1h",
  },
  { type: "output_tokens", label: "Output Tokens", count: (c) => c.output, price: "output" },
];

/** One priced line before aggregation. */
export interface CostLine {
  /** Unix seconds placing the line in a day. */
  at: number;
  workspaceId: string | null;
  description: string;
  costType: string;
  tokenType: string | null;
  model: string | null;
  serviceTier: string | null;
  contextWindow: string | null;
  inferenceGeo: string | null;
  /** Exact cents. */
  cents: Decimal;
}

type Compiled = Record<keyof ClaudeTokenPrices, Decimal>;

function compile(prices: Record<string, ClaudeTokenPrices> | undefined): Map<string, Compiled> {
  const out = new Map<string, Compiled>();
  for (const [model, p] of Object.entries(prices ?? {})) {
    const c = Object.fromEntries(
      Object.entries(p).map(([k, v]) => [k, toDecimal(v as number)]),
    ) as Compiled;
    if (Object.values(c).some((d) => d.n < 0n)) throw new Error(`Negative price for ${model}.`);
    out.set(model, c);
  }
  return out;
}

/** USD per 1M tokens × tokens, in cents: tokens × price × 100 / 1e6. */
const centsOf = (tokens: number, usdPer1m: Decimal): Decimal =>
  mulDecimal({ n: BigInt(tokens), scale: 4 }, usdPer1m);

export class CostBook {
  readonly #standard: Map<string, Compiled>;
  readonly #batch: Map<string, Compiled>;
  readonly #searchCents: Decimal;
  readonly #lag: number;
  readonly #extras: CostLine[];

  constructor(options: CostsOptions) {
    this.#standard = compile(options.prices);
    this.#batch = compile(options.batchPrices);
    this.#searchCents = mulDecimal(toDecimal(options.webSearchUsd ?? 0.01), { n: 100n, scale: 0 });
    this.#lag = options.lagSeconds ?? 0;
    this.#extras = (options.extraLines ?? []).map((x) => ({
      at: x.at,
      workspaceId: x.workspaceId ?? null,
      description: x.description,
      costType: x.costType,
      tokenType: null,
      model: null,
      serviceTier: null,
      contextWindow: null,
      inferenceGeo: null,
      cents: toDecimal(x.amountCents),
    }));
  }

  lastExtraAt(): number {
    return Math.max(Number.NEGATIVE_INFINITY, ...this.#extras.map((x) => x.at));
  }

  /**
   * Every cost line in [from, to) visible at server time `now`, events priced with the counts they
   * report then. Events of a model (or tier) without a price, and tiers the report leaves out
   * (priority, flex), add no lines.
   */
  lines(events: readonly StoredEvent[], from: number, to: number, now: number): CostLine[] {
    const out: CostLine[] = [];
    for (let i = Number.isFinite(from) ? lowerBound(events, from) : 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.completedAt >= to) break;
      if (now < e.completedAt + this.#lag) continue;
      if (e.serviceTier !== "standard" && e.serviceTier !== "batch") continue;
      const price = (e.serviceTier === "batch" ? this.#batch : this.#standard).get(e.model);
      if (!price) continue;
      const c = countsAt(e, now);
      const common = {
        at: e.completedAt,
        workspaceId: e.workspaceId,
        costType: "tokens",
        model: e.model,
        serviceTier: e.serviceTier,
        contextWindow: e.contextWindow,
        inferenceGeo: e.inferenceGeo,
      };
      const tier = e.serviceTier === "batch" ? "Batch " : "";
      for (const t of TOKEN_TYPES) {
        const tokens = t.count(c);
        if (tokens <= 0) continue;
        out.push({
          ...common,
          description: `${e.model} ${tier}Usage - ${t.label}`,
          tokenType: t.type,
          cents: centsOf(tokens, price[t.price]),
        });
      }
      if (c.webSearches > 0)
        out.push({
          ...common,
          costType: "web_search",
          description: "Web Search Usage",
          tokenType: null,
          model: null,
          serviceTier: null,
          contextWindow: null,
          cents: mulDecimal({ n: BigInt(c.webSearches), scale: 0 }, this.#searchCents),
        });
    }
    for (const x of this.#extras)
      if (x.at >= from && x.at < to && now >= x.at + this.#lag) out.push(x);
    return out;
  }
}

export interface CostResult {
  amount: string;
  currency: "USD";
  description: string | null;
  cost_type: string | null;
  token_type: string | null;
  model: string | null;
  service_tier: string | null;
  context_window: string | null;
  inference_geo: string | null;
  workspace_id: string | null;
}

export type CostPage = Page<CostResult>;

function resultOf(line: CostLine, groupBy: CostQuery["groupBy"]): CostResult {
  const byDescription = groupBy.includes("description");
  const d = <T>(v: T): T | null => (byDescription ? v : null);
  return {
    amount: "0",
    currency: "USD",
    description: d(line.description),
    cost_type: d(line.costType),
    token_type: d(line.tokenType),
    model: d(line.model),
    service_tier: d(line.serviceTier),
    context_window: d(line.contextWindow),
    inference_geo: d(line.inferenceGeo),
    workspace_id: groupBy.includes("workspace_id") ? line.workspaceId : null,
  };
}

const resultKey = (r: CostResult): string =>
  JSON.stringify([
    r.workspace_id,
    r.description,
    r.cost_type,
    r.token_type,
    r.model,
    r.service_tier,
    r.context_window,
    r.inference_geo,
  ]);

/** One page of the cost report at server time `now`. */
export function costPage(
  store: EventStore,
  book: CostBook | undefined,
  q: CostQuery,
  settings: {
    now: number;
    emptyBuckets: "include" | "omit";
    maxBucketsPerPage: number | undefined;
  },
): CostPage {
  const w = q.widthSeconds;
  const lastAt = Math.max(store.lastAt(), book?.lastExtraAt() ?? Number.NEGATIVE_INFINITY);
  const total = bucketCount(q, settings.now, lastAt);
  const { first, last } = pageBounds(q, total, settings);
  const pageStart = q.startTime + first * w;
  const buckets: Array<Map<string, { result: CostResult; cents: Decimal }>> = [];
  for (let i = first; i < last; i++) buckets.push(new Map());
  for (const line of book?.lines(
    store.ordered(),
    pageStart,
    q.startTime + last * w,
    settings.now,
  ) ?? []) {
    const bucket = buckets[Math.floor((line.at - pageStart) / w)]!;
    const result = resultOf(line, q.groupBy);
    const key = resultKey(result);
    const acc = bucket.get(key) ?? { result, cents: ZERO };
    acc.cents = addDecimal(acc.cents, line.cents);
    bucket.set(key, acc);
  }
  const data: Array<Bucket<CostResult>> = [];
  buckets.forEach((bucket, i) => {
    if (bucket.size === 0 && settings.emptyBuckets === "omit") return;
    const results = [...bucket.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, { result, cents }]) => ({ ...result, amount: formatDecimal(cents) }));
    data.push({ ...bucketTimes(pageStart + i * w, w), results });
  });
  return finishPage(data, last, total, q.hash);
}

export interface ExpectedCost {
  /** Start of the UTC day (Unix seconds). */
  day: number;
  model: string | null;
  costType: string;
  tokenType: string | null;
  serviceTier: string | null;
  /** Exact cents as the report's amount would carry them. */
  cents: string;
}

/**
 * The costs the fake reports at server time `now` (default: unbounded), per UTC day, model, cost
 * type, token type and tier, sorted; lines of unpriced models and of other tiers are absent, as
 * on the server.
 */
export function expectedCosts(
  events: ClaudeUsageEvent[],
  costs: CostsOptions,
  now = Number.POSITIVE_INFINITY,
): ExpectedCost[] {
  const stored = events.map(normalize).sort((a, b) => a.completedAt - b.completedAt);
  const groups = new Map<string, ExpectedCost & { sum: Decimal }>();
  for (const l of new CostBook(costs).lines(stored, -Infinity, Infinity, now)) {
    const day = Math.floor(l.at / DAY) * DAY;
    const key = JSON.stringify([day, l.model, l.costType, l.tokenType, l.serviceTier]);
    const g = groups.get(key) ?? {
      day,
      model: l.model,
      costType: l.costType,
      tokenType: l.tokenType,
      serviceTier: l.serviceTier,
      cents: "",
      sum: ZERO,
    };
    g.sum = addDecimal(g.sum, l.cents);
    groups.set(key, g);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, { sum, ...g }]) => ({ ...g, cents: formatDecimal(sum) }));
}
