import {
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  realpath,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { join, relative, sep } from "node:path";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { nodeFiles } from "../../src/fs/node.ts";
import type { Files } from "../../src/fs/types.ts";
import { type PassReport, PassReportSchema } from "../../src/report/schema.ts";
import { discoverRuns } from "../../src/runs/discover.ts";
import { runCli } from "../support/cli.ts";
import {
  allEvents,
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  metricsText,
  tempDir,
  writeExperiment,
} from "../support/experiment.ts";
import { type FakeUsageApi, startFakeUsageApi } from "../support/fake-usage-api.ts";

/**
 * Broken files and bad configuration, through the CLI (the whole product) and through discovery:
 * each is reported with a message naming the file or the input, the good runs beside them are
 * still reconciled, and nothing outside the runs directory is read or written.
 */

const ADMIN_KEY = "sk-admin-badinput-000001";
const FRAMEWORKS = ["baes", "chatdev", "ghspec"];
/** Only files outside the runs directory hold this. */
const SENTINEL = "SENTINEL-OUTSIDE-THE-RUNS-DIR-5d1e";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const uuid = (n: number): string => `00000000-0000-4000-b000-${String(n).padStart(12, "0")}`;
const iso = (t: number): string => new Date(Math.floor(t) * 1000).toISOString();
const keyArgs = () => FRAMEWORKS.flatMap((f) => ["--api-key-id", `${f}=${keyIdFor(f)}`]);

/** A valid metrics.json text for `runId`, made the way the experiment writes them. */
function validText(runId: string, startAt: number): string {
  const [run] = generateExperiment({
    frameworks: ["baes"],
    runsPerFramework: 1,
    seed: 11,
    startAt,
  });
  return metricsText({ ...run!, runId });
}

/** A valid file for `runId` with its JSON value changed by `mutate`. */
function edited(
  runId: string,
  startAt: number,
  mutate: (v: Record<string, unknown> & { steps: Array<Record<string, unknown>> }) => void,
): string {
  const v = JSON.parse(validText(runId, startAt));
  mutate(v);
  return JSON.stringify(v, null, 2);
}

interface BrokenCase {
  name: string;
  framework: string;
  runId: string;
  /** Written as runs/{framework}/{runId}/metrics.json unless `write` lays it out. */
  content?: (ctx: Ctx) => string | Uint8Array;
  write?: (ctx: Ctx) => Promise<void>;
  /** The reported path, relative to the runs dir. */
  path?: string;
  reason: RegExp;
  /** Reported while discovering (otherwise when the run's window is worked out). */
  discovery: boolean;
}

interface Ctx {
  runsDir: string;
  outside: string;
  /** Inside the experiment's period, clear of the good runs. */
  startAt: number;
  now: number;
}

/** A valid metrics.json outside the runs dir, carrying the sentinel. */
async function sentinelRun(dir: string, runId: string, startAt: number): Promise<string> {
  const path = join(dir, "metrics.json");
  await mkdir(dir, { recursive: true });
  await writeFile(
    path,
    edited(runId, startAt, (v) => {
      v.secret = SENTINEL;
    }),
  );
  return path;
}

const CORPUS: BrokenCase[] = [
  {
    name: "truncated JSON",
    framework: "baes",
    runId: uuid(1),
    content: (c) => validText(uuid(1), c.startAt).slice(0, 200),
    reason: /not valid JSON/,
    discovery: true,
  },
  {
    name: "a step start_timestamp as a string",
    framework: "baes",
    runId: uuid(2),
    content: (c) =>
      edited(uuid(2), c.startAt, (v) => {
        v.steps[1]!.start_timestamp = String(v.steps[1]!.start_timestamp);
      }),
    reason: /steps\[1\]\.start_timestamp/,
    discovery: true,
  },
  {
    name: "an attempt's total_tokens_in as a string",
    framework: "chatdev",
    runId: uuid(3),
    content: (c) =>
      edited(uuid(3), c.startAt, (v) => {
        v.usage_api_reconciliation = {
          attempts: [
            {
              timestamp: "2025-10-30T11:00:00.000000+00:00",
              total_tokens_in: "1000",
              total_tokens_out: 1,
              total_api_calls: 1,
              total_cached_tokens: 0,
            },
          ],
        };
      }),
    reason: /usage_api_reconciliation\.attempts\[0\]\.total_tokens_in/,
    discovery: true,
  },
  {
    name: "no steps and no timestamps (and no manifest entry)",
    framework: "chatdev",
    runId: uuid(4),
    content: (c) =>
      edited(uuid(4), c.startAt, (v) => {
        delete (v as Record<string, unknown>).steps;
        delete v.start_timestamp;
        delete v.end_timestamp;
      }),
    reason: /no run window/,
    discovery: false,
  },
  {
    name: "steps that end before they start, and a run end_timestamp before them too",
    framework: "ghspec",
    runId: uuid(5),
    content: (c) =>
      edited(uuid(5), c.startAt, (v) => {
        const first = v.steps[0]!.start_timestamp as number;
        for (const s of v.steps) s.end_timestamp = first - 600;
        v.end_timestamp = iso(first - 600);
      }),
    reason:
      /^step \d \(steps\[\d\]\) starts at .* and ends \(\d+\) before it starts \(\d+\), and no end is known after it/,
    discovery: false,
  },
  {
    name: "step timestamps in milliseconds",
    framework: "ghspec",
    runId: uuid(6),
    content: (c) =>
      edited(uuid(6), c.startAt, (v) => {
        for (const s of v.steps) {
          s.start_timestamp = (s.start_timestamp as number) * 1000;
          s.end_timestamp = (s.end_timestamp as number) * 1000;
        }
      }),
    reason: /step timestamps look like milliseconds/,
    discovery: false,
  },
  {
    name: "step timestamps two days in the future",
    framework: "baes",
    runId: uuid(7),
    content: (c) =>
      edited(uuid(7), c.startAt, (v) => {
        for (const s of v.steps) {
          s.start_timestamp = c.now + 2 * 86_400;
          s.end_timestamp = c.now + 2 * 86_400 + 600;
        }
      }),
    reason: /step timestamps end in the future/,
    discovery: false,
  },
  {
    name: "a step clock left at 0 (a window from 1970)",
    framework: "baes",
    runId: uuid(8),
    content: (c) =>
      edited(uuid(8), c.startAt, (v) => {
        v.steps[0]!.start_timestamp = 0;
      }),
    reason: /step timestamps span \d+ days .*timestamp error/,
    discovery: false,
  },
  {
    name: "TOK_IN of 1e300",
    framework: "chatdev",
    runId: uuid(9),
    content: (c) => validText(uuid(9), c.startAt).replace(/"TOK_IN": \d+/, '"TOK_IN": 1e300'),
    reason: /aggregate_metrics\.TOK_IN/,
    discovery: true,
  },
  {
    name: "TOK_OUT beyond Number.MAX_SAFE_INTEGER",
    framework: "chatdev",
    runId: uuid(10),
    content: (c) =>
      validText(uuid(10), c.startAt).replace(/"TOK_OUT": \d+/, '"TOK_OUT": 9007199254740993'),
    reason: /aggregate_metrics\.TOK_OUT/,
    discovery: true,
  },
  {
    name: "a step end_timestamp of 1e300",
    framework: "ghspec",
    runId: uuid(11),
    content: (c) =>
      edited(uuid(11), c.startAt, (v) => {
        v.steps[5]!.end_timestamp = 1e300;
      }),
    reason: /step timestamps look like milliseconds/,
    discovery: false,
  },
  {
    name: "a negative count in an attempt",
    framework: "ghspec",
    runId: uuid(12),
    content: (c) =>
      edited(uuid(12), c.startAt, (v) => {
        v.usage_api_reconciliation = {
          attempts: [
            {
              timestamp: "2025-10-30T11:00:00.000000+00:00",
              total_tokens_in: 10,
              total_tokens_out: 1,
              total_api_calls: -1,
              total_cached_tokens: 0,
            },
          ],
        };
      }),
    reason: /attempts\[0\]\.total_api_calls/,
    discovery: true,
  },
  {
    name: "negative CACHED_TOKENS",
    framework: "baes",
    runId: uuid(13),
    content: (c) =>
      validText(uuid(13), c.startAt).replace(/"CACHED_TOKENS": \d+/, '"CACHED_TOKENS": -5'),
    reason: /aggregate_metrics\.CACHED_TOKENS/,
    discovery: true,
  },
  {
    name: "a run id under two frameworks (baes)",
    framework: "baes",
    runId: uuid(14),
    content: (c) => validText(uuid(14), c.startAt),
    reason: new RegExp(`run id "${uuid(14)}" also appears under ghspec`),
    discovery: true,
  },
  {
    name: "a run id under two frameworks (ghspec)",
    framework: "ghspec",
    runId: uuid(14),
    content: (c) => validText(uuid(14), c.startAt),
    reason: new RegExp(`run id "${uuid(14)}" also appears under baes`),
    discovery: true,
  },
  {
    name: "metrics.json a symbolic link to a file outside the repository",
    framework: "chatdev",
    runId: uuid(15),
    write: async (c) => {
      const target = await sentinelRun(join(c.outside, "linked-file"), uuid(15), c.startAt);
      await mkdir(join(c.runsDir, "chatdev", uuid(15)), { recursive: true });
      await symlink(target, join(c.runsDir, "chatdev", uuid(15), "metrics.json"));
    },
    reason: /symbolic link \(not followed/,
    discovery: true,
  },
  {
    name: "a run directory that is a symbolic link to a directory outside the repository",
    framework: "chatdev",
    runId: uuid(16),
    write: async (c) => {
      await sentinelRun(join(c.outside, "linked-dir"), uuid(16), c.startAt);
      await symlink(join(c.outside, "linked-dir"), join(c.runsDir, "chatdev", uuid(16)), "dir");
    },
    path: `chatdev/${uuid(16)}`,
    reason: /symbolic link, not followed/,
    discovery: true,
  },
  {
    name: "bytes that are not UTF-8",
    framework: "ghspec",
    runId: uuid(17),
    content: (c) => {
      const text = validText(uuid(17), c.startAt);
      return Buffer.concat([
        Buffer.from(text.slice(0, 50)),
        Buffer.from([0xc3, 0x28, 0xa0, 0xa1]),
        Buffer.from(text.slice(50)),
      ]);
    },
    reason: /not valid UTF-8/,
    discovery: true,
  },
  {
    name: "a byte-order mark",
    framework: "ghspec",
    runId: uuid(18),
    content: (c) => `\ufeff${validText(uuid(18), c.startAt)}`,
    reason: /byte-order mark/,
    discovery: true,
  },
  {
    name: 'TOK_IN as the string "NaN"',
    framework: "baes",
    runId: uuid(19),
    content: (c) => validText(uuid(19), c.startAt).replace(/"TOK_IN": \d+/, '"TOK_IN": "NaN"'),
    reason: /aggregate_metrics\.TOK_IN/,
    discovery: true,
  },
  {
    name: "a bare NaN, as Python's json.dump writes a float nan",
    framework: "baes",
    runId: uuid(20),
    content: (c) =>
      validText(uuid(20), c.startAt).replace(/"T_WALL_seconds": [0-9.]+/, '"T_WALL_seconds": NaN'),
    reason: /not valid JSON/,
    discovery: true,
  },
  {
    name: 'a step start_timestamp of "Infinity"',
    framework: "chatdev",
    runId: uuid(21),
    content: (c) =>
      edited(uuid(21), c.startAt, (v) => {
        v.steps[0]!.start_timestamp = "Infinity";
      }),
    reason: /steps\[0\]\.start_timestamp/,
    discovery: true,
  },
  {
    name: "deeply nested junk beside valid fields",
    framework: "chatdev",
    runId: uuid(22),
    content: (c) =>
      validText(uuid(22), c.startAt).replace(
        /\n}\s*$/,
        `,\n  "junk": ${"[{}, ".repeat(50_000)}1${"]".repeat(50_000)}\n}\n`,
      ),
    reason: /nested more than \d+ levels deep/,
    discovery: true,
  },
  {
    name: "a 20 MB file that is an array, not an object",
    framework: "ghspec",
    runId: uuid(23),
    content: () => {
      const item = `{"run_id": "${uuid(23)}", "note": "${"x".repeat(200)}"}`;
      const count = Math.ceil((20 * 1024 * 1024) / (item.length + 2));
      return `[${Array.from({ length: count }, () => item).join(", ")}]`;
    },
    reason: /^\(root\): /,
    discovery: true,
  },
];

/** Every file and symbolic link under `dir` (links not followed), with bytes or link target and mtime. */
async function snapshot(dir: string): Promise<Map<string, { data: string; mtimeMs: number }>> {
  const out = new Map<string, { data: string; mtimeMs: number }>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const s = await lstat(p);
      if (e.isSymbolicLink())
        out.set(relative(dir, p), { data: `-> ${await readlink(p)}`, mtimeMs: s.mtimeMs });
      else if (e.isDirectory()) await walk(p);
      else
        out.set(relative(dir, p), {
          data: (await readFile(p)).toString("base64"),
          mtimeMs: s.mtimeMs,
        });
    }
  };
  await walk(dir);
  return out;
}

const changed = (a: Map<string, { data: string }>, b: Map<string, { data: string }>): string[] =>
  [...new Set([...a.keys(), ...b.keys()])].filter((p) => a.get(p)?.data !== b.get(p)?.data).sort();

/** Whether this filesystem records reads in atime (relatime does when atime is over a day old). */
async function atimeTracksReads(dir: string): Promise<boolean> {
  const probe = join(dir, "atime-probe");
  await writeFile(probe, "probe");
  const old = new Date(Date.now() - 3 * 86_400_000);
  await utimes(probe, old, old);
  await readFile(probe);
  return (await stat(probe)).atimeMs > old.getTime() + 1000;
}

interface Corpus {
  root: string;
  runsDir: string;
  outside: string;
  good: GeneratedRun[];
  api: FakeUsageApi;
  now: number;
}

async function corpus(): Promise<Corpus> {
  const root = await tempDir("reconcile-usage-bad-input-");
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const good = generateExperiment({ frameworks: FRAMEWORKS, runsPerFramework: 2, seed: 21 });
  const runsDir = await writeExperiment(root, good);
  const lastEnd = Math.max(...good.map((r) => r.end));
  const now = Math.floor(lastEnd) + 2 * 3600;
  const outside = join(root, "outside");
  await mkdir(outside);
  // broken runs sit a day before the good ones: even if read, none could share their minutes
  const ctx: Ctx = { runsDir, outside, startAt: good[0]!.start - 86_400, now };
  for (const c of CORPUS) {
    if (c.write) await c.write(ctx);
    else {
      const path = join(runsDir, c.framework, c.runId, "metrics.json");
      await mkdir(join(path, ".."), { recursive: true });
      await writeFile(path, c.content!(ctx));
    }
  }
  // a framework directory that is a symbolic link out of the repository
  await sentinelRun(join(outside, "linked-framework", uuid(30)), uuid(30), ctx.startAt);
  await symlink(join(outside, "linked-framework"), join(runsDir, "elsewhere"), "dir");
  const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events: allEvents(good) });
  cleanups.push(() => api.close());
  return { root, runsDir, outside, good, api, now };
}

/** Good runs only, and the fake API: for configuration errors. */
async function goodOnly(): Promise<Corpus> {
  const root = await tempDir("reconcile-usage-bad-config-");
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const good = generateExperiment({ frameworks: FRAMEWORKS, runsPerFramework: 1, seed: 25 });
  const runsDir = await writeExperiment(root, good);
  const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events: allEvents(good) });
  cleanups.push(() => api.close());
  const now = Math.floor(Math.max(...good.map((r) => r.end))) + 2 * 3600;
  return { root, runsDir, outside: join(root, "outside"), good, api, now };
}

async function reconcile(
  c: Corpus,
  extra: readonly string[] = [],
): Promise<{ code: number; stderr: string; report: PassReport; stdout: string }> {
  const r = await runCli(
    ["--api-base-url", c.api.baseUrl, ...keyArgs(), "--now", iso(c.now), "--json", ...extra],
    { cwd: c.root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
  );
  let report: PassReport;
  try {
    report = PassReportSchema.parse(JSON.parse(r.stdout));
  } catch (error) {
    throw new Error(`no valid JSON report (exit ${r.code}): ${r.stderr}\n${error}`);
  }
  return { ...r, report };
}

describe("a corpus of broken metrics.json files, through the CLI", () => {
  it("reports each with its path and a reason, reconciles the good runs beside them, and touches nothing outside the runs directory", async () => {
    const c = await corpus();
    const tracksReads = await atimeTracksReads(c.root);
    const before = await snapshot(c.root);
    // sentinels (files and directories outside the runs dir): times set in the past, so any read
    // or listing would move their atime (relatime), any write their mtime
    const outsidePaths = [
      c.outside,
      join(c.outside, "linked-file"),
      join(c.outside, "linked-file", "metrics.json"),
      join(c.outside, "linked-dir"),
      join(c.outside, "linked-dir", "metrics.json"),
      join(c.outside, "linked-framework"),
      join(c.outside, "linked-framework", uuid(30)),
      join(c.outside, "linked-framework", uuid(30), "metrics.json"),
    ];
    const old = new Date(Date.now() - 3 * 86_400_000);
    for (const p of outsidePaths) await utimes(p, old, old);
    const times = new Map(
      await Promise.all(outsidePaths.map(async (p) => [p, await stat(p)] as const)),
    );

    const { code, stderr, stdout, report } = await reconcile(c);
    expect(stderr).not.toMatch(/unexpected error/);
    expect(code).toBe(1);

    // each broken file: one error row naming it, with the reason
    for (const b of CORPUS) {
      const rows = report.runs.filter((r) => r.run_id === b.runId && r.framework === b.framework);
      expect(rows, b.name).toHaveLength(1);
      expect(rows[0]!.status, b.name).toBe("error");
      expect(rows[0]!.path, b.name).toBe(
        join("runs", b.path ?? `${b.framework}/${b.runId}/metrics.json`),
      );
      expect(rows[0]!.message, b.name).toMatch(b.reason);
      expect(rows[0]!.tokens_in, b.name).toBeNull();
    }
    expect(report.warnings).toContainEqual(
      expect.stringMatching(
        /^runs\/elsewhere: symbolic link under the runs directory, not followed/,
      ),
    );
    expect(report.errors).toBe(CORPUS.length + 1);

    // the good runs are reconciled as if the broken ones were not there
    for (const run of c.good) {
      const row = report.runs.find((r) => r.run_id === run.runId)!;
      expect(row, run.path).toMatchObject({
        status: "pending",
        tokens_in: run.totals.tokensIn,
        tokens_out: run.totals.tokensOut,
        changed: true,
      });
    }
    expect(report.runs).toHaveLength(c.good.length + CORPUS.length);

    // nothing outside the runs dir read, listed or written (checked before this test reads them);
    // in the runs dir, only the good runs' files and the manifest changed
    for (const p of outsidePaths) {
      const s = await stat(p);
      expect(s.mtimeMs, p).toBe(times.get(p)!.mtimeMs);
      if (tracksReads) expect(s.atimeMs, p).toBe(times.get(p)!.atimeMs);
    }
    const after = await snapshot(c.root);
    expect(changed(before, after)).toEqual(
      [...c.good.map((r) => join("runs", r.path)), join("runs", "manifest.json")].sort(),
    );
    expect(stdout + stderr).not.toContain(SENTINEL);
    expect(c.api.requests.length).toBeGreaterThan(0);

    // a second pass changes none of the broken files either, and still names them
    const again = await reconcile(c, ["--force"]);
    expect(again.code).toBe(1);
    expect(again.report.runs.filter((r) => r.status === "error")).toHaveLength(CORPUS.length);
    const third = await snapshot(c.root);
    for (const b of CORPUS) {
      const path = join("runs", b.path ?? `${b.framework}/${b.runId}/metrics.json`);
      expect(third.get(path)?.data, b.name).toBe(before.get(path)?.data);
    }
  });

  it("through discovery: every file problem is named, and every read and listing stays inside the runs directory", async () => {
    const c = await corpus();
    const reads: string[] = [];
    const lists: string[] = [];
    const files: Files = {
      ...nodeFiles,
      read: (p) => {
        reads.push(p);
        return nodeFiles.read(p);
      },
      list: (d) => {
        lists.push(d);
        return nodeFiles.list(d);
      },
    };
    const d = await discoverRuns(files, c.runsDir);
    for (const b of CORPUS) {
      const path = join(c.runsDir, b.path ?? `${b.framework}/${b.runId}/metrics.json`);
      const problem = d.problems.find((p) => p.path === path);
      if (b.discovery) {
        expect(problem?.reason, b.name).toMatch(b.reason);
        expect(
          d.runs.some((r) => r.path === path),
          b.name,
        ).toBe(false);
      } else {
        // loaded: its window is judged when the pass plans its queries
        expect(problem, b.name).toBeUndefined();
        expect(
          d.runs.some((r) => r.path === path),
          b.name,
        ).toBe(true);
      }
    }
    const realRuns = await realpath(c.runsDir);
    for (const p of [...reads, ...lists]) {
      const real = await realpath(p);
      expect(real === realRuns || real.startsWith(`${realRuns}${sep}`), p).toBe(true);
    }
    expect(JSON.stringify(d)).not.toContain(SENTINEL);
  });

  it("a manifest that is a symbolic link out of the repository is reported, not read, and left a link", async () => {
    const root = await tempDir("reconcile-usage-bad-manifest-");
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const good = generateExperiment({ frameworks: FRAMEWORKS, runsPerFramework: 1, seed: 22 });
    const runsDir = await writeExperiment(root, good);
    const outside = join(root, "outside");
    await mkdir(outside);
    const target = join(outside, "manifest.json");
    const manifest = JSON.parse(await readFile(join(runsDir, "manifest.json"), "utf8"));
    manifest.note = SENTINEL;
    await writeFile(target, JSON.stringify(manifest, null, 2));
    await rm(join(runsDir, "manifest.json"));
    await symlink(target, join(runsDir, "manifest.json"));
    const tracksReads = await atimeTracksReads(root);
    const bytes = await readFile(target);
    const old = new Date(Date.now() - 3 * 86_400_000);
    await utimes(target, old, old);
    const before = await stat(target);
    const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events: allEvents(good) });
    cleanups.push(() => api.close());

    const r = await reconcile({
      root,
      runsDir,
      outside,
      good,
      api,
      now: Math.floor(Math.max(...good.map((g) => g.end))) + 2 * 3600,
    });
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.report.warnings).toContainEqual(
      expect.stringMatching(
        /^runs\/manifest\.json: symbolic link under the runs directory, not followed/,
      ),
    );
    for (const run of good)
      expect(r.report.runs.find((x) => x.run_id === run.runId)).toMatchObject({
        status: "pending",
        tokens_in: run.totals.tokensIn,
      });
    expect(r.report.changed_files).not.toContain("runs/manifest.json");
    // times first: reading the target here would move its atime
    const afterStat = await stat(target);
    expect(afterStat.mtimeMs).toBe(before.mtimeMs);
    if (tracksReads) expect(afterStat.atimeMs).toBe(before.atimeMs);
    expect((await lstat(join(runsDir, "manifest.json"))).isSymbolicLink()).toBe(true);
    expect(await readFile(target)).toEqual(bytes);
    expect(r.stdout + r.stderr).not.toContain(SENTINEL);
  });
});

describe("bad configuration, through the CLI", () => {
  const cases: Array<{
    name: string;
    args: string[];
    env?: Record<string, string>;
    message: RegExp;
  }> = [
    {
      name: "a key id with nothing after key_",
      args: ["--api-key-id", "baes=key_"],
      message: /--api-key-id: "key_" for baes is not an API key id/,
    },
    {
      name: "a key id without a framework",
      args: ["--api-key-id", "=key_abc123"],
      message: /--api-key-id: expected framework=key_…/,
    },
    {
      name: "a framework name that climbs out of the runs dir",
      args: ["--api-key-id", "../outside=key_abc123"],
      message: /--api-key-id: "\.\.\/outside" is not a framework directory name/,
    },
    {
      name: "two key ids in one item",
      args: ["--api-key-id", "baes=key_abc key_def"],
      message: /--api-key-id: expected framework=key_…/,
    },
    {
      name: "one key id for two frameworks, one of them from the environment",
      args: [],
      env: { OPENAI_API_KEY_NEWFW_ID: keyIdFor("baes") },
      message:
        /--api-key-id \(from OPENAI_API_KEY_NEWFW_ID\): key id key_baesTest01 is given for both baes and newfw/,
    },
    {
      name: "a verification interval of 0",
      args: ["--verification-interval-minutes", "0"],
      message: /--verification-interval-minutes: expected a whole number ≥ 1, got "0"/,
    },
    {
      name: "negative stable checks",
      args: ["--stable-checks", "-2"],
      message: /--stable-checks: expected a whole number ≥ 1, got "-2"/,
    },
    {
      name: "non-numeric stable checks from the old script's variable",
      args: [],
      env: { RECONCILIATION_MIN_STABLE_VERIFICATIONS: "two" },
      message:
        /RECONCILIATION_MIN_STABLE_VERIFICATIONS \(for --stable-checks\): expected a whole number/,
    },
    {
      name: "give-up-after-hours of 0",
      args: ["--give-up-after-hours", "0"],
      message: /--give-up-after-hours: expected a number > 0, got "0"/,
    },
    {
      name: "give-up-after-hours NaN",
      args: ["--give-up-after-hours", "NaN"],
      message: /--give-up-after-hours: expected a number > 0, got "NaN"/,
    },
    {
      name: "a fractional window tail",
      args: ["--window-tail-seconds", "1.5"],
      message: /--window-tail-seconds: expected a whole number ≥ 0, got "1\.5"/,
    },
    {
      name: "a negative window padding",
      args: ["--window-padding-seconds", "-300"],
      message: /--window-padding-seconds: expected a whole number ≥ 0, got "-300"/,
    },
    {
      name: "min-age-minutes in words",
      args: ["--min-age-minutes", "thirty"],
      message: /--min-age-minutes: expected a whole number ≥ 0, got "thirty"/,
    },
    {
      name: "an API base URL that is not a URL",
      args: ["--api-base-url", "api.openai.com/v1"],
      message: /--api-base-url: expected an http\(s\) URL, got "api\.openai\.com\/v1"/,
    },
    {
      name: "an API base URL that is not http(s)",
      args: ["--api-base-url", "file:///etc/passwd"],
      message: /--api-base-url: expected an http\(s\) URL, got "file:\/\/\/etc\/passwd"/,
    },
    {
      name: "a --now that is no date",
      args: ["--now", "2025-13-45T00:00:00Z"],
      message: /--now: expected an ISO-8601 time/,
    },
    {
      name: "a pricing file that does not exist",
      args: ["--pricing-file", "prices/missing.yaml"],
      message: /prices\/missing\.yaml: pricing file not found/,
    },
  ];

  for (const k of cases) {
    it(`exit 2 for ${k.name}, naming the input, before any request or write`, async () => {
      const c = await goodOnly();
      const before = await snapshot(c.root);
      const r = await runCli(
        ["--api-base-url", c.api.baseUrl, ...keyArgs(), "--now", iso(c.now), ...k.args],
        { cwd: c.root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY, ...k.env } },
      );
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(k.message);
      expect(r.stderr).not.toMatch(/unexpected error/);
      expect(c.api.requests).toEqual([]);
      expect(changed(before, await snapshot(c.root))).toEqual([]);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Generated bad input

describe("generated metrics.json files, through the CLI", () => {
  const VICTIM = uuid(99);
  let root: string;
  let runsDir: string;
  let victimPath: string;
  let api: FakeUsageApi;
  let base: Record<string, unknown>;
  let now: number;

  beforeAll(async () => {
    root = await tempDir("reconcile-usage-generated-");
    const good = generateExperiment({
      frameworks: ["baes", "chatdev"],
      runsPerFramework: 1,
      seed: 23,
    });
    runsDir = await writeExperiment(root, good);
    now = Math.floor(Math.max(...good.map((g) => g.end))) + 2 * 3600;
    const [victim] = generateExperiment({
      frameworks: ["baes"],
      runsPerFramework: 1,
      seed: 24,
      startAt: good[0]!.start - 86_400,
    });
    base = JSON.parse(metricsText({ ...victim!, runId: VICTIM }));
    victimPath = join(runsDir, "baes", VICTIM, "metrics.json");
    await mkdir(join(victimPath, ".."), { recursive: true });
    api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events: allEvents([...good, victim!]) });
  });
  afterAll(async () => {
    await api.close();
    await rm(root, { recursive: true, force: true });
  });

  /** Runs the CLI over the victim's bytes: never a crash, and the victim loads or is named. */
  async function check(bytes: string | Uint8Array): Promise<void> {
    await writeFile(victimPath, bytes);
    const r = await runCli(
      [
        "--api-base-url",
        api.baseUrl,
        "--api-key-id",
        `baes=${keyIdFor("baes")}`,
        "--api-key-id",
        `chatdev=${keyIdFor("chatdev")}`,
        "--now",
        iso(now),
        "--json",
      ],
      { cwd: root, env: { OPENAI_ADMIN_KEY: ADMIN_KEY } },
    );
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect([0, 1]).toContain(r.code);
    const report = PassReportSchema.parse(JSON.parse(r.stdout));
    const row = report.runs.find((x) => x.framework === "baes" && x.run_id === VICTIM);
    expect(row).toBeDefined();
    if (row!.status === "error") {
      expect(row!.path).toBe(join("runs", "baes", VICTIM, "metrics.json"));
      expect(row!.message.length).toBeGreaterThan(0);
      expect(r.code).toBe(1);
    }
    // whatever happened, the file is still the bytes given or a JSON file the tool wrote
    const after = await readFile(victimPath);
    if (!after.equals(Buffer.from(bytes)))
      expect(() => JSON.parse(after.toString("utf8"))).not.toThrow();
  }

  /** Every path to a value inside a JSON value. */
  function pathsOf(v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
    if (Array.isArray(v)) return [prefix, ...v.flatMap((x, i) => pathsOf(x, [...prefix, i]))];
    if (v && typeof v === "object")
      return [prefix, ...Object.entries(v).flatMap(([k, x]) => pathsOf(x, [...prefix, k]))];
    return [prefix];
  }

  function mutate(
    value: unknown,
    path: Array<string | number>,
    replacement: unknown,
    remove: boolean,
  ): unknown {
    if (path.length === 0) return remove ? undefined : replacement;
    const [head, ...rest] = path;
    if (Array.isArray(value)) {
      const copy = [...value];
      if (remove && rest.length === 0) copy.splice(head as number, 1);
      else copy[head as number] = mutate(copy[head as number], rest, replacement, remove);
      return copy;
    }
    const copy = { ...(value as Record<string, unknown>) };
    if (remove && rest.length === 0) delete copy[head as string];
    else copy[head as string] = mutate(copy[head as string], rest, replacement, remove);
    return copy;
  }

  it("a valid file with random fields deleted or retyped loads or is reported with its path", async () => {
    const paths = pathsOf(base).filter((p) => p.length > 0);
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            path: fc.nat({ max: paths.length - 1 }),
            remove: fc.boolean(),
            value: fc.jsonValue({ maxDepth: 2 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        async (edits) => {
          let v: unknown = base;
          for (const e of edits) v = mutate(v, paths[e.path]!, e.value, e.remove);
          await check(`${JSON.stringify(v, null, 2)}\n`);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("any JSON value, or any bytes, as metrics.json loads or is reported with its path", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.string({ unit: "binary" }),
          fc.uint8Array({ maxLength: 200 }),
        ),
        async (bytes) => check(bytes),
      ),
      { numRuns: 60 },
    );
  });
});
