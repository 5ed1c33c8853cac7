import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { gitDelivery } from "../src/delivery/deliveries.ts";
import { BOT_AUTHOR, commitAndPush, type GitTarget, redactGitOutput } from "../src/delivery/git.ts";
import { commitMessage } from "../src/delivery/message.ts";
import { defaultBackoffMs, type FileUpdate, type PublishOptions } from "../src/delivery/publish.ts";
import { DeliveryError } from "../src/errors.ts";
import { nodeFiles } from "../src/fs/node.ts";
import { createHttpPageSource } from "../src/providers/openai/http.ts";
import { reconcile } from "../src/reconcile/pipeline.ts";
import { editJsonText } from "../src/util/json-text.ts";
import { TOOL, VERSION } from "../src/version.ts";
import {
  allEvents,
  generateExperiment,
  metricsText,
  writeExperiment,
} from "./support/experiment.ts";
import { startFakeUsageApi } from "./support/fake-usage-api.ts";
import {
  type GitSandbox,
  HUMAN,
  isolateGitConfig,
  makeSandbox,
  readText,
  rejectPushes,
  remoteCommit,
  remoteFile,
  remoteHead,
  remoteSubjects,
  sh,
  writeFiles,
  writerPush,
} from "./support/git.ts";
import { testSettings } from "./support/settings.ts";

const BOT = `${BOT_AUTHOR.name} <${BOT_AUTHOR.email}>`;
const noSleep = async (): Promise<void> => undefined;

let restoreGitConfig: () => void;
beforeAll(() => {
  restoreGitConfig = isolateGitConfig();
});
afterAll(() => restoreGitConfig());

const sandboxes: GitSandbox[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.cleanup()));
});

async function sandbox(options?: Parameters<typeof makeSandbox>[0]): Promise<GitSandbox> {
  const s = await makeSandbox(options);
  sandboxes.push(s);
  return s;
}

const METRICS_A = "runs/baes/run-a/metrics.json";
const METRICS_B = "runs/chatdev/run-b/metrics.json";
const INITIAL_A = `{\n  "run_id": "run-a",\n  "attempts": [\n    1\n  ]\n}\n`;
const INITIAL_B = `{\n  "run_id": "run-b",\n  "attempts": []\n}\n`;
const experimentFiles = () => ({
  "README.md": "experiment\n",
  [METRICS_A]: INITIAL_A,
  [METRICS_B]: INITIAL_B,
});

/** A pass's changes the way the action computes them: from the file as it is on disk now. */
function addKey(
  dir: string,
  path: string,
  key: string,
  value: unknown,
): () => Promise<FileUpdate[]> {
  return async () => {
    const abs = join(dir, path);
    const before = await readText(abs);
    return [{ path: abs, after: editJsonText(before, { set: [{ path: [key], value }] }) }];
  };
}

/** Wraps computeChanges to count its calls. */
function counted(f: () => Promise<FileUpdate[]>): {
  calls: () => number;
  computeChanges: () => Promise<FileUpdate[]>;
} {
  let n = 0;
  return {
    calls: () => n,
    computeChanges: () => {
      n++;
      return f();
    },
  };
}

type GitCommitOptions = PublishOptions & GitTarget;

function options(
  s: GitSandbox,
  overrides: Partial<GitCommitOptions> & Pick<GitCommitOptions, "computeChanges">,
): GitCommitOptions {
  return {
    repoDir: s.clone,
    message: (paths) => `reconcile-usage: ${paths.length} file(s)`,
    sleep: noSleep,
    ...overrides,
  };
}

describe("commitAndPush", () => {
  it("pushes one commit by github-actions[bot] (author and committer) with the pass's message", async () => {
    const s = await sandbox({ files: experimentFiles() });
    const before = await remoteHead(s.bare);
    const seen: string[][] = [];
    const result = await commitAndPush(
      options(s, {
        computeChanges: addKey(s.clone, METRICS_A, "verification_status", "verified"),
        message: (paths) => {
          seen.push(paths);
          return `reconcile-usage: 1 verified (1 run, ${paths.length} file)\n\n- baes/run-a: verified`;
        },
      }),
    );

    expect(result.attempts).toBe(1);
    expect(result.files).toEqual([METRICS_A]);
    expect(seen).toEqual([[METRICS_A]]);
    expect(result.sha).toBe(await remoteHead(s.bare));
    const commit = await remoteCommit(s.bare);
    expect(commit.author).toBe(BOT);
    expect(commit.committer).toBe(BOT);
    expect(commit.subject).toBe("reconcile-usage: 1 verified (1 run, 1 file)");
    expect(commit.body).toBe("- baes/run-a: verified");
    expect(commit.files).toEqual([METRICS_A]);
    expect(await remoteSubjects(s.bare)).toHaveLength(2);
    expect(await sh(s.bare, ["--git-dir", s.bare, "rev-parse", "main~1"])).toBe(`${before}\n`);
    expect(JSON.parse((await remoteFile(s.bare, METRICS_A))!)).toEqual({
      run_id: "run-a",
      attempts: [1],
      verification_status: "verified",
    });
    // the checkout is left clean, on the pushed commit, with the user's own identity untouched
    expect(await sh(s.clone, ["status", "--porcelain"])).toBe("");
    expect((await sh(s.clone, ["rev-parse", "HEAD"])).trim()).toBe(result.sha);
    expect((await sh(s.clone, ["config", "user.name"])).trim()).toBe(HUMAN.name);
  });

  it("uses the given author as author and committer, whatever GIT_AUTHOR_*/GIT_COMMITTER_* say", async () => {
    const s = await sandbox({ files: experimentFiles() });
    const names = [
      "GIT_AUTHOR_NAME",
      "GIT_AUTHOR_EMAIL",
      "GIT_COMMITTER_NAME",
      "GIT_COMMITTER_EMAIL",
    ];
    for (const n of names) process.env[n] = n.endsWith("EMAIL") ? "outer@example.com" : "Outer";
    try {
      await commitAndPush(
        options(s, {
          computeChanges: addKey(s.clone, METRICS_A, "verification_status", "verified"),
          author: { name: "Lab Bot", email: "lab-bot@example.com" },
        }),
      );
    } finally {
      for (const n of names) delete process.env[n];
    }
    const commit = await remoteCommit(s.bare);
    expect(commit.author).toBe("Lab Bot <lab-bot@example.com>");
    expect(commit.committer).toBe("Lab Bot <lab-bot@example.com>");
  });

  it("makes no commit when the pass changed nothing (no updates, or updates equal to the files)", async () => {
    const s = await sandbox({ files: experimentFiles() });
    const head = await remoteHead(s.bare);
    const localHead = await sh(s.clone, ["rev-parse", "HEAD"]);
    let messages = 0;
    const message = () => {
      messages++;
      return "unused";
    };

    const none = await commitAndPush(options(s, { computeChanges: async () => [], message }));
    expect(none).toEqual({ sha: null, attempts: 0, files: [] });

    const same = await commitAndPush(
      options(s, {
        computeChanges: async () => [{ path: join(s.clone, METRICS_A), after: INITIAL_A }],
        message,
      }),
    );
    expect(same).toEqual({ sha: null, attempts: 0, files: [] });

    expect(messages).toBe(0);
    expect(await remoteHead(s.bare)).toBe(head);
    expect(await sh(s.clone, ["rev-parse", "HEAD"])).toBe(localHead);
    expect(await sh(s.clone, ["status", "--porcelain"])).toBe("");
  });

  it("commits only the pass's files, leaving another staged change staged and unpushed", async () => {
    const s = await sandbox({ files: experimentFiles() });
    await writeFiles(s.clone, { "README.md": "someone's edit\n", "notes.txt": "new file\n" });
    await sh(s.clone, ["add", "README.md", "notes.txt"]);

    const result = await commitAndPush(
      options(s, { computeChanges: addKey(s.clone, METRICS_B, "verification_status", "pending") }),
    );

    expect(result.files).toEqual([METRICS_B]);
    expect((await remoteCommit(s.bare)).files).toEqual([METRICS_B]);
    expect(await remoteFile(s.bare, "README.md")).toBe("experiment\n");
    expect(await remoteFile(s.bare, "notes.txt")).toBeUndefined();
    expect(
      (await sh(s.clone, ["diff", "--cached", "--name-only"])).split("\n").filter(Boolean),
    ).toEqual(["README.md", "notes.txt"]);
  });

  it("creates a file the pass adds (in a new directory) and commits it", async () => {
    const s = await sandbox({ files: experimentFiles() });
    const path = "runs/ghspec/run-c/metrics.json";
    const result = await commitAndPush(
      options(s, {
        computeChanges: async () => [{ path: join(s.clone, path), after: '{"run_id": "run-c"}\n' }],
      }),
    );
    expect(result.files).toEqual([path]);
    expect(await remoteFile(s.bare, path)).toBe('{"run_id": "run-c"}\n');
  });

  it("retries a push another writer beat (a change to another file): both changes land, attempts = 2", async () => {
    const s = await sandbox({ files: experimentFiles() });
    const compute = counted(addKey(s.clone, METRICS_A, "verification_status", "verified"));
    const slept: number[] = [];
    const logged: string[] = [];
    const result = await commitAndPush(
      options(s, {
        computeChanges: compute.computeChanges,
        beforePublish: async (attempt) => {
          if (attempt === 1)
            await writerPush(s, (dir) => writeFiles(dir, { [METRICS_B]: '{"run_id": "b2"}\n' }));
        },
        backoffMs: (attempt) => attempt * 111,
        sleep: async (ms) => {
          slept.push(ms);
        },
        log: (line) => logged.push(line),
      }),
    );

    expect(result.attempts).toBe(2);
    expect(compute.calls()).toBe(2);
    expect(slept).toEqual([111]);
    expect(logged.some((l) => /rejected \(fetch first\)/.test(l))).toBe(true);
    expect(result.sha).toBe(await remoteHead(s.bare));
    expect(await remoteSubjects(s.bare)).toEqual([
      "reconcile-usage: 1 file(s)",
      "concurrent writer",
      "initial",
    ]);
    expect(await remoteFile(s.bare, METRICS_B)).toBe('{"run_id": "b2"}\n');
    expect(JSON.parse((await remoteFile(s.bare, METRICS_A))!).verification_status).toBe("verified");
    expect((await remoteCommit(s.bare)).author).toBe(BOT);
  });

  it("re-applies on top of another writer's change to the SAME metrics.json: both survive", async () => {
    const s = await sandbox({ files: experimentFiles() });
    const result = await commitAndPush(
      options(s, {
        computeChanges: addKey(s.clone, METRICS_A, "usage_api_reconciliation", {
          verification_status: "pending",
        }),
        beforePublish: async (attempt) => {
          if (attempt !== 1) return;
          await writerPush(s, async (dir) => {
            const abs = join(dir, METRICS_A);
            const text = await readText(abs);
            await writeFiles(dir, {
              [METRICS_A]: editJsonText(text, {
                set: [{ path: ["notes"], value: "rerun on a quiet machine" }],
                append: [{ path: ["attempts"], values: [2] }],
              }),
            });
          });
        },
      }),
    );

    expect(result.attempts).toBe(2);
    const text = (await remoteFile(s.bare, METRICS_A))!;
    expect(JSON.parse(text)).toEqual({
      run_id: "run-a",
      attempts: [1, 2],
      notes: "rerun on a quiet machine",
      usage_api_reconciliation: { verification_status: "pending" },
    });
    // and nothing of the other writer's commit was undone
    expect(await remoteSubjects(s.bare)).toEqual([
      "reconcile-usage: 1 file(s)",
      "concurrent writer",
      "initial",
    ]);
  });

  it("returns sha null when, on the new head, the pass has nothing left to change", async () => {
    const s = await sandbox({ files: experimentFiles() });
    const result = await commitAndPush(
      options(s, {
        computeChanges: addKey(s.clone, METRICS_A, "verification_status", "verified"),
        beforePublish: async (attempt) => {
          if (attempt !== 1) return;
          // the other writer made exactly our change
          await writerPush(s, async (dir) => {
            const abs = join(dir, METRICS_A);
            await writeFiles(dir, {
              [METRICS_A]: editJsonText(await readText(abs), {
                set: [{ path: ["verification_status"], value: "verified" }],
              }),
            });
          });
        },
      }),
    );
    expect(result).toEqual({ sha: null, attempts: 1, files: [] });
    expect(await remoteSubjects(s.bare)).toEqual(["concurrent writer", "initial"]);
    expect(await sh(s.clone, ["status", "--porcelain"])).toBe("");
  });

  it("gives up with DeliveryError after maxAttempts when the branch keeps moving", async () => {
    const s = await sandbox({ files: experimentFiles() });
    const compute = counted(addKey(s.clone, METRICS_A, "verification_status", "verified"));
    let writes = 0;
    const slept: number[] = [];
    const error = await commitAndPush(
      options(s, {
        computeChanges: compute.computeChanges,
        maxAttempts: 3,
        beforePublish: async () => {
          writes++;
          await writerPush(s, (dir) => writeFiles(dir, { "counter.txt": `${writes}\n` }));
        },
        sleep: async (ms) => {
          slept.push(ms);
        },
        backoffMs: () => 7,
      }),
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).attempts).toBe(3);
    expect((error as DeliveryError).message).toMatch(/rejected 3 times/);
    expect((error as DeliveryError).message).toMatch(/gave up after 3 attempts/);
    expect(compute.calls()).toBe(3);
    expect(slept).toEqual([7, 7]);
    const subjects = await remoteSubjects(s.bare);
    expect(subjects).toHaveLength(4);
    expect(subjects.filter((x) => x.startsWith("reconcile-usage"))).toEqual([]);
    expect(await remoteFile(s.bare, "counter.txt")).toBe("3\n");
  });

  it("fails at once, redacted, when a pre-receive hook refuses the push", async () => {
    const s = await sandbox({ files: experimentFiles() });
    await rejectPushes(
      s.bare,
      "error: push declined by policy: token ghs_SECRET123 may not write here (ref sekrit-value-42)",
    );
    const compute = counted(addKey(s.clone, METRICS_A, "verification_status", "verified"));
    const slept: number[] = [];
    const logged: string[] = [];
    const head = await remoteHead(s.bare);
    const error = await commitAndPush(
      options(s, {
        computeChanges: compute.computeChanges,
        secrets: ["sekrit-value-42"],
        sleep: async (ms) => {
          slept.push(ms);
        },
        log: (line) => logged.push(line),
      }),
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeliveryError);
    const message = (error as DeliveryError).message;
    expect((error as DeliveryError).attempts).toBe(1);
    expect(message).toMatch(/push declined by policy/);
    expect(message).toMatch(/pre-receive hook declined/);
    expect(message).not.toMatch(/SECRET123/);
    expect(message).not.toMatch(/sekrit-value-42/);
    expect(logged.join("\n")).not.toMatch(/SECRET123|sekrit-value-42/);
    expect(compute.calls()).toBe(1);
    expect(slept).toEqual([]);
    expect(await remoteHead(s.bare)).toBe(head);
  });

  it("fails at once, without the token, when the remote cannot be reached", async () => {
    const s = await sandbox({ files: experimentFiles() });
    const error = await commitAndPush(
      options(s, {
        computeChanges: addKey(s.clone, METRICS_A, "verification_status", "verified"),
        remote: "https://x-access-token:ghs_abcDEF987654321@127.0.0.1:9/org/repo.git",
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).attempts).toBe(1);
    expect((error as DeliveryError).message).toMatch(/127\.0\.0\.1/);
    expect((error as DeliveryError).message).not.toMatch(/abcDEF987654321/);
  });

  it("refuses a detached HEAD without a branch, before changing anything", async () => {
    const s = await sandbox({ files: experimentFiles() });
    await sh(s.clone, ["checkout", "--quiet", "--detach"]);
    const compute = counted(addKey(s.clone, METRICS_A, "verification_status", "verified"));
    const head = await remoteHead(s.bare);
    const error = await commitAndPush(options(s, { computeChanges: compute.computeChanges })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as Error).message).toMatch(/detached/);
    expect((error as Error).message).toMatch(/branch/);
    expect(compute.calls()).toBe(0);
    expect(await readText(join(s.clone, METRICS_A))).toBe(INITIAL_A);
    expect(await remoteHead(s.bare)).toBe(head);
  });

  it("pushes a detached HEAD to the branch it is given (and retries there)", async () => {
    const s = await sandbox({ files: experimentFiles() });
    await sh(s.clone, ["checkout", "--quiet", "--detach"]);
    const result = await commitAndPush(
      options(s, {
        branch: "main",
        computeChanges: addKey(s.clone, METRICS_A, "verification_status", "verified"),
        beforePublish: async (attempt) => {
          if (attempt === 1) await writerPush(s, (dir) => writeFiles(dir, { "x.txt": "x\n" }));
        },
      }),
    );
    expect(result.attempts).toBe(2);
    expect(result.sha).toBe(await remoteHead(s.bare, "main"));
    expect(await remoteFile(s.bare, "x.txt")).toBe("x\n");
    expect(JSON.parse((await remoteFile(s.bare, METRICS_A))!).verification_status).toBe("verified");
  });

  it("works in a shallow clone (fetch-depth 1), retry included", async () => {
    const s = await sandbox({ files: experimentFiles(), history: 4, depth: 1 });
    expect((await sh(s.clone, ["rev-parse", "--is-shallow-repository"])).trim()).toBe("true");
    const result = await commitAndPush(
      options(s, {
        computeChanges: addKey(s.clone, METRICS_A, "verification_status", "verified"),
        beforePublish: async (attempt) => {
          if (attempt === 1)
            await writerPush(s, (dir) => writeFiles(dir, { [METRICS_B]: '{"run_id": "b2"}\n' }));
        },
      }),
    );
    expect(result.attempts).toBe(2);
    expect(result.sha).toBe(await remoteHead(s.bare));
    expect(await remoteSubjects(s.bare)).toEqual([
      "reconcile-usage: 1 file(s)",
      "concurrent writer",
      "history 3",
      "history 2",
      "history 1",
      "initial",
    ]);
    expect(await remoteFile(s.bare, METRICS_B)).toBe('{"run_id": "b2"}\n');
  });

  it("does not reset away local commits that were never pushed", async () => {
    const s = await sandbox({ files: experimentFiles() });
    await writeFiles(s.clone, { "local.txt": "local work\n" });
    await sh(s.clone, ["add", "local.txt"]);
    await sh(s.clone, ["commit", "--quiet", "-m", "local work"]);
    const error = await commitAndPush(
      options(s, {
        computeChanges: addKey(s.clone, METRICS_A, "verification_status", "verified"),
        beforePublish: async (attempt) => {
          if (attempt === 1) await writerPush(s, (dir) => writeFiles(dir, { "x.txt": "x\n" }));
        },
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as Error).message).toMatch(/does not contain/);
    expect(await sh(s.clone, ["log", "--format=%s", "-2"])).toBe(
      "reconcile-usage: 1 file(s)\nlocal work\n",
    );
  });

  it("works with repoDir a subdirectory of the work tree, paths relative to it", async () => {
    const s = await sandbox({ files: experimentFiles() });
    const seen: string[][] = [];
    const result = await commitAndPush(
      options(s, {
        repoDir: join(s.clone, "runs"),
        computeChanges: addKey(s.clone, METRICS_A, "verification_status", "verified"),
        message: (paths) => {
          seen.push(paths);
          return "subdir";
        },
      }),
    );
    expect(seen).toEqual([["baes/run-a/metrics.json"]]);
    expect(result.files).toEqual(["baes/run-a/metrics.json"]);
    expect((await remoteCommit(s.bare)).files).toEqual([METRICS_A]);
  });

  it("rejects an update outside the repository", async () => {
    const s = await sandbox({ files: experimentFiles() });
    const error = await commitAndPush(
      options(s, {
        computeChanges: async () => [{ path: join(s.root, "elsewhere.json"), after: "{}" }],
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as Error).message).toMatch(/not inside the repository/);
  });
});

describe("the pipeline delivering with git", () => {
  it("re-applies the pass on a head where another writer added a run and edited a reconciled file", async () => {
    const s = await sandbox();
    const runs = generateExperiment({ frameworks: ["baes", "chatdev"], runsPerFramework: 2 });
    const runsDir = await writeExperiment(s.clone, runs);
    await sh(s.clone, ["add", "--all"]);
    await sh(s.clone, ["commit", "--quiet", "-m", "add runs"]);
    await sh(s.clone, ["push", "--quiet", "origin", "HEAD:refs/heads/main"]);

    const api = await startFakeUsageApi({ events: allEvents(runs) });
    const source = createHttpPageSource({
      baseUrl: api.baseUrl,
      adminKey: "sk-admin-test",
      userAgent: TOOL,
    });
    try {
      const settings = testSettings(runsDir, ["baes", "chatdev"]);
      const now = Math.ceil(Math.max(...runs.map((r) => r.end))) + 2 * 3600;

      const [first, second] = runs as [(typeof runs)[0], (typeof runs)[0]];
      const [late] = generateExperiment({
        frameworks: ["baes"],
        runsPerFramework: 1,
        seed: 7,
        startAt: now - 1200,
        durationSeconds: [300, 400],
      }) as [(typeof runs)[0]];
      const lateText = metricsText(late);
      const note = async (dir: string, path: string, value: string) => {
        const abs = join(dir, "runs", path);
        await writeFiles(dir, {
          [`runs/${path}`]: editJsonText(await readText(abs), {
            set: [{ path: ["notes"], value }],
          }),
        });
      };

      const attempts: number[] = [];
      const result = await reconcile(settings, {
        files: nodeFiles,
        now,
        source,
        tool: TOOL,
        version: VERSION,
        delivery: gitDelivery({
          repoDir: s.clone,
          runsDir,
          tool: TOOL,
          secrets: [],
          log: () => undefined,
          backoffMs: () => 0,
          beforePublish: async (attempt) => {
            attempts.push(attempt);
            if (attempt === 1) {
              await writerPush(s, async (dir) => {
                await writeFiles(dir, { [`runs/${late.path}`]: lateText });
                await note(dir, first.path, "x");
              });
            }
            if (attempt === 2) await writerPush(s, (dir) => note(dir, second.path, "y"));
          },
        }),
      });
      expect(result.changes.length).toBeGreaterThan(runs.length); // every run + the manifest
      expect(result.collected?.readings.size).toBe(runs.length);
      expect(result.passErrors).toEqual([]);

      expect(attempts).toEqual([1, 2, 3]);
      expect(result.sha).toBe(await remoteHead(s.bare));
      const commit = await remoteCommit(s.bare);
      expect(commit.author).toBe(BOT);
      expect(commit.subject).toBe(
        `reconcile-usage: ${runs.length} pending (${runs.length} runs, ${commit.files.length} files)`,
      );
      expect(await remoteSubjects(s.bare)).toEqual([
        commit.subject,
        "concurrent writer",
        "concurrent writer",
        "add runs",
        "initial",
      ]);

      // the other writer's new run is there, untouched
      expect(await remoteFile(s.bare, `runs/${late.path}`)).toBe(lateText);
      for (const run of runs) {
        const text = (await remoteFile(s.bare, `runs/${run.path}`))!;
        const json = JSON.parse(text);
        const attempts = json.usage_api_reconciliation.attempts as Array<{
          total_tokens_in: number;
          total_tokens_out: number;
        }>;
        // our reading, exactly once, with the true totals
        expect(attempts).toHaveLength(1);
        expect(attempts[0]!.total_tokens_in).toBe(run.totals.tokensIn);
        expect(attempts[0]!.total_tokens_out).toBe(run.totals.tokensOut);
        // and the writer's notes kept
        expect(json.notes).toBe(run === first ? "x" : run === second ? "y" : undefined);
        // the checkout ends on what the remote holds
        expect(await readFile(join(s.clone, "runs", run.path), "utf8")).toBe(text);
      }
      expect(await sh(s.clone, ["status", "--porcelain"])).toBe("");
    } finally {
      await source.close();
      await api.close();
    }
  });
});

describe("commitMessage", () => {
  it("counts the changed runs by status in report order, then runs and files", () => {
    expect(commitMessage({ pending: 5, verified: 3 }, 9)).toBe(
      "reconcile-usage: 3 verified, 5 pending (8 runs, 9 files)",
    );
    expect(
      commitMessage({ no_usage: 1, data_not_available: 2, verified: 0, zeta: 1, alpha: 1 }, 1),
    ).toBe("reconcile-usage: 2 data not available, 1 no usage, 1 alpha, 1 zeta (5 runs, 1 file)");
    expect(commitMessage({ verified: 1 }, 2)).toBe("reconcile-usage: 1 verified (1 run, 2 files)");
  });

  it("names the file count alone when no run changed status (a manifest fix)", () => {
    expect(commitMessage({}, 1)).toBe("reconcile-usage: update 1 file");
    expect(commitMessage({ verified: 0 }, 3, { prefix: "chore(runs)" })).toBe(
      "chore(runs): update 3 files",
    );
  });

  it("lists the runs in the body, sorted, one line each, and cut after maxListed", () => {
    const message = commitMessage({ verified: 2, pending: 1 }, 4, {
      runs: [
        { framework: "chatdev", run_id: "r2", status: "pending" },
        { framework: "baes", run_id: "r9\nevil: line", status: "verified" },
        { framework: "baes", run_id: "r1", status: "verified" },
      ],
      maxListed: 2,
    });
    expect(message).toBe(
      [
        "reconcile-usage: 2 verified, 1 pending (3 runs, 4 files)",
        "",
        "- baes/r1: verified",
        "- baes/r9?evil: line: verified",
        "- … and 1 more",
      ].join("\n"),
    );
  });
});

describe("defaultBackoffMs", () => {
  it("doubles from 1 s with ±50 % jitter and is capped", () => {
    expect(defaultBackoffMs(1, () => 0)).toBe(500);
    expect(defaultBackoffMs(1, () => 0.999_999)).toBe(1500);
    expect(defaultBackoffMs(3, () => 0.5)).toBe(4000);
    expect(defaultBackoffMs(3, () => 0)).toBe(2000);
    expect(defaultBackoffMs(40, () => 0.5)).toBe(30_000);
  });
});

describe("redactGitOutput", () => {
  it("removes tokens in URLs, GitHub token shapes, Authorization headers and given secrets", () => {
    const text = [
      "fatal: unable to access 'https://x-access-token:ghs_AAAAbbbb1111@github.com/o/r.git/'",
      "remote: token ghp_ZZZZyyyy9999 and github_pat_11ABC_def was rejected",
      "> AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46Z2hzX0FBQUE=",
      "https://user:pa55word@example.com/repo.git",
      "the value my-own-secret-1 leaked",
    ].join("\n");
    const out = redactGitOutput(text, ["my-own-secret-1"]);
    for (const secret of [
      "AAAAbbbb1111",
      "ZZZZyyyy9999",
      "11ABC_def",
      "eC1hY2Nlc3MtdG9rZW46Z2hzX0FBQUE",
      "pa55word",
      "my-own-secret-1",
    ])
      expect(out).not.toContain(secret);
    expect(out).toContain("github.com/o/r.git");
    expect(out).toContain("was rejected");
  });
});
