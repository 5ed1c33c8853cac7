import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UsageApiError } from "../src/errors.ts";
import type { Span } from "../src/model.ts";
import { createHttpPageSource } from "../src/providers/openai/http.ts";
import { fetchSpan } from "../src/providers/openai/pages.ts";
import { recordingKey } from "../src/providers/openai/query.ts";
import { recordingSource, replaySource } from "../src/transport/recording.ts";
import { allEvents, generateExperiment, keyIdFor, tempDir } from "./support/experiment.ts";
import { type FakeUsageApi, startFakeUsageApi } from "./support/fake-usage-api.ts";

const ADMIN_KEY = "sk-admin-RECORDING0123456789";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ api: FakeUsageApi; dir: string; spans: Span[]; keys: string[] }> {
  const runs = generateExperiment({ runsPerFramework: 2, seed: 11 });
  const api = await startFakeUsageApi({
    adminKey: ADMIN_KEY,
    events: allEvents(runs),
    maxBucketsPerPage: 30,
  });
  cleanups.push(() => api.close());
  const root = await tempDir("reconcile-usage-recording-");
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const minute = (t: number) => Math.floor(t / 60) * 60;
  const start = minute(Math.min(...runs.map((r) => r.start)));
  const end = minute(Math.max(...runs.map((r) => r.end))) + 180;
  // two spans: the first half and the second half of the experiment
  const middle = minute((start + end) / 2);
  return {
    api,
    dir: join(root, "usage-recording"),
    spans: [
      { start, end: middle },
      { start: middle, end },
    ],
    keys: [...new Set(runs.map((r) => keyIdFor(r.framework)))].sort(),
  };
}

describe("--record and --replay", () => {
  it("a pass recorded and then replayed gives identical rows with zero HTTP requests", async () => {
    const { api, dir, spans, keys } = await setup();
    const http = createHttpPageSource({ baseUrl: api.baseUrl, adminKey: ADMIN_KEY });
    cleanups.push(() => http.close());
    const recorder = recordingSource(http, dir, recordingKey);
    const recorded = [];
    for (const span of spans) recorded.push(await fetchSpan(recorder, span, keys));
    const sent = api.requests.length;
    expect(sent).toBe(recorded.reduce((n, f) => n + f.pages, 0));
    expect(sent).toBeGreaterThan(4); // several pages per span
    expect(recorded.flatMap((f) => f.rows).length).toBeGreaterThan(20);
    expect((await readdir(dir)).filter((n) => n.endsWith(".json"))).toHaveLength(sent);

    const replay = await replaySource(dir, recordingKey);
    const replayed = [];
    for (const span of spans) replayed.push(await fetchSpan(replay, span, keys));
    expect(replayed).toEqual(recorded);
    expect(api.requests.length).toBe(sent);
  });

  it("recorded files hold no admin key and no authorization header", async () => {
    const { api, dir, spans, keys } = await setup();
    const http = createHttpPageSource({ baseUrl: api.baseUrl, adminKey: ADMIN_KEY });
    cleanups.push(() => http.close());
    await fetchSpan(recordingSource(http, dir, recordingKey), spans[0]!, keys);
    const names = await readdir(dir);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const text = await readFile(join(dir, name), "utf8");
      expect(text).not.toContain(ADMIN_KEY);
      expect(text).not.toContain("RECORDING0123456789");
      expect(text.toLowerCase()).not.toContain("bearer");
      expect(text.toLowerCase()).not.toContain("authorization");
      const saved = JSON.parse(text) as { query: string; response: { data: unknown[] } };
      expect(Object.keys(saved).sort()).toEqual(["query", "response"]);
      expect(Array.isArray(saved.response.data)).toBe(true);
    }
  });

  it("a query that is not in the recording fails with an error naming the directory", async () => {
    const { api, dir, spans, keys } = await setup();
    const http = createHttpPageSource({ baseUrl: api.baseUrl, adminKey: ADMIN_KEY });
    cleanups.push(() => http.close());
    await fetchSpan(recordingSource(http, dir, recordingKey), spans[0]!, keys);
    const sent = api.requests.length;

    const replay = await replaySource(dir, recordingKey);
    // the other span, and the same span for fewer keys: neither was recorded
    for (const [span, ks] of [
      [spans[1]!, keys],
      [spans[0]!, keys.slice(1)],
    ] as const) {
      const error = await fetchSpan(replay, span, ks).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UsageApiError);
      expect((error as UsageApiError).kind).toBe("replay");
      expect((error as UsageApiError).message).toContain(`no recorded page in ${dir}`);
      expect((error as UsageApiError).message).toContain(`start_time=${span.start}`);
    }
    expect(api.requests.length).toBe(sent);
  });

  it("a replay directory that does not exist is an error naming it", async () => {
    const missing = join(await tempDir("reconcile-usage-recording-"), "nowhere");
    cleanups.push(() => rm(join(missing, ".."), { recursive: true, force: true }));
    await expect(replaySource(missing, recordingKey)).rejects.toThrow(
      `replay directory ${missing} cannot be read`,
    );
  });
});
