/**
 * What any pass over a runs directory costs before it does anything of its own: a bare Node
 * process that reads every `{framework}/{run_id}/metrics.json` under the directory given, parses
 * it with JSON.parse and, with `--validate`, checks it with the schema a pass checks it with
 * (KeptMetricsSchema, zod), keeping each result to the end as a pass keeps each run's content.
 * No duplicate-key or depth check, no run state, no report, no write: scale.bench.ts runs it on
 * the directory its nothing-due pass read, so the pass's figures can be set against this floor.
 *   node bench/floor.ts RUNS_DIR [--validate]
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const [runsDir, mode] = process.argv.slice(2);
if (!runsDir || (mode !== undefined && mode !== "--validate")) {
  process.stderr.write("usage: node bench/floor.ts RUNS_DIR [--validate]\n");
  process.exit(2);
}
// loading the schema (zod, from the sources) is timed apart: a pass loads its bundle instead
const loading = performance.now();
const schema = mode ? (await import("../src/runs/schema.ts")).KeptMetricsSchema : undefined;
const loadMs = performance.now() - loading;
const kept: unknown[] = [];
let invalid = 0;
for (const framework of readdirSync(runsDir, { withFileTypes: true })) {
  if (!framework.isDirectory() || framework.name.startsWith(".")) continue;
  for (const run of readdirSync(join(runsDir, framework.name), { withFileTypes: true })) {
    if (!run.isDirectory()) continue;
    const value: unknown = JSON.parse(
      readFileSync(join(runsDir, framework.name, run.name, "metrics.json"), "utf8"),
    );
    if (!schema) kept.push(value);
    else {
      const checked = schema.safeParse(value);
      if (checked.success) kept.push(checked.data);
      else invalid++;
    }
  }
}
process.stdout.write(`${JSON.stringify({ runs: kept.length, invalid, loadMs })}\n`);
