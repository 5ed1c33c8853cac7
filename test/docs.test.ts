import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  actionDefault,
  actionRows,
  readActionYml,
  withInputs,
  withTables,
} from "../scripts/docs.ts";
import { ACTION_INPUT_NAMES } from "../src/action/inputs.ts";
import { outputsOf } from "../src/action/outputs.ts";
import { PassReportSchema } from "../src/report/schema.ts";
import { readSettings } from "../src/settings/resolve.ts";
import { SETTING_ROWS } from "../src/settings/table.ts";
import { VERSION } from "../src/version.ts";
import { reportOf } from "./support/report.ts";

const ROOT = join(import.meta.dirname, "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const action = readActionYml();

describe("docs and behaviour agree", () => {
  it("README's inputs, outputs and CLI options tables are made from the settings table and action.yml (run node scripts/docs.ts)", () => {
    expect(readme).toBe(withTables(readme, action));
  });

  it("action.yml's inputs are the settings table's action rows, in its order, with its descriptions and defaults (run node scripts/docs.ts)", () => {
    const text = readFileSync(join(ROOT, "action.yml"), "utf8");
    expect(text).toBe(withInputs(text));
    expect(Object.keys(action.inputs)).toEqual(actionRows().map((r) => r.name));
    for (const row of actionRows()) {
      expect(action.inputs[row.name]?.description, `description of ${row.name}`).toBe(
        row.description,
      );
      expect(action.inputs[row.name]?.default, `default of ${row.name}`).toBe(actionDefault(row));
    }
  });

  it("the action reads exactly the inputs action.yml declares", () => {
    expect([...ACTION_INPUT_NAMES]).toEqual(Object.keys(action.inputs));
  });

  it("every default in the table is a value its own parser accepts", () => {
    // the defaults are the table's texts, read as if nothing were given
    expect(() => readSettings({}, {}, (name) => name)).not.toThrow();
    for (const row of SETTING_ROWS)
      expect(() => row.parse(row.default, { label: row.name, env: {} }), row.name).not.toThrow();
  });

  it("every output in action.yml is set, and no other", () => {
    const report = reportOf([]);
    expect(
      Object.keys(outputsOf(report, { reportPath: "r.json", commitSha: null })).sort(),
    ).toEqual(Object.keys(action.outputs).sort());
  });

  it("the README documents every key of the JSON report", () => {
    const section = readme.slice(
      readme.indexOf("### JSON report"),
      readme.indexOf("## Troubleshooting"),
    );
    for (const key of Object.keys(PassReportSchema.shape))
      expect(section, key).toContain(`\`${key}`);
    const runKeys = Object.keys(PassReportSchema.shape.runs.element.shape);
    for (const key of runKeys) expect(section, `runs[].${key}`).toContain(`\`${key}\``);
  });

  it("every CLI option is in the README and in --help", async () => {
    const { runCli } = await import("./support/cli.ts");
    const help = (await runCli(["--help"], { cwd: ROOT })).stdout;
    const options = [...help.matchAll(/^\s+(?:-\w, )?(--[a-z-]+)/gm)]
      .map((m) => m[1]!)
      .filter((o) => o !== "--help" && o !== "--version");
    expect(options.length).toBeGreaterThan(15);
    const cliSection = readme.slice(
      readme.indexOf("## Command line"),
      readme.indexOf("### JSON report"),
    );
    for (const option of options) expect(cliSection, option).toContain(option);
  });

  it("package.json's version is the one the tool writes into readings", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(pkg.version).toBe(VERSION);
  });
});
