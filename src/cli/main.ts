import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseEnv } from "node:util";
import { Command, CommanderError, Option } from "commander";
import { ConfigError } from "../config/errors.ts";
import {
  DEFAULTS,
  type RawSettings,
  type ResolvedSettings,
  resolveSettings,
} from "../config/settings.ts";
import { buildExport, frameworksCsv, runsCsv, toJson, toMarkdown } from "../export/export.ts";
import { RunsLockHeldError } from "../fs/lock.ts";
import { nodeFiles } from "../fs/node.ts";
import { beginWriting, type WritingSession } from "../fs/writing.ts";
import { loadPriceSources, PricingFileError } from "../pricing/load.ts";
import { type PassOutcome, reapplyPass, runPass, writeChanges } from "../reconcile/pass.ts";
import { reportJson } from "../report/bounded.ts";
import type { PassReport } from "../report/schema.ts";
import { UsageApiError } from "../usage/errors.ts";
import { createHttpPageSource, duration, type HttpPageSource } from "../usage/http.ts";
import type { PageSource } from "../usage/query.ts";
import { recordingSource, replaySource } from "../usage/recording.ts";
import { debugRequested, describeUnexpected, stackLines } from "../util/failure.ts";
import { oneLine } from "../util/printable.ts";
import { redact } from "../util/redact.ts";
import { parseIsoSeconds } from "../util/time.ts";
import { TOOL, VERSION } from "../version.ts";
import { cliSecrets, guardedWriter } from "./output.ts";
import { runTable, summaryLines } from "./table.ts";

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Whether stderr is a terminal: progress is shown only there. */
  interactive: boolean;
}

type Opts = Record<string, string | boolean | string[] | undefined>;

const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];

/** Options that shape a pass, shared by the reconcile command and `export`. */
function withSettingsOptions(cmd: Command): Command {
  return cmd
    .option(
      "--runs-dir <dir>",
      `directory holding {framework}/{run_id}/metrics.json (default: ${DEFAULTS["runs-dir"]})`,
    )
    .option(
      "--api-key-id <framework=key_id>",
      "API key id a framework's runs used (repeatable); falls back to OPENAI_API_KEY_{FRAMEWORK}_ID",
      collect,
    )
    .option(
      "--min-age-minutes <n>",
      `read a run only this long after it ended (default: ${DEFAULTS["min-age-minutes"]})`,
    )
    .option(
      "--verification-interval-minutes <n>",
      `least time between two readings of a run (default: ${DEFAULTS["verification-interval-minutes"]}; env RECONCILIATION_VERIFICATION_INTERVAL_MIN)`,
    )
    .option(
      "--stable-checks <n>",
      `stable pairs of identical readings that verify a run (default: ${DEFAULTS["stable-checks"]}; env RECONCILIATION_MIN_STABLE_VERIFICATIONS)`,
    )
    .option(
      "--give-up-after-hours <n>",
      `no usage this long after a run ended means no_usage (default: ${DEFAULTS["give-up-after-hours"]})`,
    )
    .option(
      "--window-tail-seconds <n>",
      `seconds after a run's last minute still attributed to it (default: ${DEFAULTS["window-tail-seconds"]})`,
    )
    .option(
      "--window-padding-seconds <n>",
      `widen both ends of every window; the old script used 300 (default: ${DEFAULTS["window-padding-seconds"]})`,
    )
    .option(
      "--pricing-file <file>",
      "YAML or JSON prices (pricing.models.<model>.input_price/cached_price/output_price, USD per 1M tokens) overriding config.yaml and the built-in table",
    )
    .option("--api-base-url <url>", `Usage API base URL (default: ${DEFAULTS["api-base-url"]})`)
    .option(
      "--now <iso-time>",
      "the pass's clock, for reproducible passes (default: the current time); refused when a pass would read the real Usage API: use it with --replay or --list",
    )
    .option(
      "--debug",
      "on an unexpected error, also print where it happened (or RECONCILE_USAGE_DEBUG=1)",
    );
}

/** Options of a reconciling pass only. */
function withPassOptions(cmd: Command): Command {
  return cmd
    .option(
      "--cross-check-costs",
      "compare our cost of each day's usage, per key, with the Costs API",
    )
    .option(
      "--cost-tolerance <percent>",
      `difference from the Costs API flagged as a warning (default: ${DEFAULTS["cost-tolerance"]}%)`,
    )
    .option(
      "--pass-deadline-minutes <n>",
      `longest time the pass reads the API; runs not read by then are error (default: ${DEFAULTS["pass-deadline-minutes"]})`,
    );
}

const ENVIRONMENT_HELP = `
Environment (a .env file in the working directory is read too; real variables win):
  OPENAI_ADMIN_KEY                admin key with the api.usage.read scope (fallback: OPENAI_API_KEY_USAGE_TRACKING)
  OPENAI_API_KEY_{FRAMEWORK}_ID   key id per framework, e.g. OPENAI_API_KEY_BAES_ID=key_…

Exit status: 0 when no run errored, 1 when any run errored, 2 for bad usage or configuration,
3 when another pass is writing to the same runs directory (nothing was done).`;

type Invocation =
  | { kind: "pass"; framework?: string; runId?: string; opts: Opts }
  | { kind: "export"; opts: Opts };

function program(onInvoke: (i: Invocation) => void): Command {
  const root = withPassOptions(
    withSettingsOptions(
      new Command("reconcile-usage")
        .description(
          "Reconcile LLM experiment runs (runs/{framework}/{run_id}/metrics.json) with the OpenAI Usage API: read exact token usage, verify it by repeated readings, price it, and write it back.",
        )
        .version(VERSION, "-V, --version")
        // options after `export` belong to export, not to the reconcile command
        .enablePositionalOptions()
        .argument("[framework]", "reconcile only this framework's runs")
        .argument("[run-id]", "reconcile only this run"),
    ),
  )
    .option("--list", "list runs and their status without calling the API")
    .option("--verbose", "with --list (or a pass): full run ids, messages and every reading")
    .option("--dry-run", "do everything but write files")
    .option("--force", "read runs again even when verified, no_usage or read recently")
    .option("--record <dir>", "save every raw Usage API page of the pass in this directory")
    .addOption(
      new Option(
        "--replay <dir>",
        "answer from pages saved by --record instead of the network (no admin key needed)",
      ).conflicts("record"),
    )
    .option("--json", "print the pass's JSON report instead of tables")
    .addHelpText("after", ENVIRONMENT_HELP)
    .action((framework: string | undefined, runId: string | undefined, opts: Opts) =>
      onInvoke({ kind: "pass", framework, runId, opts }),
    );
  withSettingsOptions(
    root
      .command("export")
      .description(
        "Write paper-ready tables from the files (no API calls): one row per run, and per framework the mean ± sd and median of verified runs only; other runs are counted and excluded.",
      ),
  )
    .addOption(
      new Option("--format <format>", "output format").choices(["csv", "md", "json"]).default("md"),
    )
    .option(
      "--output <file>",
      "write to this file instead of standard output (csv: the per-framework table goes to <file>.frameworks.csv)",
    )
    .action((opts: Opts) => onInvoke({ kind: "export", opts }));
  return root;
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

/** How the CLI spells a setting in messages: its option, argument or variable. */
const CLI_NAMES: Record<string, string> = {
  "api-key-ids": "--api-key-id",
  frameworks: "<framework>",
  "run-ids": "<run-id>",
  mode: "--list",
  "admin-key": "OPENAI_ADMIN_KEY",
};
const cliName = (name: string): string => CLI_NAMES[name] ?? `--${name}`;

function settingsFrom(
  opts: Opts,
  extra: RawSettings,
  env: Record<string, string | undefined>,
): ResolvedSettings {
  const text = (v: Opts[string]) => (typeof v === "string" ? v : undefined);
  const raw: RawSettings = {
    "runs-dir": text(opts.runsDir),
    "api-key-ids": ((opts.apiKeyId as string[] | undefined) ?? []).join("\n"),
    "min-age-minutes": text(opts.minAgeMinutes),
    "verification-interval-minutes": text(opts.verificationIntervalMinutes),
    "stable-checks": text(opts.stableChecks),
    "give-up-after-hours": text(opts.giveUpAfterHours),
    "window-tail-seconds": text(opts.windowTailSeconds),
    "window-padding-seconds": text(opts.windowPaddingSeconds),
    "pricing-file": text(opts.pricingFile),
    "api-base-url": text(opts.apiBaseUrl),
    ...extra,
  };
  return resolveSettings(raw, env, cliName);
}

function clockFrom(opts: Opts): number {
  if (typeof opts.now !== "string") return Date.now() / 1000;
  const parsed = parseIsoSeconds(opts.now);
  if (parsed === undefined)
    throw new ConfigError(
      `--now: expected an ISO-8601 time such as 2025-11-01T12:00:00Z, got "${opts.now}"`,
    );
  return parsed;
}

/**
 * `--now` against the real Usage API is refused (SPEC §11): the API answers with what it holds
 * now, so a pass that pretends to be later would record readings seconds apart as hours apart
 * and verify numbers that were still growing. Replayed pages and listing (no request) are fine.
 */
function refuseClockAgainstRealApi(opts: Opts, mode: string, apiBaseUrl: string): void {
  if (typeof opts.now !== "string" || mode !== "reconcile" || typeof opts.replay === "string")
    return;
  if (new URL(apiBaseUrl).hostname.toLowerCase() !== new URL(DEFAULTS["api-base-url"]).hostname)
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
    if (invocation.kind === "export") return await exportTables(invocation.opts, io, env);
    const { opts, framework, runId } = invocation;
    const resolved = settingsFrom(
      opts,
      {
        frameworks: framework,
        "run-ids": runId,
        mode: opts.list ? "list" : "reconcile",
        "dry-run": opts.dryRun ? "true" : "false",
        force: opts.force ? "true" : "false",
        "cross-check-costs": opts.crossCheckCosts ? "true" : "false",
        "cost-tolerance": typeof opts.costTolerance === "string" ? opts.costTolerance : undefined,
        "pass-deadline-minutes":
          typeof opts.passDeadlineMinutes === "string" ? opts.passDeadlineMinutes : undefined,
      },
      env,
    );
    adminKey = resolved.adminKey;
    const settings = { ...resolved.pass, runsDir: resolve(io.cwd, resolved.pass.runsDir) };
    const now = clockFrom(opts);
    refuseClockAgainstRealApi(opts, settings.mode, resolved.apiBaseUrl);
    // One writing pass at a time per runs directory; taken before any request (SPEC §11).
    if (settings.mode === "reconcile" && !settings.dryRun)
      writing = await beginWriting(settings.runsDir, TOOL);
    const prices = await loadPriceSources(
      nodeFiles,
      settings.runsDir,
      resolved.pricingFile ? resolve(io.cwd, resolved.pricingFile) : undefined,
    );

    const showProgress = io.interactive && !opts.json;
    let source: PageSource | undefined;
    if (settings.mode === "reconcile") {
      if (typeof opts.replay === "string")
        source = await replaySource(resolve(io.cwd, opts.replay));
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
          typeof opts.record === "string"
            ? recordingSource(http, resolve(io.cwd, opts.record))
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
    if (opts.json) io.stdout(reportJson(report, [adminKey, ...secrets]));
    else {
      io.stdout(
        `${runTable(report.runs, Boolean(opts.verbose))}\n\n${summaryLines(report).join("\n")}\n`,
      );
      if (opts.verbose) io.stdout(verboseReadings(outcome));
    }
    return report.errors > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof RunsLockHeldError) {
      io.stderr(`reconcile-usage: ${error.message.replaceAll(`${io.cwd}/`, "")}\n`);
      return 3;
    }
    if (
      error instanceof ConfigError ||
      error instanceof PricingFileError ||
      (error instanceof UsageApiError && error.kind === "replay")
    ) {
      io.stderr(`reconcile-usage: ${oneLine(redact(error.message, [adminKey]), 1000)}\n`);
      return 2;
    }
    // one clear line; where it happened only on request (never minified source)
    const known = [adminKey, ...secrets];
    const debug = debugRequested(env, invocation.opts.debug);
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
async function exportTables(
  opts: Opts,
  io: CliIo,
  env: Record<string, string | undefined>,
): Promise<number> {
  const resolved = settingsFrom(opts, { mode: "list" }, env);
  const settings = { ...resolved.pass, runsDir: resolve(io.cwd, resolved.pass.runsDir) };
  const prices = await loadPriceSources(
    nodeFiles,
    settings.runsDir,
    resolved.pricingFile ? resolve(io.cwd, resolved.pricingFile) : undefined,
  );
  const { report } = await runPass(settings, {
    files: nodeFiles,
    now: clockFrom(opts),
    prices,
    tool: TOOL,
    version: VERSION,
  });
  relativize(report, io.cwd, [resolved.adminKey]);
  const data = buildExport(report);
  const format = opts.format as "csv" | "md" | "json";
  const output = typeof opts.output === "string" ? resolve(io.cwd, opts.output) : undefined;
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
