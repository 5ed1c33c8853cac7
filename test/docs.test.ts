import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readActionYml, withTables } from "../scripts/docs.ts";
import { ACTION_INPUTS, SHARED_INPUTS } from "../src/action/inputs.ts";
import { outputsOf } from "../src/action/outputs.ts";
import { DEFAULTS } from "../src/config/settings.ts";
import { PassReportSchema } from "../src/report/schema.ts";
import { VERSION } from "../src/version.ts";
import { reportOf } from "./support/report.ts";

const ROOT = join(import.meta.dirname, "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const action = readActionYml();

describe("docs and behaviour agree", () => {
  it("README's inputs and outputs tables are the ones action.yml gives (run node scripts/docs.ts)", () => {
    expect(readme).toBe(withTables(readme, action));
  });

  it("every input in action.yml is read by the action, and the action reads no other", () => {
    expect(Object.keys(action.inputs).sort()).toEqual([...SHARED_INPUTS, ...ACTION_INPUTS].sort());
  });

  it("action.yml defaults are the defaults the code applies", () => {
    for (const [name, value] of Object.entries(DEFAULTS)) {
      expect(action.inputs[name]?.default, `default of ${name}`).toBe(value);
    }
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
