import { chmod, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { gitDelivery } from "../../src/delivery/deliveries.ts";
import { nodeFiles } from "../../src/fs/node.ts";
import { createHttpPageSource } from "../../src/providers/openai/http.ts";
import { reconcile } from "../../src/reconcile/pipeline.ts";
import { resolveSettings } from "../../src/settings/resolve.ts";
import { editJsonText } from "../../src/util/json-text.ts";
import { TOOL, VERSION } from "../../src/version.ts";
import {
  allEvents,
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  metricsText,
  writeExperiment,
} from "../support/experiment.ts";
import { mulberry32 } from "../support/fake-usage-api/faults.ts";
import { type FakeUsageApi, startFakeUsageApi } from "../support/fake-usage-api.ts";
import {
  cloneOf,
  type GitSandbox,
  HUMAN,
  isolateGitConfig,
  makeSandbox,
  readText,
  remoteFile,
  remoteHead,
  sh,
  WRITER,
} from "../support/git.ts";

/**
 * Several passes at once (three scheduled jobs that overlapped) over three clones of one remote,
 * each reading the same Usage API and committing through the pipeline's git delivery, while another writer keeps
 * adding run directories and editing a metrics.json. Every push lands within the retry bound,
 * every writer's change survives, and no reading is lost, doubled or out of order.
 */

const ADMIN_KEY = "sk-admin-concurrency-0001";
const FRAMEWORKS = ["baes", "chatdev", "ghspec"];
/**
 * A push is rejected only when another push landed since the pass fetched: the writer's 6 and the
 * other two passes' give at most 8 rejections, so 10 tries always suffice.
 */
const MAX_ATTEMPTS = 10;

let restoreGit: () => void;
beforeAll(() => {
  restoreGit = isolateGitConfig();
});
afterAll(() => restoreGit());

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface AttemptJson {
  timestamp: string;
  total_tokens_in: number;
  total_tokens_out: number;
  total_cached_tokens: number;
  total_api_calls: number;
}
interface MetricsJson {
  run_id: string;
  notes?: string;
  steps: unknown[];
  usage_api_reconciliation?: { attempts?: AttemptJson[] };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The writer: a clone that adds a run or edits a file, commits and pushes; retried when beaten. */
interface WriterEdit {
  apply: (dir: string) => Promise<void>;
  /** Called once the edit's push landed. */
  landed?: () => void;
}

async function writerLoop(
  s: GitSandbox,
  edits: WriterEdit[],
  keepGoing: () => boolean,
): Promise<{ pushes: number; rejected: number }> {
  const dir = join(s.root, "writer");
  await cloneOf(s.url, dir, WRITER);
  let pushes = 0;
  let rejected = 0;
  for (let i = 0; i < edits.length && (keepGoing() || i < 4); ) {
    await sh(dir, ["fetch", "--quiet", "origin", "main"]);
    await sh(dir, ["reset", "--quiet", "--hard", "FETCH_HEAD"]);
    await edits[i]!.apply(dir);
    await sh(dir, ["add", "--all"]);
    await sh(dir, ["commit", "--quiet", "-m", `writer ${i}`]);
    try {
      await sh(dir, ["push", "--quiet", "origin", "HEAD:refs/heads/main"]);
      edits[i]!.landed?.();
      pushes++;
      i++;
    } catch {
      rejected++; // beaten by a pass: fetch and redo the same edit
    }
    await pause(5);
  }
  return { pushes, rejected };
}

describe("three passes at once over clones of one remote, with a writer in between", () => {
  it("every push lands within the bound, every writer's change is kept, and no reading is lost, doubled or out of order", async () => {
    const s = await makeSandbox();
    cleanups.push(() => s.cleanup());
    const runs = generateExperiment({ frameworks: FRAMEWORKS, runsPerFramework: 3, seed: 31 });
    await writeExperiment(s.clone, runs);
    await sh(s.clone, ["add", "--all"]);
    await sh(s.clone, ["commit", "--quiet", "-m", "experiment runs"]);
    await sh(s.clone, ["push", "--quiet", "origin", "HEAD:refs/heads/main"]);

    const lastEnd = Math.floor(Math.max(...runs.map((r) => r.end)));
    // runs the writer adds while the passes run (they finished earlier, in the same period)
    const added = generateExperiment({
      frameworks: FRAMEWORKS,
      runsPerFramework: 1,
      seed: 32,
      startAt: lastEnd + 1800,
    });
    const api: FakeUsageApi = await startFakeUsageApi({
      adminKey: ADMIN_KEY,
      events: allEvents([...runs, ...added]),
    });
    cleanups.push(() => api.close());

    // three jobs that overlapped: two started in the same second, one 90 s later
    const base = Math.floor(Math.max(...added.map((r) => r.end))) + 3600;
    const nows = [base, base, base + 90];
    const clones = await Promise.all(
      nows.map((_, i) => cloneOf(s.url, join(s.root, `pass-${i + 1}`), HUMAN)),
    );

    // the writer's edits: add a run, then note something in an existing run, and so on
    const edited = runs[0]!;
    let lastNote: string | undefined;
    const edits = added.flatMap((run, i): WriterEdit[] => [
      {
        apply: async (dir) => {
          const path = join(dir, "runs", run.path);
          await mkdir(dirname(path), { recursive: true });
          await writeFile(path, metricsText(run));
        },
      },
      {
        apply: async (dir) => {
          const path = join(dir, "runs", edited.path);
          const note = `checked by hand, round ${i}`;
          await writeFile(
            path,
            editJsonText(await readText(path), { set: [{ path: ["notes"], value: note }] }),
          );
        },
        landed: () => {
          lastNote = `checked by hand, round ${i}`;
        },
      },
    ]);

    let passesDone = 0;
    const pass = async (clone: string, now: number, seed: number) => {
      const random = mulberry32(seed);
      const settings = resolveSettings(
        {
          "runs-dir": join(clone, "runs"),
          "api-key-ids": FRAMEWORKS.map((f) => `${f}=${keyIdFor(f)}`).join("\n"),
        },
        {},
        (name) => name,
      ).pass;
      const source = createHttpPageSource({ baseUrl: api.baseUrl, adminKey: ADMIN_KEY });
      let attempts = 0;
      try {
        const result = await reconcile(settings, {
          files: nodeFiles,
          now,
          source,
          tool: TOOL,
          version: VERSION,
          delivery: gitDelivery({
            repoDir: clone,
            runsDir: settings.runsDir,
            tool: TOOL,
            secrets: [],
            log: () => undefined,
            maxAttempts: MAX_ATTEMPTS,
            // short real waits, jittered so the three do not collide in step
            backoffMs: () => 10 + Math.floor(random() * 60),
            beforePublish: async (attempt) => {
              attempts = attempt;
            },
          }),
        });
        expect(result.passErrors).toEqual([]);
        expect(result.report.errors).toBe(0);
        return { sha: result.sha, attempts };
      } finally {
        await source.close();
        passesDone++;
      }
    };

    const [results, writer] = await Promise.all([
      Promise.all(nows.map((now, i) => pass(clones[i]!, now, 100 + i))),
      writerLoop(s, edits, () => passesDone < nows.length),
    ]);

    // every pass landed (or, on the new head, found its changes already there), within the bound
    const head = (await remoteHead(s.bare))!;
    for (const r of results) {
      expect(r.attempts).toBeLessThanOrEqual(MAX_ATTEMPTS);
      if (r.sha !== null) {
        const contained = await sh(s.root, [
          "--git-dir",
          s.bare,
          "merge-base",
          "--is-ancestor",
          r.sha,
          head,
        ]).then(
          () => true,
          () => false,
        );
        expect(contained, r.sha).toBe(true);
      }
    }
    expect(results.filter((r) => r.sha !== null).length).toBeGreaterThanOrEqual(2);
    expect(writer.pushes).toBeGreaterThanOrEqual(4);

    // the writer's changes are all there: its runs as it wrote them, its last note
    const remoteJson = async (run: GeneratedRun): Promise<MetricsJson> =>
      JSON.parse((await remoteFile(s.bare, `runs/${run.path}`))!) as MetricsJson;
    const written = added.slice(0, Math.ceil(writer.pushes / 2));
    for (const run of written) {
      const json = await remoteJson(run);
      const original = JSON.parse(metricsText(run)) as MetricsJson;
      expect(json.run_id).toBe(run.runId);
      expect(json.steps).toEqual(original.steps);
    }
    expect((await remoteJson(edited)).notes).toBe(lastNote);

    // readings: each pass's reading of each run exactly once, oldest first, with the true totals
    const distinctNows = [...new Set(nows)];
    for (const run of runs) {
      const attempts = (await remoteJson(run)).usage_api_reconciliation?.attempts ?? [];
      const times = attempts.map((a) => Date.parse(a.timestamp) / 1000);
      expect(times, run.path).toEqual([...times].sort((a, b) => a - b));
      const keys = attempts.map((a) =>
        JSON.stringify([
          a.timestamp,
          a.total_tokens_in,
          a.total_tokens_out,
          a.total_cached_tokens,
          a.total_api_calls,
        ]),
      );
      expect(new Set(keys).size, run.path).toBe(keys.length);
      expect(times, run.path).toEqual(distinctNows);
      for (const a of attempts) {
        expect(a.total_tokens_in).toBe(run.totals.tokensIn);
        expect(a.total_tokens_out).toBe(run.totals.tokensOut);
      }
    }
    // and in every file on the remote, the writer's too: valid JSON, time order, nothing twice
    const tree = await sh(s.root, ["--git-dir", s.bare, "ls-tree", "-r", "--name-only", "main"]);
    const files = tree.split("\n").filter((p) => p.endsWith("metrics.json"));
    expect(files).toHaveLength(runs.length + written.length);
    for (const path of files) {
      const json = JSON.parse((await remoteFile(s.bare, path))!) as MetricsJson;
      const attempts = json.usage_api_reconciliation?.attempts ?? [];
      const times = attempts.map((a) => Date.parse(a.timestamp) / 1000);
      expect(times, path).toEqual([...times].sort((a, b) => a - b));
      expect(new Set(attempts.map((a) => JSON.stringify(a))).size, path).toBe(attempts.length);
    }
  });
});

describe("a pass that lands after another one, deterministically", () => {
  /** An experiment on a remote, the Usage API, and a pass at `now` in a clone of its own. */
  async function setUp() {
    const s = await makeSandbox();
    cleanups.push(() => s.cleanup());
    const runs = generateExperiment({ frameworks: FRAMEWORKS, runsPerFramework: 2, seed: 33 });
    await writeExperiment(s.clone, runs);
    await sh(s.clone, ["add", "--all"]);
    await sh(s.clone, ["commit", "--quiet", "-m", "experiment runs"]);
    await sh(s.clone, ["push", "--quiet", "origin", "HEAD:refs/heads/main"]);
    const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events: allEvents(runs) });
    cleanups.push(() => api.close());
    const base = Math.floor(Math.max(...runs.map((r) => r.end))) + 3600;
    let clones = 0;
    /**
     * A pass at `now` in a clone of its own, cloned now; it runs when the returned function is
     * called (with the delivery's seams), and gives its commit and the publish attempts it made.
     */
    const passAt = async (now: number) => {
      const clone = await cloneOf(s.url, join(s.root, `pass-${++clones}`), HUMAN);
      const settings = resolveSettings(
        {
          "runs-dir": join(clone, "runs"),
          "api-key-ids": FRAMEWORKS.map((f) => `${f}=${keyIdFor(f)}`).join("\n"),
        },
        {},
        (name) => name,
      ).pass;
      const source = createHttpPageSource({ baseUrl: api.baseUrl, adminKey: ADMIN_KEY });
      cleanups.push(() => source.close());
      return async (
        options: {
          beforePublish?: (attempt: number) => Promise<void>;
          log?: (line: string) => void;
        } = {},
      ) => {
        let attempts = 0;
        const result = await reconcile(settings, {
          files: nodeFiles,
          now,
          source,
          tool: TOOL,
          version: VERSION,
          delivery: gitDelivery({
            repoDir: clone,
            runsDir: settings.runsDir,
            tool: TOOL,
            secrets: [],
            log: options.log ?? (() => undefined),
            backoffMs: () => 0,
            beforePublish: async (attempt) => {
              attempts = attempt;
              await options.beforePublish?.(attempt);
            },
          }),
        });
        expect(result.passErrors).toEqual([]);
        return { sha: result.sha, attempts };
      };
    };
    const readings = async (run: GeneratedRun) =>
      (
        JSON.parse((await remoteFile(s.bare, `runs/${run.path}`))!) as MetricsJson
      ).usage_api_reconciliation?.attempts?.map((a) => a.timestamp) ?? [];
    return { s, runs, base, passAt, readings };
  }

  it("an earlier reading re-applied on a head holding a later one goes before it, and a reading already there is not added again", async () => {
    const { runs, base, passAt, readings } = await setUp();
    const early = await passAt(base);
    const late = await passAt(base + 5400);
    const lateTwin = await passAt(base + 5400);
    const result = await early({
      // the later pass and its twin (same clock, same answers) land while the early one commits
      beforePublish: async (attempt) => {
        if (attempt !== 1) return;
        const landed = await late();
        expect(landed.sha).not.toBeNull();
        // the twin's commit is byte for byte the same one (same second) or, re-applied, empty
        const twin = await lateTwin();
        expect([landed.sha, null]).toContain(twin.sha);
      },
    });
    expect(result.attempts).toBe(2);
    const iso = (t: number) =>
      new Date(t * 1000).toISOString().replace("Z", "").concat("000+00:00");
    for (const run of runs) expect(await readings(run)).toEqual([iso(base), iso(base + 5400)]);
  });

  it("a push that loses the race at the ref update ('failed to update ref') is retried, not refused", async () => {
    const { s, runs, base, passAt, readings } = await setUp();
    // the first push finds main moved by someone else between its check and its ref update
    const hook = join(s.bare, "hooks", "pre-receive");
    await writeFile(
      hook,
      [
        "#!/bin/sh",
        'if [ ! -f "$GIT_DIR/raced-once" ]; then',
        '  touch "$GIT_DIR/raced-once"',
        "  env -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES sh -c '",
        "    head=$(git rev-parse refs/heads/main)",
        '    other=$(echo "another writer" | git -c user.name=Other -c user.email=other@example.com commit-tree "$head^{tree}" -p "$head")',
        '    git update-ref refs/heads/main "$other"',
        "  '",
        "fi",
        "exit 0",
        "",
      ].join("\n"),
    );
    await chmod(hook, 0o755);
    const logged: string[] = [];
    const result = await (await passAt(base))({ log: (l) => logged.push(l) });
    expect(logged.join("\n")).toMatch(/rejected \(cannot lock ref/);
    expect(result.attempts).toBe(2);
    expect(result.sha).toBe(await remoteHead(s.bare));
    const subjects = (await sh(s.root, ["--git-dir", s.bare, "log", "--format=%s", "main"])).split(
      "\n",
    );
    expect(subjects.slice(0, 2)).toEqual([
      expect.stringMatching(/^reconcile-usage: /),
      "another writer",
    ]);
    for (const run of runs) expect(await readings(run)).toHaveLength(1);
  });
});
