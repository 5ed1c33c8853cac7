import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { workspaceDelivery } from "../src/delivery/deliveries.ts";
import { nodeFiles } from "../src/fs/node.ts";
import { createHttpPageSource } from "../src/providers/openai/http.ts";
import { reconcile } from "../src/reconcile/pipeline.ts";
import { TOOL, VERSION } from "../src/version.ts";
import { allEvents, generateExperiment, tempDir, writeExperiment } from "./support/experiment.ts";
import { startFakeUsageApi } from "./support/fake-usage-api.ts";
import { testSettings } from "./support/settings.ts";

/**
 * A pass keeps a digest and part of each run's content instead of its text, and the workspace
 * takes the edits in batches as they are made (docs/design.md#writing-files). What a user relies
 * on must not change with it: the editor still sees what it needs of a file it did not parse
 * again, and many more changes than one batch all land.
 */

const ADMIN_KEY = "sk-admin-kept-0001";
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function legacyExperiment(runsPerFramework: number) {
  const runs = generateExperiment({ frameworks: ["baes"], runsPerFramework, seed: 11 });
  const root = await tempDir("reconcile-usage-kept-");
  const runsDir = await writeExperiment(root, runs, { format: "legacy" });
  const api = await startFakeUsageApi({ adminKey: ADMIN_KEY, events: allEvents(runs) });
  const source = createHttpPageSource({ baseUrl: api.baseUrl, adminKey: ADMIN_KEY });
  cleanups.push(async () => {
    await source.close();
    await api.close();
    await rm(root, { recursive: true, force: true });
  });
  const pass = () =>
    reconcile(testSettings(runsDir, ["baes"]), {
      files: nodeFiles,
      now: Math.max(...runs.map((r) => r.end)) + 3600,
      source,
      tool: TOOL,
      version: VERSION,
      delivery: workspaceDelivery({ runsDir, tool: TOOL }),
    });
  return { runs, runsDir, pass };
}

describe("a pass that keeps digests, not texts", () => {
  it("drops zero step placeholders and keeps measured step counts, from the content kept at discovery", async () => {
    const { runs, runsDir, pass } = await legacyExperiment(2);
    const [zeroed, measured] = runs.map((r) => join(runsDir, r.path)) as [string, string];
    const file = JSON.parse(await readFile(zeroed, "utf8"));
    for (const step of file.steps)
      for (const k of ["tokens_in", "tokens_out", "api_calls", "cached_tokens"]) step[k] = 0;
    await writeFile(zeroed, `${JSON.stringify(file, null, 2)}\n`);
    const measuredBefore = JSON.parse(await readFile(measured, "utf8"));

    const result = await pass();
    expect(result.report.errors).toBe(0);
    expect(result.report.changed_files).toEqual(expect.arrayContaining([zeroed, measured]));

    const zeroedAfter = JSON.parse(await readFile(zeroed, "utf8"));
    expect(zeroedAfter.usage_api_reconciliation.attempts).toHaveLength(1);
    for (const step of zeroedAfter.steps) expect(step).not.toHaveProperty("tokens_in");
    const measuredAfter = JSON.parse(await readFile(measured, "utf8"));
    expect(measuredAfter.steps).toEqual(measuredBefore.steps);
    // the other fields of a step, which the pass does not keep, are still in the file
    expect(zeroedAfter.steps.map((s: { command: string }) => s.command)).toEqual(
      file.steps.map((s: { command: string }) => s.command),
    );
  });

  it("more changes than one batch of writes all land, each with its run's true totals, and the manifest agrees", async () => {
    const { runs, runsDir, pass } = await legacyExperiment(300);
    const result = await pass();
    expect(result.report.errors).toBe(0);
    expect(result.changes).toEqual([]); // the workspace took them as they were made
    expect(result.report.changed_files.filter((p) => p.endsWith("metrics.json"))).toHaveLength(
      runs.length,
    );
    const manifest = JSON.parse(await readFile(join(runsDir, "manifest.json"), "utf8"));
    for (const r of runs) {
      const after = JSON.parse(await readFile(join(runsDir, r.path), "utf8"));
      expect(after.aggregate_metrics.TOK_IN, r.runId).toBe(r.totals.tokensIn);
      const entry = manifest.runs.find((e: { run_id: string }) => e.run_id === r.runId);
      expect(entry.verification_status, r.runId).toBe(after.verification_status);
    }
    // a second pass finds nothing to write
    expect((await pass()).report.changed_files).toEqual([]);
  });
});
