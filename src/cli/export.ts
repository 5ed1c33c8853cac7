import { writeFile } from "node:fs/promises";
import { relative, resolve } from "node:path";
import {
  buildExport,
  frameworksCsv,
  runsCsv,
  toJson,
  toMarkdown,
  toTex,
} from "../export/export.ts";
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
    // One CSV is one table: a stream holding two (different headers) loads in no CSV reader.
    const which = v.table === "both" && !output ? "runs" : v.table;
    const runsText = runsCsv(data);
    const frameworksText = frameworksCsv(data);
    if (!output) {
      io.stdout(which === "frameworks" ? frameworksText : runsText);
      if (v.table === "both")
        io.stderr(
          "reconcile-usage: csv on standard output holds the runs table; --table frameworks gives the per-framework statistics (or --output FILE writes both)\n",
        );
    } else if (which === "both") {
      const frameworksFile = output.replace(/(\.csv)?$/, ".frameworks.csv");
      await writeFile(output, runsText);
      await writeFile(frameworksFile, frameworksText);
      io.stderr(`reconcile-usage: wrote ${v.output} and ${relative(io.cwd, frameworksFile)}\n`);
    } else await writeFile(output, which === "frameworks" ? frameworksText : runsText);
  } else {
    const text =
      v.format === "json"
        ? toJson(data)
        : v.format === "tex"
          ? toTex(data, v.table)
          : toMarkdown(data, v.table);
    if (output) await writeFile(output, text);
    else io.stdout(text);
  }
  for (const w of report.warnings) io.stderr(`warning: ${oneLine(w)}\n`);
  return report.errors > 0 ? 1 : 0;
}
