import { mkdir, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, sep } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { contentDigest } from "../src/fs/digest.ts";
import { nodeFiles } from "../src/fs/node.ts";
import type { Files } from "../src/fs/types.ts";
import { type Discovery, discoverRuns, type FileProblem } from "../src/runs/discover.ts";
import { type MetricsFile, MetricsFileSchema } from "../src/runs/schema.ts";
import {
  copySharedData,
  generateExperiment,
  metricsText,
  onSharedData,
  sharedDataPresent,
  tempDir,
  writeExperiment,
} from "./support/experiment.ts";

/** A marker that only the file outside the runs directory holds. */
const OUTSIDE_MARKER = "OUTSIDE-THE-RUNS-DIR-7f3a9c";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function scratch(): Promise<string> {
  const dir = await tempDir("reconcile-usage-discover-");
  dirs.push(dir);
  return dir;
}

/** nodeFiles, recording every path it is asked to read or list. */
function spyFiles(): { files: Files; reads: string[]; unfollowed: string[]; lists: string[] } {
  const reads: string[] = [];
  /** Reads that never follow a link at the name itself (readRegular). */
  const unfollowed: string[] = [];
  const lists: string[] = [];
  return {
    reads,
    unfollowed,
    lists,
    files: {
      ...nodeFiles,
      read: (path) => {
        reads.push(path);
        return nodeFiles.read(path);
      },
      readRegular: (path, maxBytes) => {
        unfollowed.push(path);
        return nodeFiles.readRegular!(path, maxBytes);
      },
      list: (dir) => {
        lists.push(dir);
        return nodeFiles.list(dir);
      },
    },
  };
}

async function put(path: string, content: string | Uint8Array): Promise<void> {
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, content);
}

const uuid = (n: number): string => `00000000-0000-4000-a000-${String(n).padStart(12, "0")}`;

/** A valid metrics.json text for run `runId`, modelled on the generated experiment's files. */
function goodText(runId: string): string {
  const [run] = generateExperiment({ frameworks: ["baes"], runsPerFramework: 1 });
  return metricsText({ ...run!, runId });
}

/** Replaces a JSON value in a valid file's text, keeping the rest. */
function edited(runId: string, mutate: (value: Record<string, unknown>) => void): string {
  const value = JSON.parse(goodText(runId)) as Record<string, unknown>;
  mutate(value);
  return JSON.stringify(value, null, 2);
}

interface BrokenCase {
  name: string;
  framework: string;
  runId: string;
  /** Written as runs/{framework}/{runId}/metrics.json unless `write` does something else. */
  content?: string | Uint8Array;
  write?: (runsDir: string, outside: string) => Promise<void>;
  /** What the problem's path is, relative to the runs dir. */
  path?: string;
  reason: RegExp;
}

const BROKEN: BrokenCase[] = [
  {
    name: "truncated JSON",
    framework: "baes",
    runId: uuid(1),
    content: goodText(uuid(1)).slice(0, 300),
    reason: /not valid JSON/,
  },
  {
    name: "empty file",
    framework: "baes",
    runId: uuid(2),
    content: "",
    reason: /not valid JSON.*empty/,
  },
  {
    name: "TOK_IN as a string",
    framework: "baes",
    runId: uuid(3),
    content: edited(uuid(3), (v) => {
      (v.aggregate_metrics as Record<string, unknown>).TOK_IN = "35167";
    }),
    reason: /aggregate_metrics\.TOK_IN/,
  },
  {
    name: "steps not an array",
    framework: "chatdev",
    runId: uuid(4),
    content: edited(uuid(4), (v) => {
      v.steps = { "1": { start_timestamp: 1761820000 } };
    }),
    reason: /^steps: .*array/,
  },
  {
    name: "a step end_timestamp as an ISO string",
    framework: "chatdev",
    runId: uuid(5),
    content: edited(uuid(5), (v) => {
      (v.steps as Array<Record<string, unknown>>)[2]!.end_timestamp = "2025-10-30T10:44:36Z";
    }),
    reason: /steps\[2\]\.end_timestamp/,
  },
  {
    name: "run_id not matching its directory",
    framework: "chatdev",
    runId: uuid(6),
    content: goodText(uuid(66)),
    reason: new RegExp(`run_id "${uuid(66)}" does not match its directory name "${uuid(6)}"`),
  },
  {
    name: "non-UTF-8 bytes",
    framework: "ghspec",
    runId: uuid(7),
    content: Buffer.concat([
      Buffer.from(goodText(uuid(7)).slice(0, 40)),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
      Buffer.from(goodText(uuid(7)).slice(40)),
    ]),
    reason: /not valid UTF-8/,
  },
  {
    name: "byte-order mark",
    framework: "ghspec",
    runId: uuid(8),
    content: `\ufeff${goodText(uuid(8))}`,
    reason: /byte-order mark/,
  },
  {
    name: "TOK_IN of 1e30",
    framework: "ghspec",
    runId: uuid(9),
    content: goodText(uuid(9)).replace(/"TOK_IN": \d+/, '"TOK_IN": 1e30'),
    reason: /aggregate_metrics\.TOK_IN/,
  },
  {
    name: "negative API_CALLS",
    framework: "ghspec",
    runId: uuid(10),
    content: goodText(uuid(10)).replace(/"API_CALLS": \d+/, '"API_CALLS": -3'),
    reason: /aggregate_metrics\.API_CALLS/,
  },
  {
    name: "missing metrics.json",
    framework: "baes",
    runId: uuid(11),
    write: async (runsDir) => {
      await mkdir(join(runsDir, "baes", uuid(11)), { recursive: true });
      await writeFile(join(runsDir, "baes", uuid(11), "notes.txt"), "crashed before writing");
    },
    reason: /no metrics\.json/,
  },
  {
    name: "metrics.json a symbolic link to a file outside the runs dir",
    framework: "baes",
    runId: uuid(12),
    write: async (runsDir, outside) => {
      await mkdir(join(runsDir, "baes", uuid(12)), { recursive: true });
      await symlink(
        join(outside, uuid(12), "metrics.json"),
        join(runsDir, "baes", uuid(12), "metrics.json"),
      );
    },
    reason: /symbolic link/,
  },
  {
    name: "run directory a symbolic link to a directory outside the runs dir",
    framework: "chatdev",
    runId: uuid(13),
    write: async (runsDir, outside) => {
      await symlink(join(outside, uuid(13)), join(runsDir, "chatdev", uuid(13)), "dir");
    },
    // the symbolic link is the file in the repository (git stores it as one)
    path: `chatdev/${uuid(13)}`,
    reason: /symbolic link, not followed/,
  },
];

/** Lays out good runs, every broken case beside them, and a directory outside the runs dir. */
async function brokenCorpus(): Promise<{
  root: string;
  runsDir: string;
  outside: string;
  good: Array<{ framework: string; runId: string }>;
}> {
  const root = await scratch();
  const outside = join(root, "outside");
  const runs = generateExperiment({ runsPerFramework: 2, seed: 7 });
  const runsDir = await writeExperiment(join(root, "repo"), runs, { manifest: false });
  // valid metrics.json files outside the runs dir, each carrying the marker
  for (const id of [uuid(12), uuid(13)]) {
    await put(
      join(outside, id, "metrics.json"),
      edited(id, (v) => {
        v.secret = OUTSIDE_MARKER;
      }),
    );
  }
  for (const c of BROKEN) {
    if (c.write) await c.write(runsDir, outside);
    else await put(join(runsDir, c.framework, c.runId, "metrics.json"), c.content ?? "");
  }
  return {
    root,
    runsDir,
    outside,
    good: runs.map((r) => ({ framework: r.framework, runId: r.runId })),
  };
}

const problemFor = (d: Discovery, runId: string): FileProblem[] =>
  d.problems.filter((p) => p.runId === runId);

describe("discoverRuns on a corpus of broken metrics.json files", () => {
  it("reports each broken file with its path and a reason naming the field or issue, and loads the good runs beside them", async () => {
    const { runsDir, good } = await brokenCorpus();
    const d = await discoverRuns(nodeFiles, runsDir);

    for (const c of BROKEN) {
      const problems = problemFor(d, c.runId);
      expect(problems, c.name).toHaveLength(1);
      const [p] = problems;
      expect(p!.path, c.name).toBe(
        join(runsDir, c.path ?? `${c.framework}/${c.runId}/metrics.json`),
      );
      expect(p!.framework, c.name).toBe(c.framework);
      expect(p!.reason, c.name).toMatch(c.reason);
    }
    expect(d.problems).toHaveLength(BROKEN.length);

    expect(d.runs.map((r) => `${r.framework}/${r.runId}`).sort()).toEqual(
      good.map((g) => `${g.framework}/${g.runId}`).sort(),
    );
    for (const r of d.runs) {
      expect(r.path).toBe(join(runsDir, r.framework, r.runId, "metrics.json"));
      expect(r.file.run_id).toBe(r.runId);
      expect(r.digest).toBe(contentDigest(await readFile(r.path)));
    }
    expect(d.frameworks).toEqual(["baes", "chatdev", "ghspec"]);
  });

  it("never reads or lists anything outside the runs directory", async () => {
    const { runsDir, outside } = await brokenCorpus();
    const spy = spyFiles();
    const d = await discoverRuns(spy.files, runsDir);

    expect(JSON.stringify(d)).not.toContain(OUTSIDE_MARKER);
    const realRuns = await realpath(runsDir);
    // a read that does not follow a link at the name (readRegular) goes where its directory is
    const unfollowed = async (p: string) => join(await realpath(dirname(p)), basename(p));
    const places = [
      ...(await Promise.all([...spy.reads, ...spy.lists].map(async (p) => [p, await realpath(p)]))),
      ...(await Promise.all(spy.unfollowed.map(async (p) => [p, await unfollowed(p)]))),
    ];
    for (const [p, real] of places as Array<[string, string]>) {
      expect(real === realRuns || real.startsWith(`${realRuns}${sep}`), p).toBe(true);
      expect(relative(outside, real).startsWith(".."), p).toBe(true);
    }
    expect(spy.reads.length + spy.unfollowed.length).toBeGreaterThan(0);
  });

  it("a symbolic link at the top of the runs dir is reported and not followed", async () => {
    const { runsDir, outside } = await brokenCorpus();
    await symlink(outside, join(runsDir, "elsewhere"), "dir");
    const spy = spyFiles();
    const d = await discoverRuns(spy.files, runsDir);
    const p = d.problems.find((x) => x.path === join(runsDir, "elsewhere"));
    expect(p?.reason).toMatch(/symbolic link/);
    expect(d.frameworks).not.toContain("elsewhere");
    expect(JSON.stringify(d)).not.toContain(OUTSIDE_MARKER);
    expect(spy.lists).not.toContain(join(runsDir, "elsewhere"));
  });

  it("the same run id under two frameworks makes both a problem and neither a run", async () => {
    const root = await scratch();
    const runs = generateExperiment({ runsPerFramework: 1, seed: 3 });
    const runsDir = await writeExperiment(root, runs, { manifest: false });
    const dup = uuid(99);
    await put(join(runsDir, "baes", dup, "metrics.json"), goodText(dup));
    await put(join(runsDir, "ghspec", dup, "metrics.json"), goodText(dup));

    const d = await discoverRuns(nodeFiles, runsDir);
    const problems = problemFor(d, dup).sort((a, b) => a.path.localeCompare(b.path));
    expect(problems.map((p) => [p.path, p.framework])).toEqual([
      [join(runsDir, "baes", dup, "metrics.json"), "baes"],
      [join(runsDir, "ghspec", dup, "metrics.json"), "ghspec"],
    ]);
    expect(problems[0]!.reason).toMatch(new RegExp(`run id "${dup}" also appears under ghspec`));
    expect(problems[1]!.reason).toMatch(new RegExp(`run id "${dup}" also appears under baes`));
    expect(d.runs.some((r) => r.runId === dup)).toBe(false);
    expect(d.runs).toHaveLength(runs.length);
  });

  it("a framework filter reads only that framework's files", async () => {
    const { runsDir } = await brokenCorpus();
    const spy = spyFiles();
    const d = await discoverRuns(spy.files, runsDir, ["ghspec"]);
    expect(new Set(d.runs.map((r) => r.framework))).toEqual(new Set(["ghspec"]));
    expect(d.problems.every((p) => p.framework === "ghspec")).toBe(true);
    expect(spy.reads.every((p) => p.startsWith(join(runsDir, "ghspec")))).toBe(true);
    // the other frameworks are still known, so a typo can be told from an empty framework
    expect(d.frameworks).toEqual(["baes", "chatdev", "ghspec"]);
  });

  it("a broken manifest is a problem without a run id, and the runs still load", async () => {
    const root = await scratch();
    const runs = generateExperiment({ runsPerFramework: 1, seed: 5 });
    const runsDir = await writeExperiment(root, runs);
    await writeFile(join(runsDir, "manifest.json"), '{"runs": [{"run_id": 42}]}');
    const d = await discoverRuns(nodeFiles, runsDir);
    expect(d.manifest).toBeUndefined();
    expect(d.problems).toEqual([
      { path: join(runsDir, "manifest.json"), reason: expect.stringMatching(/runs\[0\]\.run_id/) },
    ]);
    expect(d.runs).toHaveLength(runs.length);
  });
});

describe("discoverRuns on the real data sets", () => {
  it.skipIf(!sharedDataPresent("baes-berk"))(
    `loads all 300 baes-berk runs and the manifest with zero problems ${onSharedData("baes-berk")}`,
    async () => {
      const root = await copySharedData("baes-berk");
      dirs.push(root);
      const d = await discoverRuns(nodeFiles, join(root, "runs"));
      expect(d.problems).toEqual([]);
      expect(d.runs).toHaveLength(300);
      const perFramework = Object.groupBy(d.runs, (r) => r.framework);
      expect(Object.keys(perFramework).sort()).toEqual(["baes", "chatdev", "ghspec"]);
      for (const list of Object.values(perFramework)) expect(list).toHaveLength(100);
      expect(d.manifest?.path).toBe(join(root, "runs", "manifest.json"));
      expect(d.manifest?.entries).toHaveLength(300);
      expect(new Set(d.manifest!.entries.map((e) => e.run_id))).toEqual(
        new Set(d.runs.map((r) => r.runId)),
      );
    },
  );

  it.skipIf(!sharedDataPresent("legacy-v1"))(
    `loads all 215 legacy-v1 runs and runs_manifest.json with zero problems ${onSharedData("legacy-v1")}`,
    async () => {
      const root = await copySharedData("legacy-v1");
      dirs.push(root);
      const d = await discoverRuns(nodeFiles, join(root, "runs"));
      expect(d.problems).toEqual([]);
      expect(d.runs).toHaveLength(215);
      const counts = Object.fromEntries(
        Object.entries(Object.groupBy(d.runs, (r) => r.framework)).map(([f, l]) => [f, l!.length]),
      );
      expect(counts).toEqual({ baes: 78, chatdev: 62, ghspec: 75 });
      // legacy steps carry step-level tokens, which the schema reads and the pass keeps (the
      // editor drops zero placeholders), with the steps' numbers and times and nothing else
      const whole = await Promise.all(
        d.runs.map(async (r) =>
          MetricsFileSchema.parse(JSON.parse(await readFile(r.path, "utf8"))),
        ),
      );
      expect(whole.some((f) => f.steps?.some((s) => s.tokens_in !== undefined))).toBe(true);
      expect(d.runs.some((r) => r.file.steps?.some((s) => s.tokens_in !== undefined))).toBe(true);
      expect(whole.some((f) => f.steps?.some((s) => "command" in s))).toBe(true);
      expect(d.runs.some((r) => r.file.steps?.some((s) => "command" in s))).toBe(false);
      const times = (steps: MetricsFile["steps"]) =>
        (steps ?? []).map((s) => [s.start_timestamp, s.end_timestamp]);
      expect(d.runs.map((r) => times(r.file.steps))).toEqual(whole.map((f) => times(f.steps)));
      expect(d.manifest?.path).toBe(join(root, "runs", "runs_manifest.json"));
      expect(d.manifest?.entries).toHaveLength(215);
      expect(new Set(d.manifest!.entries.map((e) => e.run_id))).toEqual(
        new Set(d.runs.map((r) => r.runId)),
      );
    },
  );
});
