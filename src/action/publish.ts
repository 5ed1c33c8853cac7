import { appendFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import * as core from "@actions/core";
import { boundReport, reportJson } from "../report/bounded.ts";
import { escapeCell } from "../report/markdown.ts";
import type { PassReport } from "../report/schema.ts";
import { renderSummary } from "../report/summary.ts";
import { runTable, summaryLines } from "../report/table.ts";
import { debugRequested, describeUnexpected, stackLines } from "../util/failure.ts";
import { neutraliseCommands, oneLine } from "../util/printable.ts";
import { redactSecrets } from "../util/redact.ts";
import { annotationsOf } from "./annotations.ts";
import { failureOutputsOf, outputsOf } from "./outputs.ts";

type Env = Record<string, string | undefined>;

/**
 * How far the step got, so that a failure anywhere (the last-resort handler included) can still
 * write what is missing: the summary, the outputs, and one `::error::`.
 */
export interface ActionProgress {
  /** Secrets known so far (the admin key, the GitHub token). */
  secrets: string[];
  report?: PassReport;
  reportPath?: string;
  commitSha?: string | null;
  summaryWritten?: boolean;
  outputsWritten?: boolean;
  /** An unexpected failure was already reported (the handler speaks once). */
  failureReported?: boolean;
}

/** Inputs and variables that may hold a secret, should the failure come before the inputs were read. */
const SECRET_VARIABLES = [
  "INPUT_ADMIN-KEY",
  "INPUT_ANTHROPIC-ADMIN-KEY",
  "INPUT_GITHUB-TOKEN",
  "OPENAI_ADMIN_KEY",
  "ANTHROPIC_ADMIN_KEY",
  "OPENAI_API_KEY_USAGE_TRACKING",
  "GITHUB_TOKEN",
];
const secretsOf = (progress: ActionProgress, env: Env): string[] => [
  ...progress.secrets,
  ...SECRET_VARIABLES.flatMap((v) => env[v] ?? []).filter(Boolean),
];

/**
 * The step's log: every line without secrets, and never one the runner would read as a workflow
 * command (a run directory named `::error::…` or `x\n::add-mask::0` leads a table line).
 */
export function actionLog(secrets: readonly string[]): (text: string) => void {
  return (text) => core.info(neutraliseCommands(redactSecrets(text, secrets)));
}

export interface PublishContext {
  env: Env;
  reportPath: string;
  commitSha: string | null;
  notice?: string;
  failOnError: boolean;
  dryRun: boolean;
  /** Failures of the pass as a whole (committing failed…), annotated as errors right after the failure. */
  passErrors: readonly string[];
  secrets: readonly string[];
  progress: ActionProgress;
}

/**
 * Everything the step reports about a finished pass: the JSON report file, the log's tables, the
 * job summary, the annotations (most important first, within the runner's 10 per type), the
 * outputs, and the step's status. Every quoted message is cut, every secret removed.
 */
export async function publishReport(raw: PassReport, ctx: PublishContext): Promise<void> {
  const { env, secrets, progress } = ctx;
  const report = boundReport(raw);
  progress.report = report;
  progress.commitSha = ctx.commitSha;
  const say = actionLog(secrets);

  await mkdir(dirname(ctx.reportPath), { recursive: true });
  await writeFile(ctx.reportPath, reportJson(report, secrets));
  progress.reportPath = ctx.reportPath;

  say(runTable(report.runs, false));
  for (const line of summaryLines(report)) say(line);

  const server = env.GITHUB_SERVER_URL ?? "https://github.com";
  const sha = ctx.commitSha ?? env.GITHUB_SHA;
  const fileUrl =
    env.GITHUB_REPOSITORY && sha
      ? (p: string) => `${server}/${env.GITHUB_REPOSITORY}/blob/${sha}/${p}`
      : undefined;
  if (env.GITHUB_STEP_SUMMARY) {
    const summary = renderSummary(report, {
      fileUrl,
      notice: ctx.notice,
      commitSha: ctx.commitSha,
    });
    await core.summary.addRaw(redactSecrets(summary, secrets)).write();
    progress.summaryWritten = true;
  }

  const failure =
    report.errors > 0
      ? {
          level: ctx.failOnError ? ("error" as const) : ("warning" as const),
          message: `${report.errors} run(s) or file(s) failed; everything else was ${ctx.dryRun ? "checked" : "written"}. See the job summary.`,
        }
      : undefined;
  for (const a of annotationsOf(report, (p) => p, { failure, passErrors: ctx.passErrors })) {
    const props = {
      ...(a.title ? { title: redactSecrets(a.title, secrets) } : {}),
      ...(a.file ? { file: a.file } : {}),
    };
    const message = redactSecrets(a.message, secrets);
    if (a.level === "error") core.error(message, props);
    else if (a.level === "warning") core.warning(message, props);
    else core.notice(message, props);
  }
  // the failure was annotated first, above: only the status is left to set
  if (failure?.level === "error") process.exitCode = core.ExitCode.Failure;

  for (const [name, value] of Object.entries(
    outputsOf(report, { reportPath: ctx.reportPath, commitSha: ctx.commitSha }),
  ))
    core.setOutput(name, redactSecrets(value, secrets));
  progress.outputsWritten = true;
}

/**
 * The step failed before it could publish its report, expectedly (a bad input, an unreadable
 * price file) or not: one `::error::` with one clear line, and whatever is still missing of the
 * summary and the outputs. Synchronous, so that it also works from an `uncaughtException`
 * handler; each part is tried on its own.
 */
export function publishFailure(
  line: string,
  progress: ActionProgress,
  env: Env,
  details: readonly string[] = [],
): void {
  const secrets = secretsOf(progress, env);
  const message = oneLine(redactSecrets(line, secrets), 1000);
  progress.failureReported = true;
  process.exitCode = core.ExitCode.Failure;
  try {
    core.error(message);
    for (const d of details) core.debug(redactSecrets(d, secrets));
  } catch {
    // stdout is gone: the exit status still says it
  }
  if (env.GITHUB_STEP_SUMMARY) {
    try {
      const note = `> [!CAUTION]\n> The step failed: ${escapeCell(message)}\n`;
      let text: string;
      if (progress.summaryWritten) text = `\n${note}`;
      else {
        let body = "## Usage reconciliation\n";
        try {
          if (progress.report)
            body = renderSummary(progress.report, { commitSha: progress.commitSha });
        } catch {
          // the plain heading will do
        }
        text = `${note}\n${body}`;
      }
      appendFileSync(env.GITHUB_STEP_SUMMARY, redactSecrets(text, secrets));
      progress.summaryWritten = true;
    } catch {
      // the summary file cannot be written; the log and the outputs still can
    }
  }
  if (!progress.outputsWritten) {
    try {
      const outputs = failureOutputsOf(progress.report, {
        reportPath: progress.reportPath ?? "",
        commitSha: progress.commitSha ?? null,
      });
      for (const [name, value] of Object.entries(outputs))
        core.setOutput(name, redactSecrets(value, secrets));
      progress.outputsWritten = true;
    } catch {
      // the outputs file cannot be written
    }
  }
}

/**
 * The last-resort handler behind the action's entry point: an error nobody expected, thrown
 * anywhere (late in the run, or a promise nobody awaited), is reported once as one line; its
 * stack only in step debug mode, without secrets; never Node's print of the minified source.
 */
export function lastResort(error: unknown, progress: ActionProgress, env: Env): void {
  if (progress.failureReported) {
    process.exitCode = core.ExitCode.Failure;
    return;
  }
  const secrets = secretsOf(progress, env);
  const debug = debugRequested(env);
  publishFailure(
    `reconcile-usage stopped on an unexpected error: ${describeUnexpected(error, secrets)}${debug ? "" : " (enable step debug logging to see where)"}`,
    progress,
    env,
    debug ? stackLines(error, secrets) : [],
  );
}
