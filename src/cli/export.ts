import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { buildExport, frameworksCsv, runsCsv, toJson, toMarkdown } from "../export/export.ts";
import { nodeFiles } from "../fs/node.ts";
import { finishReport, reconcile } from "../reconcile/pipeline.ts";
import type { PassSettings } from "../reconcile/settings.ts";
import type { ResolvedSettings } from "../settings/resolve.ts";
import { oneLine } from "../util/printable.ts";
import { TOOL, VERSION } from "../version.ts";
import type { CliIo } from "./output.ts";

/** `reconcile-usage export`: statuses from the files (a listing pass, no API), then the tables. */
export async function exportTables(
  resolved: ResolvedSettings,
  settings: PassSettings,
  io: CliIo,
): Promise<number> {
  const v = resolved.values;
  const result = await reconcile(settings, {
    files: nodeFiles,
    now: v.now ?? Date.now() / 1000,
    pricingFile: v.pricingFile && resolve(io.cwd, v.pricingFile),
    tool: TOOL,
    version: VERSION,
  });
  const report = finishReport(result.report, io.cwd, resolved.secrets);
  const data = buildExport(report);
  const output = v.output !== undefined ? resolve(io.cwd, v.output) : undefined;
  if (v.format === "csv") {
    if (output) {
      await writeFile(output, runsCsv(data));
      await writeFile(output.replace(/(\.csv)?$/, ".frameworks.csv"), frameworksCsv(data));
    } else io.stdout(`${runsCsv(data)}\n${frameworksCsv(data)}`);
  } else {
    const text = v.format === "json" ? toJson(data) : toMarkdown(data);
    if (output) await writeFile(output, text);
    else io.stdout(text);
  }
  for (const w of report.warnings) io.stderr(`warning: ${oneLine(w)}\n`);
  return report.errors > 0 ? 1 : 0;
}
