/**
 * Keeps action.yml's inputs and the README's tables in step with the settings table
 * (src/settings/table.ts) and action.yml's outputs: `node scripts/docs.ts` rewrites them;
 * test/docs.test.ts fails when they differ.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { rowsOf } from "../src/cli/program.ts";
import { SETTING_ROWS, type Setting, withDefault } from "../src/settings/table.ts";

interface ActionYml {
  inputs: Record<string, { description: string; default?: string; required?: boolean }>;
  outputs: Record<string, { description: string }>;
}

const ROOT = join(import.meta.dirname, "..");
const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\s+/g, " ").trim();

export function readActionYml(): ActionYml {
  return parse(readFileSync(join(ROOT, "action.yml"), "utf8")) as ActionYml;
}

/** The settings the action takes, in the table's order. */
export const actionRows = (): Setting[] => SETTING_ROWS.filter((r) => r.action);

/** The default action.yml declares for a row. */
export const actionDefault = (row: Setting): string => row.actionDefault ?? row.default;

/** action.yml's `inputs:` block, one entry per row the action takes. */
export function actionInputsBlock(): string {
  const entries = actionRows().map((row) =>
    [
      `  ${row.name}:`,
      `    description: ${JSON.stringify(row.description)}`,
      "    required: false",
      `    default: ${JSON.stringify(actionDefault(row))}`,
    ].join("\n"),
  );
  return `inputs:\n${entries.join("\n")}\n`;
}

/** action.yml with its `inputs:` block made from the table (the rest kept as written). */
export function withInputs(actionYml: string): string {
  const start = actionYml.indexOf("\ninputs:\n");
  const end = actionYml.indexOf("\noutputs:\n");
  if (start < 0 || end < 0) throw new Error("action.yml has no inputs: and outputs: sections");
  return `${actionYml.slice(0, start + 1)}${actionInputsBlock()}${actionYml.slice(end)}`;
}

export function inputsTable(): string {
  const rows = actionRows().map(
    (row) =>
      `| \`${row.name}\` | \`${actionDefault(row) === "" ? '""' : actionDefault(row)}\` | ${cell(row.description)} |`,
  );
  return ["| input | default | description |", "|---|---|---|", ...rows].join("\n");
}

export function outputsTable(action: ActionYml): string {
  const rows = Object.entries(action.outputs).map(
    ([name, spec]) => `| \`${name}\` | ${cell(spec.description)} |`,
  );
  return ["| output | description |", "|---|---|", ...rows].join("\n");
}

/** The options of a pass on the command line (`export` takes the settings among them too). */
export function cliOptionsTable(): string {
  const rows = rowsOf("pass").flatMap((row) => {
    const cli = row.cli;
    if (!cli || !("flag" in cli)) return [];
    return [`| \`${cli.flag}\` | ${cell(withDefault(cli.readme ?? cli.help, row))} |`];
  });
  return ["| option | meaning |", "|---|---|", ...rows].join("\n");
}

/** The README with its generated tables replaced between their markers. */
export function withTables(readme: string, action: ActionYml): string {
  const replace = (text: string, marker: string, table: string) => {
    const start = text.indexOf(`<!-- ${marker}:`);
    const end = text.indexOf(`<!-- /${marker} -->`);
    if (start < 0 || end < 0) throw new Error(`README.md has no <!-- ${marker} --> markers`);
    const open = text.indexOf("-->", start) + 3;
    return `${text.slice(0, open)}\n${table}\n${text.slice(end)}`;
  };
  return replace(
    replace(replace(readme, "inputs-table", inputsTable()), "outputs-table", outputsTable(action)),
    "cli-options-table",
    cliOptionsTable(),
  );
}

if (import.meta.main) {
  const actionPath = join(ROOT, "action.yml");
  writeFileSync(actionPath, withInputs(readFileSync(actionPath, "utf8")));
  const path = join(ROOT, "README.md");
  writeFileSync(path, withTables(readFileSync(path, "utf8"), readActionYml()));
  console.log("action.yml inputs and README.md tables written from the settings table");
}
