import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseEnv } from "node:util";
import { CommanderError } from "commander";
import { ConfigError, UserError } from "../errors.ts";
import { buildExport, frameworksCsv, runsCsv, toJson, toMarkdown } from "../export/export.ts";
import { nodeFiles } from "../fs/node.ts";
import { beginWriting, type WritingSession } from "../fs/writing.ts";
import { loadPriceSources } from "../pricing/load.ts";
import { type PassOutcome, reapplyPass, runPass, writeChanges } from "../reconcile/pass.ts";
import { reportJson } from "../report/bounded.ts";
import type { PassReport } from "../report/schema.ts";
import { runTable, summaryLines } from "../report/table.ts";
import { type ResolvedSettings, resolveSettings } from "../settings/resolve.ts";
import { SETTINGS, type SettingValues } from "../settings/table.ts";
import { createHttpPageSource, duration, type HttpPageSource } from "../usage/http.ts";
import type { PageSource } from "../usage/query.ts";
import { recordingSource, replaySource } from "../usage/recording.ts";
import { debugRequested, describeUnexpected, stackLines } from "../util/failure.ts";
import { oneLine } from "../util/printable.ts";
import { redact } from "../util/redact.ts";
import { TOOL, VERSION } from "../version.ts";
import { cliSecrets, guardedWriter } from "./output.ts";
import { cliName, type Invocation, program } from "./program.ts";

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Whether stderr is a terminal: progress is shown only there. */
  interactive: boolean;
}

function loadDotEnv(
  cwd: string,
  env: Record<string, string | undefined>,
): Record<string, string | undefined> {
  let fromFile: Record<string, string | undefined> = {};
  try {
    fromFile = parseEnv(readFileSync(resolve(cwd, ".env"), "utf8"));
  } catch {
    fromFile = {};
  }
  return { ...fromFile, ...env };
}

/**
 * `--now` against the real Usage API is refused (SPEC §11): the API answers with what it holds
 * now, so a pass that pretends to be later would record readings seconds apart as hours apart
 * and verify numbers that were still growing. Replayed pages and listing (no request) are fine.
 */
function refuseClockAgainstRealApi(values: SettingValues): void {
  if (values.now === undefined || values.mode !== "reconcile" || values.replay !== undefined)
    return;
  const apiBaseUrl = values.apiBaseUrl;
  if (new URL(apiBaseUrl).hostname.toLowerCase() !== new URL(SETTINGS.apiBaseUrl.default).hostname)
    return;
  throw new ConfigError(
    `--now: refused against the real Usage API (${apiBaseUrl}): its answers are what it holds now, so readings taken under another clock would be recorded at the wrong time and could verify a run too early. Drop --now, or use it with --replay <dir> (pages saved by --record) or --list`,
  );
}

/** Paths in reports relative to the working directory, as the user typed them. */
function relativize(report: PassReport, cwd: string, secrets: Array<string | undefined>): void {
  const relative = (p: string) => (p.startsWith(`${cwd}/`) ? p.slice(cwd.length + 1) : p);
  for (const r of report.runs) r.path = relative(r.path);
  report.changed_files = report.changed_files.map(relative);
  report.warnings = report.warnings.map((w) => redact(w.replaceAll(`${cwd}/`, ""), secrets));
}

/** Runs the CLI; returns the exit status. */
export async function main(argv: readonly string[], rawIo: CliIo): Promise<number> {
  // everything printed goes through one guard: no secret, no line the runner reads as a command
  const secrets = cliSecrets(rawIo.env, rawIo.cwd);
  const io: CliIo = {
    ...rawIo,
    stdout: guardedWriter(rawIo.stdout, () => secrets),
    stderr: guardedWriter(rawIo.stderr, () => secrets),
  };
  let invocation: Invocation | undefined;
  const cmd = program((i) => {
    invocation = i;
  })
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  for (const sub of cmd.commands)
    sub.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  try {
    cmd.parse([...argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  if (!invocation) return 2;
  const env = loadDotEnv(io.cwd, io.env);
  let adminKey: string | undefined;
  let http: HttpPageSource | undefined;
  let writing: WritingSession | undefined;
  try {
    const resolved = resolveSettings(invocation.raw, env, cliName);
    const values = resolved.values;
    if (invocation.command === "export") return await exportTables(resolved, io);
    adminKey = resolved.adminKey;
    const settings = { ...resolved.pass, runsDir: resolve(io.cwd, resolved.pass.runsDir) };
    const now = values.now ?? Date.now() / 1000;
    refuseClockAgainstRealApi(values);
    // One writing pass at a time per runs directory; taken before any request (SPEC §11).
    if (settings.mode === "reconcile" && !settings.dryRun)
      writing = await beginWriting(settings.runsDir, TOOL);
    const prices = await loadPriceSources(
      nodeFiles,
      settings.runsDir,
      resolved.pricingFile ? resolve(io.cwd, resolved.pricingFile) : undefined,
    );

    const showProgress = io.interactive && !values.json;
    let source: PageSource | undefined;
    if (settings.mode === "reconcile") {
      if (values.replay !== undefined) source = await replaySource(resolve(io.cwd, values.replay));
      else if (adminKey) {
        http = createHttpPageSource({
          baseUrl: resolved.apiBaseUrl,
          adminKey,
          userAgent: TOOL,
          passDeadlineMs: resolved.passDeadlineMinutes * 60_000,
          proxyEnv: env,
          // a long wait is said on stderr (one line each time, or the progress line on a terminal)
          onWaiting: ({ what, waitedMs, limitMs }) =>
            io.stderr(
              `${showProgress ? "\r\x1b[K" : ""}reconcile-usage: still waiting for the ${what}: ${duration(waitedMs)} so far, gives up at ${duration(limitMs)}${showProgress ? "" : "\n"}`,
            ),
          onRetry: showProgress
            ? ({ attempt, delayMs, reason }) =>
                io.stderr(
                  `\r\x1b[Kreconcile-usage: ${redact(reason, [adminKey])}; retry ${attempt} in ${duration(delayMs)}\n`,
                )
            : undefined,
        });
        source =
          values.record !== undefined
            ? recordingSource(http, resolve(io.cwd, values.record))
            : http;
      }
    }
    const outcome = await runPass(settings, {
      files: nodeFiles,
      now,
      prices,
      source,
      requestCount: () => http?.stats.requests ?? 0,
      tool: TOOL,
      version: VERSION,
      onProgress: showProgress
        ? (p) =>
            p.spans > 1 &&
            io.stderr(
              `\r\x1b[Kreading usage: span ${p.spansDone}/${p.spans}, ${p.pages} page(s)${p.spansDone === p.spans ? "\n" : ""}`,
            )
        : undefined,
    });
    const report = outcome.report;
    if (writing) {
      report.warnings.push(...writing.notes);
      await writeChanges(nodeFiles, outcome.changes, {
        report,
        reapply: () => reapplyPass(settings, { files: nodeFiles, now, prices }, outcome.collected),
      });
    }
    relativize(report, io.cwd, [adminKey]);
    if (values.json) io.stdout(reportJson(report, [adminKey, ...secrets]));
    else {
      io.stdout(`${runTable(report.runs, values.verbose)}\n\n${summaryLines(report).join("\n")}\n`);
      if (values.verbose) io.stdout(verboseReadings(outcome));
    }
    return report.errors > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof UserError) {
      const message = redact(error.message.replaceAll(`${io.cwd}/`, ""), [adminKey]);
      io.stderr(`reconcile-usage: ${oneLine(message, 1000)}\n`);
      return error.exitCode;
    }
    // one clear line; where it happened only on request (never minified source)
    const known = [adminKey, ...secrets];
    const debug = debugRequested(env, invocation.raw.debug === "true");
    io.stderr(
      `reconcile-usage: unexpected error: ${describeUnexpected(error, known)}${debug ? "" : " (--debug shows where)"}\n`,
    );
    if (debug) for (const line of stackLines(error, known)) io.stderr(`  ${line}\n`);
    return 1;
  } finally {
    await http?.close();
    await writing?.end();
  }
}

/** `reconcile-usage export`: statuses from the files (no API), then the tables. */
async function exportTables(resolved: ResolvedSettings, io: CliIo): Promise<number> {
  const values = resolved.values;
  const settings = { ...resolved.pass, runsDir: resolve(io.cwd, resolved.pass.runsDir) };
  const prices = await loadPriceSources(
    nodeFiles,
    settings.runsDir,
    resolved.pricingFile ? resolve(io.cwd, resolved.pricingFile) : undefined,
  );
  const { report } = await runPass(settings, {
    files: nodeFiles,
    now: values.now ?? Date.now() / 1000,
    prices,
    tool: TOOL,
    version: VERSION,
  });
  relativize(report, io.cwd, [resolved.adminKey]);
  const data = buildExport(report);
  const format = values.format;
  const output = values.output !== undefined ? resolve(io.cwd, values.output) : undefined;
  if (format === "csv") {
    if (output) {
      await writeFile(output, runsCsv(data));
      await writeFile(output.replace(/(\.csv)?$/, ".frameworks.csv"), frameworksCsv(data));
    } else io.stdout(`${runsCsv(data)}\n${frameworksCsv(data)}`);
  } else {
    const text = format === "json" ? toJson(data) : toMarkdown(data);
    if (output) await writeFile(output, text);
    else io.stdout(text);
  }
  for (const w of report.warnings) io.stderr(`warning: ${oneLine(w)}\n`);
  return report.errors > 0 ? 1 : 0;
}

function verboseReadings(outcome: PassOutcome): string {
  const lines: string[] = [];
  for (const r of outcome.report.runs) {
    if (!r.window) continue;
    lines.push(
      `\n${oneLine(r.framework, 200)}/${oneLine(r.run_id, 200)}  window ${r.window.start} – ${r.window.end}`,
    );
    const id = `${r.framework}/${r.run_id}`;
    const fresh = outcome.collected?.readings.get(id);
    const readings = outcome.readings.get(id) ?? [];
    if (readings.length === 0) lines.push("  no readings");
    for (const a of readings) {
      lines.push(
        `  ${a === fresh ? "new " : "    "}${a.timestamp}  ${a.total_tokens_in} in, ${a.total_tokens_out} out, ${a.total_api_calls} requests, ${a.total_cached_tokens} cached${a.models ? `  [${a.models.map((m) => m.model).join(", ")}]` : ""}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}
