/**
 * The fake Costs endpoint (`GET /v1/organization/costs`): the stored events priced per line item
 * with exact decimal arithmetic, aggregated into day buckets; plus `expectedCosts`, the same
 * figures per (UTC day, API key, line item) for tests to compare against.
 */
import type { CostsGroupField, CostsQuery } from "./query.ts";
import {
  type Bucket,
  type EventStore,
  finishPage,
  lowerBound,
  normalize,
  type Page,
  type StoredEvent,
  type Values,
  valuesAt,
} from "./store.ts";
import type { CostsOptions, TokenPrices, UsageEvent } from "./types.ts";

const DAY = 86_400;
/** amount.value carries at most this many decimals (rounded half away from zero, once, at the end). */
const AMOUNT_DECIMALS = 12;

// --- Exact decimals -------------------------------------------------------------------------

/** An exact decimal: n / 10^scale. */
export interface Decimal {
  n: bigint;
  scale: number;
}

const ZERO: Decimal = { n: 0n, scale: 0 };
const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i;

/**
 * The exact value of a decimal string, or of a number by its shortest decimal string
 * (`0.15` → 15/100, `1e-7` → 1/10^7): no binary floating-point noise survives.
 */
export function toDecimal(value: number | string): Decimal {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new Error(`Not a finite number: ${value}.`);
  }
  const text = typeof value === "number" ? String(value) : value.trim();
  const match = DECIMAL_TEXT.exec(text);
  const [, sign = "", int = "", frac = "", exp = "0"] = match ?? [];
  if (match === null || `${int}${frac}` === "") {
    throw new Error(`Not a decimal number: '${text}'.`);
  }
  let n = BigInt(`${int}${frac}`);
  let scale = frac.length - Number(exp);
  if (scale < 0) {
    n *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { n: sign === "-" ? -n : n, scale };
}

export function addDecimal(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return {
    n: a.n * 10n ** BigInt(scale - a.scale) + b.n * 10n ** BigInt(scale - b.scale),
    scale,
  };
}

export function mulDecimal(a: Decimal, b: Decimal): Decimal {
  return { n: a.n * b.n, scale: a.scale + b.scale };
}

/** Plain decimal notation, at most `decimals` decimals (half away from zero), no trailing zeros. */
export function formatDecimal(value: Decimal, decimals = AMOUNT_DECIMALS): string {
  let { n, scale } = value;
  if (scale > decimals) {
    const divisor = 10n ** BigInt(scale - decimals);
    const abs = n < 0n ? -n : n;
    let q = abs / divisor;
    if ((abs % divisor) * 2n >= divisor) q += 1n;
    n = n < 0n ? -q : q;
    scale = decimals;
  }
  const negative = n < 0n;
  const digits = (negative ? -n : n).toString().padStart(scale + 1, "0");
  const int = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale).replace(/0+$/, "");
  const text = frac === "" ? int : `${int}.${frac}`;
  return negative && text !== "0" ? `-${text}` : text;
}

/** The exact sum of decimal strings (e.g. amount values), formatted like amount.value. */
export function sumDecimalStrings(values: Iterable<string>): string {
  let total = ZERO;
  for (const value of values) total = addDecimal(total, toDecimal(value));
  return formatDecimal(total);
}

// --- Cost lines -----------------------------------------------------------------------------

/** One priced line before aggregation: an event's input, cached input or output, or an extra line. */
export interface CostLine {
  apiKeyId: string;
  projectId: string;
  lineItem: string;
  /** Unix seconds placing the line in a bucket (the event's completedAt, or the extra line's at). */
  at: number;
  /** Exact USD, restatements applied. */
  amount: Decimal;
  /** Tokens, or null for extra lines. */
  quantity: number | null;
}

type CompiledPrices = { [K in keyof TokenPrices]-?: Decimal | undefined } & {
  input: Decimal;
  cachedInput: Decimal;
  output: Decimal;
};

const PRICE_KEYS = [
  "input",
  "cachedInput",
  "output",
  "cacheWrite",
  "audioInput",
  "imageInput",
  "audioOutput",
  "imageOutput",
] as const satisfies ReadonlyArray<keyof TokenPrices>;

/**
 * An event's cost lines: tokens of each class, under line items shaped like the Costs API's
 * (`<model>[ <modality>], <direction>`: "gpt-4o-mini, input", "gpt-4o audio, output",
 * "gpt-4o-mini, cache writes").
 */
function classLines(
  model: string,
  v: Values,
  price: CompiledPrices,
): Array<[string, number, Decimal | undefined]> {
  const uncached = v.inputTokens - v.cachedTokens - v.cacheWriteTokens;
  return [
    [`${model}, input`, uncached - v.audioInputTokens - v.imageInputTokens, price.input],
    [`${model}, cached input`, v.cachedTokens, price.cachedInput],
    [`${model}, cache writes`, v.cacheWriteTokens, price.cacheWrite],
    [`${model} audio, input`, v.audioInputTokens, price.audioInput],
    [`${model} image, input`, v.imageInputTokens, price.imageInput],
    [`${model}, output`, v.outputTokens - v.audioOutputTokens - v.imageOutputTokens, price.output],
    [`${model} audio, output`, v.audioOutputTokens, price.audioOutput],
    [`${model} image, output`, v.imageOutputTokens, price.imageOutput],
  ];
}

const dayOf = (t: number) => Math.floor(t / DAY) * DAY;
const restatementKey = (apiKeyId: string, day: number) => `${apiKeyId}\n${day}`;

/** The costs options, validated and converted to exact decimals once. */
export class CostBook {
  readonly amountAs: "string" | "number";
  readonly quantities: "with-unit" | "without-unit" | "absent";
  readonly #prices = new Map<string, CompiledPrices>();
  readonly #lagSeconds: number;
  readonly #extras: Array<Omit<CostLine, "amount" | "quantity"> & { amount: Decimal }>;
  readonly #restatements: Array<{ key: string; at: number; factor: Decimal }>;

  constructor(options: CostsOptions) {
    for (const [model, price] of Object.entries(options.prices)) {
      const compiled = Object.fromEntries(
        PRICE_KEYS.map((k) => [k, price[k] === undefined ? undefined : toDecimal(price[k])]),
      ) as CompiledPrices;
      if (Object.values(compiled).some((d) => d !== undefined && d.n < 0n)) {
        throw new Error(`Negative price for model '${model}'.`);
      }
      this.#prices.set(model, compiled);
    }
    this.#lagSeconds = options.lagSeconds ?? 0;
    if (!(this.#lagSeconds >= 0)) throw new Error("costs.lagSeconds must be non-negative.");
    this.amountAs = options.amountAs ?? "string";
    this.quantities = options.quantities ?? "with-unit";
    this.#extras = (options.extraLines ?? [])
      .map((line) => ({
        apiKeyId: line.apiKeyId,
        projectId: line.projectId ?? "proj_default",
        lineItem: line.lineItem,
        at: line.at,
        amount: toDecimal(line.amount),
      }))
      .sort((a, b) => a.at - b.at);
    this.#restatements = (options.restatements ?? []).map((r) => ({
      key: restatementKey(r.apiKeyId, dayOf(r.day)),
      at: r.at,
      factor: toDecimal(r.factor),
    }));
  }

  /** The latest time any extra line is placed at, or -Infinity. */
  lastExtraAt(): number {
    return this.#extras[this.#extras.length - 1]?.at ?? Number.NEGATIVE_INFINITY;
  }

  /**
   * Every cost line placed in [from, to) and visible at server time `now` (now ≥ its time +
   * lagSeconds), with the restatements whose time has come (now ≥ at) applied. `events` must be
   * sorted by completedAt. Events are priced with the token counts they report at `now` (their
   * latest applicable revision). An event whose model has no price yields no line: it is absent
   * from the costs, as if the API had not billed it (the real API would bill it).
   */
  lines(events: StoredEvent[], from: number, to: number, now: number): CostLine[] {
    const factors = new Map<string, Decimal>();
    for (const r of this.#restatements) {
      if (now < r.at) continue;
      factors.set(r.key, mulDecimal(factors.get(r.key) ?? { n: 1n, scale: 0 }, r.factor));
    }
    const restated = (line: CostLine): CostLine => {
      const factor = factors.get(restatementKey(line.apiKeyId, dayOf(line.at)));
      return factor === undefined ? line : { ...line, amount: mulDecimal(line.amount, factor) };
    };

    const out: CostLine[] = [];
    const start = Number.isFinite(from) ? lowerBound(events, from) : 0;
    for (let i = start; i < events.length; i++) {
      const event = events[i]!;
      if (event.completedAt >= to) break;
      if (now < event.completedAt + this.#lagSeconds) continue;
      const price = this.#prices.get(event.model);
      if (price === undefined) continue; // unpriced model: no line (see above)
      const values = valuesAt(event, now);
      for (const [lineItem, tokens, perMillion] of classLines(event.model, values, price)) {
        // a class without a price gets no line, like an unpriced model
        if (tokens <= 0 || perMillion === undefined) continue;
        const amount = mulDecimal({ n: BigInt(tokens), scale: 6 }, perMillion); // tokens / 1e6 × price
        out.push(
          restated({
            apiKeyId: event.apiKeyId,
            projectId: event.projectId,
            lineItem,
            at: event.completedAt,
            amount,
            quantity: tokens,
          }),
        );
      }
    }
    for (const extra of this.#extras) {
      if (extra.at < from || extra.at >= to) continue;
      if (now < extra.at + this.#lagSeconds) continue;
      out.push(restated({ ...extra, quantity: null }));
    }
    return out;
  }
}

// --- The endpoint ---------------------------------------------------------------------------

export interface CostsResult {
  object: "organization.costs.result";
  amount: { value: string | number; currency: "usd" };
  line_item: string | null;
  project_id: string | null;
  api_key_id: string | null;
  /** Left out with costs.quantities "absent". */
  quantity?: number | null;
  /** Left out with costs.quantities "without-unit" or "absent" (as before 2026-08). */
  quantity_unit?: string | null;
}

export type CostsPage = Page<CostsResult>;

export interface CostsPageSettings {
  now: number;
  emptyBuckets: "include" | "omit";
  maxBucketsPerPage: number | undefined;
}

interface Accumulator {
  result: CostsResult;
  amount: Decimal;
  quantity: number | null;
  allTokens: boolean;
}

function groupValue(line: CostLine, field: CostsGroupField): string {
  switch (field) {
    case "project_id":
      return line.projectId;
    case "line_item":
      return line.lineItem;
    case "api_key_id":
      return line.apiKeyId;
  }
}

const ORDER = ["api_key_id", "project_id", "line_item"] as const;

function compareResults(a: CostsResult, b: CostsResult): number {
  for (const key of ORDER) {
    const x = a[key] ?? "";
    const y = b[key] ?? "";
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Number of day buckets in the query's whole range (at least one), as for usage. */
function bucketCount(
  store: EventStore,
  book: CostBook | undefined,
  query: CostsQuery,
  now: number,
): number {
  const { startTime, widthSeconds } = query;
  let end: number;
  if (query.endTime !== undefined) {
    end = query.endTime;
  } else if (Number.isFinite(now)) {
    end = startTime + (Math.floor((now - startTime) / widthSeconds) + 1) * widthSeconds;
  } else {
    const events = store.ordered();
    const last = Math.max(
      events[events.length - 1]?.completedAt ?? Number.NEGATIVE_INFINITY,
      book?.lastExtraAt() ?? Number.NEGATIVE_INFINITY,
    );
    end = Number.isFinite(last) ? last + widthSeconds : startTime;
  }
  return Math.max(1, Math.ceil((end - startTime) / widthSeconds));
}

/** One page of the costs query's answer at server time settings.now. */
export function costsPage(
  store: EventStore,
  book: CostBook | undefined,
  query: CostsQuery,
  settings: CostsPageSettings,
): CostsPage {
  const { now } = settings;
  const { startTime, widthSeconds: w, groupBy } = query;
  const total = bucketCount(store, book, query, now);
  const perPage = Math.min(query.limit, settings.maxBucketsPerPage ?? Number.POSITIVE_INFINITY);
  const first = Math.min(query.offset, total);
  const last = Math.min(first + perPage, total); // exclusive bucket index
  const rangeEnd = query.endTime ?? Number.POSITIVE_INFINITY;
  const pageStart = startTime + first * w;
  const pageEnd = Math.min(startTime + last * w, rangeEnd);

  const buckets: Array<Map<string, Accumulator>> = [];
  for (let i = first; i < last; i++) buckets.push(new Map());

  const projectIds = query.projectIds.length > 0 ? new Set(query.projectIds) : undefined;
  const apiKeyIds = query.apiKeyIds.length > 0 ? new Set(query.apiKeyIds) : undefined;
  const lines = book?.lines(store.ordered(), pageStart, pageEnd, now) ?? [];
  for (const line of lines) {
    if (projectIds && !projectIds.has(line.projectId)) continue;
    if (apiKeyIds && !apiKeyIds.has(line.apiKeyId)) continue;
    const bucket = buckets[Math.floor((line.at - pageStart) / w)]!;
    const key = JSON.stringify(groupBy.map((field) => groupValue(line, field)));
    let acc = bucket.get(key);
    if (acc === undefined) {
      const grouped = (field: CostsGroupField) =>
        groupBy.includes(field) ? groupValue(line, field) : null;
      acc = {
        result: {
          object: "organization.costs.result",
          amount: { value: "0", currency: "usd" },
          line_item: grouped("line_item"),
          project_id: grouped("project_id"),
          api_key_id: grouped("api_key_id"),
          quantity: null,
          quantity_unit: null,
        },
        amount: ZERO,
        quantity: null,
        allTokens: true,
      };
      bucket.set(key, acc);
    }
    acc.amount = addDecimal(acc.amount, line.amount);
    if (line.quantity === null) acc.allTokens = false;
    else acc.quantity = (acc.quantity ?? 0) + line.quantity;
  }

  const data: Array<Bucket<CostsResult>> = [];
  buckets.forEach((bucket, i) => {
    if (bucket.size === 0 && settings.emptyBuckets === "omit") return;
    const start = pageStart + i * w;
    const results = [...bucket.values()].map(({ result, amount, quantity, allTokens }) => {
      const text = formatDecimal(amount);
      result.amount.value = book?.amountAs === "number" ? Number(text) : text;
      // Quantities are only reported per line item, as by the real API.
      if (groupBy.includes("line_item")) {
        result.quantity = quantity;
        result.quantity_unit = allTokens && quantity !== null ? "tokens" : null;
      }
      if (book && book.quantities !== "with-unit") delete result.quantity_unit;
      if (book && book.quantities === "absent") delete result.quantity;
      return result;
    });
    results.sort(compareResults);
    data.push({
      object: "bucket",
      start_time: start,
      end_time: Math.min(start + w, rangeEnd),
      results,
    });
  });

  return finishPage(data, last, total, query.hash);
}

// --- Expected figures for tests -------------------------------------------------------------

interface Accum {
  amount: Decimal;
  quantity: number | null;
}

export interface ExpectedCost {
  /** Start of the UTC day (Unix seconds). */
  day: number;
  apiKeyId: string;
  lineItem: string;
  /** Exact USD as the server's amount.value string would carry it (≤ 12 decimals). */
  amount: string;
  /** Tokens, or null for extra lines. */
  quantity: number | null;
}

/**
 * The exact costs the fake server reports at server time `now` (default: unbounded), per
 * (UTC day, API key, line item), summed over projects, sorted by day, key and line item.
 * Equal to the amounts of a costs query whose start_time is a UTC midnight, grouped by
 * api_key_id and line_item. Lines of unpriced models are absent, as on the server.
 */
export function expectedCosts(
  events: UsageEvent[],
  costs: CostsOptions,
  now: number = Number.POSITIVE_INFINITY,
): ExpectedCost[] {
  const stored = events.map(normalize).sort((a, b) => a.completedAt - b.completedAt);
  const lines = new CostBook(costs).lines(
    stored,
    Number.NEGATIVE_INFINITY,
    Number.POSITIVE_INFINITY,
    now,
  );
  const groups = new Map<string, { day: number; apiKeyId: string; lineItem: string } & Accum>();
  for (const line of lines) {
    const day = dayOf(line.at);
    const key = JSON.stringify([day, line.apiKeyId, line.lineItem]);
    let group = groups.get(key);
    if (group === undefined) {
      group = {
        day,
        apiKeyId: line.apiKeyId,
        lineItem: line.lineItem,
        amount: ZERO,
        quantity: null,
      };
      groups.set(key, group);
    }
    group.amount = addDecimal(group.amount, line.amount);
    if (line.quantity !== null) group.quantity = (group.quantity ?? 0) + line.quantity;
  }
  return [...groups.values()]
    .map((g) => ({
      day: g.day,
      apiKeyId: g.apiKeyId,
      lineItem: g.lineItem,
      amount: formatDecimal(g.amount),
      quantity: g.quantity,
    }))
    .sort(
      (a, b) =>
        a.day - b.day ||
        (a.apiKeyId < b.apiKeyId ? -1 : a.apiKeyId > b.apiKeyId ? 1 : 0) ||
        (a.lineItem < b.lineItem ? -1 : a.lineItem > b.lineItem ? 1 : 0),
    );
}
