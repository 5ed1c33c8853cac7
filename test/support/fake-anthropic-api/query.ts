/**
 * Parsing and validation of the usage report's and the cost report's query strings, and the
 * opaque page cursor, after the API reference: RFC 3339 `starting_at` (required) and
 * `ending_at`, bucket widths and their limits, `group_by[]` and the array filters.
 */
import { createHash } from "node:crypto";

export type BucketWidth = "1m" | "1h" | "1d";
export const WIDTH_SECONDS: Record<BucketWidth, number> = { "1m": 60, "1h": 3600, "1d": 86_400 };
const LIMITS: Record<BucketWidth, { default: number; max: number }> = {
  "1m": { default: 60, max: 1440 },
  "1h": { default: 24, max: 168 },
  "1d": { default: 7, max: 31 },
};

export type GroupField =
  | "api_key_id"
  | "workspace_id"
  | "model"
  | "service_tier"
  | "context_window"
  | "inference_geo"
  | "speed"
  | "account_id"
  | "service_account_id";
export const GROUP_FIELDS: readonly GroupField[] = [
  "api_key_id",
  "workspace_id",
  "model",
  "service_tier",
  "context_window",
  "inference_geo",
  "speed",
  "account_id",
  "service_account_id",
];
/** Grouping or filtering by speed needs this beta header. */
export const FAST_MODE_BETA = "fast-mode-2026-02-01";

const SERVICE_TIERS = [
  "standard",
  "batch",
  "priority",
  "priority_on_demand",
  "flex",
  "flex_discount",
];
const CONTEXT_WINDOWS = ["0-200k", "200k-1M"];
const INFERENCE_GEOS = ["global", "us", "not_available"];
const SPEEDS = ["standard", "fast"];

export class QueryError extends Error {}

/** RFC 3339 with a time zone, as the API documents its timestamps. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function instant(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  const ms = Date.parse(raw);
  if (!RFC3339.test(raw) || Number.isNaN(ms))
    throw new QueryError(`${name}: Input should be a valid RFC 3339 datetime, got '${raw}'`);
  return Math.floor(ms / 1000);
}

/** Array parameters arrive as `name[]=a&name[]=b` (or `name=a`); both are accepted. */
function arrayParam(query: URLSearchParams, name: string, allowed?: readonly string[]): string[] {
  const values = [...query.getAll(`${name}[]`), ...query.getAll(name)];
  for (const v of values)
    if (allowed && !allowed.includes(v))
      throw new QueryError(
        `${name}: Input should be ${allowed.map((a) => `'${a}'`).join(", ")}; got '${v}'`,
      );
  return values;
}

function limitParam(query: URLSearchParams, bounds: { default: number; max: number }): number {
  const raw = query.get("limit");
  if (raw === null) return bounds.default;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1 || n > bounds.max)
    throw new QueryError(`limit: Input should be an integer from 1 to ${bounds.max}, got '${raw}'`);
  return n;
}

interface Range {
  /** Snapped down to the start of its bucket, as the API snaps it. */
  startTime: number;
  /** Exclusive; undefined when the client left ending_at out. */
  endTime: number | undefined;
}

function rangeParams(query: URLSearchParams, widthSeconds: number): Range {
  const start = instant(query, "starting_at");
  if (start === undefined) throw new QueryError("starting_at: Field required");
  const endTime = instant(query, "ending_at");
  if (endTime !== undefined && endTime <= start)
    throw new QueryError("ending_at: must be after starting_at");
  return { startTime: Math.floor(start / widthSeconds) * widthSeconds, endTime };
}

function digest(parts: unknown[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url").slice(0, 16);
}

function pageParam(query: URLSearchParams, hash: string): { offset: number; cursor?: string } {
  const cursor = query.get("page") ?? undefined;
  return cursor === undefined ? { offset: 0 } : { offset: decodeCursor(cursor, hash), cursor };
}

export interface UsageQuery extends Range {
  width: BucketWidth;
  widthSeconds: number;
  limit: number;
  groupBy: GroupField[];
  filters: {
    apiKeyIds: string[];
    workspaceIds: string[];
    models: string[];
    serviceTiers: string[];
    contextWindows: string[];
    inferenceGeos: string[];
    speeds: string[];
  };
  /** Bucket offset from the cursor (0 for the first page). */
  offset: number;
  /** The raw cursor the client sent, if any. */
  cursor?: string;
  /** Identifies the query apart from `page` and `limit`; bound into cursors. */
  hash: string;
}

/** `GET /v1/organizations/usage_report/messages`. `betas`: the anthropic-beta header's values. */
export function parseUsageQuery(query: URLSearchParams, betas: readonly string[]): UsageQuery {
  const rawWidth = query.get("bucket_width") ?? "1d";
  if (rawWidth !== "1m" && rawWidth !== "1h" && rawWidth !== "1d")
    throw new QueryError(`bucket_width: Input should be '1d', '1h' or '1m', got '${rawWidth}'`);
  const width: BucketWidth = rawWidth;
  const range = rangeParams(query, WIDTH_SECONDS[width]);
  const limit = limitParam(query, LIMITS[width]);
  const groupBy: GroupField[] = [];
  for (const g of arrayParam(query, "group_by", GROUP_FIELDS))
    if (!groupBy.includes(g as GroupField)) groupBy.push(g as GroupField);
  const speeds = arrayParam(query, "speeds", SPEEDS);
  if ((groupBy.includes("speed") || speeds.length > 0) && !betas.includes(FAST_MODE_BETA))
    throw new QueryError(
      `speed: grouping or filtering by speed requires the ${FAST_MODE_BETA} beta`,
    );
  const filters = {
    apiKeyIds: arrayParam(query, "api_key_ids"),
    workspaceIds: arrayParam(query, "workspace_ids"),
    models: arrayParam(query, "models"),
    serviceTiers: arrayParam(query, "service_tiers", SERVICE_TIERS),
    contextWindows: arrayParam(query, "context_window", CONTEXT_WINDOWS),
    inferenceGeos: arrayParam(query, "inference_geos", INFERENCE_GEOS),
    speeds,
  };
  const sorted = Object.values(filters).map((f) => [...f].sort());
  const hash = digest(["usage", range, width, [...groupBy].sort(), sorted]);
  return {
    ...range,
    width,
    widthSeconds: WIDTH_SECONDS[width],
    limit,
    groupBy,
    filters,
    hash,
    ...pageParam(query, hash),
  };
}

export type CostGroupField = "workspace_id" | "description";

export interface CostQuery extends Range {
  widthSeconds: number;
  limit: number;
  groupBy: CostGroupField[];
  offset: number;
  cursor?: string;
  hash: string;
}

/** `GET /v1/organizations/cost_report`: day buckets only, limit 1..31 (default 7), no key filter. */
export function parseCostQuery(query: URLSearchParams): CostQuery {
  const rawWidth = query.get("bucket_width") ?? "1d";
  if (rawWidth !== "1d")
    throw new QueryError(`bucket_width: Input should be '1d', got '${rawWidth}'`);
  const range = rangeParams(query, WIDTH_SECONDS["1d"]);
  const limit = limitParam(query, LIMITS["1d"]);
  const groupBy: CostGroupField[] = [];
  for (const g of arrayParam(query, "group_by", ["workspace_id", "description"]))
    if (!groupBy.includes(g as CostGroupField)) groupBy.push(g as CostGroupField);
  const hash = digest(["cost", range, [...groupBy].sort()]);
  return {
    ...range,
    widthSeconds: WIDTH_SECONDS["1d"],
    limit,
    groupBy,
    hash,
    ...pageParam(query, hash),
  };
}

export function encodeCursor(offset: number, hash: string): string {
  return `page_${Buffer.from(JSON.stringify({ o: offset, q: hash })).toString("base64url")}`;
}

function decodeCursor(cursor: string, hash: string): number {
  const invalid = new QueryError(
    `page: '${cursor.slice(0, 60)}' is not a valid page token for this query`,
  );
  if (!cursor.startsWith("page_")) throw invalid;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor.slice(5), "base64url").toString("utf8"));
  } catch {
    throw invalid;
  }
  const { o, q } = (decoded ?? {}) as { o?: unknown; q?: unknown };
  if (typeof o !== "number" || !Number.isSafeInteger(o) || o < 0 || q !== hash) throw invalid;
  return o;
}
