/**
 * A fake Anthropic Admin API: the Messages usage report
 * (`GET /v1/organizations/usage_report/messages`) and the cost report
 * (`GET /v1/organizations/cost_report`) served over real HTTP on 127.0.0.1, from scripted Claude
 * usage events, with late data, revised buckets, empty buckets included or left out, the API's
 * error shapes and injectable faults. Built from the API reference; see types.ts for the options.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { CostBook, type CostPage, costPage } from "./fake-anthropic-api/costs.ts";
import {
  encodeCursor,
  parseCostQuery,
  parseUsageQuery,
  QueryError,
} from "./fake-anthropic-api/query.ts";
import {
  defaultStatusBody,
  errorBody,
  isJson,
  violateSchema,
} from "./fake-anthropic-api/responses.ts";
import { EventStore, type Page, type UsageResult } from "./fake-anthropic-api/store.ts";
import type {
  ErrorType,
  FakeAnthropicApi,
  FakeAnthropicApiOptions,
  FaultPlan,
  RecordedRequest,
} from "./fake-anthropic-api/types.ts";
import { listenOnLoopback } from "./loopback.ts";

export type { CostResult, ExpectedCost } from "./fake-anthropic-api/costs.ts";
export { expectedCosts } from "./fake-anthropic-api/costs.ts";
export { FAST_MODE_BETA } from "./fake-anthropic-api/query.ts";
export type { UsageResult } from "./fake-anthropic-api/store.ts";
export type {
  ClaudeTokenPrices,
  ClaudeTokens,
  ClaudeUsageEvent,
  CostsOptions,
  ExtraCostLine,
  FakeAnthropicApi,
  FakeAnthropicApiOptions,
  Fault,
  FaultContext,
  FaultPlan,
  RecordedRequest,
} from "./fake-anthropic-api/types.ts";
// the fault plans of the OpenAI fake, typed for this one's faults
export { faultQueue, seededFaults } from "./fake-usage-api/faults.ts";

export const USAGE_REPORT_PATH = "/v1/organizations/usage_report/messages";
export const COST_REPORT_PATH = "/v1/organizations/cost_report";
/** The versions the fake accepts in anthropic-version. */
const VERSIONS = ["2023-06-01", "2023-01-01"];

export async function startFakeAnthropicApi(
  options: FakeAnthropicApiOptions = {},
): Promise<FakeAnthropicApi> {
  const adminKey = options.adminKey ?? "sk-ant-admin01-test";
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
  ): void {
    record.status = status;
    if (res.destroyed) return;
    const bytes = Buffer.from(body, "utf8");
    res.writeHead(status, {
      "content-type": isJson(body) ? "application/json" : "text/html; charset=utf-8",
      "content-length": String(bytes.length),
      "request-id": requestId(record),
      ...headers,
    });
    res.end(bytes);
  }
  const requestId = (record: RecordedRequest) => `req_fake_${record.index}`;
  const fail = (
    res: ServerResponse,
    record: RecordedRequest,
    status: number,
    type: ErrorType,
    message: string,
    headers?: Record<string, string>,
  ) => send(res, record, status, errorBody(type, message, requestId(record)), headers);

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const header = (name: string): string | null => {
      const v = req.headers[name];
      return v === undefined ? null : Array.isArray(v) ? v.join(",") : v;
    };
    const record: RecordedRequest = {
      index: requests.length,
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      version: header("anthropic-version"),
      beta: header("anthropic-beta"),
      authorized: false,
      status: 0,
    };
    requests.push(record);

    if (header("x-api-key") !== adminKey) {
      fail(res, record, 401, "authentication_error", "invalid x-api-key");
      return;
    }
    record.authorized = true;
    if (record.version === null) {
      fail(res, record, 400, "invalid_request_error", "anthropic-version: header is required");
      return;
    }
    if (!VERSIONS.includes(record.version)) {
      fail(
        res,
        record,
        400,
        "invalid_request_error",
        `anthropic-version: '${record.version.slice(0, 40)}' is not a valid version`,
      );
      return;
    }

    const fault = faults?.({
      requestIndex: record.index,
      path: url.pathname,
      query: url.searchParams,
    });
    if (fault) record.fault = fault.kind;
    switch (fault?.kind) {
      case "status": {
        const headers: Record<string, string> = {};
        if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
        send(
          res,
          record,
          fault.status,
          fault.body ?? defaultStatusBody(fault.status, requestId(record)),
          headers,
        );
        return;
      }
      case "unauthorized":
        fail(res, record, 401, "authentication_error", "invalid x-api-key");
        return;
      case "forbidden":
        fail(
          res,
          record,
          403,
          "permission_error",
          "Your API key does not have permission to use the specified resource.",
        );
        return;
      case "spend-cap":
        fail(
          res,
          record,
          429,
          "rate_limit_error",
          "Your organization has reached its monthly usage limit for this usage tier.",
        );
        return;
      case "reset":
        record.status = 0;
        req.socket.destroy();
        return;
    }

    if (url.pathname !== USAGE_REPORT_PATH && url.pathname !== COST_REPORT_PATH) {
      fail(res, record, 404, "not_found_error", "Not Found");
      return;
    }
    if (req.method !== "GET") {
      fail(res, record, 405, "invalid_request_error", `Method ${req.method} not allowed`);
      return;
    }

    let page: Page<UsageResult> | CostPage;
    let firstCursor: string;
    let sentCursor: string | undefined;
    try {
      const settings = {
        now: now(),
        lagSeconds: options.lagSeconds ?? 0,
        emptyBuckets: options.emptyBuckets ?? "include",
        maxBucketsPerPage: options.maxBucketsPerPage,
      };
      if (url.pathname === COST_REPORT_PATH) {
        const q = parseCostQuery(url.searchParams);
        ({ cursor: sentCursor } = q);
        firstCursor = encodeCursor(0, q.hash);
        page = costPage(store, costBook, q, settings);
      } else {
        const betas = (record.beta ?? "").split(",").map((b) => b.trim());
        const q = parseUsageQuery(url.searchParams, betas);
        ({ cursor: sentCursor } = q);
        firstCursor = encodeCursor(0, q.hash);
        page = store.page(q, settings);
      }
    } catch (error) {
      if (!(error instanceof QueryError)) throw error;
      fail(res, record, 400, "invalid_request_error", error.message);
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
          "content-type": "application/json",
          "content-length": String(half.length),
          "request-id": requestId(record),
        });
        res.end(half);
        return;
      }
      case "schema-violation":
        send(res, record, 200, JSON.stringify(violateSchema(page, fault.variant)));
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
        res.writeHead(500, { "content-type": "application/json" });
        res.end(errorBody("api_error", `Fake server failure: ${message}`, "req_fake_failure"));
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
