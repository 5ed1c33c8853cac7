import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PassReportSchema } from "../src/report/schema.ts";
import { runCli } from "./support/cli.ts";

/**
 * README's first command: `npm start` replays the recorded Usage API pages of the bundled example
 * experiment. If the planner's requests change, the recording must be made again
 * (node scripts/make-example.ts); this test says so before CI's demo step does.
 */
const ROOT = join(import.meta.dirname, "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  scripts: { start: string };
};

describe("the offline demo", () => {
  it("npm start's pass replays without a network and without errors, showing every stage", async () => {
    const args = pkg.scripts.start.split(" ").slice(2);
    expect(args).toContain("--replay");
    const result = await runCli([...args, "--json"], { cwd: ROOT, env: {} });
    expect(result.code, `${result.stderr}\nre-record with: node scripts/make-example.ts`).toBe(0);
    const report = PassReportSchema.parse(JSON.parse(result.stdout));
    expect(report.errors).toBe(0);
    expect(report.requests).toBe(0);
    expect(report.dry_run).toBe(true);
    const statuses = new Set(report.runs.map((r) => r.status));
    for (const s of ["verified", "pending", "ambiguous", "too_recent", "data_not_available"])
      expect(statuses).toContain(s);
    // every run with a reading is priced, the multimodal one (cache writes, audio, images) too
    expect(report.warnings).toEqual([]);
    for (const run of report.runs.filter((r) => r.tokens_in !== null))
      expect(run.cost_usd, run.run_id).toBeGreaterThan(0);
    // a framework that ran on Claude, read from Anthropic's recorded pages: no request count
    const claude = report.runs.filter((r) => r.framework === "claude");
    expect(claude.length).toBeGreaterThan(0);
    for (const run of claude) {
      expect(run.status, run.message).toBe("verified");
      expect(run.api_calls).toBeNull();
    }
    expect(report.totals.api_calls_unknown_runs).toBe(claude.length);
  });

  it("its recorded pages are in the 2026-07 generation and hold cache writes, audio and images", () => {
    const dir = join(ROOT, "examples", "experiment", "usage-recording");
    const pages = readdirSync(dir).map(
      (f) =>
        JSON.parse(readFileSync(join(dir, f), "utf8")) as {
          query: string;
          response: { data: Array<{ results: Array<Record<string, number>> }> };
        },
    );
    // Anthropic's pages (the Claude framework) are keyed apart from OpenAI's
    expect(pages.filter((p) => p.query.startsWith("anthropic:")).length).toBeGreaterThan(0);
    const results = pages
      .filter((p) => !p.query.startsWith("anthropic:"))
      .flatMap((p) => p.response.data.flatMap((b) => b.results));
    expect(results.length).toBeGreaterThan(0);
    expect(results.every((r) => typeof r.input_uncached_tokens === "number")).toBe(true);
    for (const field of [
      "input_cache_write_tokens",
      "input_audio_tokens",
      "input_image_tokens",
      "output_audio_tokens",
    ])
      expect(
        results.some((r) => r[field]! > 0),
        field,
      ).toBe(true);
  });
});
