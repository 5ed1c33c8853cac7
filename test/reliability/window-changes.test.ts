import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PassReportSchema } from "../../src/report/schema.ts";
import { runCli } from "../support/cli.ts";
import {
  allEvents,
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  tempDir,
  writeExperiment,
} from "../support/experiment.ts";
import {
  type FakeUsageApi,
  startFakeUsageApi,
  type UsageEvent,
} from "../support/fake-usage-api.ts";

/**
 * A property over whole passes (the CLI, real files in a temp directory, the fake Usage API over
 * HTTP): experiments whose run directories are copied to new run ids with their steps moved, and
 * whose step times are corrected between passes, while other usage lands on the keys around them.
 * Whatever happens, a run the pass calls `verified` has exactly the usage of its current window
 * (computed here from the events and the file, never by the code under test), in the report and
 * in the file.
 */

const ADMIN_KEY = "sk-admin-window-changes-01";
const MIN = 60;
const HOUR = 3600;
const TAIL = 120;
const FRAMEWORKS = ["baes", "chatdev"];

let api: FakeUsageApi;
beforeAll(async () => {
  api = await startFakeUsageApi({ adminKey: ADMIN_KEY });
});
afterAll(() => api.close());

type Action =
  | { kind: "pass"; minutes: number }
  | { kind: "copy"; pick: number; hoursBack: number }
  | { kind: "correct"; pick: number; endMinutes: number; startMinutes: number };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("pass" as const),
      minutes: fc.constantFrom(5, 30, 61, 61, 90, 130),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("copy" as const),
      pick: fc.nat(),
      // back by whole days (onto another day's usage or none), or by a few hours
      hoursBack: fc.oneof(fc.constantFrom(24, 48, 72), fc.integer({ min: 1, max: 30 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("correct" as const),
      pick: fc.nat(),
      endMinutes: fc.integer({ min: -8, max: 15 }),
      startMinutes: fc.integer({ min: -5, max: 5 }),
    }),
  },
);

/** Other usage on the experiment's keys: between runs, before them, on days runs are copied to. */
const strayArb = fc.array(
  fc.record({
    framework: fc.constantFrom(...FRAMEWORKS),
    minutesFromStart: fc.integer({ min: -3 * 24 * 60, max: 10 * 60 }),
    input: fc.integer({ min: 1, max: 20_000 }),
    output: fc.integer({ min: 0, max: 2_000 }),
  }),
  { maxLength: 25 },
);

interface FileJson {
  run_id: string;
  start_timestamp: string;
  end_timestamp: string;
  steps: Array<{ start_timestamp: number; end_timestamp: number }>;
  verification_status: string;
  aggregate_metrics: Record<string, number>;
}

const iso = (t: number) => new Date(Math.floor(t) * 1000).toISOString();

/** SPEC §3 from the file's steps: [floor60(first start), floor60(last end) + 60 + tail). */
function windowOfFile(f: FileJson) {
  const start = Math.min(...f.steps.map((s) => s.start_timestamp));
  const end = Math.max(...f.steps.map((s) => s.end_timestamp));
  return {
    start: Math.floor(start / MIN) * MIN,
    end: Math.floor(end / MIN) * MIN + MIN + Math.ceil(TAIL / MIN) * MIN,
  };
}

/**
 * SPEC §11: a run whose steps wholly contain another run's of its framework (not an identical
 * span) is a timestamp error of its own, and its neighbours are judged as if it were not there.
 */
function swallowsAnother(
  me: { framework: string; file: FileJson },
  all: ReadonlyArray<{ framework: string; file: FileJson }>,
): boolean {
  const span = (f: FileJson) => ({
    start: Math.min(...f.steps.map((s) => s.start_timestamp)),
    end: Math.max(...f.steps.map((s) => s.end_timestamp)),
  });
  const a = span(me.file);
  return all.some((o) => {
    if (o === me || o.framework !== me.framework) return false;
    const b = span(o.file);
    return a.start <= b.start && b.end <= a.end && !(a.start === b.start && a.end === b.end);
  });
}

async function runFiles(
  runsDir: string,
): Promise<Array<{ framework: string; id: string; path: string }>> {
  const out = [];
  for (const framework of FRAMEWORKS)
    for (const id of (await readdir(join(runsDir, framework))).sort())
      out.push({ framework, id, path: join(runsDir, framework, id, "metrics.json") });
  return out;
}

describe("copied run directories and corrected steps (issue 9 items 1, 2)", () => {
  it("no run is ever verified with totals other than its current window's true usage", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 2, max: 3 }),
        fc.array(actionArb, { minLength: 4, maxLength: 14 }),
        strayArb,
        async (seed, perFramework, actions, strays) => {
          const runs: GeneratedRun[] = generateExperiment({
            frameworks: FRAMEWORKS,
            runsPerFramework: perFramework,
            seed,
          });
          const firstStart = Math.min(...runs.map((r) => r.start));
          const events: UsageEvent[] = [
            ...allEvents(runs),
            ...strays.map((s) => ({
              apiKeyId: keyIdFor(s.framework),
              model: "gpt-4o-mini-2024-07-18",
              completedAt: Math.floor(firstStart) + s.minutesFromStart * MIN + 7,
              inputTokens: s.input,
              outputTokens: s.output,
            })),
          ];
          api.setEvents(events);
          const root = await tempDir("reconcile-usage-windows-");
          try {
            const runsDir = await writeExperiment(root, runs, { manifest: false });
            let now = Math.max(...runs.map((r) => r.end)) + 40 * MIN;
            let copies = 0;
            // A clean start: every run read to verified before anything is damaged.
            for (const a of [
              { kind: "pass", minutes: 0 },
              { kind: "pass", minutes: 61 },
              { kind: "pass", minutes: 61 },
              ...actions,
              { kind: "pass", minutes: 61 },
              { kind: "pass", minutes: 61 },
              { kind: "pass", minutes: 61 },
            ] as Action[]) {
              const present = await runFiles(runsDir);
              if (a.kind === "copy" || a.kind === "correct") {
                const target = present[a.pick % present.length]!;
                const f = JSON.parse(await readFile(target.path, "utf8")) as FileJson;
                if (a.kind === "copy") {
                  const id = `c0de${String(++copies).padStart(4, "0")}-0000-4000-a000-${String(seed).padStart(12, "0")}`;
                  const shift = -a.hoursBack * HOUR;
                  f.run_id = id;
                  for (const s of f.steps) {
                    s.start_timestamp += shift;
                    s.end_timestamp += shift;
                  }
                  f.start_timestamp = iso(Date.parse(f.start_timestamp) / 1000 + shift);
                  f.end_timestamp = iso(Date.parse(f.end_timestamp) / 1000 + shift);
                  await mkdir(join(runsDir, target.framework, id));
                  await writeFile(
                    join(runsDir, target.framework, id, "metrics.json"),
                    JSON.stringify(f, null, 2),
                  );
                } else {
                  const first = f.steps[0]!;
                  const last = f.steps.at(-1)!;
                  first.start_timestamp = Math.min(
                    first.start_timestamp + a.startMinutes * MIN,
                    first.end_timestamp,
                  );
                  last.end_timestamp = Math.max(
                    last.end_timestamp + a.endMinutes * MIN,
                    last.start_timestamp,
                  );
                  await writeFile(target.path, JSON.stringify(f, null, 2));
                }
                continue;
              }

              now += a.minutes * MIN;
              const result = await runCli(
                [
                  "--api-base-url",
                  api.baseUrl,
                  ...FRAMEWORKS.flatMap((fw) => ["--api-key-id", `${fw}=${keyIdFor(fw)}`]),
                  "--now",
                  iso(now),
                  "--json",
                ],
                { cwd: root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
              );
              const report = PassReportSchema.parse(JSON.parse(result.stdout));

              // The truth, from the files as they are and the events: each run's window.
              const files = await Promise.all(
                (await runFiles(runsDir)).map(async (r) => ({
                  ...r,
                  file: JSON.parse(await readFile(r.path, "utf8")) as FileJson,
                })),
              );
              // the only errors are runs whose window swallows another's (a copy moved inside it)
              const containers = files.filter((f) => swallowsAnother(f, files));
              expect(
                report.runs.filter((r) => r.status === "error").map((r) => r.run_id),
                result.stderr,
              ).toEqual(
                report.runs
                  .filter((r) => containers.some((c) => c.id === r.run_id))
                  .map((r) => r.run_id),
              );
              expect(result.code, result.stderr).toBe(containers.length > 0 ? 1 : 0);
              for (const row of report.runs.filter((r) => r.status === "verified")) {
                const me = files.find((x) => x.framework === row.framework && x.id === row.run_id)!;
                const w = windowOfFile(me.file);
                const sharing = files.filter((o) => {
                  if (o === me || o.framework !== me.framework || containers.includes(o))
                    return false;
                  const ow = windowOfFile(o.file);
                  return ow.start < w.end && w.start < ow.end;
                });
                expect(
                  sharing.map((o) => o.id),
                  `${row.run_id} verified yet shares minutes`,
                ).toEqual([]);
                const mine = events.filter((e) => {
                  const minute = Math.floor(e.completedAt / MIN) * MIN;
                  return (
                    e.apiKeyId === keyIdFor(me.framework) && w.start <= minute && minute < w.end
                  );
                });
                const truth = {
                  tokens_in: mine.reduce((n, e) => n + e.inputTokens, 0),
                  tokens_out: mine.reduce((n, e) => n + e.outputTokens, 0),
                  cached_tokens: mine.reduce((n, e) => n + (e.cachedTokens ?? 0), 0),
                  api_calls: mine.reduce((n, e) => n + (e.requests ?? 1), 0),
                };
                expect(
                  {
                    tokens_in: row.tokens_in,
                    tokens_out: row.tokens_out,
                    cached_tokens: row.cached_tokens,
                    api_calls: row.api_calls,
                  },
                  `${row.framework}/${row.run_id} verified`,
                ).toEqual(truth);
                expect(me.file.verification_status).toBe("verified");
                expect(me.file.aggregate_metrics).toMatchObject({
                  TOK_IN: truth.tokens_in,
                  TOK_OUT: truth.tokens_out,
                  CACHED_TOKENS: truth.cached_tokens,
                  API_CALLS: truth.api_calls,
                });
              }
            }
          } finally {
            await rm(root, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 40 },
    );
  }, 240_000);
});
