import { afterEach, describe, expect, it } from "vitest";
import { classifyResult } from "../src/providers/anthropic/classes.ts";
import {
  CostReportPageSchema,
  ErrorBodySchema,
  UsageReportPageSchema,
  unixSeconds,
} from "../src/providers/anthropic/schema.ts";
import {
  type ClaudeUsageEvent,
  type CostsOptions,
  expectedCosts,
  FAST_MODE_BETA,
  type FakeAnthropicApi,
  type FakeAnthropicApiOptions,
  type FaultContext,
  faultQueue,
  seededFaults,
  startFakeAnthropicApi,
} from "./support/fake-anthropic-api.ts";

/** 2026-08-03T00:00:00Z, aligned to the day. */
const T0 = Date.parse("2026-08-03T00:00:00Z") / 1000;
const MIN = 60;
const HOUR = 3600;
const DAY = 86_400;
const KEY = "sk-ant-admin01-test";
const VERSION = "2023-06-01";
const iso = (t: number) => new Date(t * 1000).toISOString().replace(".000Z", "Z");

interface Result {
  uncached_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
  output_tokens: number;
  server_tool_use: { web_search_requests: number };
  api_key_id: string | null;
  workspace_id: string | null;
  model: string | null;
  service_tier: string | null;
  context_window: string | null;
  inference_geo: string | null;
  speed?: string | null;
}
interface Bucket<R = Result> {
  starting_at: string;
  ending_at: string;
  results: R[];
}
interface Page<R = Result> {
  data: Array<Bucket<R>>;
  has_more: boolean;
  next_page: string | null;
}
interface CostRow {
  amount: string;
  currency: string;
  description: string | null;
  cost_type: string | null;
  token_type: string | null;
  model: string | null;
  service_tier: string | null;
  workspace_id: string | null;
}
interface ErrorJson {
  type: string;
  error: { type: string; message: string };
  request_id: string;
}

const servers: FakeAnthropicApi[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((api) => api.close()));
});

async function start(options?: FakeAnthropicApiOptions): Promise<FakeAnthropicApi> {
  const api = await startFakeAnthropicApi(options);
  servers.push(api);
  return api;
}

const HEADERS = { "x-api-key": KEY, "anthropic-version": VERSION };
const usageUrl = (api: FakeAnthropicApi, query: string) =>
  `${api.baseUrl}/organizations/usage_report/messages?${query}`;
const costUrl = (api: FakeAnthropicApi, query: string) =>
  `${api.baseUrl}/organizations/cost_report?${query}`;

function call(
  api: FakeAnthropicApi,
  query: string,
  headers: Record<string, string> = HEADERS,
  url = usageUrl,
): Promise<Response> {
  return fetch(url(api, query), { headers });
}

async function page<R = Result>(api: FakeAnthropicApi, query: string, url = usageUrl) {
  const res = await call(api, query, HEADERS, url);
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/application\/json/);
  return (await res.json()) as Page<R>;
}

async function errorOf(res: Response, status: number): Promise<ErrorJson> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as ErrorJson;
  // the documented shape, which the provider's schema reads
  expect(ErrorBodySchema.safeParse(body).success).toBe(true);
  expect(body.type).toBe("error");
  expect(body.request_id).toBe(res.headers.get("request-id"));
  return body;
}

async function allPages<R = Result>(api: FakeAnthropicApi, query: string, url = usageUrl) {
  const pages: Array<Page<R>> = [];
  let cursor: string | null = null;
  do {
    const suffix: string = cursor === null ? "" : `&page=${encodeURIComponent(cursor)}`;
    const p: Page<R> = await page<R>(api, query + suffix, url);
    pages.push(p);
    cursor = p.next_page;
    expect(pages.length).toBeLessThan(100);
  } while (cursor !== null);
  return pages;
}

function ev(overrides: Partial<ClaudeUsageEvent> = {}): ClaudeUsageEvent {
  return {
    apiKeyId: "apikey_01A",
    model: "claude-sonnet-4-5-20250929",
    completedAt: T0 + 10,
    uncachedInputTokens: 100,
    cacheReadInputTokens: 1000,
    cacheWrite5mInputTokens: 20,
    cacheWrite1hInputTokens: 5,
    outputTokens: 50,
    ...overrides,
  };
}

const range = (start: number, end: number, width = "1m") =>
  `starting_at=${iso(start)}&ending_at=${iso(end)}&bucket_width=${width}`;

const results = (pages: Page[]) => pages.flatMap((p) => p.data.flatMap((b) => b.results));
const sumOf = (rs: Result[], f: (r: Result) => number) => rs.reduce((s, r) => s + f(r), 0);

describe("authentication and headers", () => {
  it("answers a wrong, missing or bearer admin key with 401 authentication_error", async () => {
    const plans: FaultContext[] = [];
    const api = await start({
      events: [ev()],
      faults: (ctx) => {
        plans.push(ctx);
        return undefined;
      },
    });
    const q = range(T0, T0 + MIN);
    const wrong = await errorOf(
      await call(api, q, { "x-api-key": "sk-ant-admin01-other", "anthropic-version": VERSION }),
      401,
    );
    expect(wrong.error).toEqual({ type: "authentication_error", message: "invalid x-api-key" });
    await errorOf(await call(api, q, { "anthropic-version": VERSION }), 401);
    await errorOf(
      await call(api, q, { Authorization: `Bearer ${KEY}`, "anthropic-version": VERSION }),
      401,
    );
    expect((await call(api, q)).status).toBe(200);
    expect(api.requests.map((r) => [r.authorized, r.status])).toEqual([
      [false, 401],
      [false, 401],
      [false, 401],
      [true, 200],
    ]);
    // faults are planned only for authorized requests, by global request index
    expect(plans.map((p) => p.requestIndex)).toEqual([3]);
  });

  it("requires the anthropic-version header, as the API does", async () => {
    const api = await start();
    const q = range(T0, T0 + MIN);
    const missing = await errorOf(await call(api, q, { "x-api-key": KEY }), 400);
    expect(missing.error).toEqual({
      type: "invalid_request_error",
      message: "anthropic-version: header is required",
    });
    const bad = await errorOf(
      await call(api, q, { "x-api-key": KEY, "anthropic-version": "2099-01-01" }),
      400,
    );
    expect(bad.error.message).toMatch(/not a valid version/);
    expect(api.requests.map((r) => r.version)).toEqual([null, "2099-01-01"]);
  });

  it("answers unknown paths with 404 not_found_error and other methods with 405", async () => {
    const api = await start();
    const res = await fetch(`${api.baseUrl}/organizations/usage_report/claude_code`, {
      headers: HEADERS,
    });
    expect((await errorOf(res, 404)).error.type).toBe("not_found_error");
    const post = await fetch(usageUrl(api, range(T0, T0 + MIN)), {
      method: "POST",
      headers: HEADERS,
    });
    expect((await errorOf(post, 405)).error.type).toBe("invalid_request_error");
  });
});

describe("parameter validation", () => {
  it.each([
    ["", "starting_at"],
    [`starting_at=${T0}`, "starting_at"],
    ["starting_at=2026-08-03", "starting_at"],
    ["starting_at=2026-08-03T00:00:00", "starting_at"],
    [`starting_at=${iso(T0)}&ending_at=${iso(T0)}`, "ending_at"],
    [`starting_at=${iso(T0)}&ending_at=tomorrow`, "ending_at"],
    [`starting_at=${iso(T0)}&bucket_width=5m`, "bucket_width"],
    [`starting_at=${iso(T0)}&bucket_width=1m&limit=1441`, "limit"],
    [`starting_at=${iso(T0)}&bucket_width=1h&limit=169`, "limit"],
    [`starting_at=${iso(T0)}&limit=32`, "limit"],
    [`starting_at=${iso(T0)}&limit=0`, "limit"],
    [`starting_at=${iso(T0)}&limit=ten`, "limit"],
    [`starting_at=${iso(T0)}&group_by[]=project_id`, "group_by"],
    [`starting_at=${iso(T0)}&service_tiers[]=scale`, "service_tiers"],
    [`starting_at=${iso(T0)}&group_by[]=speed`, "speed"],
    [`starting_at=${iso(T0)}&page=page_bogus`, "page"],
  ])("refuses %j with 400 naming %s", async (query, param) => {
    const api = await start();
    const body = await errorOf(await call(api, query), 400);
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toContain(param);
  });

  it.each([
    ["1d", 31],
    ["1h", 168],
    ["1m", 1440],
  ])("accepts the maximum limit for %s", async (width, max) => {
    const api = await start();
    const p = await page(api, `${range(T0, T0 + DAY, width)}&limit=${max}`);
    expect(p.data.length).toBeGreaterThan(0);
  });

  it("defaults to day buckets, seven to a page", async () => {
    const api = await start();
    const p = await page(api, `starting_at=${iso(T0)}&ending_at=${iso(T0 + 10 * DAY)}`);
    expect(p.data.map((b) => b.starting_at)).toEqual(
      [0, 1, 2, 3, 4, 5, 6].map((d) => iso(T0 + d * DAY)),
    );
    expect(p.has_more).toBe(true);
  });

  it("groups by speed only with the fast-mode beta header", async () => {
    const api = await start({ events: [ev({ speed: "fast" }), ev({ completedAt: T0 + 20 })] });
    const res = await fetch(usageUrl(api, `${range(T0, T0 + MIN)}&group_by[]=speed`), {
      headers: { ...HEADERS, "anthropic-beta": FAST_MODE_BETA },
    });
    const p = (await res.json()) as Page;
    expect(p.data[0]!.results.map((r) => [r.speed, r.output_tokens])).toEqual([
      ["fast", 50],
      ["standard", 50],
    ]);
    expect(api.requests[0]!.beta).toBe(FAST_MODE_BETA);
  });
});

describe("usage buckets", () => {
  it("reports one-minute buckets in RFC 3339, grouped, every class summed", async () => {
    const api = await start({
      events: [
        ev(),
        ev({ completedAt: T0 + 59, outputTokens: 7, webSearchRequests: 2 }),
        ev({ completedAt: T0 + 60, model: "claude-haiku-4-5-20251001" }),
        ev({ completedAt: T0 + 61, apiKeyId: "apikey_01B", serviceTier: "batch" }),
      ],
    });
    const p = await page(
      api,
      `${range(T0, T0 + 3 * MIN)}&group_by[]=api_key_id&group_by[]=model&group_by[]=service_tier`,
    );
    expect(p.has_more).toBe(false);
    expect(p.next_page).toBeNull();
    expect(p.data.map((b) => [b.starting_at, b.ending_at, b.results.length])).toEqual([
      ["2026-08-03T00:00:00Z", "2026-08-03T00:01:00Z", 1],
      ["2026-08-03T00:01:00Z", "2026-08-03T00:02:00Z", 2],
      // an empty minute is a bucket with no results, as the reference says
      ["2026-08-03T00:02:00Z", "2026-08-03T00:03:00Z", 0],
    ]);
    expect(p.data[0]!.results[0]).toEqual({
      uncached_input_tokens: 200,
      cache_read_input_tokens: 2000,
      cache_creation: { ephemeral_5m_input_tokens: 40, ephemeral_1h_input_tokens: 10 },
      output_tokens: 57,
      server_tool_use: { web_search_requests: 2 },
      api_key_id: "apikey_01A",
      workspace_id: null,
      model: "claude-sonnet-4-5-20250929",
      service_tier: "standard",
      context_window: null,
      inference_geo: null,
      account_id: null,
      service_account_id: null,
    });
    expect(p.data[1]!.results.map((r) => [r.api_key_id, r.model, r.service_tier])).toEqual([
      ["apikey_01A", "claude-haiku-4-5-20251001", "standard"],
      ["apikey_01B", "claude-sonnet-4-5-20250929", "batch"],
    ]);
    // the provider's schema reads every page the fake sends
    expect(UsageReportPageSchema.safeParse(p).success).toBe(true);
  });

  it("leaves empty buckets out when told to, as some answers do", async () => {
    const api = await start({ events: [ev({ completedAt: T0 + 2 * MIN })], emptyBuckets: "omit" });
    const p = await page(api, range(T0, T0 + 5 * MIN));
    expect(p.data.map((b) => b.starting_at)).toEqual([iso(T0 + 2 * MIN)]);
    expect(p.has_more).toBe(false);
  });

  it("snaps starting_at to the start of its bucket", async () => {
    const api = await start({ events: [ev({ completedAt: T0 + 5 })] });
    const p = await page(
      api,
      `starting_at=${iso(T0 + 30)}&ending_at=${iso(T0 + MIN)}&bucket_width=1m`,
    );
    expect(p.data.map((b) => b.starting_at)).toEqual([iso(T0)]);
    expect(p.data[0]!.results).toHaveLength(1);
  });

  it("filters by api_key_ids[] and reports Console usage without a key", async () => {
    const api = await start({
      events: [ev(), ev({ apiKeyId: "apikey_01B" }), ev({ apiKeyId: null })],
    });
    const grouped = await page(api, `${range(T0, T0 + MIN)}&group_by[]=api_key_id`);
    expect(grouped.data[0]!.results.map((r) => r.api_key_id)).toEqual([
      null,
      "apikey_01A",
      "apikey_01B",
    ]);
    const one = await page(
      api,
      `${range(T0, T0 + MIN)}&group_by[]=api_key_id&api_key_ids[]=apikey_01B&api_key_ids[]=apikey_01C`,
    );
    expect(one.data[0]!.results.map((r) => [r.api_key_id, r.output_tokens])).toEqual([
      ["apikey_01B", 50],
    ]);
    // without grouping, one row per bucket for all keys together
    const all = await page(api, range(T0, T0 + MIN));
    expect(all.data[0]!.results.map((r) => [r.api_key_id, r.output_tokens])).toEqual([[null, 150]]);
  });

  it("filters and groups by the pricing dimensions", async () => {
    const api = await start({
      events: [
        ev({ contextWindow: "200k-1M", inferenceGeo: "us" }),
        ev({ serviceTier: "priority", workspaceId: "wrkspc_01W" }),
        ev(),
      ],
    });
    const dims = "group_by[]=service_tier&group_by[]=context_window&group_by[]=inference_geo";
    const p = await page(api, `${range(T0, T0 + MIN)}&${dims}&group_by[]=workspace_id`);
    expect(
      p.data[0]!.results.map((r) => [
        r.service_tier,
        r.context_window,
        r.inference_geo,
        r.workspace_id,
      ]),
    ).toEqual([
      // ordered by the dimensions in the API's order: the default workspace (null) first
      ["standard", "0-200k", "global", null],
      ["standard", "200k-1M", "us", null],
      ["priority", "0-200k", "global", "wrkspc_01W"],
    ]);
    const us = await page(api, `${range(T0, T0 + MIN)}&inference_geos[]=us&${dims}`);
    expect(us.data[0]!.results).toHaveLength(1);
    const tiers = await page(api, `${range(T0, T0 + MIN)}&service_tiers[]=priority`);
    expect(tiers.data[0]!.results.map((r) => r.output_tokens)).toEqual([50]);
  });

  it("classifies what it reports back to the events' totals", async () => {
    const events = [ev(), ev({ completedAt: T0 + 70, serviceTier: "batch", outputTokens: 3 })];
    const api = await start({ events });
    const p = UsageReportPageSchema.parse(
      await page(
        api,
        `${range(T0, T0 + 2 * MIN)}&group_by[]=api_key_id&group_by[]=model&group_by[]=service_tier&group_by[]=context_window&group_by[]=inference_geo`,
      ),
    );
    const classified = p.data.flatMap((b) =>
      b.results.map((r) => classifyResult(r, unixSeconds(b.starting_at))),
    );
    expect(classified.map((c) => c.unpriced)).toEqual([undefined, undefined]);
    expect(classified.map((c) => c.totals)).toEqual([
      { tokensIn: 1125, tokensOut: 50, cachedTokens: 1000, apiCalls: null, webSearchRequests: 0 },
      { tokensIn: 1125, tokensOut: 3, cachedTokens: 1000, apiCalls: null, webSearchRequests: 0 },
    ]);
    expect(classified[1]!.usage.batch).toBe(true);
  });
});

describe("pages", () => {
  it("follows has_more / next_page over a long span, each minute once, totals intact", async () => {
    // 3000 minutes at 1440 a page: ceil(3000 / 1440) = 3 pages
    const events = Array.from({ length: 300 }, (_, i) =>
      ev({ completedAt: T0 + i * 10 * MIN + 7, outputTokens: i + 1 }),
    );
    const api = await start({ events });
    const pages = await allPages(api, `${range(T0, T0 + 3000 * MIN)}&limit=1440&group_by[]=model`);
    expect(pages).toHaveLength(3);
    expect(pages.map((p) => p.data.length)).toEqual([1440, 1440, 120]);
    const starts = pages.flatMap((p) => p.data.map((b) => unixSeconds(b.starting_at)));
    expect(new Set(starts).size).toBe(3000);
    expect(starts[0]).toBe(T0);
    expect(starts.at(-1)).toBe(T0 + 2999 * MIN);
    expect(sumOf(results(pages), (r) => r.output_tokens)).toBe((300 * 301) / 2);
    expect(pages.at(-1)!.has_more).toBe(false);
  });

  it("serves fewer buckets a page than asked when the server caps them", async () => {
    const api = await start({ events: [ev()], maxBucketsPerPage: 2 });
    const pages = await allPages(api, `${range(T0, T0 + 5 * MIN)}&limit=1440`);
    expect(pages.map((p) => p.data.length)).toEqual([2, 2, 1]);
  });

  it("refuses a cursor from another query", async () => {
    const api = await start();
    const first = await page(api, `${range(T0, T0 + 10 * MIN)}&limit=5`);
    expect(first.next_page).toMatch(/^page_/);
    const other = await call(
      api,
      `${range(T0, T0 + 20 * MIN)}&limit=5&page=${encodeURIComponent(first.next_page!)}`,
    );
    expect((await errorOf(other, 400)).error.message).toContain("page");
    // the same query with another limit keeps its cursor
    const same = await page(
      api,
      `${range(T0, T0 + 10 * MIN)}&limit=3&page=${encodeURIComponent(first.next_page!)}`,
    );
    expect(same.data[0]!.starting_at).toBe(iso(T0 + 5 * MIN));
  });

  it("answers an open-ended query up to the bucket holding the server's now", async () => {
    const api = await start({ events: [ev()], now: () => T0 + 4 * MIN + 30 });
    const p = await page(api, `starting_at=${iso(T0)}&bucket_width=1m&limit=60`);
    expect(p.data.map((b) => b.starting_at)).toEqual([0, 1, 2, 3, 4].map((m) => iso(T0 + m * MIN)));
  });
});

describe("late data and revisions", () => {
  it("shows an event only from its visible time, and its revised counts from theirs", async () => {
    let now = T0 + 2 * MIN;
    const api = await start({
      now: () => now,
      lagSeconds: 5 * MIN,
      events: [
        ev({ outputTokens: 10 }), // visible from T0 + 10 + 300 s
        ev({
          completedAt: T0 + 20,
          visibleAt: T0 + HOUR,
          outputTokens: 1,
          revisions: [{ at: T0 + 2 * HOUR, outputTokens: 2, cacheReadInputTokens: 0 }],
        }),
      ],
    });
    const q = range(T0, T0 + MIN);
    const out = async () => sumOf(results([await page(api, q)]), (r) => r.output_tokens);
    expect(await out()).toBe(0);
    now = T0 + 6 * MIN;
    expect(await out()).toBe(10);
    now = T0 + HOUR;
    expect(await out()).toBe(11);
    now = T0 + 2 * HOUR;
    const revised = (await page(api, q)).data[0]!.results[0]!;
    expect(revised.output_tokens).toBe(12);
    expect(revised.cache_read_input_tokens).toBe(1000); // the revision zeroed the late event's reads
    expect(revised.cache_creation.ephemeral_5m_input_tokens).toBe(40); // left out: kept
  });

  it("adds and replaces events between requests", async () => {
    const api = await start({ events: [ev()] });
    const q = range(T0, T0 + MIN);
    api.addEvents([ev({ outputTokens: 5 })]);
    expect(sumOf(results([await page(api, q)]), (r) => r.output_tokens)).toBe(55);
    api.setEvents([ev({ outputTokens: 1 })]);
    expect(sumOf(results([await page(api, q)]), (r) => r.output_tokens)).toBe(1);
  });
});

describe("faults", () => {
  it.each([
    [429, "rate_limit_error"],
    [500, "api_error"],
    [504, "timeout_error"],
    [529, "overloaded_error"],
  ])("answers %i with the API's %s body", async (status, type) => {
    const api = await start({ faults: faultQueue([{ kind: "status", status, retryAfter: "7" }]) });
    const res = await call(api, range(T0, T0 + MIN));
    expect(res.headers.get("retry-after")).toBe("7");
    expect((await errorOf(res, status)).error.type).toBe(type);
    expect(api.requests[0]!.fault).toBe("status");
    expect((await call(api, range(T0, T0 + MIN))).status).toBe(200);
  });

  it("sends a status with any body, such as a proxy's HTML page", async () => {
    const html = "<html><body>502 Bad Gateway</body></html>";
    const api = await start({ faults: faultQueue([{ kind: "status", status: 502, body: html }]) });
    const res = await call(api, range(T0, T0 + MIN));
    expect(res.status).toBe(502);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    expect(await res.text()).toBe(html);
  });

  it("answers a revoked key with 401, a key without the permission with 403, a spend cap with a 429 that names no wait", async () => {
    const api = await start({
      faults: faultQueue([{ kind: "unauthorized" }, { kind: "forbidden" }, { kind: "spend-cap" }]),
    });
    const q = range(T0, T0 + MIN);
    expect((await errorOf(await call(api, q), 401)).error.type).toBe("authentication_error");
    expect((await errorOf(await call(api, q), 403)).error.type).toBe("permission_error");
    const cap = await call(api, q);
    expect(cap.headers.get("retry-after")).toBeNull();
    expect((await errorOf(cap, 429)).error.message).toMatch(/usage limit/);
  });

  it("resets the connection, truncates the body, or answers late", async () => {
    const api = await start({
      events: [ev()],
      faults: faultQueue([{ kind: "reset" }, { kind: "truncated" }, { kind: "slow", delayMs: 50 }]),
    });
    const q = range(T0, T0 + MIN);
    await expect(call(api, q)).rejects.toThrow();
    const truncated = await call(api, q);
    expect(truncated.status).toBe(200);
    await expect(truncated.json()).rejects.toThrow();
    const slow = await page(api, q);
    expect(slow.data[0]!.results).toHaveLength(1);
    expect(api.requests.map((r) => [r.fault, r.status])).toEqual([
      ["reset", 0],
      ["truncated", 200],
      ["slow", 200],
    ]);
  });

  it.each([
    ["wrong-type", /uncached_input_tokens/],
    ["no-cache-creation", /cache_creation/],
    ["data-not-array", /data/],
  ] as const)("sends valid JSON the schema refuses (%s)", async (variant, path) => {
    const api = await start({
      events: [ev()],
      faults: faultQueue([{ kind: "schema-violation", variant }]),
    });
    const body = await (await call(api, range(T0, T0 + MIN))).json();
    const parsed = UsageReportPageSchema.safeParse(body);
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues.map((i) => i.path))).toMatch(path);
  });

  it("repeats the cursor just sent when told to", async () => {
    const api = await start({
      faults: (ctx) => (ctx.requestIndex === 1 ? { kind: "repeat-cursor" } : undefined),
    });
    const q = `${range(T0, T0 + 10 * MIN)}&limit=5`;
    const first = await page(api, q);
    const again = await page(api, `${q}&page=${encodeURIComponent(first.next_page!)}`);
    expect(again.has_more).toBe(true);
    expect(again.next_page).toBe(first.next_page);
  });

  it("draws the same seeded faults for the same request indices", async () => {
    const plan = seededFaults(42, 0.5, [{ kind: "status", status: 529 }]);
    const draws = (n: number) =>
      Array.from({ length: n }, (_, i) => plan({ requestIndex: i })?.kind ?? "-");
    expect(draws(40)).toEqual(draws(40));
    expect(draws(40).filter((k) => k === "status").length).toBeGreaterThan(5);
  });
});

describe("the cost report", () => {
  const PRICES: CostsOptions = {
    // USD per 1M tokens
    prices: {
      "claude-sonnet-4-5-20250929": {
        input: 3,
        cacheWrite5m: 3.75,
        cacheWrite1h: 6,
        cacheRead: 0.3,
        output: 15,
      },
    },
    batchPrices: {
      "claude-sonnet-4-5-20250929": {
        input: 1.5,
        cacheWrite5m: 1.875,
        cacheWrite1h: 3,
        cacheRead: 0.15,
        output: 7.5,
      },
    },
  };

  it("reports day buckets with amounts in cents as decimal strings, by token type", async () => {
    const events = [
      ev(),
      ev({ completedAt: T0 + HOUR, serviceTier: "batch" }),
      ev({ completedAt: T0 + DAY + 5, webSearchRequests: 3 }),
      ev({ completedAt: T0 + DAY + 6, serviceTier: "priority" }), // not in the cost report
      ev({ completedAt: T0 + DAY + 7, model: "claude-unpriced" }),
    ];
    const api = await start({ events, costs: PRICES });
    const p = await page<CostRow>(
      api,
      `starting_at=${iso(T0)}&ending_at=${iso(T0 + 2 * DAY)}&group_by[]=description`,
      costUrl,
    );
    expect(CostReportPageSchema.safeParse(p).success).toBe(true);
    expect(p.data.map((b) => [b.starting_at, b.ending_at])).toEqual([
      [iso(T0), iso(T0 + DAY)],
      [iso(T0 + DAY), iso(T0 + 2 * DAY)],
    ]);
    const day1 = Object.fromEntries(
      p.data[0]!.results.map((r) => [`${r.service_tier} ${r.token_type}`, r.amount]),
    );
    // standard: 100 × 3 = 300, 1000 × 0.3 = 300, 20 × 3.75 = 75, 5 × 6 = 30, 50 × 15 = 750
    // (USD per 1M tokens × tokens = 1e-6 USD = 1e-4 cents); batch at half
    expect(day1).toEqual({
      "standard uncached_input_tokens": "0.03",
      "standard cache_read_input_tokens": "0.03",
      "standard cache_creation.ephemeral_5m_input_tokens": "0.0075",
      "standard cache_creation.ephemeral_1h_input_tokens": "0.003",
      "standard output_tokens": "0.075",
      "batch uncached_input_tokens": "0.015",
      "batch cache_read_input_tokens": "0.015",
      "batch cache_creation.ephemeral_5m_input_tokens": "0.00375",
      "batch cache_creation.ephemeral_1h_input_tokens": "0.0015",
      "batch output_tokens": "0.0375",
    });
    expect(p.data[0]!.results.every((r) => r.currency === "USD" && r.cost_type === "tokens")).toBe(
      true,
    );
    const searches = p.data[1]!.results.find((r) => r.cost_type === "web_search");
    expect(searches).toMatchObject({ amount: "3", model: null, token_type: null }); // 1 cent each
    // the priority call and the unpriced model add nothing
    expect(p.data[1]!.results.map((r) => r.model)).not.toContain("claude-unpriced");
    expect(p.data[1]!.results.filter((r) => r.service_tier === "priority")).toEqual([]);
  });

  it("totals a day in one row without grouping, and matches expectedCosts", async () => {
    const events = [ev(), ev({ completedAt: T0 + 2 * HOUR, outputTokens: 1234 })];
    const api = await start({ events, costs: PRICES });
    const p = await page<CostRow>(
      api,
      `starting_at=${iso(T0)}&ending_at=${iso(T0 + DAY)}`,
      costUrl,
    );
    expect(p.data[0]!.results).toHaveLength(1);
    expect(p.data[0]!.results[0]).toMatchObject({ description: null, token_type: null });
    const expected = expectedCosts(events, PRICES);
    const cents = expected.reduce((s, e) => s + Number(e.cents), 0);
    expect(Number(p.data[0]!.results[0]!.amount)).toBeCloseTo(cents, 12);
    // 2 × (0.03 + 0.03 + 0.0075 + 0.003) + (50 + 1234) × 15 / 1e4
    expect(p.data[0]!.results[0]!.amount).toBe("2.067");
  });

  it("reports costs late, after their own lag", async () => {
    let now = T0 + MIN;
    const api = await start({
      events: [ev()],
      costs: { ...PRICES, lagSeconds: HOUR },
      now: () => now,
    });
    const q = `starting_at=${iso(T0)}&ending_at=${iso(T0 + DAY)}`;
    expect((await page<CostRow>(api, q, costUrl)).data[0]!.results).toEqual([]);
    now = T0 + HOUR + 10;
    expect((await page<CostRow>(api, q, costUrl)).data[0]!.results).toHaveLength(1);
  });

  it("adds cost lines that have no tokens, such as code execution", async () => {
    const api = await start({
      costs: {
        prices: {},
        extraLines: [
          {
            at: T0 + 100,
            costType: "code_execution",
            description: "Code Execution Usage",
            amountCents: "12.5",
          },
        ],
      },
    });
    const p = await page<CostRow>(
      api,
      `starting_at=${iso(T0)}&ending_at=${iso(T0 + DAY)}&group_by[]=description&group_by[]=workspace_id`,
      costUrl,
    );
    expect(p.data[0]!.results).toEqual([
      expect.objectContaining({ amount: "12.5", cost_type: "code_execution", model: null }),
    ]);
  });

  it.each([
    ["group_by[]=api_key_id", "group_by"],
    ["bucket_width=1h", "bucket_width"],
    ["limit=32", "limit"],
  ])("refuses %s: the report has day buckets only and no key dimension", async (extra, param) => {
    const api = await start({ costs: PRICES });
    const res = await call(api, `starting_at=${iso(T0)}&${extra}`, HEADERS, costUrl);
    expect((await errorOf(res, 400)).error.message).toContain(param);
  });

  it("pages through a month of days", async () => {
    const api = await start({ costs: PRICES, events: [ev({ completedAt: T0 + 40 * DAY })] });
    const pages = await allPages<CostRow>(
      api,
      `starting_at=${iso(T0)}&ending_at=${iso(T0 + 45 * DAY)}&limit=31`,
      costUrl,
    );
    expect(pages.map((p) => p.data.length)).toEqual([31, 14]);
    expect(pages[1]!.data[9]!.results).toHaveLength(1);
  });
});
