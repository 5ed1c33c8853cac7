import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import * as core from "@actions/core";
import { annotationsOf } from "./action/annotations.ts";
import { type EventInfo, isPullRequestEvent, readEvent } from "./action/event.ts";
import { actionsCacheStore, type HeldStore } from "./action/held-cache.ts";
import { type ActionInputs, readInputs } from "./action/inputs.ts";
import { outputsOf } from "./action/outputs.ts";
import { runTable, summaryLines } from "./cli/table.ts";
import { ConfigError } from "./config/errors.ts";
import { RunsLockHeldError } from "./fs/lock.ts";
import { nodeFiles } from "./fs/node.ts";
import type { Files } from "./fs/types.ts";
import { beginWriting, type WritingSession } from "./fs/writing.ts";
import { commitAndPush } from "./git/commit.ts";
import { commitMessage } from "./git/message.ts";
import { commitViaApi } from "./github/api-commit.ts";
import { upsertStickyComment } from "./github/comment.ts";
import { githubClient } from "./github/octokit.ts";
import { pullRequestRunFiles } from "./github/pr-files.ts";
import { loadPriceSources, PricingFileError } from "./pricing/load.ts";
import type { Applied } from "./reconcile/apply.ts";
import type { HeldReadings } from "./reconcile/held.ts";
import { type PassDeps, reapplyPass, runPass, writeChanges } from "./reconcile/pass.ts";
import type { PassSettings } from "./reconcile/settings.ts";
import { renderPullRequestComment } from "./report/comment.ts";
import type { PassReport } from "./report/schema.ts";
import { renderSummary } from "./report/summary.ts";
import { createHttpPageSource, type HttpPageSource } from "./usage/http.ts";
import { redact } from "./util/redact.ts";
import { TOOL, VERSION } from "./version.ts";

type Env = Record<string, string | undefined>;

/** How the pass's changes leave the runner; the sha of the commit, if one was made. */
async function deliver(
  inputs: ActionInputs,
  settings: PassSettings,
  deps: PassDeps,
  outcome: Awaited<ReturnType<typeof runPass>>,
  workspace: string,
  env: Env,
  secrets: string[],
): Promise<{ sha: string | null; failed?: string }> {
  if (inputs.commit === "none") {
    // failures become the runs' errors in the report
    await writeChanges(nodeFiles, outcome.changes, {
      report: outcome.report,
      reapply: () => reapplyPass(settings, deps, outcome.collected),
    });
    return { sha: null };
  }
  let latest: Applied | undefined;
  const computeWith = async (files: Files) => {
    latest = await reapplyPass(settings, { ...deps, files }, outcome.collected);
    return latest.changes.map((c) => ({ path: c.path, after: c.after }));
  };
  const message = (paths: string[]) => {
    const changed = (latest?.runs ?? outcome.report.runs).filter((r) => r.changed);
    const counts: Record<string, number> = {};
    for (const r of changed) counts[r.status] = (counts[r.status] ?? 0) + 1;
    const text = commitMessage(counts, paths.length, { runs: changed });
    return inputs.commitMessage
      ? inputs.commitMessage.replaceAll("{summary}", text.split("\n")[0]!)
      : text;
  };
  const branch = env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME || undefined;
  const log = (line: string) => core.info(redact(line, secrets));
  if (inputs.commit === "api") {
    const repository = env.GITHUB_REPOSITORY ?? "";
    const [owner, repo] = repository.split("/");
    if (!owner || !repo || !branch || !inputs.githubToken) {
      throw new ConfigError(
        "commit: api needs GITHUB_REPOSITORY, a branch (GITHUB_REF_NAME) and the github-token input",
      );
    }
    const github = await githubClient(
      inputs.githubToken,
      env.GITHUB_API_URL ?? "https://api.github.com",
    );
    const result = await commitViaApi({
      github,
      owner,
      repo,
      branch,
      workspace,
      computeChanges: (files) => computeWith(files),
      message,
      secrets,
      log,
    });
    return { sha: result.sha };
  }
  const result = await commitAndPush({
    repoDir: workspace,
    computeChanges: () => computeWith(nodeFiles),
    message,
    branch,
    secrets,
    log,
  });
  return { sha: result.sha };
}

/**
 * The sticky pull-request comment (comment: auto on pull requests that touch run files, always on
 * every pull request, never). Never fails the step: a read-only token (fork) only costs the comment.
 */
async function commentOnPullRequest(
  inputs: ActionInputs,
  event: EventInfo,
  report: PassReport,
  settings: PassSettings,
  workspace: string,
  env: Env,
  notice: string | undefined,
): Promise<void> {
  if (inputs.comment === "never" || !isPullRequestEvent(event) || !event.pullRequest) return;
  const [owner, repo] = (event.repository ?? env.GITHUB_REPOSITORY ?? "").split("/");
  if (!owner || !repo || !inputs.githubToken) {
    core.info("No pull-request comment: no repository or github-token.");
    return;
  }
  try {
    const github = await githubClient(
      inputs.githubToken,
      env.GITHUB_API_URL ?? "https://api.github.com",
    );
    const files = await pullRequestRunFiles({
      github,
      owner,
      repo,
      pullNumber: event.pullRequest.number,
      runsDir: relative(workspace, settings.runsDir) || ".",
    });
    if (inputs.comment === "auto" && files.length === 0) {
      core.info("No pull-request comment: the pull request touches no run files.");
      return;
    }
    const runUrl = env.GITHUB_RUN_ID
      ? `${env.GITHUB_SERVER_URL ?? "https://github.com"}/${owner}/${repo}/actions/runs/${env.GITHUB_RUN_ID}`
      : undefined;
    const body = renderPullRequestComment(report, files, { runUrl, notice });
    const result = await upsertStickyComment({
      github,
      owner,
      repo,
      issueNumber: event.pullRequest.number,
      body,
      log: (l) => core.info(l),
    });
    if (result.action === "skipped")
      core.info(
        `No pull-request comment: ${result.reason ?? "not allowed"}; the job summary has the report.`,
      );
    else
      core.info(
        `Pull-request comment ${result.action} (#${result.id})${result.deleted.length > 0 ? `, ${result.deleted.length} duplicate(s) removed` : ""}.`,
      );
  } catch (error) {
    core.info(
      `No pull-request comment: ${error instanceof Error ? error.message : String(error)}; the job summary has the report.`,
    );
  }
}

export async function run(env: Env = process.env): Promise<void> {
  let inputs: ActionInputs;
  try {
    inputs = readInputs((name) => core.getInput(name), env);
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
    return;
  }
  const adminKey = inputs.settings.adminKey;
  const secrets = [adminKey, inputs.githubToken].filter((s): s is string => Boolean(s));
  for (const s of secrets) core.setSecret(s);

  const workspace = resolve(env.GITHUB_WORKSPACE ?? process.cwd());
  const event = readEvent(env);
  const settings: PassSettings = {
    ...inputs.settings.pass,
    runsDir: resolve(workspace, inputs.settings.pass.runsDir),
  };
  let notice: string | undefined;
  if (settings.mode === "reconcile" && !adminKey) {
    // Fork pull requests get no secrets: report what the files say instead of failing.
    settings.mode = "list";
    notice = event.pullRequest?.fork
      ? "This pull request comes from a fork, which gets no secrets: runs are listed from their files without calling the Usage API."
      : "No admin key (input admin-key / OPENAI_ADMIN_KEY): runs are listed from their files without calling the Usage API.";
  }
  // A pull request's checkout is a merge commit: report on it, never push to it.
  if (isPullRequestEvent(event) && !settings.dryRun) {
    settings.dryRun = true;
    notice ??=
      "Pull request: the pass runs as a dry run; the scheduled pass on the default branch commits.";
  }

  let http: HttpPageSource | undefined;
  let heldStore: HeldStore | undefined;
  let report: PassReport | undefined;
  let commitSha: string | null = null;
  let writing: WritingSession | undefined;
  try {
    // One pass at a time writes the workspace's runs directory (commit: none and git write it;
    // api commits through the API). Taken before any request.
    if (settings.mode === "reconcile" && !settings.dryRun && inputs.commit !== "api")
      writing = await beginWriting(settings.runsDir, TOOL);
    const prices = await loadPriceSources(
      nodeFiles,
      settings.runsDir,
      inputs.settings.pricingFile ? resolve(workspace, inputs.settings.pricingFile) : undefined,
    );
    if (settings.mode === "reconcile" && adminKey) {
      http = createHttpPageSource({
        baseUrl: inputs.settings.apiBaseUrl,
        adminKey,
        userAgent: TOOL,
        onRetry: ({ attempt, delayMs, reason }) =>
          core.info(
            `Usage API: ${redact(reason, secrets)}; retry ${attempt} in ${Math.round(delayMs)} ms`,
          ),
      });
    }
    const committing =
      settings.mode === "reconcile" && !settings.dryRun && inputs.commit !== "none";
    if (committing && inputs.holdIdentical) {
      heldStore = actionsCacheStore({
        dir: join(env.RUNNER_TEMP ?? tmpdir(), "reconcile-usage-held"),
        runsDir: relative(workspace, settings.runsDir),
        log: (l) => core.info(l),
      });
    }
    const held: HeldReadings | undefined = await heldStore?.restore();
    const deps: PassDeps = {
      files: nodeFiles,
      now: Date.now() / 1000,
      prices,
      source: http,
      requestCount: () => http?.stats.requests ?? 0,
      tool: TOOL,
      version: VERSION,
      held,
      holdIdentical: heldStore !== undefined,
    };
    const outcome = await runPass(settings, deps);
    report = outcome.report;
    report.warnings.push(...(writing?.notes ?? []));

    if (!settings.dryRun && settings.mode === "reconcile" && outcome.changes.length > 0) {
      try {
        const delivered = await deliver(inputs, settings, deps, outcome, workspace, env, secrets);
        commitSha = delivered.sha;
        if (delivered.failed) {
          report.warnings.push(delivered.failed);
          report.errors++;
        }
      } catch (error) {
        // Keep this pass's readings for the next one: they are in no file.
        for (const [id, reading] of outcome.collected?.readings ?? [])
          outcome.held.set(id, [...(outcome.held.get(id) ?? []), reading]);
        report.warnings.push(
          `committing the changes failed: ${redact(error instanceof Error ? error.message : String(error), secrets)}`,
        );
        report.errors++;
      }
    }
    await heldStore?.save(outcome.held);
  } catch (error) {
    const message = redact(error instanceof Error ? error.message : String(error), secrets);
    core.setFailed(
      error instanceof ConfigError ||
        error instanceof PricingFileError ||
        error instanceof RunsLockHeldError
        ? message
        : `reconcile-usage failed: ${message}`,
    );
    return;
  } finally {
    await http?.close();
    await writing?.end();
  }

  const rel = (p: string) => relative(workspace, p) || p;
  for (const r of report.runs) r.path = rel(r.path);
  report.changed_files = report.changed_files.map(rel);
  report.warnings = report.warnings.map((w) => redact(w.replaceAll(`${workspace}/`, ""), secrets));

  const reportPath = resolve(
    workspace,
    inputs.reportPath ?? join(env.RUNNER_TEMP ?? tmpdir(), "reconcile-usage-report.json"),
  );
  await mkdir(dirname(reportPath), { recursive: true });
  await writeFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);

  core.info(runTable(report.runs, false));
  for (const line of summaryLines(report)) core.info(line);
  const server = env.GITHUB_SERVER_URL ?? "https://github.com";
  const sha = commitSha ?? env.GITHUB_SHA;
  const fileUrl =
    env.GITHUB_REPOSITORY && sha
      ? (p: string) => `${server}/${env.GITHUB_REPOSITORY}/blob/${sha}/${p}`
      : undefined;
  if (env.GITHUB_STEP_SUMMARY)
    await core.summary.addRaw(renderSummary(report, { fileUrl, notice, commitSha })).write();
  for (const a of annotationsOf(report, (p) => p)) {
    const props = { title: a.title, ...(a.file ? { file: a.file } : {}) };
    if (a.level === "error") core.error(redact(a.message, secrets), props);
    else core.warning(redact(a.message, secrets), props);
  }
  for (const [name, value] of Object.entries(outputsOf(report, { reportPath, commitSha })))
    core.setOutput(name, value);
  await commentOnPullRequest(inputs, event, report, settings, workspace, env, notice);

  if (report.errors > 0) {
    const message = `${report.errors} run(s) or file(s) failed; everything else was ${settings.dryRun ? "checked" : "written"}. See the job summary.`;
    if (inputs.failOnError) core.setFailed(message);
    else core.warning(message);
  }
}
