/** Parsing and validation of the completions query, and the opaque page cursor. */
import { createHash } from "node:crypto";

export type BucketWidth = "1m" | "1h" | "1d";
export type GroupField =
  | "project_id"
  | "user_id"
  | "api_key_id"
  | "model"
  | "batch"
  | "service_tier";

export const WIDTH_SECONDS: Record<BucketWidth, number> = { "1m": 60, "1h": 3600, "1d": 86400 };
const LIMITS: Record<BucketWidth, { default: number; max: number }> = {
  "1m": { default: 60, max: 1440 },
  "1h": { default: 24, max: 168 },
  "1d": { default: 7, max: 31 },
};
export const GROUP_FIELDS: readonly GroupField[] = [
  "project_id",
  "user_id",
  "api_key_id",
  "model",
  "batch",
  "service_tier",
];

export interface UsageQuery {
  startTime: number;
  /** Explicit end_time (exclusive), or undefined when the client left it out. */
  endTime: number | undefined;
  width: BucketWidth;
  widthSeconds: number;
  limit: number;
  projectIds: string[];
  userIds: string[];
  apiKeyIds: string[];
  models: string[];
  batch: boolean | undefined;
  groupBy: GroupField[];
  /** Bucket offset from the cursor (0 for the first page). */
  offset: number;
  /** The raw cursor the client sent, if any. */
  cursor: string | undefined;
  /** Identifies the query independently of `page` and `limit`; bound into cursors. */
  hash: string;
}

export class QueryError extends Error {
  readonly param: string | null;
  constructor(message: string, param: string | null) {
    super(message);
    this.param = param;
  }
}

const INTEGER = /^-?\d+$/;

function integerParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  if (!INTEGER.test(raw.trim()) || !Number.isSafeInteger(Number(raw))) {
    throw new QueryError(`Invalid value for '${name}': expected an integer, got '${raw}'.`, name);
  }
  return Number(raw);
}

/** Array parameters arrive as `name=a&name=b` or `name[]=a`; both are accepted. */
function arrayParam(query: URLSearchParams, name: string): string[] {
  return [...query.getAll(name), ...query.getAll(`${name}[]`)];
}

/** `group_by` values, each one of `allowed`, without repeats, in the order given. */
function groupByParam<T extends string>(query: URLSearchParams, allowed: readonly T[]): T[] {
  const groupBy: T[] = [];
  for (const value of arrayParam(query, "group_by")) {
    const field = allowed.find((f) => f === value);
    if (field === undefined) {
      throw new QueryError(
        `Invalid value for 'group_by': '${value}'. Supported values are: ${allowed.join(", ")}.`,
        "group_by",
      );
    }
    if (!groupBy.includes(field)) groupBy.push(field);
  }
  return groupBy;
}

/** start_time (required, non-negative) and end_time (optional, after start_time). */
function parseRange(query: URLSearchParams): { startTime: number; endTime: number | undefined } {
  const startTime = integerParam(query, "start_time");
  if (startTime === undefined) {
    throw new QueryError("Missing required parameter: 'start_time'.", "start_time");
  }
  if (startTime < 0) {
    throw new QueryError("Invalid value for 'start_time': must be non-negative.", "start_time");
  }
  const endTime = integerParam(query, "end_time");
  if (endTime !== undefined && endTime <= startTime) {
    throw new QueryError(
      "Invalid value for 'end_time': must be greater than start_time.",
      "end_time",
    );
  }
  return { startTime, endTime };
}

export function parseQuery(query: URLSearchParams): UsageQuery {
  const { startTime, endTime } = parseRange(query);

  const rawWidth = query.get("bucket_width") ?? "1d";
  if (!(rawWidth === "1m" || rawWidth === "1h" || rawWidth === "1d")) {
    throw new QueryError(
      `Invalid value for 'bucket_width': '${rawWidth}'. Supported values are: '1m', '1h' and '1d'.`,
      "bucket_width",
    );
  }
  const width: BucketWidth = rawWidth;

  const bounds = LIMITS[width];
  const limit = integerParam(query, "limit") ?? bounds.default;
  if (limit < 1 || limit > bounds.max) {
    throw new QueryError(
      `Invalid value for 'limit': ${limit}. With bucket_width=${width} it must be between 1 and ${bounds.max}.`,
      "limit",
    );
  }

  const rawBatch = query.get("batch");
  let batch: boolean | undefined;
  if (rawBatch === "true") batch = true;
  else if (rawBatch === "false") batch = false;
  else if (rawBatch !== null) {
    throw new QueryError(
      `Invalid value for 'batch': expected true or false, got '${rawBatch}'.`,
      "batch",
    );
  }

  const groupBy = groupByParam(query, GROUP_FIELDS);

  const projectIds = arrayParam(query, "project_ids");
  const userIds = arrayParam(query, "user_ids");
  const apiKeyIds = arrayParam(query, "api_key_ids");
  const models = arrayParam(query, "models");

  const canonical = JSON.stringify([
    startTime,
    endTime ?? null,
    width,
    [...projectIds].sort(),
    [...userIds].sort(),
    [...apiKeyIds].sort(),
    [...models].sort(),
    batch ?? null,
    [...groupBy].sort(),
  ]);
  const hash = createHash("sha256").update(canonical).digest("base64url").slice(0, 16);

  const cursor = query.get("page") ?? undefined;
  const offset = cursor === undefined ? 0 : decodeCursor(cursor, hash);

  return {
    startTime,
    endTime,
    width,
    widthSeconds: WIDTH_SECONDS[width],
    limit,
    projectIds,
    userIds,
    apiKeyIds,
    models,
    batch,
    groupBy,
    offset,
    cursor,
    hash,
  };
}

export type CostsGroupField = "project_id" | "line_item" | "api_key_id";
export const COSTS_GROUP_FIELDS: readonly CostsGroupField[] = [
  "project_id",
  "line_item",
  "api_key_id",
];
const COSTS_LIMIT = { default: 7, max: 180 };

export interface CostsQuery {
  startTime: number;
  /** Explicit end_time (exclusive), or undefined when the client left it out. */
  endTime: number | undefined;
  /** Always one day: the Costs endpoint only supports `bucket_width=1d`. */
  widthSeconds: number;
  limit: number;
  projectIds: string[];
  apiKeyIds: string[];
  groupBy: CostsGroupField[];
  /** Bucket offset from the cursor (0 for the first page). */
  offset: number;
  /** The raw cursor the client sent, if any. */
  cursor: string | undefined;
  /** Identifies the query independently of `page` and `limit`; bound into cursors. */
  hash: string;
}

/** Parses `GET /v1/organization/costs`: only 1d buckets, limit 1..180 (default 7). */
export function parseCostsQuery(query: URLSearchParams): CostsQuery {
  const { startTime, endTime } = parseRange(query);

  const rawWidth = query.get("bucket_width") ?? "1d";
  if (rawWidth !== "1d") {
    throw new QueryError(
      `Invalid value for 'bucket_width': '${rawWidth}'. Supported values are: '1d'.`,
      "bucket_width",
    );
  }

  const limit = integerParam(query, "limit") ?? COSTS_LIMIT.default;
  if (limit < 1 || limit > COSTS_LIMIT.max) {
    throw new QueryError(
      `Invalid value for 'limit': ${limit}. It must be between 1 and ${COSTS_LIMIT.max}.`,
      "limit",
    );
  }

  const groupBy = groupByParam(query, COSTS_GROUP_FIELDS);

  const projectIds = arrayParam(query, "project_ids");
  const apiKeyIds = arrayParam(query, "api_key_ids");

  const canonical = JSON.stringify([
    "costs",
    startTime,
    endTime ?? null,
    [...projectIds].sort(),
    [...apiKeyIds].sort(),
    [...groupBy].sort(),
  ]);
  const hash = createHash("sha256").update(canonical).digest("base64url").slice(0, 16);

  const cursor = query.get("page") ?? undefined;
  const offset = cursor === undefined ? 0 : decodeCursor(cursor, hash);

  return {
    startTime,
    endTime,
    widthSeconds: WIDTH_SECONDS["1d"],
    limit,
    projectIds,
    apiKeyIds,
    groupBy,
    offset,
    cursor,
    hash,
  };
}

export function encodeCursor(offset: number, hash: string): string {
  return `page_${Buffer.from(JSON.stringify({ o: offset, q: hash })).toString("base64url")}`;
}

function decodeCursor(cursor: string, hash: string): number {
  const invalid = new QueryError(
    `Invalid value for 'page': '${cursor}' is not a valid cursor for this query.`,
    "page",
  );
  if (!cursor.startsWith("page_")) throw invalid;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor.slice(5), "base64url").toString("utf8"));
  } catch {
    throw invalid;
  }
  if (typeof decoded !== "object" || decoded === null) throw invalid;
  const { o, q } = decoded as { o?: unknown; q?: unknown };
  if (typeof o !== "number" || !Number.isSafeInteger(o) || o < 0 || q !== hash) throw invalid;
  return o;
}
