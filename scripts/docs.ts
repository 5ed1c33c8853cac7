/**
 * Keeps README's inputs and outputs tables in step with action.yml: `node scripts/docs.ts`
 * rewrites them; test/docs.test.ts fails when they differ.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

interface ActionYml {
  inputs: Record<string, { description: string; default?: string; required?: boolean }>;
  outputs: Record<string, { description: string }>;
}

const ROOT = join(import.meta.dirname, "..");
const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\s+/g, " ").trim();

export function readActionYml(): ActionYml {
  return parse(readFileSync(join(ROOT, "action.yml"), "utf8")) as ActionYml;
}

export function inputsTable(action: ActionYml): string {
  const rows = Object.entries(action.inputs).map(
    ([name, spec]) =>
      `| \`${name}\` | \`${spec.default === "" || spec.default === undefined ? '""' : spec.default}\` | ${cell(spec.description)} |`,
  );
  return ["| input | default | description |", "|---|---|---|", ...rows].join("\n");
}

export function outputsTable(action: ActionYml): string {
  const rows = Object.entries(action.outputs).map(
    ([name, spec]) => `| \`${name}\` | ${cell(spec.description)} |`,
  );
  return ["| output | description |", "|---|---|", ...rows].join("\n");
}

/** The README with both tables replaced between their markers. */
export function withTables(readme: string, action: ActionYml): string {
  const replace = (text: string, marker: string, table: string) => {
    const start = text.indexOf(`<!-- ${marker}:`);
    const end = text.indexOf(`<!-- /${marker} -->`);
    if (start < 0 || end < 0) throw new Error(`README.md has no <!-- ${marker} --> markers`);
    const open = text.indexOf("-->", start) + 3;
    return `${text.slice(0, open)}\n${table}\n${text.slice(end)}`;
  };
  return replace(
    replace(readme, "inputs-table", inputsTable(action)),
    "outputs-table",
    outputsTable(action),
  );
}

if (import.meta.main) {
  const path = join(ROOT, "README.md");
  writeFileSync(path, withTables(readFileSync(path, "utf8"), readActionYml()));
  console.log("README.md tables written from action.yml");
}
