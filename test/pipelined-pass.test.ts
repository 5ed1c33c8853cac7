import { rm } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { nodeFiles } from "../src/fs/node.ts";
import { builtinSource } from "../src/pricing/prices.ts";
import { type PassOutcome, runPass } from "../src/reconcile/pass.ts";
import { TOOL, VERSION } from "../src/version.ts";
import { generateExperiment, tempDir, writeExperiment } from "./support/experiment.ts";
import type { FakeUsageApiOptions } from "./support/fake-usage-api.ts";
import { fakeApiWithSource } from "./support/page-source.ts";
import { testSettings } from "./support/settings.ts";

/**
 * A pass applies each run as soon as the pages of its minutes have come, while the others are
 * still being read (src/reconcile/pass.ts). What it writes and reports must not depend on the order
 * the pages come in, and must be what applying every reading at once gives.
 */

const ADMIN_KEY = "sk-admin-pipelined-0001";
const FRAMEWORKS = ["baes", "chatdev", "ghspec"];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// 90 runs over about four days: four pages of minutes (a page is a day), so runs are ready at
// different times. Some runs have no usage, and ghspec's key none at all: what such a run is told
// (its key had no usage anywhere) is known only once every page has come. Some runs used a model
// without a price: a warning that names them.
const runs = generateExperiment({
  frameworks: FRAMEWORKS,
  runsPerFramework: 30,
  seed: 21,
  durationSeconds: [600, 4000],
  gapSeconds: [3000, 8000],
});
const silent = new Set(
  runs.filter((r, i) => r.framework === "ghspec" || i % 7 === 3).map((r) => r.runId),
);
const events = runs.flatMap((r, i) =>
  silent.has(r.runId)
    ? []
    : r.events.map((e) => (i % 5 === 1 ? { ...e, model: "gpt-unpriced-test" } : e)),
);
const now = Math.max(...runs.map((r) => r.end)) + 3 * 3600;

async function passOn(
  runsDir: string,
  faults?: FakeUsageApiOptions["faults"],
): Promise<{ outcome: PassOutcome; requests: number[] }> {
  const { api, source } = await fakeApiWithSource(
    { adminKey: ADMIN_KEY, events, faults },
    cleanups,
  );
  const outcome = await runPass(testSettings(runsDir, FRAMEWORKS), {
    files: nodeFiles,
    now,
    prices: [builtinSource()],
    source,
    tool: TOOL,
    version: VERSION,
  });
  return { outcome, requests: api.requests.map((r) => r.index) };
}

/** The outcome as a user sees it: the report without the pass's own clock, and the new texts. */
const seen = (o: PassOutcome) => ({
  runs: o.report.runs,
  warnings: o.report.warnings,
  changed: o.report.changed_files.map((p) => p.slice(p.indexOf("runs/"))),
  changes: o.changes.map((c) => ({ path: c.path.slice(c.path.indexOf("runs/")), after: c.after })),
});

describe("a pass that applies runs while their pages come", () => {
  it("writes and reports the same whatever order the pages come in, and the same as applying every reading at once", async () => {
    const root = await tempDir();
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    // a pass without a sink writes nothing: both passes, and the one applied at once, read these
    const runsDir = await writeExperiment(root, runs);

    const inOrder = await passOn(runsDir);
    // the first pages answered last: the later days' runs are ready (and applied) first
    const reversed = await passOn(runsDir, ({ requestIndex }) =>
      requestIndex < 6 ? { kind: "slow", delayMs: 60 * (6 - requestIndex) } : undefined,
    );

    const a = seen(inOrder.outcome);
    expect(inOrder.requests.length).toBeGreaterThanOrEqual(4);
    expect(a.runs.filter((r) => r.read)).toHaveLength(runs.length);
    const nowhere = (id: string) =>
      a.runs.find((r) => r.run_id === id)!.message.includes("had no usage anywhere");
    for (const r of runs) expect(nowhere(r.runId), r.runId).toBe(r.framework === "ghspec");
    expect(a.warnings.some((w) => w.includes("gpt-unpriced-test"))).toBe(true);
    expect(seen(reversed.outcome)).toEqual(a);

    // every reading of the pass applied at once (as on another head after a rejected push)
    const atOnce = await inOrder.outcome.reapply(nodeFiles);
    expect(
      atOnce.changes.map((ch) => ({
        path: ch.path.slice(ch.path.indexOf("runs/")),
        after: ch.after,
      })),
    ).toEqual(a.changes);
    expect(atOnce.runs).toEqual(a.runs);
  });
});
