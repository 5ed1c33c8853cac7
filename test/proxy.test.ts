import { rm } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "../src/errors.ts";
import { createHttpPageSource } from "../src/providers/openai/http.ts";
import { fetchSpan } from "../src/providers/openai/pages.ts";
import { runCliProcess } from "./support/cli-process.ts";
import {
  allEvents,
  generateExperiment,
  keyIdFor,
  tempDir,
  writeExperiment,
} from "./support/experiment.ts";
import { startFakeUsageApi, type UsageEvent } from "./support/fake-usage-api.ts";
import { startTestProxy, type TestProxy } from "./support/http-proxy.ts";
import { startTlsRelay, TEST_CA } from "./support/tls-relay.ts";

/**
 * The Usage API client honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY (and their lower-case forms),
 * as the GitHub and cache clients do: a self-hosted runner behind a proxy reaches the API only
 * through it. A real proxy on 127.0.0.1 records what went through it.
 */

const T0 = 1_761_820_800;
const ADMIN_KEY = "sk-admin-proxy-0001";
const KEY_A = "key_alphaProxy01";
const SPAN = { start: T0, end: T0 + 600 };
const EVENTS: UsageEvent[] = [
  { apiKeyId: KEY_A, model: "gpt-4o-mini", completedAt: T0 + 5, inputTokens: 10, outputTokens: 2 },
];

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function proxy(): Promise<TestProxy> {
  const p = await startTestProxy();
  cleanups.push(() => p.close());
  return p;
}

async function readThrough(env: Record<string, string>) {
  const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events: EVENTS });
  cleanups.push(() => api.close());
  const source = createHttpPageSource({ baseUrl: api.baseUrl, adminKey: ADMIN_KEY, proxyEnv: env });
  cleanups.push(() => source.close());
  const { rows } = await fetchSpan(source, SPAN, [KEY_A]);
  return { rows, api };
}

describe("the Usage API client and proxies (in process)", () => {
  it("HTTP_PROXY: every request goes through the proxy, with its headers", async () => {
    const p = await proxy();
    const { rows, api } = await readThrough({ HTTP_PROXY: p.url });
    expect(rows.map((r) => r.inputTokens)).toEqual([10]);
    expect(p.requests).toHaveLength(1);
    expect(p.requests[0]).toMatchObject({ method: "GET", authorization: true });
    expect(p.requests[0]!.target).toMatch(
      new RegExp(`^${api.baseUrl}/organization/usage/completions\\?`),
    );
  });

  it("http_proxy in lower case is read too, and wins over the upper-case form", async () => {
    const used = await proxy();
    const unused = await proxy();
    await readThrough({ http_proxy: used.url, HTTP_PROXY: unused.url });
    expect(used.requests).toHaveLength(1);
    expect(unused.requests).toHaveLength(0);
  });

  it("NO_PROXY naming the API's host bypasses the proxy", async () => {
    const p = await proxy();
    const { rows } = await readThrough({ HTTP_PROXY: p.url, NO_PROXY: "example.org,127.0.0.1" });
    expect(rows).toHaveLength(1);
    expect(p.requests).toHaveLength(0);
  });

  it("no proxy variable: requests go direct", async () => {
    const p = await proxy();
    await readThrough({});
    expect(p.requests).toHaveLength(0);
  });

  it("a proxy value that is not a URL is a configuration error naming the variable, its credentials hidden", () => {
    let error: unknown;
    try {
      createHttpPageSource({
        baseUrl: "http://127.0.0.1:9/v1",
        adminKey: ADMIN_KEY,
        proxyEnv: { HTTPS_PROXY: "ftp://user:hunter2secret@proxy:21" },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^HTTPS_PROXY: expected a proxy URL/);
    expect((error as Error).message).not.toContain("hunter2secret");
  });
});

describe("the built CLI behind a proxy", () => {
  async function experiment() {
    const runs = generateExperiment({ frameworks: ["baes"], runsPerFramework: 2, seed: 9 });
    const root = await tempDir();
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    await writeExperiment(root, runs);
    const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events: allEvents(runs) });
    cleanups.push(() => api.close());
    // the real API is HTTPS: put TLS in front of the fake, so the proxy must tunnel (CONNECT)
    const tls = await startTlsRelay(Number(new URL(api.baseUrl).port));
    cleanups.push(() => tls.close());
    const now = new Date((Math.max(...runs.map((r) => r.end)) + 3 * 3600) * 1000).toISOString();
    const args = [
      "--api-base-url",
      `${tls.origin}/v1`,
      "--api-key-id",
      `baes=${keyIdFor("baes")}`,
      "--now",
      now,
      "--dry-run",
      "--json",
    ];
    return { root, args, api };
  }

  it("HTTPS_PROXY: the pass reads the API through the proxy's CONNECT tunnel", async () => {
    const { root, args, api } = await experiment();
    const p = await proxy();
    const result = await runCliProcess(args, {
      cwd: root,
      env: { OPENAI_ADMIN_KEY: ADMIN_KEY, HTTPS_PROXY: p.url, NODE_EXTRA_CA_CERTS: TEST_CA },
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { runs: Array<{ status: string }> };
    expect(report.runs.map((r) => r.status)).toEqual(["pending", "pending"]);
    expect(api.requests.length).toBeGreaterThan(0);
    expect(p.requests.length).toBeGreaterThan(0);
    expect(
      p.requests.every((r) => r.method === "CONNECT" && /^127\.0\.0\.1:\d+$/.test(r.target)),
    ).toBe(true);
  });

  it("NO_PROXY: the same pass goes direct", async () => {
    const { root, args, api } = await experiment();
    const p = await proxy();
    const result = await runCliProcess(args, {
      cwd: root,
      env: {
        OPENAI_ADMIN_KEY: ADMIN_KEY,
        HTTPS_PROXY: p.url,
        NO_PROXY: "127.0.0.1",
        NODE_EXTRA_CA_CERTS: TEST_CA,
      },
    });
    expect(result.code).toBe(0);
    expect(api.requests.length).toBeGreaterThan(0);
    expect(p.requests).toEqual([]);
  });
});
