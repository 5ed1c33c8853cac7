import { resolve } from "node:path";
import { workspaceDelivery } from "../delivery/deliveries.ts";
import { nodeFiles } from "../fs/node.ts";
import { finishReport, reconcile } from "../reconcile/pipeline.ts";
import { resolveSettings } from "../settings/resolve.ts";
import { debugRequested } from "../util/failure.ts";
import { TOOL, VERSION } from "../version.ts";
import { exportTables } from "./export.ts";
import {
  type CliIo,
  cliSecrets,
  guardedIo,
  printPass,
  reportFailure,
  withDotEnv,
} from "./output.ts";
import { cliName, parseArgs } from "./program.ts";
import { type CliSource, cliSource } from "./source.ts";

export type { CliIo } from "./output.ts";

/**
 * The CLI: read the options (the settings table, through commander), run the one pass pipeline
 * (a reconciling pass writes the workspace), print the result; returns the exit status.
 */
export async function main(argv: readonly string[], rawIo: CliIo): Promise<number> {
  // everything printed goes through one guard: no secret, no line the runner reads as a command
  const secrets = cliSecrets(rawIo.env, rawIo.cwd);
  // the secrets the guard removes: these, and those the settings give once read
  const guarded = [...secrets];
  const io = guardedIo(rawIo, guarded);
  const invocation = parseArgs(argv, io);
  if (typeof invocation === "number") return invocation;
  const env = withDotEnv(io.cwd, io.env);
  // every admin key given (and the GitHub token): none may be printed
  let given: string[] = [];
  let source: CliSource | undefined;
  try {
    const resolved = resolveSettings(invocation.raw, env, cliName);
    given = resolved.secrets;
    guarded.push(...given);
    const v = resolved.values;
    const settings = { ...resolved.pass, runsDir: resolve(io.cwd, resolved.pass.runsDir) };
    if (invocation.command === "export") return await exportTables(resolved, settings, io);
    const showProgress = io.interactive && !v.json;
    source = await cliSource(resolved, env, io, showProgress);
    const result = await reconcile(settings, {
      files: nodeFiles,
      now: v.now ?? Date.now() / 1000,
      pricingFile: v.pricingFile && resolve(io.cwd, v.pricingFile),
      sources: source?.sources,
      requestCount: () => source?.requests() ?? 0,
      tool: TOOL,
      version: VERSION,
      // one pass at a time writes a runs directory; the lock is taken before any request
      delivery:
        settings.mode === "reconcile" && !settings.dryRun
          ? workspaceDelivery({ runsDir: settings.runsDir, tool: TOOL })
          : undefined,
      secrets: given,
      onProgress: showProgress
        ? (p) =>
            p.spans > 1 &&
            io.stderr(
              `\r\x1b[Kreading usage: span ${p.spansDone}/${p.spans}, ${p.pages} page(s)${p.spansDone === p.spans ? "\n" : ""}`,
            )
        : undefined,
    });
    // the texts written (every file's before and after) are not printed: let them go first
    result.changes = [];
    const report = finishReport(result.report, io.cwd, given);
    // the finished report replaces the pass's own (its rows copied): one set of rows is kept
    result.report = report;
    await printPass(io, report, result, v);
    return report.errors > 0 ? 1 : 0;
  } catch (error) {
    const debug = debugRequested(env, invocation.raw.debug === "true");
    return reportFailure(io, error, { secrets: [...given, ...secrets], debug });
  } finally {
    await source?.close();
  }
}
