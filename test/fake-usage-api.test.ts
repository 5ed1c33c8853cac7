import { afterEach, describe, expect, it } from "vitest";
import {
  type FakeUsageApi,
  type FakeUsageApiOptions,
  type FaultContext,
  faultQueue,
  seededFaults,
  startFakeUsageApi,
  type UsageEvent,
} from "./support/fake-usage-api.ts";

/** 2024-11-01T00:00:00Z, aligned to the day. */
const T0 = 1_730_419_200;
const HOUR = 3600;
const DAY = 86_400;
const KEY = "sk-admin-test";

interface Result {
  object: string;
  input_tokens: number;
  input_cached_tokens: number;
  input_uncached_tokens: number;
  output_tokens: number;
  num_model_requests: number;
  input_audio_tokens: number;
  output_image_tokens: number;
  project_id: string | null;
  user_id: string | null;
  api_key_id: string | null;
  model: string | null;
  batch: boolean | null;
  service_tier: string | null;
}
interface Bucket {
  object: string;
  start_time: number;
  end_time: number;
  results: Result[];
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

const servers: FakeUsageApi[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((api) => api.close()));
});

async function start(options?: FakeUsageApiOptions): Promise<FakeUsageApi> {
  const api = await startFakeUsageApi(options);
  servers.push(api);
  return api;
}

function url(api: FakeUsageApi, query: string): string {
  return `${api.baseUrl}/organization/usage/completions?${query}`;
}

function call(api: FakeUsageApi, query: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url(api, query), { headers: { Authorization: `Bearer ${KEY}` }, ...init });
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
  const body = (await res.json()) as ErrorJson;
  expect(typeof body.error.message).toBe("string");
  return body;
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
    model: "gpt-4o-mini",
    completedAt: T0 + 10,
    inputTokens: 100,
    outputTokens: 10,
    ...overrides,
  };
}

const sum = (buckets: Bucket[], field: "input_tokens" | "output_tokens" | "num_model_requests") =>
  buckets.flatMap((b) => b.results).reduce((acc, r) => acc + r[field], 0);

describe("authorization and routing", () => {
  it("rejects a wrong or missing admin key with 401 and records it", async () => {
    const plans: FaultContext[] = [];
    const api = await start({
      events: [ev()],
      faults: (ctx) => {
        plans.push(ctx);
        return undefined;
      },
    });
    const wrong = await fetch(url(api, `start_time=${T0}`), {
      headers: { Authorization: "Bearer sk-other" },
    });
    expect(wrong.status).toBe(401);
    const body = (await wrong.json()) as ErrorJson;
    expect(body.error.message).toMatch(/api key/i);
    expect(body.error.code).toBe("invalid_api_key");

    const missing = await fetch(url(api, `start_time=${T0}`));
    expect(missing.status).toBe(401);

    const ok = await call(api, `start_time=${T0}`);
    expect(ok.status).toBe(200);

    expect(api.requests.map((r) => [r.authorized, r.status])).toEqual([
      [false, 401],
      [false, 401],
      [true, 200],
    ]);
    // The fault plan is consulted only after authorization, with the global request index.
    expect(plans.map((c) => c.requestIndex)).toEqual([2]);
  });

  it("accepts a custom admin key", async () => {
    const api = await start({ adminKey: "sk-admin-custom" });
    expect((await call(api, `start_time=${T0}`)).status).toBe(401);
    const res = await fetch(url(api, `start_time=${T0}`), {
      headers: { Authorization: "Bearer sk-admin-custom" },
    });
    expect(res.status).toBe(200);
  });

  it("answers unknown paths with a 404 JSON error", async () => {
    const api = await start();
    const res = await fetch(`${api.baseUrl}/organization/usage/embeddings?start_time=${T0}`, {
      headers: { Authorization: `Bearer ${KEY}` },
    });
    expect(res.status).toBe(404);
    const body = (await res.json()) as ErrorJson;
    expect(body.error.type).toBe("invalid_request_error");
    expect(api.requests[0]?.path).toBe("/v1/organization/usage/embeddings");
  });
});

describe("parameter validation", () => {
  it.each([
    ["", "start_time"],
    ["start_time=abc", "start_time"],
    ["start_time=1.5", "start_time"],
    [`start_time=${T0}&end_time=soon`, "end_time"],
    [`start_time=${T0}&end_time=${T0}`, "end_time"],
    [`start_time=${T0}&bucket_width=2h`, "bucket_width"],
    [`start_time=${T0}&limit=0`, "limit"],
    [`start_time=${T0}&limit=32`, "limit"],
    [`start_time=${T0}&bucket_width=1h&limit=169`, "limit"],
    [`start_time=${T0}&bucket_width=1m&limit=1441`, "limit"],
    [`start_time=${T0}&limit=x`, "limit"],
    [`start_time=${T0}&group_by=region`, "group_by"],
    [`start_time=${T0}&group_by[]=api_key_id&group_by[]=line_item`, "group_by"],
    [`start_time=${T0}&batch=maybe`, "batch"],
  ])("rejects %j with 400 naming %s", async (query, param) => {
    const api = await start();
    const body = await errorOf(api, query, 400);
    expect(body.error.param).toBe(param);
    expect(body.error.message).toContain(param);
    expect(body.error.type).toBe("invalid_request_error");
  });

  it.each([
    ["1d", 31],
    ["1h", 168],
    ["1m", 1440],
  ])("accepts the maximum limit for %s", async (width, max) => {
    const api = await start();
    const p = await page(api, `start_time=${T0}&bucket_width=${width}&limit=${max}`);
    expect(p.data).toHaveLength(1); // no end_time: up to the last event + one width
  });

  it("defaults to 1d buckets and a limit of 7", async () => {
    const api = await start({ events: [ev({ completedAt: T0 + 20 * DAY })] });
    const p = await page(api, `start_time=${T0}`);
    expect(p.data).toHaveLength(7);
    expect(p.data[1]?.start_time).toBe(T0 + DAY);
    expect(p.has_more).toBe(true);
  });
});

describe("buckets", () => {
  it("starts buckets exactly at start_time, even when it is not minute-aligned", async () => {
    const start_time = T0 + 37;
    const api = await start({
      events: [
        ev({ completedAt: start_time - 1, inputTokens: 1 }),
        ev({ completedAt: start_time, inputTokens: 2 }),
        ev({ completedAt: start_time + 59, inputTokens: 4 }),
        ev({ completedAt: start_time + 60, inputTokens: 8 }),
        ev({ completedAt: start_time + 179, inputTokens: 16 }),
        ev({ completedAt: start_time + 180, inputTokens: 32 }),
      ],
    });
    const p = await page(
      api,
      `start_time=${start_time}&end_time=${start_time + 180}&bucket_width=1m`,
    );
    expect(p.data.map((b) => [b.start_time, b.end_time])).toEqual([
      [start_time, start_time + 60],
      [start_time + 60, start_time + 120],
      [start_time + 120, start_time + 180],
    ]);
    expect(p.data.map((b) => b.results.map((r) => r.input_tokens))).toEqual([[6], [8], [16]]);
    expect(p.data.every((b) => b.object === "bucket")).toBe(true);
    expect(p.object).toBe("page");
    expect(p.has_more).toBe(false);
    expect(p.next_page).toBeNull();
  });

  it("clips the last bucket at an unaligned end_time and excludes events at or after it", async () => {
    const api = await start({
      events: [
        ev({ completedAt: T0 + 89, inputTokens: 1 }),
        ev({ completedAt: T0 + 90, inputTokens: 2 }),
      ],
    });
    const p = await page(api, `start_time=${T0}&end_time=${T0 + 90}&bucket_width=1m`);
    expect(p.data.map((b) => [b.start_time, b.end_time])).toEqual([
      [T0, T0 + 60],
      [T0 + 60, T0 + 90],
    ]);
    expect(sum(p.data, "input_tokens")).toBe(1);
  });

  it("runs up to the bucket containing the server's now when end_time is absent", async () => {
    const api = await start({ now: () => T0 + 2 * HOUR + 5, events: [ev()] });
    const p = await page(api, `start_time=${T0}&bucket_width=1h`);
    expect(p.data.map((b) => b.start_time)).toEqual([T0, T0 + HOUR, T0 + 2 * HOUR]);
    expect(p.has_more).toBe(false);
  });

  it("runs up to the last event plus one width when now is unbounded", async () => {
    const api = await start({ events: [ev({ completedAt: T0 + HOUR + 30 })] });
    const p = await page(api, `start_time=${T0}&bucket_width=1h`);
    expect(p.data.map((b) => b.start_time)).toEqual([T0, T0 + HOUR, T0 + 2 * HOUR]);
    expect(sum(p.data, "input_tokens")).toBe(100);
  });

  it("includes empty buckets as results: [] by default", async () => {
    const api = await start({ events: [ev({ completedAt: T0 + HOUR + 1 })] });
    const p = await page(api, `start_time=${T0}&end_time=${T0 + 3 * HOUR}&bucket_width=1h`);
    expect(p.data.map((b) => b.results.length)).toEqual([0, 1, 0]);
  });

  it("omits empty buckets when emptyBuckets is 'omit', still spanning limit buckets per page", async () => {
    const api = await start({
      emptyBuckets: "omit",
      events: [ev({ completedAt: T0 + HOUR + 1 }), ev({ completedAt: T0 + 5 * HOUR })],
    });
    const query = `start_time=${T0}&end_time=${T0 + 6 * HOUR}&bucket_width=1h&limit=3`;
    const pages = await allPages(api, query);
    expect(pages.map((p) => p.data.map((b) => b.start_time))).toEqual([
      [T0 + HOUR],
      [T0 + 5 * HOUR],
    ]);
    expect(pages.map((p) => p.has_more)).toEqual([true, false]);
  });

  it("omits a page's buckets entirely when they are all empty but keeps paginating", async () => {
    const api = await start({ emptyBuckets: "omit", events: [ev({ completedAt: T0 + 5 * HOUR })] });
    const query = `start_time=${T0}&end_time=${T0 + 6 * HOUR}&bucket_width=1h&limit=3`;
    const pages = await allPages(api, query);
    expect(pages.map((p) => p.data.length)).toEqual([0, 1]);
    expect(pages[0]?.has_more).toBe(true);
  });
});

describe("results, grouping and filters", () => {
  const events: UsageEvent[] = [
    ev({
      apiKeyId: "key_b",
      model: "gpt-4o",
      inputTokens: 1000,
      cachedTokens: 400,
      outputTokens: 50,
    }),
    ev({ apiKeyId: "key_a", model: "gpt-4o", inputTokens: 200, outputTokens: 20, requests: 2 }),
    ev({
      apiKeyId: "key_a",
      model: "gpt-4o-mini",
      inputTokens: 30,
      cachedTokens: 10,
      outputTokens: 3,
    }),
    ev({
      apiKeyId: "key_a",
      model: "gpt-4o-mini",
      inputTokens: 7,
      outputTokens: 1,
      batch: true,
      serviceTier: "flex",
      projectId: "proj_x",
      userId: "user_1",
    }),
  ];
  const base = `start_time=${T0}&end_time=${T0 + DAY}`;

  it("aggregates everything into one result with null identity fields when not grouped", async () => {
    const api = await start({ events });
    const [bucket] = (await page(api, base)).data;
    expect(bucket?.results).toEqual([
      {
        object: "organization.usage.completions.result",
        input_tokens: 1237,
        input_cached_tokens: 410,
        input_cache_write_tokens: 0,
        input_uncached_tokens: 827,
        output_tokens: 74,
        input_text_tokens: 827,
        output_text_tokens: 74,
        input_cached_text_tokens: 410,
        input_audio_tokens: 0,
        input_cached_audio_tokens: 0,
        output_audio_tokens: 0,
        input_image_tokens: 0,
        input_cached_image_tokens: 0,
        output_image_tokens: 0,
        num_model_requests: 5,
        project_id: null,
        user_id: null,
        api_key_id: null,
        model: null,
        batch: null,
        service_tier: null,
      },
    ]);
  });

  it("groups by api_key_id and model in a deterministic order, leaving other fields null", async () => {
    const api = await start({ events });
    const p = await page(api, `${base}&group_by=model&group_by=api_key_id`);
    const results = p.data[0]?.results ?? [];
    expect(
      results.map((r) => [r.api_key_id, r.model, r.input_tokens, r.num_model_requests]),
    ).toEqual([
      ["key_a", "gpt-4o", 200, 2],
      ["key_a", "gpt-4o-mini", 37, 2],
      ["key_b", "gpt-4o", 1000, 1],
    ]);
    for (const r of results) {
      expect([r.project_id, r.user_id, r.batch, r.service_tier]).toEqual([null, null, null, null]);
      expect(r.input_uncached_tokens).toBe(r.input_tokens - r.input_cached_tokens);
    }
  });

  it("groups by batch, service_tier, project_id and user_id with their default values", async () => {
    const api = await start({ events });
    const p = await page(
      api,
      `${base}&group_by[]=batch&group_by[]=service_tier&group_by[]=project_id&group_by[]=user_id`,
    );
    const results = p.data[0]?.results ?? [];
    expect(
      results.map((r) => [r.batch, r.service_tier, r.project_id, r.user_id, r.input_tokens]),
    ).toEqual([
      [false, "default", "proj_default", null, 1230],
      [true, "flex", "proj_x", "user_1", 7],
    ]);
    expect(results.every((r) => r.api_key_id === null && r.model === null)).toBe(true);
  });

  it.each([
    ["repeated", "api_key_ids=key_b&api_key_ids=key_x"],
    ["bracketed", "api_key_ids[]=key_b&api_key_ids[]=key_x"],
    ["percent-encoded brackets", "api_key_ids%5B%5D=key_b"],
  ])("filters by api_key_ids (%s)", async (_name, filter) => {
    const api = await start({ events });
    const p = await page(api, `${base}&${filter}&group_by=api_key_id`);
    expect(p.data[0]?.results.map((r) => [r.api_key_id, r.input_tokens])).toEqual([
      ["key_b", 1000],
    ]);
  });

  it("filters by several api keys at once", async () => {
    const api = await start({ events });
    const p = await page(api, `${base}&api_key_ids=key_a&api_key_ids[]=key_b`);
    expect(sum(p.data, "input_tokens")).toBe(1237);
  });

  it("filters by models, batch and project_ids", async () => {
    const api = await start({ events });
    expect(sum((await page(api, `${base}&models=gpt-4o-mini`)).data, "input_tokens")).toBe(37);
    expect(sum((await page(api, `${base}&models[]=gpt-4o`)).data, "input_tokens")).toBe(1200);
    expect(sum((await page(api, `${base}&batch=true`)).data, "input_tokens")).toBe(7);
    expect(sum((await page(api, `${base}&batch=false`)).data, "input_tokens")).toBe(1230);
    expect(sum((await page(api, `${base}&project_ids=proj_x`)).data, "input_tokens")).toBe(7);
    expect(sum((await page(api, `${base}&user_ids=user_1`)).data, "input_tokens")).toBe(7);
    const none = await page(api, `${base}&models=o3`);
    expect(none.data).toEqual([
      { object: "bucket", start_time: T0, end_time: T0 + DAY, results: [] },
    ]);
  });

  it("replaces events with setEvents and appends with addEvents", async () => {
    const api = await start({ events });
    api.setEvents([ev({ inputTokens: 5 })]);
    expect(sum((await page(api, base)).data, "input_tokens")).toBe(5);
    api.addEvents([
      ev({ completedAt: T0 + 1, inputTokens: 6 }),
      ev({ completedAt: T0 + 5, inputTokens: 7 }),
    ]);
    expect(sum((await page(api, base)).data, "input_tokens")).toBe(18);
  });
});

describe("pagination", () => {
  const events = Array.from({ length: 10 }, (_, h) =>
    ev({ completedAt: T0 + h * HOUR + 1, inputTokens: h + 1 }),
  );
  const query = `start_time=${T0}&end_time=${T0 + 10 * HOUR}&bucket_width=1h`;

  it("pages through limit-sized spans of buckets to the end", async () => {
    const api = await start({ events });
    const pages = await allPages(api, `${query}&limit=4`);
    expect(pages.map((p) => p.data.length)).toEqual([4, 4, 2]);
    expect(pages.map((p) => p.has_more)).toEqual([true, true, false]);
    expect(pages[0]?.next_page).toMatch(/^page_/);
    const starts = pages.flatMap((p) => p.data.map((b) => b.start_time));
    expect(starts).toEqual(Array.from({ length: 10 }, (_, h) => T0 + h * HOUR));
    expect(
      sum(
        pages.flatMap((p) => p.data),
        "input_tokens",
      ),
    ).toBe(55);
  });

  it("caps each page at maxBucketsPerPage below the client's limit", async () => {
    const api = await start({ events, maxBucketsPerPage: 3 });
    const pages = await allPages(api, `${query}&limit=24`);
    expect(pages.map((p) => p.data.length)).toEqual([3, 3, 3, 1]);
    expect(
      sum(
        pages.flatMap((p) => p.data),
        "input_tokens",
      ),
    ).toBe(55);
  });

  it("returns has_more false and next_page null when one page covers the range", async () => {
    const api = await start({ events });
    const p = await page(api, `${query}&limit=10`);
    expect([p.data.length, p.has_more, p.next_page]).toEqual([10, false, null]);
  });

  it("rejects a cursor that does not decode with 400", async () => {
    const api = await start({ events });
    for (const cursor of [
      "garbage",
      "page_!!!",
      `page_${Buffer.from("{}").toString("base64url")}`,
    ]) {
      const body = await errorOf(api, `${query}&page=${encodeURIComponent(cursor)}`, 400);
      expect(body.error.param).toBe("page");
    }
  });

  it("rejects a cursor that belongs to another query with 400", async () => {
    const api = await start({ events });
    const first = await page(api, `${query}&limit=4`);
    const cursor = encodeURIComponent(first.next_page ?? "");
    const body = await errorOf(api, `${query}&limit=4&models=gpt-4o&page=${cursor}`, 400);
    expect(body.error.param).toBe("page");
    // The same query accepts it, even with a different limit.
    const again = await page(api, `${query}&limit=2&page=${cursor}`);
    expect(again.data.map((b) => b.start_time)).toEqual([T0 + 4 * HOUR, T0 + 5 * HOUR]);
  });

  it("binds cursors to the query's meaning, not to how array parameters are encoded", async () => {
    const api = await start({ events });
    const first = await page(api, `${query}&limit=4&api_key_ids=key_a&api_key_ids=key_b`);
    const cursor = encodeURIComponent(first.next_page ?? "");
    const next = await page(
      api,
      `${query}&limit=4&api_key_ids[]=key_b&api_key_ids[]=key_a&page=${cursor}`,
    );
    expect(next.data[0]?.start_time).toBe(T0 + 4 * HOUR);
  });

  it("handles a large data set: 100,000 events over 30 days sum up identically at every width", async () => {
    const random = (() => {
      let s = 42;
      return () => {
        s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0;
        return s / 4_294_967_296;
      };
    })();
    const many: UsageEvent[] = Array.from({ length: 100_000 }, (_, i) =>
      ev({
        apiKeyId: `key_${i % 7}`,
        completedAt: T0 + Math.floor(random() * 30 * DAY),
        inputTokens: 1 + (i % 13),
      }),
    );
    const total = many.reduce((acc, e) => acc + e.inputTokens, 0);
    const api = await start({ events: many });
    const range = `start_time=${T0}&end_time=${T0 + 30 * DAY}`;
    const daily = await allPages(api, `${range}&bucket_width=1d&limit=31&group_by=api_key_id`);
    expect(daily).toHaveLength(1);
    expect(sum(daily[0]?.data ?? [], "input_tokens")).toBe(total);
    const hourly = await allPages(api, `${range}&bucket_width=1h&limit=168`);
    expect(hourly.map((p) => p.data.length)).toEqual([168, 168, 168, 168, 48]);
    expect(
      sum(
        hourly.flatMap((p) => p.data),
        "input_tokens",
      ),
    ).toBe(total);
    expect(
      sum(
        hourly.flatMap((p) => p.data),
        "num_model_requests",
      ),
    ).toBe(100_000);
  });
});

describe("late data and revisions", () => {
  it("reports an event only once the server clock reaches visibleAt", async () => {
    let now = T0 + 100;
    const api = await start({
      now: () => now,
      events: [
        ev({ completedAt: T0 + 10, inputTokens: 1 }),
        ev({ completedAt: T0 + 20, inputTokens: 2, visibleAt: T0 + 500 }),
      ],
    });
    const query = `start_time=${T0}&end_time=${T0 + HOUR}&bucket_width=1h`;
    expect(sum((await page(api, query)).data, "input_tokens")).toBe(1);
    now = T0 + 499;
    expect(sum((await page(api, query)).data, "input_tokens")).toBe(1);
    now = T0 + 500;
    expect(sum((await page(api, query)).data, "input_tokens")).toBe(3);
  });

  it("applies lagSeconds as the default delay before events are visible", async () => {
    let now = T0 + 10;
    const api = await start({
      now: () => now,
      lagSeconds: 300,
      events: [ev({ completedAt: T0 + 10 })],
    });
    const query = `start_time=${T0}&end_time=${T0 + HOUR}&bucket_width=1h`;
    expect((await page(api, query)).data[0]?.results).toEqual([]);
    now = T0 + 310;
    expect(sum((await page(api, query)).data, "input_tokens")).toBe(100);
  });

  it("reports the latest revision whose time has come", async () => {
    let now = T0 + 100;
    const api = await start({
      now: () => now,
      events: [
        ev({
          completedAt: T0 + 10,
          inputTokens: 100,
          cachedTokens: 20,
          outputTokens: 10,
          revisions: [
            { at: T0 + 2000, inputTokens: 300, requests: 3 },
            { at: T0 + 1000, inputTokens: 150 },
          ],
        }),
      ],
    });
    const query = `start_time=${T0}&end_time=${T0 + HOUR}&bucket_width=1h`;
    const at = async () => {
      const r = (await page(api, query)).data[0]?.results[0];
      return [r?.input_tokens, r?.input_cached_tokens, r?.output_tokens, r?.num_model_requests];
    };
    expect(await at()).toEqual([100, 20, 10, 1]);
    now = T0 + 1000;
    expect(await at()).toEqual([150, 20, 10, 1]);
    now = T0 + 2500;
    expect(await at()).toEqual([300, 20, 10, 3]);
  });

  it("reports the latest revision by default (unbounded clock)", async () => {
    const api = await start({
      events: [ev({ revisions: [{ at: T0 + 50, outputTokens: 99 }], visibleAt: T0 + 10_000 })],
    });
    const p = await page(api, `start_time=${T0}&end_time=${T0 + DAY}`);
    expect(sum(p.data, "output_tokens")).toBe(99);
  });
});

describe("faults", () => {
  const query = `start_time=${T0}&end_time=${T0 + 3 * HOUR}&bucket_width=1h&limit=1`;

  it("sends 429 with Retry-After verbatim (seconds or HTTP date) and an OpenAI-style error", async () => {
    const date = "Wed, 21 Oct 2026 07:28:00 GMT";
    const api = await start({
      faults: faultQueue([
        { kind: "status", status: 429, retryAfter: "2" },
        { kind: "status", status: 429, retryAfter: date },
      ]),
    });
    const first = await call(api, query);
    expect(first.status).toBe(429);
    expect(first.headers.get("retry-after")).toBe("2");
    const body = (await first.json()) as ErrorJson;
    expect(body.error.code).toBe("rate_limit_exceeded");
    const second = await call(api, query);
    expect(second.headers.get("retry-after")).toBe(date);
    await second.body?.cancel();
    expect((await call(api, query)).status).toBe(200);
  });

  it("sends 5xx statuses with a default JSON error or a custom body", async () => {
    const api = await start({
      faults: faultQueue([
        { kind: "status", status: 503 },
        { kind: "status", status: 502, body: "<html>Bad gateway</html>" },
      ]),
    });
    const unavailable = await call(api, query);
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get("retry-after")).toBeNull();
    expect(((await unavailable.json()) as ErrorJson).error.type).toBe("server_error");
    const gateway = await call(api, query);
    expect(gateway.status).toBe(502);
    expect(await gateway.text()).toBe("<html>Bad gateway</html>");
  });

  it("sends insufficient_quota as a 429 without Retry-After", async () => {
    const api = await start({ faults: faultQueue([{ kind: "insufficient-quota" }]) });
    const res = await call(api, query);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBeNull();
    const body = (await res.json()) as ErrorJson;
    expect(body.error.code).toBe("insufficient_quota");
    expect(body.error.type).toBe("insufficient_quota");
  });

  it("sends 401 for the unauthorized fault and a bare-string error for forbidden-bare", async () => {
    const api = await start({
      faults: faultQueue([{ kind: "unauthorized" }, { kind: "forbidden-bare" }]),
    });
    const unauthorized = await call(api, query);
    expect(unauthorized.status).toBe(401);
    expect(typeof ((await unauthorized.json()) as ErrorJson).error.message).toBe("string");
    const forbidden = await call(api, query);
    expect(forbidden.status).toBe(403);
    const body = (await forbidden.json()) as { error: unknown };
    expect(typeof body.error).toBe("string");
    expect(body.error).toContain("api.usage.read");
  });

  it("resets the connection so fetch rejects, and recovers on the next request", async () => {
    const api = await start({ faults: faultQueue([{ kind: "reset" }]) });
    await expect(call(api, query)).rejects.toThrow();
    expect((await call(api, query)).status).toBe(200);
    expect(api.requests.map((r) => [r.fault, r.status])).toEqual([
      ["reset", 0],
      [undefined, 200],
    ]);
  });

  it("answers slowly: a shorter client timeout aborts, and close() does not hang", async () => {
    const api = await start({ faults: faultQueue([{ kind: "slow", delayMs: 60_000 }]) });
    const error = await call(api, query, { signal: AbortSignal.timeout(50) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe("TimeoutError");
    await api.close();
  });

  it("answers slowly with the correct page when the client waits", async () => {
    const api = await start({
      events: [ev()],
      faults: faultQueue([{ kind: "slow", delayMs: 20 }]),
    });
    const p = await page(api, query);
    expect(sum(p.data, "input_tokens")).toBe(100);
    expect(api.requests[0]?.fault).toBe("slow");
  });

  it("truncates the JSON body with a matching Content-Length", async () => {
    const api = await start({ events: [ev()], faults: faultQueue([{ kind: "truncated" }]) });
    const res = await call(api, query);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    const text = await res.text();
    expect(Buffer.byteLength(text)).toBe(Number(res.headers.get("content-length")));
    expect(text.startsWith('{"object":"page"')).toBe(true);
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
  });

  it("sends schema violations as valid JSON with a 200", async () => {
    const api = await start({
      events: [ev()],
      faults: faultQueue([
        { kind: "schema-violation" },
        { kind: "schema-violation", variant: "data-not-array" },
      ]),
    });
    const stringTokens = (await page(api, query)) as unknown as {
      data: Array<{ results: Array<{ input_tokens: unknown }> }>;
    };
    expect(stringTokens.data[0]?.results[0]?.input_tokens).toBe("100");
    const notArray = (await page(api, query)) as unknown as { data: unknown };
    expect(Array.isArray(notArray.data)).toBe(false);
  });

  it("repeats the cursor: next_page points back to the first page, or to the page just sent", async () => {
    const api = await start({
      events: [ev(), ev({ completedAt: T0 + HOUR + 1, inputTokens: 5 })],
      faults: faultQueue([undefined, { kind: "repeat-cursor" }, { kind: "repeat-cursor" }]),
    });
    const first = await page(api, query);
    const cursor = first.next_page ?? "";
    const repeated = await page(api, `${query}&page=${encodeURIComponent(cursor)}`);
    expect(repeated.data[0]?.start_time).toBe(T0 + HOUR); // the page itself is correct
    expect(repeated.has_more).toBe(true);
    expect(repeated.next_page).toBe(cursor);

    const fromStart = await page(api, query);
    expect(fromStart.has_more).toBe(true);
    const again = await page(api, `${query}&page=${encodeURIComponent(fromStart.next_page ?? "")}`);
    expect(again.data).toEqual(first.data); // the cursor leads back to the first page
  });

  it("can change the fault plan at runtime", async () => {
    const api = await start();
    api.setFaults(() => ({ kind: "status", status: 500 }));
    expect((await call(api, query)).status).toBe(500);
    api.setFaults(undefined);
    expect((await call(api, query)).status).toBe(200);
  });
});

describe("fault plans", () => {
  const ctx = (requestIndex: number): FaultContext => ({
    requestIndex,
    path: "/v1/organization/usage/completions",
    query: new URLSearchParams(),
  });

  it("faultQueue gives the i-th request the i-th fault, then none", async () => {
    const api = await start({
      faults: faultQueue([
        { kind: "status", status: 500 },
        undefined,
        { kind: "status", status: 429 },
      ]),
    });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call(api, `start_time=${T0}`);
      await res.body?.cancel();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([500, 200, 429, 200, 200]);
  });

  it("seededFaults is deterministic per seed and honours the rate and kinds", () => {
    const kinds = [
      { kind: "reset" as const },
      { kind: "status" as const, status: 503 },
      { kind: "truncated" as const },
    ];
    const run = (seed: number) =>
      Array.from({ length: 400 }, (_, i) => seededFaults(seed, 0.3, kinds)(ctx(i))?.kind ?? "-");
    const a = run(7);
    expect(run(7)).toEqual(a);
    expect(run(8)).not.toEqual(a);
    const faulted = a.filter((k) => k !== "-");
    expect(faulted.length).toBeGreaterThan(60);
    expect(faulted.length).toBeLessThan(180);
    expect(new Set(faulted)).toEqual(new Set(["reset", "status", "truncated"]));
    expect(Array.from({ length: 50 }, (_, i) => seededFaults(1, 0, kinds)(ctx(i)))).toEqual(
      Array(50).fill(undefined),
    );
    expect(seededFaults(1, 1, kinds)(ctx(3))).toBeDefined();
  });

  it("seededFaults produces the same sequence against a live server", async () => {
    const statuses = async () => {
      const api = await start({ faults: seededFaults(99, 0.5, [{ kind: "status", status: 503 }]) });
      const out: number[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await call(api, `start_time=${T0}`);
        await res.body?.cancel();
        out.push(res.status);
      }
      return out;
    };
    const first = await statuses();
    expect(await statuses()).toEqual(first);
    expect(first).toContain(503);
    expect(first).toContain(200);
  });
});

describe("request log", () => {
  it("records every request in order with method, path, query, fault and status", async () => {
    const api = await start({
      faults: faultQueue([undefined, undefined, { kind: "status", status: 500 }]),
    });
    await (await fetch(url(api, `start_time=${T0}`))).body?.cancel();
    await (await call(api, `start_time=${T0}&api_key_ids[]=key_a`)).body?.cancel();
    await (await call(api, `start_time=${T0}`)).body?.cancel();
    await (await call(api, `bucket_width=1h`)).body?.cancel();
    expect(
      api.requests.map((r) => ({
        index: r.index,
        method: r.method,
        path: r.path,
        authorized: r.authorized,
        fault: r.fault,
        status: r.status,
      })),
    ).toEqual([
      {
        index: 0,
        method: "GET",
        path: "/v1/organization/usage/completions",
        authorized: false,
        fault: undefined,
        status: 401,
      },
      {
        index: 1,
        method: "GET",
        path: "/v1/organization/usage/completions",
        authorized: true,
        fault: undefined,
        status: 200,
      },
      {
        index: 2,
        method: "GET",
        path: "/v1/organization/usage/completions",
        authorized: true,
        fault: "status",
        status: 500,
      },
      {
        index: 3,
        method: "GET",
        path: "/v1/organization/usage/completions",
        authorized: true,
        fault: undefined,
        status: 400,
      },
    ]);
    expect(api.requests[1]?.query.getAll("api_key_ids[]")).toEqual(["key_a"]);
  });

  it("closes idle keep-alive connections and can be closed twice", async () => {
    const api = await start();
    await (await call(api, `start_time=${T0}`)).body?.cancel();
    await api.close();
    await api.close();
    await expect(call(api, `start_time=${T0}`)).rejects.toThrow();
  });
});
