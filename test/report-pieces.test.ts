import { rm } from "node:fs/promises";
import fc from "fast-check";
import { describe, expect, it, onTestFinished } from "vitest";
import { main } from "../src/cli/main.ts";
import { guardedWriter } from "../src/cli/output.ts";
import { reportJson, reportJsonPieces, stringifyInPieces } from "../src/report/bounded.ts";
import { type PassReport, PassReportSchema } from "../src/report/schema.ts";
import { runCli } from "./support/cli.ts";
import { generateExperiment, tempDir, writeExperiment } from "./support/experiment.ts";

describe("the JSON report printed in pieces", () => {
  it("joins to exactly JSON.stringify(value, null, 2), whatever the rows and the piece size", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })),
        fc.option(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 12 })),
        fc.integer({ min: 1, max: 5 }),
        (rest, rows, perPiece) => {
          const value: Record<string, unknown> = rows === null ? rest : { ...rest, runs: rows };
          const pieces = [...stringifyInPieces(value, "runs", perPiece)];
          expect(pieces.join("")).toBe(JSON.stringify(value, null, 2));
          // a piece per perPiece rows, and one for what follows the list
          if (Array.isArray(value.runs) && value.runs.length > 0)
            expect(pieces.length).toBe(Math.ceil(value.runs.length / perPiece) + 1);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("writes each piece only once stdout has passed on the one before: a slow reader does not make the CLI hold the report", async () => {
    const runs = generateExperiment({ frameworks: ["baes", "chatdev"], runsPerFramework: 300 });
    const dir = await tempDir("reconcile-usage-drain-");
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await writeExperiment(dir, runs);
    const events: string[] = [];
    let printed = "";
    // stdout as a pipe whose reader is behind: full after every write until the test lets it drain
    let release: (() => void) | undefined;
    const pump = setInterval(() => release?.(), 1);
    onTestFinished(() => clearInterval(pump));
    const code = await main(["--list", "--json", "--now", "2026-01-01T00:00:00Z"], {
      stdout: (text) => {
        events.push(release ? "write while full" : "write");
        printed += text;
      },
      stderr: () => undefined,
      drained: () =>
        new Promise<void>((resolve) => {
          events.push("wait");
          release = () => {
            release = undefined;
            resolve();
          };
        }),
      env: {},
      cwd: dir,
      interactive: false,
    });
    expect(code).toBe(0);
    expect(PassReportSchema.parse(JSON.parse(printed)).runs).toHaveLength(600);
    // 600 rows: three pieces of rows and the end, each written after the wait for the one before
    expect(events.filter((e) => e === "write").length).toBeGreaterThan(3);
    expect(events).not.toContain("write while full");
    expect(events.join(" ")).not.toMatch(/write write/);
  });

  it("prints a pass's report as the whole text would be: the same bytes, the key masked in every piece", async () => {
    const runs = generateExperiment({ frameworks: ["baes", "chatdev"], runsPerFramework: 300 });
    const dir = await tempDir("reconcile-usage-pieces-");
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await writeExperiment(dir, runs);
    const key = "sk-admin-PIECES0123456789abcdef";
    const r = await runCli(["--list", "--json", "--now", "2026-01-01T00:00:00Z"], {
      cwd: dir,
      env: { OPENAI_ADMIN_KEY: key },
    });
    expect(r.code, r.stderr).toBe(0);
    const report = PassReportSchema.parse(JSON.parse(r.stdout)) as PassReport;
    expect(report.runs.length).toBe(600);
    // a row quoting the key (a message from a proxy, say) in rows of different pieces
    for (const i of [0, 255, 256, 599])
      report.runs[i]!.message = `upstream said ${key} ::error::x ##[group]`;
    // printed the way the CLI prints them: through its guarded writer, which knows the key
    const pieces = [...reportJsonPieces(report)];
    expect(pieces.length).toBeGreaterThan(3);
    const printed: string[] = [];
    const write = guardedWriter(
      (text) => printed.push(text),
      () => [key],
    );
    for (const piece of pieces) write(piece);
    const joined = printed.join("");
    expect(joined).toBe(reportJson(report, [key]));
    expect(joined).not.toContain(key);
    expect(joined).not.toContain("##[");
    expect(JSON.parse(joined).runs[256].message).toMatch(/^upstream said \*+/);
  });
});
