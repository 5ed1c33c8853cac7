/**
 * A fake OpenAI Usage API (`GET /v1/organization/usage/completions`) and Costs API
 * (`GET /v1/organization/costs`, the same events priced per line item) served over real HTTP on
 * 127.0.0.1, with scripted events, late data, revised buckets, late and restated costs and
 * injectable faults, hostile ones included (a dripping body, a body without end, a huge error
 * message, a connection cut mid-body, a page that says one thing twice).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { CostBook, type CostsPage, costsPage } from "./fake-usage-api/costs.ts";
import { drip, duplicateFirstRow, hugeBody, resetMidBody } from "./fake-usage-api/hostile.ts";
import { encodeCursor, parseCostsQuery, parseQuery, QueryError } from "./fake-usage-api/query.ts";
import { defaultStatusBody, errorBody, isJson, violateSchema } from "./fake-usage-api/responses.ts";
import { EventStore, type UsagePage } from "./fake-usage-api/store.ts";
import type {
  FakeUsageApi,
  FakeUsageApiOptions,
  FaultPlan,
  RecordedRequest,
} from "./fake-usage-api/types.ts";
import { listenOnLoopback } from "./loopback.ts";

export type { CostsPage, CostsResult, ExpectedCost } from "./fake-usage-api/costs.ts";
export { expectedCosts, sumDecimalStrings } from "./fake-usage-api/costs.ts";
export { faultQueue, seededFaults } from "./fake-usage-api/faults.ts";
export type {
  CostRestatement,
  CostsOptions,
  ExtraCostLine,
  FakeUsageApi,
  FakeUsageApiOptions,
  Fault,
  FaultContext,
  FaultPlan,
  RecordedRequest,
  TokenPrices,
  UsageEvent,
  UsageSchemaOption,
} from "./fake-usage-api/types.ts";

/** The day OpenAI's completions usage gained its token-class fields (spec sync of 2026-07-15). */
export const NEW_USAGE_SCHEMA_AT = Date.UTC(2026, 6, 15) / 1000;

/** Buckets starting before `at` in the 2024-12 generation, from `at` on in the 2026-07 one. */
export const newSchemaFrom =
  (at: number) =>
  (bucketStart: number): "2024-12" | "2026-07" =>
    bucketStart < at ? "2024-12" : "2026-07";

export const COMPLETIONS_PATH = "/v1/organization/usage/completions";
export const COSTS_PATH = "/v1/organization/costs";

export async function startFakeUsageApi(options: FakeUsageApiOptions = {}): Promise<FakeUsageApi> {
  const adminKey = options.adminKey ?? "sk-admin-test";
  const now = options.now ?? (() => Number.POSITIVE_INFINITY);
  const store = new EventStore();
  store.set(options.events ?? []);
  const costBook = options.costs === undefined ? undefined : new CostBook(options.costs);
  let faults: FaultPlan | undefined = options.faults;
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  function send(
    res: ServerResponse,
    record: RecordedRequest,
    status: number,
    body: string,
    headers: Record<string, string> = {},
    contentType = "application/json",
  ): void {
    record.status = status;
    if (res.destroyed) return;
    const bytes = Buffer.from(body, "utf8");
    res.writeHead(status, {
      "Content-Type": contentType,
      "Content-Length": String(bytes.length),
      "X-Request-Id": `req_fake_${record.index}`,
      ...headers,
    });
    res.end(bytes);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const record: RecordedRequest = {
      index: requests.length,
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      authorized: false,
      status: 0,
    };
    requests.push(record);

    const auth = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "");
    if (auth?.[1]?.trim() !== adminKey) {
      send(
        res,
        record,
        401,
        errorBody(
          "Incorrect API key provided. You must use an admin key to access the usage API.",
          "invalid_request_error",
          null,
          "invalid_api_key",
        ),
      );
      return;
    }
    record.authorized = true;

    const fault = faults?.({
      requestIndex: record.index,
      path: url.pathname,
      query: url.searchParams,
    });
    if (fault) record.fault = fault.kind;

    switch (fault?.kind) {
      case "status": {
        const headers: Record<string, string> = {};
        if (fault.retryAfter !== undefined) headers["Retry-After"] = fault.retryAfter;
        const body = fault.body ?? defaultStatusBody(fault.status);
        const type = isJson(body) ? "application/json" : "text/plain; charset=utf-8";
        send(res, record, fault.status, body, headers, type);
        return;
      }
      case "insufficient-quota":
        send(
          res,
          record,
          429,
          errorBody(
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            null,
            "insufficient_quota",
          ),
        );
        return;
      case "unauthorized":
        send(
          res,
          record,
          401,
          errorBody(
            "Your authentication token has expired.",
            "invalid_request_error",
            null,
            "invalid_api_key",
          ),
        );
        return;
      case "forbidden-bare":
        send(
          res,
          record,
          403,
          JSON.stringify({
            error:
              "You have insufficient permissions for this operation. Missing scopes: api.usage.read.",
          }),
        );
        return;
      case "reset":
        record.status = 0;
        req.socket.destroy();
        return;
      case "huge-error":
        send(
          res,
          record,
          fault.status ?? 400,
          errorBody("e".repeat(fault.chars), "invalid_request_error", null, "huge"),
        );
        return;
      case "huge-body":
        hugeBody(res, record, fault.bytes, fault.status ?? 200);
        return;
    }

    if (url.pathname !== COMPLETIONS_PATH && url.pathname !== COSTS_PATH) {
      send(
        res,
        record,
        404,
        errorBody(
          `Unknown request URL: GET ${url.pathname}.`,
          "invalid_request_error",
          null,
          "unknown_url",
        ),
      );
      return;
    }
    if (req.method !== "GET") {
      send(
        res,
        record,
        405,
        errorBody(
          `Method ${req.method} is not allowed for ${url.pathname}.`,
          "invalid_request_error",
        ),
      );
      return;
    }

    let page: UsagePage | CostsPage;
    let sentCursor: string | undefined;
    let firstCursor: string;
    try {
      const settings = {
        now: now(),
        emptyBuckets: options.emptyBuckets ?? "include",
        maxBucketsPerPage: options.maxBucketsPerPage,
      } as const;
      if (url.pathname === COSTS_PATH) {
        const query = parseCostsQuery(url.searchParams);
        sentCursor = query.cursor;
        firstCursor = encodeCursor(0, query.hash);
        page = costsPage(store, costBook, query, settings);
      } else {
        const query = parseQuery(url.searchParams);
        sentCursor = query.cursor;
        firstCursor = encodeCursor(0, query.hash);
        const schema = options.usageSchema ?? "2026-07";
        const generationOf =
          typeof schema === "function"
            ? (start: number) => schema(start, settings.now)
            : () => schema;
        page = store.page(query, {
          ...settings,
          lagSeconds: options.lagSeconds ?? 0,
          generationOf,
        });
      }
    } catch (error) {
      if (!(error instanceof QueryError)) throw error;
      send(
        res,
        record,
        400,
        errorBody(error.message, "invalid_request_error", error.param, "invalid_parameter"),
      );
      return;
    }

    switch (fault?.kind) {
      case "slow": {
        record.status = 200;
        const timer = setTimeout(() => {
          timers.delete(timer);
          send(res, record, 200, JSON.stringify(page));
        }, fault.delayMs);
        timers.add(timer);
        return;
      }
      case "truncated": {
        const full = Buffer.from(JSON.stringify(page), "utf8");
        const half = full.subarray(0, Math.floor(full.length / 2));
        record.status = 200;
        res.writeHead(200, {
          "Content-Type": "application/json",
          "Content-Length": String(half.length),
          "X-Request-Id": `req_fake_${record.index}`,
        });
        res.end(half);
        return;
      }
      case "schema-violation":
        send(res, record, 200, JSON.stringify(violateSchema(page, fault.variant)));
        return;
      case "drip":
        drip(res, record, JSON.stringify(page), fault.intervalMs, timers);
        return;
      case "reset-mid-body":
        resetMidBody(res, record, JSON.stringify(page));
        return;
      case "duplicate-row":
        send(res, record, 200, JSON.stringify(duplicateFirstRow(page)));
        return;
      case "rewrite":
        send(res, record, 200, JSON.stringify(fault.rewrite(page)));
        return;
      case "repeat-cursor":
        send(
          res,
          record,
          200,
          JSON.stringify({ ...page, has_more: true, next_page: sentCursor ?? firstCursor }),
        );
        return;
      default:
        send(res, record, 200, JSON.stringify(page));
    }
  }

  const server = createServer({ keepAlive: true }, (req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) {
        res.writeHead(500, { "Content-Type": "application/json" });
        res.end(errorBody(`Fake server failure: ${message}`, "server_error"));
      }
    }
  });
  const listening = await listenOnLoopback(server, timers);

  return {
    baseUrl: `http://127.0.0.1:${listening.port}/v1`,
    requests,
    setEvents: (events) => store.set(events),
    addEvents: (events) => store.add(events),
    setFaults: (plan) => {
      faults = plan;
    },
    close: listening.close,
  };
}
