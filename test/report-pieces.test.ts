import { rm } from "node:fs/promises";
import fc from "fast-check";
import { describe, expect, it, onTestFinished } from "vitest";
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
