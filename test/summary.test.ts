import { describe, expect, it } from "vitest";
import { renderPullRequestComment } from "../src/report/comment.ts";
import type { RunReport } from "../src/report/schema.ts";
import { renderSummary } from "../src/report/summary.ts";
import { STATUSES, type Status } from "../src/verify/status.ts";
import { reportOf } from "./support/report.ts";

/** The job summary and the pull-request comment: escaped, bounded, never failing. */

function run(i: number, status: Status, extra: Partial<RunReport> = {}): RunReport {
  return {
    framework: ["baes", "chatdev", "ghspec"][i % 3]!,
    run_id: `run-${String(i).padStart(5, "0")}`,
    path: `runs/x/run-${i}/metrics.json`,
    status,
    tokens_in: 1000 + i,
    tokens_out: 100 + i,
    cached_tokens: 10,
    api_calls: 3,
    cost_usd: 0.001,
    stable_checks: status === "verified" ? 2 : 0,
    verified_at: null,
    message: `message ${i}`,
    changed: i % 2 === 0,
    read: true,
    window: { start: "2025-11-01T00:00:00.000000+00:00", end: "2025-11-01T00:10:00.000000+00:00" },
    shared: null,
    ...extra,
  };
}

describe("job summary", () => {
  it("stays under 1 MiB with 10,000 runs, saying how many rows it left out", () => {
    const runs = Array.from({ length: 10_000 }, (_, i) =>
      run(i, STATUSES[i % STATUSES.length]!, { message: `${"a long message ".repeat(20)}${i}` }),
    );
    const text = renderSummary(reportOf(runs));
    expect(Buffer.byteLength(text)).toBeLessThan(1024 * 1024);
    const attention = runs.filter((r) =>
      ["warning", "ambiguous", "no_usage", "error"].includes(r.status),
    ).length;
    expect(text).toContain(`### Needs attention (${attention})`);
    expect(text).toMatch(new RegExp(`… and ${attention - 300} more \\(see the JSON report\\)`));
    expect(text).toContain("### Per framework");
  });

  it("cuts a pathological summary at a line and says so, instead of failing", () => {
    const runs = Array.from({ length: 400 }, (_, i) =>
      run(i, "error", { message: "x".repeat(5000) }),
    );
    // messages are cut to a few hundred characters, so the limit here is lower than GitHub's
    const text = renderSummary(reportOf(runs), { maxBytes: 60_000 });
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(60_000);
    expect(text).toContain("summary cut to stay under GitHub's size limit");
  });

  it("escapes every value that comes from a file or the API", () => {
    const hostile = run(1, "error", {
      framework: "base|x",
      run_id: "<script>alert(1)</script>",
      message: "broken | table\n## injected heading ![img](http://evil) `code` *bold*",
    });
    const text = renderSummary(reportOf([hostile]), {
      fileUrl: (p) => `https://github.com/o/r/blob/sha/${p}`,
    });
    expect(text).not.toContain("<script>");
    expect(text).toContain("&lt;script&gt;");
    expect(text).not.toMatch(/\n## injected heading/);
    expect(text).toContain("broken \\| table");
    expect(text).toContain("\\!\\[img\\]\\(http://evil\\)");
    // the table row for the run has the expected number of cells despite the pipes
    const row = text.split("\n").find((l) => l.includes("&lt;script&gt;") && l.startsWith("|"))!;
    expect(row.split(/(?<!\\)\|/).length - 2).toBe(7);
  });

  it("shows a Mermaid chart per framework and the what-to-do hints for the statuses present", () => {
    const text = renderSummary(
      reportOf([run(0, "verified"), run(1, "no_usage"), run(2, "ambiguous")]),
    );
    expect(text).toContain("```mermaid\nxychart-beta");
    expect(text).toContain("**no_usage**");
    expect(text).toContain("**ambiguous**");
    expect(text).not.toContain("**warning**");
  });
});

describe("pull-request comment", () => {
  it("lists the runs the pull request adds or changes with their status, escaped", () => {
    const r = reportOf([run(0, "verified"), run(1, "pending", { run_id: "a|b" }), run(2, "error")]);
    const text = renderPullRequestComment(r, [
      { framework: "baes", runId: "run-00000", change: "added" },
      { framework: "chatdev", runId: "a|b", change: "modified" },
      { framework: "ghspec", runId: "gone", change: "removed" },
    ]);
    expect(text).toContain("| baes | run-00000 | added | `verified` |");
    expect(text).toContain("a\\|b");
    expect(text).not.toContain("| ghspec | gone");
    expect(text).toContain("1 run file(s) removed.");
  });

  it("says so when the pull request touches no run files", () => {
    expect(renderPullRequestComment(reportOf([]), [])).toContain("adds or changes no run files");
  });
});
