import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { annotationsOf, MAX_PER_LEVEL } from "../src/action/annotations.ts";
import type { RunReport } from "../src/report/schema.ts";
import { runAction } from "./support/action.ts";
import {
  allEvents,
  generateExperiment,
  keyIdFor,
  tempDir,
  writeExperiment,
} from "./support/experiment.ts";
import { startFakeUsageApi } from "./support/fake-usage-api.ts";
import { isolateGitConfig, makeSandbox, rejectPushes, sh } from "./support/git.ts";
import { reportOf } from "./support/report.ts";

/**
 * The runner keeps only 10 annotations of each type per step and drops the rest. The action puts
 * the most important first (the step failed, committing failed, then runs in error, then the
 * warnings) and emits at most 10 of each type, the 10th counting the rest; checked through the
 * emulated runner on the built action.
 */

const KEY = "sk-admin-ANNOTATIONS0123456789";

let restoreGit: () => void;
beforeAll(() => {
  restoreGit = isolateGitConfig();
});
afterAll(() => restoreGit());

describe("annotations, as the runner keeps them", () => {
  it("the step's failure and the failed commit come first; each type stays within 10", async () => {
    const sandbox = await makeSandbox();
    const temp = await tempDir("reconcile-usage-annotations-");
    const now = Math.floor(Date.now() / 1000);
    // 12 runs on one key that overlap in time: 12 ambiguous runs (warnings), written and committed
    const overlapping = generateExperiment({
      frameworks: ["par"],
      runsPerFramework: 12,
      startAt: now - 10 * 3600,
      seed: 4,
      durationSeconds: [300, 600],
      gapSeconds: [-150, -100],
    });
    const api = await startFakeUsageApi({ adminKey: KEY, events: allEvents(overlapping) });
    try {
      await writeExperiment(sandbox.clone, overlapping);
      // 12 broken files: 12 runs in error
      for (let i = 10; i < 22; i++) {
        const dir = join(sandbox.clone, "runs", "par", `broken-${i}`);
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, "metrics.json"), "{ not json");
      }
      await sh(sandbox.clone, ["add", "--all"]);
      await sh(sandbox.clone, ["commit", "--quiet", "-m", "runs"]);
      await sh(sandbox.clone, ["push", "--quiet", "origin", "HEAD:refs/heads/main"]);
      await rejectPushes(sandbox.bare, "protected branch: pushes are refused");

      const result = await runAction({
        workspace: sandbox.clone,
        temp,
        inputs: {
          "admin-key": KEY,
          "api-key-ids": `par=${keyIdFor("par")}`,
          "api-base-url": api.baseUrl,
          "hold-identical-readings": "false",
        },
      });
      expect(result.code).toBe(1);
      const kept = (level: string) => result.annotations.filter((a) => a.level === level);
      const emitted = (level: string) => result.issues.filter((a) => a.level === level);

      const errors = kept("error").map((a) => a.message);
      expect(errors, result.stdout).toHaveLength(MAX_PER_LEVEL);
      expect(errors[0]).toMatch(/^13 run\(s\) or file\(s\) failed/);
      expect(errors[1]).toMatch(/^committing the changes failed: .*protected branch/);
      expect(errors.slice(2, 9)).toEqual(Array(7).fill(expect.stringMatching(/not valid JSON/)));
      expect(errors[9]).toMatch(/^5 more errors: see the job summary/);
      // nothing was left for the runner to drop
      expect(emitted("error")).toHaveLength(MAX_PER_LEVEL);

      const warnings = kept("warning");
      expect(warnings).toHaveLength(MAX_PER_LEVEL);
      expect(warnings.slice(0, 9).every((w) => w.title?.startsWith("ambiguous: par/"))).toBe(true);
      expect(warnings[9]!.message).toMatch(/^3 more warnings: see the job summary/);
      expect(emitted("warning")).toHaveLength(MAX_PER_LEVEL);
      // each run annotation points at its file
      expect(result.annotations[2]!.file).toMatch(/^runs\/par\/broken-\d+\/metrics\.json$/);
    } finally {
      await api.close();
      await sandbox.cleanup();
      await rm(temp, { recursive: true, force: true });
    }
  });

  it("at most 10 of each type, whatever the report holds (pure)", () => {
    const runs: RunReport[] = Array.from({ length: 40 }, (_, i) => ({
      framework: "f",
      run_id: `r${i}`,
      path: `runs/f/r${i}/metrics.json`,
      status: (["error", "warning", "ambiguous", "no_usage"] as const)[i % 4]!,
      tokens_in: null,
      tokens_out: null,
      cached_tokens: null,
      api_calls: null,
      cost_usd: null,
      stable_checks: 0,
      verified_at: null,
      message: `m${i}`,
      changed: false,
      read: false,
      window: null,
      shared: null,
    }));
    const report = { ...reportOf(runs), warnings: ["pass warning"] };
    const out = annotationsOf(report, (p) => p, {
      failure: { level: "error", message: "failed" },
    });
    for (const level of ["error", "warning", "notice"])
      expect(out.filter((a) => a.level === level).length).toBeLessThanOrEqual(MAX_PER_LEVEL);
    const warnings = out.filter((a) => a.level === "warning");
    // the pass's warning first, then warning, ambiguous, no_usage runs in that order
    expect(warnings[0]!.message).toBe("pass warning");
    expect(warnings[1]!.title).toBe("warning: f/r1");
    expect(warnings.slice(1, 9).map((w) => w.title.split(":")[0])).toEqual(
      Array(8).fill("warning"),
    );
    expect(warnings[9]!.title).toBe("22 more warnings");
    const errors = out.filter((a) => a.level === "error");
    expect(errors[0]!.message).toBe("failed");
    expect(errors[9]!.title).toBe("2 more errors");
  });
});
