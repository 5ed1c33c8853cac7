import { rm } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { UsageApiError } from "../src/errors.ts";
import { nodeFiles } from "../src/fs/node.ts";
import type { Span } from "../src/model.ts";
import { builtinSource } from "../src/pricing/prices.ts";
import { createHttpPageSource } from "../src/providers/openai/http.ts";
import { fetchSpan } from "../src/providers/openai/pages.ts";
import { runPass } from "../src/reconcile/pass.ts";
import type { HttpSourceOptions } from "../src/transport/http.ts";
import { TOOL, VERSION } from "../src/version.ts";
import { allEvents, generateExperiment, tempDir, writeExperiment } from "./support/experiment.ts";
import {
  type FakeUsageApi,
  type Fault,
  startFakeUsageApi,
  type UsageEvent,
} from "./support/fake-usage-api.ts";
import { testSettings } from "./support/settings.ts";

/**
 * The HTTP client against a hostile network (SPEC §11 "Bounded in time and size"): a body that
 * drips, a body without end, a huge error message, a connection cut mid-body. Every test drives
 * the real client over real sockets against the fake Usage API; timeouts are short through the
 * client's options, and `within` only turns a hang into a failure.
 */

const T0 = 1_761_820_800;
const MIN = 60;
const ADMIN_KEY = "sk-admin-hostile-0123456789";
const KEY_A = "key_alphaHostile01";
const SPAN: Span = { start: T0, end: T0 + 10 * MIN };
const FEW: UsageEvent[] = [
  {
    apiKeyId: KEY_A,
    model: "gpt-4o-mini-2024-07-18",
    completedAt: T0 + 10,
    inputTokens: 1200,
    outputTokens: 300,
  },
];

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(fault: Fault | ((i: number) => Fault | undefined)): Promise<FakeUsageApi> {
  const plan = typeof fault === "function" ? fault : () => fault;
  const api = await startFakeUsageApi({
    adminKey: ADMIN_KEY,
    events: FEW,
    faults: ({ requestIndex }) => plan(requestIndex),
  });
  cleanups.push(() => api.close());
  return api;
}

function client(api: FakeUsageApi, options: Partial<HttpSourceOptions> = {}) {
  const retries: string[] = [];
  const source = createHttpPageSource({
    baseUrl: api.baseUrl,
    adminKey: ADMIN_KEY,
    sleep: async () => {},
    onRetry: (r) => retries.push(r.reason),
    ...options,
  });
  cleanups.push(() => source.close());
  return { source, retries };
}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms: a hang`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function rejection(promise: Promise<unknown>): Promise<UsageApiError> {
  try {
    await within(promise, 15_000);
  } catch (error) {
    if (!(error instanceof UsageApiError)) throw error;
    return error;
  }
  throw new Error("expected the request to fail");
}

describe("every request has an overall deadline, headers and whole body", () => {
  it("a body dripping one byte every 50 ms ends in a timeout at the deadline, though no gap is long", async () => {
    const api = await server({ kind: "drip", intervalMs: 50 });
    const { source, retries } = client(api, { timeoutMs: 400, maxAttempts: 2 });
    const error = await rejection(fetchSpan(source, SPAN, [KEY_A]));
    expect(error.kind).toBe("timeout");
    expect(error.message).toMatch(
      /^timed out: no complete answer within 400 ms \(connection, headers and body\)/,
    );
    expect(error.message).toMatch(/gave up after 2 tries/);
    expect(retries).toHaveLength(1);
    expect(api.requests).toHaveLength(2);
    // bytes kept coming: only an overall deadline stops this
    for (const r of api.requests) expect(r.bytesSent).toBeGreaterThan(0);
  });

  it("a drip that ends in time is read whole", async () => {
    const api = await server((i) => (i === 0 ? { kind: "drip", intervalMs: 1 } : undefined));
    const { source } = client(api, { timeoutMs: 10_000 });
    const fetched = await within(fetchSpan(source, SPAN, [KEY_A]), 15_000);
    expect(fetched.rows).toEqual([expect.objectContaining({ inputTokens: 1200 })]);
    expect(api.requests).toHaveLength(1);
  });

  it("a request that keeps waiting is reported while it waits", async () => {
    const api = await server({ kind: "drip", intervalMs: 50 });
    const notices: Array<{ what: string; waitedMs: number; limitMs: number }> = [];
    const { source } = client(api, {
      timeoutMs: 700,
      maxAttempts: 1,
      waitingNoticeMs: 150,
      onWaiting: (n) => notices.push(n),
    });
    await rejection(fetchSpan(source, SPAN, [KEY_A]));
    expect(notices.length).toBeGreaterThanOrEqual(2);
    expect(notices[0]).toEqual({
      what: "Usage API page 2025-10-30 10:40 UTC – 2025-10-30 10:50 UTC",
      waitedMs: expect.any(Number),
      limitMs: 700,
    });
    expect(notices.at(-1)!.waitedMs).toBeGreaterThan(notices[0]!.waitedMs);
  });
});

describe("the pass has a deadline too", () => {
  it("past it no request is sent, and the one in flight is abandoned with a deadline error", async () => {
    const api = await server({ kind: "drip", intervalMs: 50 });
    const { source } = client(api, { passDeadlineMs: 600, timeoutMs: 60_000 });
    const first = await rejection(fetchSpan(source, SPAN, [KEY_A]));
    expect(first.kind).toBe("deadline");
    expect(first.message).toMatch(
      /the pass's time for the API \(600 ms, pass-deadline-minutes\) ran out before this page was read; the next pass reads it again/,
    );
    const sent = api.requests.length;
    const again = await rejection(fetchSpan(source, { start: T0, end: T0 + MIN }, [KEY_A]));
    expect(again.kind).toBe("deadline");
    expect(api.requests).toHaveLength(sent);
  });

  it("a retry whose wait would outlast the pass is not waited for", async () => {
    const api = await server({ kind: "status", status: 503 });
    const { source, retries } = client(api, {
      passDeadlineMs: 5_000,
      backoffBaseMs: 60_000,
      random: () => 1,
    });
    const error = await rejection(fetchSpan(source, SPAN, [KEY_A]));
    expect(error.kind).toBe("deadline");
    expect(error.message).toMatch(/\(last: 503 server error/);
    expect(retries).toEqual([]);
    expect(api.requests).toHaveLength(1);
  });

  it("a pass past its deadline turns the unread runs into errors and writes nothing for them", async () => {
    const runs = generateExperiment({ frameworks: ["baes", "chatdev"], runsPerFramework: 3 });
    const root = await tempDir();
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const runsDir = await writeExperiment(root, runs);
    const api = await startFakeUsageApi({
      adminKey: ADMIN_KEY,
      events: allEvents(runs),
      faults: () => ({ kind: "drip", intervalMs: 100 }),
    });
    cleanups.push(() => api.close());
    const { source } = client(api, { passDeadlineMs: 800 });
    const now = Math.max(...runs.map((r) => r.end)) + 3 * 3600;
    const outcome = await within(
      runPass(testSettings(runsDir, ["baes", "chatdev"]), {
        files: nodeFiles,
        now,
        prices: [builtinSource()],
        source,
        tool: TOOL,
        version: VERSION,
      }),
      15_000,
    );
    const report = outcome.report;
    expect(report.runs).toHaveLength(6);
    for (const r of report.runs) {
      expect(r.status).toBe("error");
      expect(r.message).toMatch(/Usage API: the pass's time for the API \(800 ms/);
      expect(r.tokens_in).toBeNull();
    }
    expect(outcome.changes.filter((c) => c.path.endsWith("metrics.json"))).toEqual([]);
    expect(report.warnings).toContainEqual(
      expect.stringMatching(
        /^Usage API: the pass's time for the API ran out \(pass-deadline-minutes\); 6 run\(s\) not read/,
      ),
    );
  });
});

describe("a body is capped while it streams", () => {
  it("a 50 MB chunked body without Content-Length is dropped at the cap, and not asked for again", async () => {
    const api = await server({ kind: "huge-body", bytes: 50 * 1024 * 1024 });
    const { source, retries } = client(api, { maxBodyBytes: 1024 * 1024 });
    const error = await rejection(fetchSpan(source, SPAN, [KEY_A]));
    expect(error.kind).toBe("too_large");
    expect(error.message).toMatch(/^the response body passed 1 MiB while it was read; stopped/);
    expect(retries).toEqual([]);
    expect(api.requests).toHaveLength(1);
    // the client stopped reading: the server could not send the rest
    expect(api.requests[0]!.bytesSent).toBeLessThan(20 * 1024 * 1024);
  });

  it("an error body past the cap is dropped the same way", async () => {
    const api = await server({ kind: "huge-body", bytes: 10 * 1024 * 1024, status: 502 });
    const { source } = client(api, { maxBodyBytes: 256 * 1024 });
    const error = await rejection(fetchSpan(source, SPAN, [KEY_A]));
    expect(error.kind).toBe("too_large");
    expect(error.status).toBe(502);
    expect(error.message).toMatch(/^the 502 error body passed 0.3 MiB/);
    expect(api.requests).toHaveLength(1);
  });

  it("a body under the cap is read as always", async () => {
    const api = await server(() => undefined);
    const { source } = client(api, { maxBodyBytes: 64 * 1024 });
    const fetched = await fetchSpan(source, SPAN, [KEY_A]);
    expect(fetched.rows).toHaveLength(1);
  });
});

describe("a message quoted from the API is a few hundred characters, on one line", () => {
  it("a 10 MB error.message is cut at the source", async () => {
    const api = await server({ kind: "huge-error", chars: 10 * 1024 * 1024 });
    const { source } = client(api);
    const error = await rejection(fetchSpan(source, SPAN, [KEY_A]));
    expect(error.kind).toBe("bad_request");
    expect(error.message.length).toBeLessThan(400);
    expect(error.message).toMatch(/^400: e{200}… \(10485760 characters in all\)$/);
  });

  it("a huge retried 503 message is cut in every retry reason and in the final error", async () => {
    const api = await server({ kind: "huge-error", chars: 2_000_000, status: 503 });
    const { source, retries } = client(api, { maxAttempts: 3 });
    const error = await rejection(fetchSpan(source, SPAN, [KEY_A]));
    expect(error.kind).toBe("server");
    expect(error.message).toMatch(/characters in all\) \(gave up after 3 tries\)$/);
    for (const text of [error.message, ...retries]) expect(text.length).toBeLessThan(400);
  });

  it("a raw body with line breaks and the key in it becomes one line without the key", async () => {
    const body = `upstream said:\n::error::injected\r\nAuthorization: Bearer ${ADMIN_KEY}\n${"z".repeat(5000)}`;
    const api = await server({ kind: "status", status: 400, body });
    const { source } = client(api);
    const error = await rejection(fetchSpan(source, SPAN, [KEY_A]));
    expect(error.message).not.toMatch(/[\r\n]/);
    expect(error.message).not.toContain("0123456789");
    expect(error.message).toMatch(
      /^400: upstream said: ::error::injected Authorization: Bearer \*\*\*/,
    );
    expect(error.message.length).toBeLessThan(400);
  });
});

describe("connections cut mid-body", () => {
  it("are retried like any network error, and a good answer is used", async () => {
    const api = await server((i) => (i < 2 ? { kind: "reset-mid-body" } : undefined));
    const { source, retries } = client(api);
    const fetched = await within(fetchSpan(source, SPAN, [KEY_A]), 15_000);
    expect(fetched.rows).toHaveLength(1);
    expect(retries).toHaveLength(2);
    expect(api.requests).toHaveLength(3);
  });

  it("that never stop end in a network error after the tries", async () => {
    const api = await server({ kind: "reset-mid-body" });
    const { source } = client(api, { maxAttempts: 3 });
    const error = await rejection(fetchSpan(source, SPAN, [KEY_A]));
    expect(["network", "malformed"]).toContain(error.kind);
    expect(error.message).toMatch(/gave up after 3 tries/);
    expect(api.requests).toHaveLength(3);
  });
});
