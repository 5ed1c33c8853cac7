import { afterEach, describe, expect, it } from "vitest";
import { formatDecimal, toDecimal } from "./support/fake-usage-api/costs.ts";
import { mulberry32 } from "./support/fake-usage-api/faults.ts";
import {
  COSTS_PATH,
  type CostsOptions,
  type CostsResult,
  expectedCosts,
  type FakeUsageApi,
  type FakeUsageApiOptions,
  type FaultContext,
  faultQueue,
  startFakeUsageApi,
  sumDecimalStrings,
  type UsageEvent,
} from "./support/fake-usage-api.ts";

/** 2024-11-01T00:00:00Z, aligned to the day. */
const T0 = 1_730_419_200;
const HOUR = 3600;
const DAY = 86_400;
const KEY = "sk-admin-test";
const MINI = "gpt-4o-mini-2024-07-18";
const GPT4O = "gpt-4o-2024-08-06";

interface Bucket {
  object: string;
  start_time: number;
  end_time: number;
  results: CostsResult[];
}
interface Page {
  object: string;
  data: Bucket[];
  has_more: boolean;
  next_page: string | null;
}
interface ErrorJson {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const PRICES: CostsOptions["prices"] = {
  [MINI]: { input: 0.15, cachedInput: 0.075, output: 0.6 },
  [GPT4O]: { input: 2.5, cachedInput: 1.25, output: 10 },
};

const servers: FakeUsageApi[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((api) => api.close()));
});

async function start(options?: FakeUsageApiOptions): Promise<FakeUsageApi> {
  const api = await startFakeUsageApi(options);
  servers.push(api);
  return api;
}

function call(api: FakeUsageApi, query: string, path = "/organization/costs"): Promise<Response> {
  return fetch(`${api.baseUrl}${path}?${query}`, { headers: { Authorization: `Bearer ${KEY}` } });
}

async function page(api: FakeUsageApi, query: string): Promise<Page> {
  const res = await call(api, query);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/application\/json/);
  return (await res.json()) as Page;
}

async function errorOf(api: FakeUsageApi, query: string, status: number): Promise<ErrorJson> {
  const res = await call(api, query);
  expect(res.status).toBe(status);
  return (await res.json()) as ErrorJson;
}

/** Follows next_page to the end, returning every page. */
async function allPages(api: FakeUsageApi, query: string): Promise<Page[]> {
  const pages: Page[] = [];
  let cursor: string | null = null;
  do {
    const suffix: string = cursor === null ? "" : `&page=${encodeURIComponent(cursor)}`;
    const p = await page(api, query + suffix);
    pages.push(p);
    cursor = p.next_page;
    expect(pages.length).toBeLessThan(100);
  } while (cursor !== null);
  return pages;
}

function ev(overrides: Partial<UsageEvent> = {}): UsageEvent {
  return {
    apiKeyId: "key_a",
    model: MINI,
    completedAt: T0 + 10,
    inputTokens: 1000,
    cachedTokens: 400,
    outputTokens: 50,
    ...overrides,
  };
}

/** [line_item, value] of every result in a page's buckets. */
const items = (p: Page) =>
  p.data.flatMap((b) => b.results.map((r) => [r.line_item, r.amount.value]));

describe("costs endpoint: grouping and nulls", () => {
  const events = [
    ev(),
    ev({ apiKeyId: "key_b", projectId: "proj_x", model: GPT4O, cachedTokens: 0 }),
  ];
  const base = `start_time=${T0}&end_time=${T0 + DAY}`;

  it("aggregates a bucket into one result with every identity field null when not grouped", async () => {
    const api = await start({ events, costs: { prices: PRICES } });
    const p = await page(api, base);
    expect(p.object).toBe("page");
    expect(p.has_more).toBe(false);
    expect(p.next_page).toBeNull();
    expect(p.data).toEqual([
      {
        object: "bucket",
        start_time: T0,
        end_time: T0 + DAY,
        results: [
          {
            object: "organization.costs.result",
            // key_a: 600×0.15 + 400×0.075 + 50×0.6 = 150 µ$; key_b: 1000×2.5 + 50×10 = 3000 µ$
            amount: { value: "0.00315", currency: "usd" },
            line_item: null,
            project_id: null,
            api_key_id: null,
            quantity: null,
            quantity_unit: null,
          },
        ],
      },
    ]);
  });

  it("groups by line_item with token quantities, naming lines '<model>, <kind>'", async () => {
    const api = await start({ events, costs: { prices: PRICES } });
    const [bucket] = (await page(api, `${base}&group_by=line_item`)).data;
    expect(
      bucket?.results.map((r) => [
        r.line_item,
        r.amount.value,
        r.quantity,
        r.quantity_unit,
        r.api_key_id,
        r.project_id,
      ]),
    ).toEqual([
      [`${GPT4O}, input`, "0.0025", 1000, "tokens", null, null],
      [`${GPT4O}, output`, "0.0005", 50, "tokens", null, null],
      [`${MINI}, cached input`, "0.00003", 400, "tokens", null, null],
      [`${MINI}, input`, "0.00009", 600, "tokens", null, null],
      [`${MINI}, output`, "0.00003", 50, "tokens", null, null],
    ]);
  });

  it("groups by api_key_id and project_id (either array encoding), quantities staying null", async () => {
    const api = await start({ events, costs: { prices: PRICES } });
    for (const groupBy of [
      "group_by=api_key_id&group_by=project_id",
      "group_by[]=api_key_id&group_by[]=project_id",
    ]) {
      const [bucket] = (await page(api, `${base}&${groupBy}`)).data;
      expect(
        bucket?.results.map((r) => [
          r.api_key_id,
          r.project_id,
          r.line_item,
          r.amount.value,
          r.quantity,
          r.quantity_unit,
        ]),
      ).toEqual([
        ["key_a", "proj_default", null, "0.00015", null, null],
        ["key_b", "proj_x", null, "0.003", null, null],
      ]);
    }
  });

  it("groups by all three fields at once", async () => {
    const api = await start({ events, costs: { prices: PRICES } });
    const [bucket] = (
      await page(api, `${base}&group_by=line_item&group_by=api_key_id&group_by=project_id`)
    ).data;
    expect(bucket?.results).toHaveLength(5);
    expect(bucket?.results[0]).toEqual({
      object: "organization.costs.result",
      amount: { value: "0.00003", currency: "usd" },
      line_item: `${MINI}, cached input`,
      project_id: "proj_default",
      api_key_id: "key_a",
      quantity: 400,
      quantity_unit: "tokens",
    });
  });

  it("answers buckets with empty results when the server has no costs options", async () => {
    const api = await start({ events });
    const p = await page(api, `start_time=${T0}&end_time=${T0 + 2 * DAY}`);
    expect(p.data.map((b) => [b.start_time, b.results])).toEqual([
      [T0, []],
      [T0 + DAY, []],
    ]);
  });
});

describe("costs endpoint: amounts", () => {
  it("computes exact decimal strings: 1,234,567 tokens at 0.15/1M is 0.18518505", async () => {
    const api = await start({
      events: [ev({ inputTokens: 1_234_567, cachedTokens: 0, outputTokens: 0 })],
      costs: { prices: PRICES },
    });
    const p = await page(api, `start_time=${T0}&end_time=${T0 + DAY}&group_by=line_item`);
    expect(items(p)).toEqual([[`${MINI}, input`, "0.18518505"]]);
  });

  it("sums without float noise (0.1 + 0.2 is 0.3) and keeps sub-micro-dollar digits", async () => {
    const prices = { m: { input: 1, cachedInput: 0.0375, output: 0 } };
    const api = await start({
      events: [
        ev({ model: "m", inputTokens: 100_000, cachedTokens: 0, outputTokens: 0 }),
        ev({ model: "m", inputTokens: 200_000, cachedTokens: 0, outputTokens: 0 }),
        ev({ model: "m", completedAt: T0 + DAY, inputTokens: 7, cachedTokens: 7, outputTokens: 0 }),
      ],
      costs: { prices },
    });
    const p = await page(api, `start_time=${T0}&end_time=${T0 + 2 * DAY}`);
    expect(p.data.map((b) => b.results.map((r) => r.amount.value))).toEqual([
      ["0.3"],
      ["0.0000002625"],
    ]);
  });

  it("sends amount.value as a JSON number when amountAs is 'number'", async () => {
    const api = await start({
      events: [ev({ inputTokens: 1_234_567, cachedTokens: 0, outputTokens: 0 })],
      costs: { prices: PRICES, amountAs: "number" },
    });
    const res = await call(api, `start_time=${T0}&end_time=${T0 + DAY}`);
    const text = await res.text();
    expect(text).toContain('"value":0.18518505,');
    const p = JSON.parse(text) as Page;
    expect(p.data[0]?.results[0]?.amount).toEqual({ value: 0.18518505, currency: "usd" });
  });

  it("leaves events of unpriced models out of the costs while usage still reports them", async () => {
    const api = await start({
      events: [ev(), ev({ model: "gpt-unknown-2099-01-01", inputTokens: 5_000_000 })],
      costs: { prices: PRICES },
    });
    const p = await page(api, `start_time=${T0}&end_time=${T0 + DAY}&group_by=line_item`);
    expect(items(p).map(([item]) => item)).toEqual([
      `${MINI}, cached input`,
      `${MINI}, input`,
      `${MINI}, output`,
    ]);
    const usage = (await (
      await call(api, `start_time=${T0}&end_time=${T0 + DAY}`, "/organization/usage/completions")
    ).json()) as { data: Array<{ results: Array<{ input_tokens: number }> }> };
    expect(usage.data[0]?.results[0]?.input_tokens).toBe(5_001_000);
  });

  it("prices the token counts an event reports at the server's now (its latest revision)", async () => {
    let now = T0 + HOUR;
    const api = await start({
      now: () => now,
      events: [
        ev({
          cachedTokens: 0,
          outputTokens: 0,
          revisions: [{ at: T0 + 2 * HOUR, inputTokens: 2000 }],
        }),
      ],
      costs: { prices: PRICES },
    });
    const query = `start_time=${T0}&end_time=${T0 + DAY}`;
    expect(items(await page(api, query))).toEqual([[null, "0.00015"]]);
    now = T0 + 3 * HOUR;
    expect(items(await page(api, query))).toEqual([[null, "0.0003"]]);
  });

  it("formats exact decimals with at most 12 decimals, rounding half away from zero", () => {
    expect(formatDecimal(toDecimal("0.0000000000015"))).toBe("0.000000000002");
    expect(formatDecimal(toDecimal("0.0000000000014999"))).toBe("0.000000000001");
    expect(formatDecimal(toDecimal(1e-7))).toBe("0.0000001");
    expect(formatDecimal(toDecimal("-0.50"))).toBe("-0.5");
    expect(formatDecimal(toDecimal("12.000"))).toBe("12");
    expect(formatDecimal(toDecimal(0))).toBe("0");
    expect(sumDecimalStrings(["0.1", "0.2", "0.000000000001"])).toBe("0.300000000001");
    expect(() => toDecimal("1,5")).toThrow();
    expect(() => toDecimal(Number.NaN)).toThrow();
  });
});

describe("costs endpoint: buckets, pagination and validation", () => {
  it("starts day buckets exactly at start_time and clips the last one at end_time", async () => {
    const start_time = T0 + 5 * HOUR;
    const api = await start({
      events: [
        ev({ completedAt: start_time - 1, inputTokens: 100_000, cachedTokens: 0, outputTokens: 0 }),
        ev({ completedAt: start_time, inputTokens: 200_000, cachedTokens: 0, outputTokens: 0 }),
        ev({
          completedAt: start_time + DAY,
          inputTokens: 300_000,
          cachedTokens: 0,
          outputTokens: 0,
        }),
        ev({
          completedAt: start_time + DAY + HOUR,
          inputTokens: 400_000,
          cachedTokens: 0,
          outputTokens: 0,
        }),
      ],
      costs: { prices: { [MINI]: { input: 1, cachedInput: 0, output: 0 } } },
    });
    const p = await page(
      api,
      `start_time=${start_time}&end_time=${start_time + DAY + HOUR}&group_by=line_item`,
    );
    expect(p.data.map((b) => [b.start_time, b.end_time, items({ ...p, data: [b] })])).toEqual([
      [start_time, start_time + DAY, [[`${MINI}, input`, "0.2"]]],
      [start_time + DAY, start_time + DAY + HOUR, [[`${MINI}, input`, "0.3"]]],
    ]);
  });

  it("pages through more days than the limit with the cursor, default limit 7", async () => {
    const days = 20;
    const events = Array.from({ length: days }, (_, d) =>
      ev({ completedAt: T0 + d * DAY + HOUR, inputTokens: 1000 * (d + 1), cachedTokens: 0 }),
    );
    const api = await start({ events, costs: { prices: PRICES } });
    const query = `start_time=${T0}&end_time=${T0 + days * DAY}`;
    const firstDefault = await page(api, query);
    expect(firstDefault.data).toHaveLength(7);
    expect(firstDefault.has_more).toBe(true);

    const pages = await allPages(api, `${query}&limit=6`);
    expect(pages.map((p) => p.data.length)).toEqual([6, 6, 6, 2]);
    expect(pages.map((p) => p.has_more)).toEqual([true, true, true, false]);
    const buckets = pages.flatMap((p) => p.data);
    expect(buckets.map((b) => b.start_time)).toEqual(
      Array.from({ length: days }, (_, d) => T0 + d * DAY),
    );
    // day d: 1000(d+1) input tokens at 0.15/1M, + 50 output tokens at 0.6/1M
    expect(buckets.map((b) => b.results[0]?.amount.value)).toEqual(
      Array.from({ length: days }, (_, d) =>
        formatDecimal({ n: BigInt(150 * (d + 1) + 30), scale: 6 }),
      ),
    );
    const all = await page(api, `${query}&limit=180`);
    expect(all.data).toHaveLength(days);
    expect(all.has_more).toBe(false);
  });

  it("runs up to the day containing the server's now when end_time is absent", async () => {
    const api = await start({ now: () => T0 + 2 * DAY + 5, costs: { prices: PRICES } });
    const p = await page(api, `start_time=${T0}`);
    expect(p.data.map((b) => b.start_time)).toEqual([T0, T0 + DAY, T0 + 2 * DAY]);
  });

  it.each([
    ["", "start_time"],
    [`start_time=${T0}&end_time=${T0}`, "end_time"],
    [`start_time=${T0}&bucket_width=1h`, "bucket_width"],
    [`start_time=${T0}&bucket_width=1m`, "bucket_width"],
    [`start_time=${T0}&limit=181`, "limit"],
    [`start_time=${T0}&limit=0`, "limit"],
    [`start_time=${T0}&group_by=model`, "group_by"],
    [`start_time=${T0}&page=garbage`, "page"],
  ])("rejects %j with 400 naming %s", async (query, param) => {
    const api = await start({ costs: { prices: PRICES } });
    const body = await errorOf(api, query, 400);
    expect(body.error.param).toBe(param);
    expect(body.error.message).toContain(param);
    expect(body.error.type).toBe("invalid_request_error");
  });

  it("rejects a usage cursor on the costs endpoint", async () => {
    const api = await start({ events: [ev({ completedAt: T0 + 10 * DAY })] });
    const usage = (await (
      await call(api, `start_time=${T0}&limit=1`, "/organization/usage/completions")
    ).json()) as Page;
    expect(usage.next_page).not.toBeNull();
    const body = await errorOf(
      api,
      `start_time=${T0}&limit=1&page=${encodeURIComponent(usage.next_page ?? "")}`,
      400,
    );
    expect(body.error.param).toBe("page");
  });
});

describe("costs endpoint: filters", () => {
  const events = [
    ev({ apiKeyId: "key_a" }),
    ev({ apiKeyId: "key_b", projectId: "proj_x" }),
    ev({ apiKeyId: "key_c", projectId: "proj_x" }),
  ];
  const base = `start_time=${T0}&end_time=${T0 + DAY}&group_by=api_key_id`;
  const keys = (p: Page) => p.data.flatMap((b) => b.results.map((r) => r.api_key_id));

  it("filters by api_key_ids in either array encoding", async () => {
    const api = await start({ events, costs: { prices: PRICES } });
    expect(keys(await page(api, `${base}&api_key_ids=key_a&api_key_ids=key_c`))).toEqual([
      "key_a",
      "key_c",
    ]);
    expect(keys(await page(api, `${base}&api_key_ids[]=key_b`))).toEqual(["key_b"]);
    expect(keys(await page(api, `${base}&api_key_ids[]=key_zzz`))).toEqual([]);
  });

  it("filters by project_ids", async () => {
    const api = await start({ events, costs: { prices: PRICES } });
    expect(keys(await page(api, `${base}&project_ids=proj_x`))).toEqual(["key_b", "key_c"]);
    expect(keys(await page(api, `${base}&project_ids[]=proj_default`))).toEqual(["key_a"]);
  });
});

describe("costs endpoint: late costs, restatements and extra lines", () => {
  it("reports an event's costs only once now reaches completion + lagSeconds", async () => {
    let now = T0 + DAY;
    const api = await start({
      now: () => now,
      events: [ev({ completedAt: T0 + HOUR })],
      costs: { prices: PRICES, lagSeconds: 2 * DAY },
    });
    const query = `start_time=${T0}&end_time=${T0 + DAY}`;
    expect((await page(api, query)).data.map((b) => b.results)).toEqual([[]]);
    // usage (lagSeconds 0) already reports the event
    const usage = (await (
      await call(api, query, "/organization/usage/completions")
    ).json()) as Page;
    expect(usage.data[0]?.results).toHaveLength(1);

    now = T0 + HOUR + 2 * DAY - 1;
    expect((await page(api, query)).data[0]?.results).toEqual([]);
    now = T0 + HOUR + 2 * DAY;
    expect(items(await page(api, query))).toEqual([[null, "0.00015"]]);
  });

  it("multiplies a day's lines for one key by the restatement factor from its time on", async () => {
    let now = T0 + 3 * DAY;
    const events = [
      ev({ apiKeyId: "key_a", completedAt: T0 + HOUR }),
      ev({ apiKeyId: "key_a", completedAt: T0 + DAY + HOUR }),
      ev({ apiKeyId: "key_b", completedAt: T0 + 2 * HOUR }),
    ];
    const costs: CostsOptions = {
      prices: PRICES,
      restatements: [{ apiKeyId: "key_a", day: T0 + 12 * HOUR, at: T0 + 4 * DAY, factor: 1.02 }],
    };
    const api = await start({ now: () => now, events, costs });
    const query = `start_time=${T0}&end_time=${T0 + 2 * DAY}&group_by=api_key_id`;
    const amounts = async () =>
      (await page(api, query)).data.map((b) =>
        b.results.map((r) => [r.api_key_id, r.amount.value]),
      );

    const before = [
      [
        ["key_a", "0.00015"],
        ["key_b", "0.00015"],
      ],
      [["key_a", "0.00015"]],
    ];
    expect(await amounts()).toEqual(before);
    now = T0 + 4 * DAY - 1;
    expect(await amounts()).toEqual(before);
    now = T0 + 4 * DAY;
    expect(await amounts()).toEqual([
      [
        ["key_a", "0.000153"],
        ["key_b", "0.00015"],
      ],
      [["key_a", "0.00015"]],
    ]);
    // the helper agrees, before and after
    const day0 = (n: number) =>
      expectedCosts(events, costs, n)
        .filter((c) => c.day === T0 && c.apiKeyId === "key_a")
        .map((c) => c.amount);
    expect(sumDecimalStrings(day0(T0 + 3 * DAY))).toBe("0.00015");
    expect(sumDecimalStrings(day0(T0 + 4 * DAY))).toBe("0.000153");
  });

  it("reports extra lines with unknown line items, without a quantity", async () => {
    const api = await start({
      events: [ev()],
      costs: {
        prices: PRICES,
        extraLines: [
          {
            apiKeyId: "key_a",
            at: T0 + 5 * HOUR,
            lineItem: "web search tool calls",
            amount: "0.25",
          },
          {
            apiKeyId: "key_z",
            at: T0 + DAY + 1,
            lineItem: "file search storage",
            amount: "1.1",
            projectId: "proj_q",
          },
        ],
      },
    });
    const query = `start_time=${T0}&end_time=${T0 + 2 * DAY}`;
    const byLine = await page(api, `${query}&group_by=line_item&group_by=project_id`);
    expect(byLine.data[0]?.results.find((r) => r.line_item === "web search tool calls")).toEqual({
      object: "organization.costs.result",
      amount: { value: "0.25", currency: "usd" },
      line_item: "web search tool calls",
      project_id: "proj_default",
      api_key_id: null,
      quantity: null,
      quantity_unit: null,
    });
    expect(byLine.data[1]?.results.map((r) => [r.line_item, r.project_id, r.amount.value])).toEqual(
      [["file search storage", "proj_q", "1.1"]],
    );
    const total = await page(api, query);
    expect(total.data.map((b) => b.results.map((r) => r.amount.value))).toEqual([
      ["0.25015"],
      ["1.1"],
    ]);
  });
});

describe("costs endpoint: expectedCosts agrees with the server", () => {
  it("matches every (day, key, line item) amount of a random month, restated and lagging", async () => {
    const random = mulberry32(4242);
    const models = [MINI, GPT4O, "o3-mini-2025-01-31", "unpriced-model"];
    const prices: CostsOptions["prices"] = {
      ...PRICES,
      "o3-mini-2025-01-31": { input: 1.1, cachedInput: 0.55, output: 4.4 },
    };
    const keys = ["key_a", "key_b", "key_c"];
    const events: UsageEvent[] = Array.from({ length: 2000 }, () => {
      const inputTokens = Math.floor(random() * 50_000);
      return {
        apiKeyId: keys[Math.floor(random() * keys.length)]!,
        model: models[Math.floor(random() * models.length)]!,
        completedAt: T0 + Math.floor(random() * 30 * DAY),
        inputTokens,
        cachedTokens: Math.floor(random() * inputTokens),
        outputTokens: Math.floor(random() * 5000),
        projectId: random() < 0.5 ? "proj_default" : "proj_x",
      };
    });
    const costs: CostsOptions = {
      prices,
      lagSeconds: 3 * DAY,
      extraLines: [{ apiKeyId: "key_b", at: T0 + 3 * DAY, lineItem: "web search", amount: "0.01" }],
      restatements: [
        { apiKeyId: "key_a", day: T0 + 2 * DAY, at: T0 + 20 * DAY, factor: 1.02 },
        { apiKeyId: "key_c", day: T0 + 5 * DAY, at: T0 + 40 * DAY, factor: 0.97 },
      ],
    };
    const now = T0 + 25 * DAY; // the last days lag; the key_c restatement has not come yet
    const api = await start({ now: () => now, events, costs });
    const pages = await allPages(
      api,
      `start_time=${T0}&end_time=${T0 + 30 * DAY}&group_by=api_key_id&group_by=line_item&limit=11`,
    );
    const served = pages.flatMap((p) =>
      p.data.flatMap((b) =>
        b.results.map((r) => ({
          day: b.start_time,
          apiKeyId: r.api_key_id,
          lineItem: r.line_item,
          amount: r.amount.value,
          quantity: r.quantity,
        })),
      ),
    );
    const expected = expectedCosts(events, costs, now);
    expect(served).toEqual(expected);
    expect(expected.some((c) => c.lineItem.startsWith("unpriced-model"))).toBe(false);
    expect(Math.max(...expected.map((c) => c.day))).toBe(T0 + 21 * DAY);
    expect(expected.filter((c) => c.lineItem === "web search")).toEqual([
      {
        day: T0 + 3 * DAY,
        apiKeyId: "key_b",
        lineItem: "web search",
        amount: "0.01",
        quantity: null,
      },
    ]);
  });
});

describe("costs endpoint: faults and the request log", () => {
  const query = `start_time=${T0}&end_time=${T0 + DAY}`;

  it("applies the fault plan to costs requests, telling the endpoints apart by path", async () => {
    const seen: FaultContext[] = [];
    const api = await start({
      events: [ev()],
      costs: { prices: PRICES },
      faults: (ctx) => {
        seen.push(ctx);
        return ctx.path === COSTS_PATH && ctx.requestIndex < 3
          ? { kind: "status", status: 503 }
          : undefined;
      },
    });
    expect((await call(api, query)).status).toBe(503);
    expect((await call(api, query, "/organization/usage/completions")).status).toBe(200);
    expect((await call(api, query)).status).toBe(503);
    expect((await call(api, query)).status).toBe(200);
    expect(seen.map((c) => c.path)).toEqual([
      COSTS_PATH,
      "/v1/organization/usage/completions",
      COSTS_PATH,
      COSTS_PATH,
    ]);
    expect(api.requests.map((r) => [r.path, r.fault, r.status])).toEqual([
      [COSTS_PATH, "status", 503],
      ["/v1/organization/usage/completions", undefined, 200],
      [COSTS_PATH, "status", 503],
      [COSTS_PATH, undefined, 200],
    ]);
    expect(api.requests[0]?.query.get("start_time")).toBe(String(T0));
  });

  it("sends 429, resets, truncated bodies and repeated cursors on the costs endpoint", async () => {
    const api = await start({
      events: [ev(), ev({ completedAt: T0 + DAY + 1 })],
      costs: { prices: PRICES },
      faults: faultQueue([
        { kind: "status", status: 429, retryAfter: "3" },
        { kind: "reset" },
        { kind: "truncated" },
        { kind: "repeat-cursor" },
      ]),
    });
    const limited = await call(api, query);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("3");
    await limited.body?.cancel();
    await expect(call(api, query)).rejects.toThrow();
    const truncated = await (await call(api, query)).text();
    expect(() => JSON.parse(truncated)).toThrow(SyntaxError);
    const twoDays = `start_time=${T0}&end_time=${T0 + 2 * DAY}&limit=1`;
    const repeated = await page(api, twoDays);
    expect(repeated.has_more).toBe(true);
    const next = await page(api, `${twoDays}&page=${encodeURIComponent(repeated.next_page ?? "")}`);
    expect(next.data[0]?.start_time).toBe(T0); // the repeated cursor leads back to the first page
  });

  it("breaks the costs schema by turning amount into a bare string", async () => {
    const api = await start({
      events: [ev()],
      costs: { prices: PRICES },
      faults: faultQueue([{ kind: "schema-violation" }]),
    });
    const broken = (await page(api, query)) as unknown as {
      data: Array<{ results: Array<{ amount: unknown }> }>;
    };
    expect(broken.data[0]?.results[0]?.amount).toBe("0.00015");
  });

  it("requires the admin key", async () => {
    const api = await start({ costs: { prices: PRICES } });
    const res = await fetch(`${api.baseUrl}/organization/costs?${query}`, {
      headers: { Authorization: "Bearer sk-other" },
    });
    expect(res.status).toBe(401);
    expect(api.requests.map((r) => [r.path, r.authorized])).toEqual([[COSTS_PATH, false]]);
  });
});
