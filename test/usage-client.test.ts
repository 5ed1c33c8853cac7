import { afterEach, describe, expect, it } from "vitest";
import { UsageApiError } from "../src/errors.ts";
import type { Span } from "../src/model.ts";
import { createHttpPageSource } from "../src/providers/openai/http.ts";
import { fetchSpan } from "../src/providers/openai/pages.ts";
import { GROUP_BY, MAX_MINUTE_BUCKETS } from "../src/providers/openai/query.ts";
import type { HttpSourceOptions } from "../src/transport/http.ts";
import type { UsageRow } from "../src/usage/rows.ts";
import {
  type FakeUsageApi,
  type FakeUsageApiOptions,
  type Fault,
  faultQueue,
  startFakeUsageApi,
  type UsageEvent,
} from "./support/fake-usage-api.ts";

/** 2025-10-30T10:40:00Z, a whole minute. */
const T0 = 1_761_820_800;
const MIN = 60;
const ADMIN_KEY = "sk-admin-test-usage-client";
const KEY_A = "key_alphaTest01";
const KEY_B = "key_betaTest01";
const KEY_OTHER = "key_otherTest01";
const SPAN: Span = { start: T0, end: T0 + 120 * MIN };

const servers: FakeUsageApi[] = [];
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(options: FakeUsageApiOptions = {}): Promise<FakeUsageApi> {
  const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, ...options });
  servers.push(api);
  return api;
}

/** An HTTP page source whose sleeps are recorded and return at once. */
function client(api: FakeUsageApi, options: Partial<HttpSourceOptions> = {}) {
  const delays: number[] = [];
  const retries: Array<{ attempt: number; delayMs: number; reason: string }> = [];
  const source = createHttpPageSource({
    baseUrl: api.baseUrl,
    adminKey: ADMIN_KEY,
    sleep: async (ms) => {
      delays.push(ms);
    },
    random: () => 1,
    onRetry: (info) => retries.push(info),
    ...options,
  });
  closers.push(() => source.close());
  return { source, delays, retries };
}

/** Events on two keys (and one key outside the query) over the span, several per minute. */
function spreadEvents(): UsageEvent[] {
  const events: UsageEvent[] = [];
  for (let i = 0; i < 90; i++) {
    const minute = T0 + ((i * 7) % 118) * MIN;
    events.push({
      apiKeyId: i % 3 === 0 ? KEY_B : KEY_A,
      model: i % 4 === 0 ? "gpt-4o-2024-08-06" : "gpt-4o-mini-2024-07-18",
      completedAt: minute + (i % 60),
      inputTokens: 1000 + i * 13,
      cachedTokens: (i % 5) * 100,
      outputTokens: 200 + i,
      requests: 1 + (i % 2),
    });
  }
  // another key, and usage outside the span: neither may appear
  events.push({
    apiKeyId: KEY_OTHER,
    model: "gpt-4o-mini",
    completedAt: T0 + 600,
    inputTokens: 5,
    outputTokens: 5,
  });
  events.push({
    apiKeyId: KEY_A,
    model: "gpt-4o-mini",
    completedAt: T0 - 1,
    inputTokens: 7,
    outputTokens: 7,
  });
  events.push({
    apiKeyId: KEY_A,
    model: "gpt-4o-mini",
    completedAt: SPAN.end,
    inputTokens: 9,
    outputTokens: 9,
  });
  return events;
}

/** The rows a correct client must return: events summed per minute, key and model. */
function expectedRows(
  events: readonly UsageEvent[],
  span: Span,
  keys: readonly string[],
): UsageRow[] {
  const rows = new Map<string, UsageRow>();
  for (const e of events) {
    const minute = Math.floor(e.completedAt / MIN) * MIN;
    if (minute < span.start || minute >= span.end || !keys.includes(e.apiKeyId)) continue;
    const id = `${minute}|${e.apiKeyId}|${e.model}`;
    const row = rows.get(id) ?? {
      minute,
      apiKeyId: e.apiKeyId,
      model: e.model,
      batch: false,
      serviceTier: "default",
      inputTokens: 0,
      cachedTokens: 0,
      outputTokens: 0,
      requests: 0,
      classes: {},
      schema: "openai-2026-07",
    };
    row.inputTokens += e.inputTokens;
    row.cachedTokens += e.cachedTokens ?? 0;
    row.outputTokens += e.outputTokens;
    row.requests = row.requests! + (e.requests ?? 1);
    rows.set(id, row);
  }
  // these events are text only: input is uncached text and cache reads, output is text
  for (const row of rows.values()) {
    const classes: UsageRow["classes"] = {};
    if (row.inputTokens > row.cachedTokens)
      classes.uncached_text_input = row.inputTokens - row.cachedTokens;
    if (row.cachedTokens > 0) classes.cached_input = row.cachedTokens;
    if (row.outputTokens > 0) classes.text_output = row.outputTokens;
    row.classes = classes;
  }
  return sortRows([...rows.values()]);
}

const sortRows = (rows: UsageRow[]): UsageRow[] =>
  [...rows].sort(
    (a, b) =>
      a.minute - b.minute || a.apiKeyId.localeCompare(b.apiKeyId) || a.model.localeCompare(b.model),
  );

/** A small event set: one event in minute 0 and one in minute 1 on KEY_A. */
const FEW: UsageEvent[] = [
  {
    apiKeyId: KEY_A,
    model: "gpt-4o-mini-2024-07-18",
    completedAt: T0 + 10,
    inputTokens: 1200,
    cachedTokens: 200,
    outputTokens: 300,
  },
  {
    apiKeyId: KEY_A,
    model: "gpt-4o-mini-2024-07-18",
    completedAt: T0 + 70,
    inputTokens: 800,
    outputTokens: 100,
  },
];
const SMALL_SPAN: Span = { start: T0, end: T0 + 10 * MIN };

async function rejection(promise: Promise<unknown>): Promise<UsageApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UsageApiError);
    return error as UsageApiError;
  }
  throw new Error("expected the promise to reject");
}

/** Fails instead of hanging when a promise never settles. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

const always = (fault: Fault) => (): Fault => fault;

describe("a source's life", () => {
  it("one that sent no request closes at once; one made after it reads as usual", async () => {
    const events = spreadEvents();
    const api = await server({ events });
    // a pass with nothing due makes its source and closes it without a request
    const idle = createHttpPageSource({ baseUrl: api.baseUrl, adminKey: ADMIN_KEY });
    await idle.close();
    expect(idle.stats.requests).toBe(0);
    expect(api.requests).toHaveLength(0);

    const { source } = client(api);
    const fetched = await fetchSpan(source, SPAN, [KEY_A, KEY_B]);
    expect(sortRows(fetched.rows)).toEqual(expectedRows(events, SPAN, [KEY_A, KEY_B]));
    expect(api.requests).toHaveLength(1);
  });
});

describe("pagination", () => {
  for (const emptyBuckets of ["include", "omit"] as const) {
    it(`follows every page to the end and returns each row once (empty buckets ${emptyBuckets})`, async () => {
      const events = spreadEvents();
      const api = await server({ events, maxBucketsPerPage: 25, emptyBuckets });
      const { source } = client(api);
      const fetched = await fetchSpan(source, SPAN, [KEY_A, KEY_B]);

      expect(sortRows(fetched.rows)).toEqual(expectedRows(events, SPAN, [KEY_A, KEY_B]));
      expect(fetched.rows.length).toBeGreaterThan(40);
      expect(fetched.pages).toBe(Math.ceil(120 / 25));
      expect(api.requests).toHaveLength(5);
      expect(source.stats.requests).toBe(5);
      const cursors = api.requests.map((r) => r.query.get("page"));
      expect(cursors[0]).toBeNull();
      expect(new Set(cursors).size).toBe(5);
      for (const r of api.requests) {
        expect(r.authorized).toBe(true);
        expect(r.query.get("start_time")).toBe(String(SPAN.start));
        expect(r.query.get("end_time")).toBe(String(SPAN.end));
        expect(r.query.get("bucket_width")).toBe("1m");
        expect(r.query.get("limit")).toBe(String(MAX_MINUTE_BUCKETS));
        expect(r.query.getAll("group_by")).toEqual([...GROUP_BY]);
        expect(r.query.getAll("api_key_ids").sort()).toEqual([KEY_A, KEY_B]);
      }
    });
  }

  it("reads a 1440-minute span in one request when the server allows it", async () => {
    const events = spreadEvents();
    const api = await server({ events });
    const { source } = client(api);
    const span = { start: T0, end: T0 + 1440 * MIN };
    const fetched = await fetchSpan(source, span, [KEY_A, KEY_B]);
    expect(sortRows(fetched.rows)).toEqual(expectedRows(events, span, [KEY_A, KEY_B]));
    expect(api.requests).toHaveLength(1);
  });
});

describe("pages of a long span", () => {
  it("asks for each page's time of a span at once: one request per page, every row once", async () => {
    const events = spreadEvents().map((e, i) => ({
      ...e,
      // spread over three days and a bit, so the span takes four pages
      completedAt: e.completedAt + (i % 4) * 1440 * MIN,
    }));
    const span = { start: T0, end: T0 + (3 * 1440 + 120) * MIN };
    // the first request is answered late. Asked one after another (by cursor), each page is asked
    // for once the one before it has come: by the last request, three pages would have come
    let pagesSeen = 0;
    let seenAtLastRequest: number | undefined;
    const api: FakeUsageApi = await server({
      events,
      faults: ({ requestIndex }) => {
        if (requestIndex === 3) seenAtLastRequest = pagesSeen;
        return requestIndex === 0 ? { kind: "slow", delayMs: 2000 } : undefined;
      },
    });
    const { source } = client(api);
    const fetched = await fetchSpan(source, span, [KEY_A, KEY_B], () => {
      pagesSeen++;
    });
    expect(sortRows(fetched.rows)).toEqual(expectedRows(events, span, [KEY_A, KEY_B]));
    expect(fetched.pages).toBe(4);
    expect(api.requests).toHaveLength(4);
    expect(seenAtLastRequest).toBeLessThan(3);
    // each request is one page's time of the span, none asked twice
    expect(
      api.requests
        .map((r) => [Number(r.query.get("start_time")), Number(r.query.get("end_time"))])
        .sort((a, b) => a[0]! - b[0]!),
    ).toEqual(
      [0, 1, 2, 3].map((k) => [T0 + k * 1440 * MIN, Math.min(T0 + (k + 1) * 1440 * MIN, span.end)]),
    );
  });
});

describe("retries", () => {
  it('429 with Retry-After "2" is retried after waiting at least 2000 ms', async () => {
    const api = await server({
      events: FEW,
      faults: faultQueue([{ kind: "status", status: 429, retryAfter: "2" }]),
    });
    const { source, delays } = client(api, { random: () => 0 });
    const fetched = await fetchSpan(source, SMALL_SPAN, [KEY_A]);
    expect(sortRows(fetched.rows)).toEqual(expectedRows(FEW, SMALL_SPAN, [KEY_A]));
    expect(api.requests.map((r) => r.status)).toEqual([429, 200]);
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThanOrEqual(2000);
  });

  it("a Retry-After longer than allowed ends the retries with a message saying so", async () => {
    const api = await server({
      events: FEW,
      faults: always({ kind: "status", status: 429, retryAfter: "3600" }),
    });
    const { source, delays } = client(api);
    const error = await rejection(fetchSpan(source, SMALL_SPAN, [KEY_A]));
    expect(error.kind).toBe("rate_limited");
    expect(error.message).toMatch(/wait 3600 s/);
    expect(delays).toEqual([]);
    expect(api.requests).toHaveLength(1);
  });

  it("500, 502, 503 and a connection reset are retried with growing backoff", async () => {
    const api = await server({
      events: FEW,
      faults: faultQueue([
        { kind: "status", status: 500 },
        { kind: "status", status: 502 },
        { kind: "status", status: 503 },
        { kind: "reset" },
      ]),
    });
    const { source, delays, retries } = client(api, { backoffBaseMs: 100, maxAttempts: 6 });
    const fetched = await fetchSpan(source, SMALL_SPAN, [KEY_A]);
    expect(sortRows(fetched.rows)).toEqual(expectedRows(FEW, SMALL_SPAN, [KEY_A]));
    expect(api.requests.map((r) => r.status)).toEqual([500, 502, 503, 0, 200]);
    // random() = 1: the full exponential delay, doubling each time
    expect(delays).toEqual([100, 200, 400, 800]);
    expect(retries.map((r) => r.reason)).toEqual([
      expect.stringMatching(/^500 server error/),
      expect.stringMatching(/^502 server error/),
      expect.stringMatching(/^503 server error/),
      expect.stringMatching(/^network error/),
    ]);
    expect(source.stats).toEqual({ requests: 5, retries: 4 });
  });

  it("backoff is capped by backoffMaxMs", async () => {
    const api = await server({ events: FEW, faults: always({ kind: "status", status: 503 }) });
    const { source, delays } = client(api, {
      backoffBaseMs: 100,
      backoffMaxMs: 300,
      maxAttempts: 5,
    });
    await rejection(fetchSpan(source, SMALL_SPAN, [KEY_A]));
    expect(delays).toEqual([100, 200, 300, 300]);
  });

  it("stops after maxAttempts with a clear error", async () => {
    const api = await server({ events: FEW, faults: always({ kind: "status", status: 503 }) });
    const { source, delays } = client(api, { maxAttempts: 3 });
    const error = await rejection(fetchSpan(source, SMALL_SPAN, [KEY_A]));
    expect(error.kind).toBe("server");
    expect(error.status).toBe(503);
    expect(error.message).toMatch(/^503 server error: The server had an error/);
    expect(error.message).toMatch(/gave up after 3 tries/);
    expect(api.requests).toHaveLength(3);
    expect(delays).toHaveLength(2);
  });

  it("a response slower than timeoutMs is a timeout, then retried", async () => {
    const api = await server({
      events: FEW,
      faults: faultQueue([{ kind: "slow", delayMs: 2000 }]),
    });
    const { source, retries } = client(api, { timeoutMs: 200 });
    const fetched = await fetchSpan(source, SMALL_SPAN, [KEY_A]);
    expect(sortRows(fetched.rows)).toEqual(expectedRows(FEW, SMALL_SPAN, [KEY_A]));
    expect(api.requests).toHaveLength(2);
    expect(retries).toHaveLength(1);
    expect(retries[0]!.reason).toMatch(/^timed out/);
  });

  it("a response that stays slow ends in a timeout error", async () => {
    const api = await server({ events: FEW, faults: always({ kind: "slow", delayMs: 2000 }) });
    const { source } = client(api, { timeoutMs: 200, maxAttempts: 2 });
    const error = await rejection(fetchSpan(source, SMALL_SPAN, [KEY_A]));
    expect(error.kind).toBe("timeout");
    expect(error.message).toMatch(/gave up after 2 tries/);
    expect(api.requests).toHaveLength(2);
  });

  it("a truncated body is retried", async () => {
    const api = await server({ events: FEW, faults: faultQueue([{ kind: "truncated" }]) });
    const { source, retries } = client(api);
    const fetched = await fetchSpan(source, SMALL_SPAN, [KEY_A]);
    expect(sortRows(fetched.rows)).toEqual(expectedRows(FEW, SMALL_SPAN, [KEY_A]));
    expect(api.requests).toHaveLength(2);
    expect(retries[0]!.reason).toMatch(/not valid JSON/);
  });

  it("a body that stays truncated errors as malformed", async () => {
    const api = await server({ events: FEW, faults: always({ kind: "truncated" }) });
    const { source } = client(api, { maxAttempts: 3 });
    const error = await rejection(fetchSpan(source, SMALL_SPAN, [KEY_A]));
    expect(error.kind).toBe("malformed");
    expect(error.message).toMatch(/not valid JSON.*gave up after 3 tries/);
    expect(api.requests).toHaveLength(3);
  });
});

describe("errors that are not retried", () => {
  const cases: Array<{
    name: string;
    fault?: Fault;
    clientKey?: string;
    span?: Span;
    kind: UsageApiError["kind"];
    status: number;
    message: RegExp;
  }> = [
    {
      name: "401 for a wrong admin key",
      clientKey: "sk-admin-not-the-right-one",
      kind: "auth",
      status: 401,
      message: /^401 Unauthorized: Incorrect API key provided\. You must use an admin key/,
    },
    {
      name: "401 for an expired token",
      fault: { kind: "unauthorized" },
      kind: "auth",
      status: 401,
      message: /^401 Unauthorized: Your authentication token has expired\./,
    },
    {
      name: "403 with a bare string error body",
      fault: { kind: "forbidden-bare" },
      kind: "forbidden",
      status: 403,
      message:
        /^403 Forbidden: You have insufficient permissions .*Missing scopes: api\.usage\.read\./,
    },
    {
      name: "429 insufficient_quota",
      fault: { kind: "insufficient-quota" },
      kind: "quota",
      status: 429,
      message: /^429 insufficient_quota: You exceeded your current quota/,
    },
    {
      name: "400 for a bad query",
      span: { start: T0, end: T0 },
      kind: "bad_request",
      status: 400,
      message: /^400: Invalid value for 'end_time': must be greater than start_time\./,
    },
    {
      name: "404 for a wrong base URL path",
      fault: { kind: "status", status: 404 },
      kind: "bad_request",
      status: 404,
      message: /^404: Request failed with status 404\./,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: one request, and the API's message in the error`, async () => {
      const api = await server({ events: FEW, faults: c.fault ? always(c.fault) : undefined });
      const { source, delays } = client(api, c.clientKey ? { adminKey: c.clientKey } : {});
      const error = await rejection(fetchSpan(source, c.span ?? SMALL_SPAN, [KEY_A]));
      expect(error.kind).toBe(c.kind);
      expect(error.status).toBe(c.status);
      expect(error.message).toMatch(c.message);
      expect(error.message).not.toMatch(/gave up/);
      expect(api.requests).toHaveLength(1);
      expect(delays).toEqual([]);
    });
  }
});

describe("validation of what comes back", () => {
  it("a schema-violating page is asked for again and the good answer is used", async () => {
    const api = await server({ events: FEW, faults: faultQueue([{ kind: "schema-violation" }]) });
    const { source } = client(api);
    const fetched = await fetchSpan(source, SMALL_SPAN, [KEY_A]);
    expect(sortRows(fetched.rows)).toEqual(expectedRows(FEW, SMALL_SPAN, [KEY_A]));
    expect(api.requests).toHaveLength(2);
  });

  it("a page that keeps violating the schema errors naming the field", async () => {
    const api = await server({ events: FEW, faults: always({ kind: "schema-violation" }) });
    const { source } = client(api);
    const error = await rejection(fetchSpan(source, SMALL_SPAN, [KEY_A]));
    expect(error.kind).toBe("malformed");
    expect(error.message).toMatch(/does not match the Usage API schema/);
    expect(error.message).toMatch(/data\[0\]\.results\[0\]\.input_tokens: .*expected number/);
    expect(api.requests).toHaveLength(3);
  });

  it("a page whose data is not an array errors naming data", async () => {
    const api = await server({
      events: FEW,
      faults: always({ kind: "schema-violation", variant: "data-not-array" }),
    });
    const { source } = client(api);
    const error = await rejection(fetchSpan(source, SMALL_SPAN, [KEY_A]));
    expect(error.message).toMatch(/data: .*expected array/);
  });

  it("a cursor repeated after the first page errors clearly instead of looping", async () => {
    const api = await server({
      events: spreadEvents(),
      maxBucketsPerPage: 10,
      faults: faultQueue([undefined, { kind: "repeat-cursor" }, { kind: "repeat-cursor" }]),
    });
    const { source } = client(api);
    const error = await rejection(within(fetchSpan(source, SPAN, [KEY_A, KEY_B]), 5000));
    expect(error.kind).toBe("protocol");
    expect(error.message).toMatch(/repeated the page cursor "page_[^"]*"/);
    expect(error.message).toMatch(/stopped instead of looping/);
    expect(api.requests).toHaveLength(2);
  });

  it("a first page pointing back at itself errors instead of looping", async () => {
    const api = await server({
      events: spreadEvents(),
      maxBucketsPerPage: 10,
      faults: always({ kind: "repeat-cursor" }),
    });
    const { source } = client(api);
    const error = await rejection(within(fetchSpan(source, SPAN, [KEY_A, KEY_B]), 5000));
    expect(error.kind).toBe("protocol");
    // the cursor of page one is new to the client, so it follows it once and sees the same
    // buckets again (or the cursor again): either way it stops at once
    expect(error.message).toMatch(/was returned twice|repeated the page cursor/);
    expect(api.requests.length).toBeLessThanOrEqual(3);
  });
});

describe("late and revised data", () => {
  it("late events are absent until the server reports them", async () => {
    let clock = T0 + 20 * MIN;
    const late: UsageEvent = {
      apiKeyId: KEY_A,
      model: "gpt-4o-mini-2024-07-18",
      completedAt: T0 + 3 * MIN + 5,
      inputTokens: 5000,
      outputTokens: 500,
      visibleAt: T0 + 90 * MIN,
    };
    const events = [...FEW, late];
    const api = await server({ events, now: () => clock, lagSeconds: 10 * MIN });
    const { source } = client(api);

    const early = await fetchSpan(source, SMALL_SPAN, [KEY_A]);
    expect(sortRows(early.rows)).toEqual(expectedRows(FEW, SMALL_SPAN, [KEY_A]));

    clock = T0 + 90 * MIN;
    const later = await fetchSpan(source, SMALL_SPAN, [KEY_A]);
    expect(sortRows(later.rows)).toEqual(expectedRows(events, SMALL_SPAN, [KEY_A]));
    expect(later.rows.find((r) => r.minute === T0 + 3 * MIN)?.inputTokens).toBe(5000);

    // within the lag, nothing at all is reported yet
    clock = T0 + 5 * MIN;
    const tooSoon = await fetchSpan(source, SMALL_SPAN, [KEY_A]);
    expect(tooSoon.rows).toEqual([]);
  });

  it("a revised bucket changes the rows", async () => {
    let clock = T0 + 30 * MIN;
    const revised: UsageEvent = {
      ...FEW[0]!,
      revisions: [{ at: T0 + 45 * MIN, inputTokens: 1500, outputTokens: 350, requests: 2 }],
    };
    const api = await server({ events: [revised, FEW[1]!], now: () => clock });
    const { source } = client(api);
    const before = await fetchSpan(source, SMALL_SPAN, [KEY_A]);
    expect(before.rows.find((r) => r.minute === T0)).toMatchObject({
      inputTokens: 1200,
      cachedTokens: 200,
      outputTokens: 300,
      requests: 1,
    });
    clock = T0 + 45 * MIN;
    const after = await fetchSpan(source, SMALL_SPAN, [KEY_A]);
    expect(after.rows.find((r) => r.minute === T0)).toMatchObject({
      inputTokens: 1500,
      cachedTokens: 200,
      outputTokens: 350,
      requests: 2,
    });
    expect(after.rows.find((r) => r.minute === T0 + MIN)).toEqual(
      before.rows.find((r) => r.minute === T0 + MIN),
    );
  });
});

describe("the admin key stays secret", () => {
  const SECRET = "sk-admin-SECRET123456";
  const bodies: Array<{ name: string; status: number; body: string }> = [
    {
      name: "401 echoing the key in full",
      status: 401,
      body: JSON.stringify({
        error: {
          message: `Incorrect API key provided: ${SECRET}. You can find your API key at https://platform.openai.com/account/api-keys.`,
          type: "invalid_request_error",
          code: "invalid_api_key",
        },
      }),
    },
    {
      name: "401 echoing the key masked",
      status: 401,
      body: JSON.stringify({
        error: { message: "Incorrect API key provided: sk-admin-SECR*********3456." },
      }),
    },
    {
      name: "403 with the key in a bare string",
      status: 403,
      body: JSON.stringify({ error: `key ${SECRET} lacks api.usage.read` }),
    },
    {
      name: "502 plain text echoing the key, retried to the end",
      status: 502,
      body: `upstream rejected Authorization: Bearer ${SECRET}`,
    },
  ];
  for (const b of bodies) {
    it(`${b.name}: the error never shows the key`, async () => {
      const api = await startFakeUsageApi({
        adminKey: SECRET,
        events: FEW,
        faults: always({ kind: "status", status: b.status, body: b.body }),
      });
      servers.push(api);
      const { source } = client(api, { adminKey: SECRET, maxAttempts: 2 });
      const error = await rejection(fetchSpan(source, SMALL_SPAN, [KEY_A]));
      expect(error.status).toBe(b.status);
      for (const text of [error.message, String(error), error.stack ?? ""]) {
        expect(text).not.toContain("SECRET123456");
        expect(text).not.toContain("SECR");
      }
      // the rest of the API's message is still there
      expect(error.message).toMatch(
        /Incorrect API key provided|lacks api\.usage\.read|upstream rejected/,
      );
    });
  }
});
