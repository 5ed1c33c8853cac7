import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import * as core from "@actions/core";
import { type EventInfo, isPullRequestEvent, readEvent } from "./action/event.ts";
import { actionsCacheStore, type HeldStore } from "./action/held-cache.ts";
import { type ActionInputs, readInputs } from "./action/inputs.ts";
import { type ActionProgress, actionLog, publishFailure, publishReport } from "./action/publish.ts";
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
import { boundReport } from "./report/bounded.ts";
import { renderPullRequestComment } from "./report/comment.ts";
import type { PassReport } from "./report/schema.ts";
import { createHttpPageSource, duration, type HttpPageSource } from "./usage/http.ts";
import { cutMessage } from "./util/printable.ts";
import { redact, redactSecrets } from "./util/redact.ts";
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
    // the message is committed: no secret in it, in any spelling (a user's text may hold one)
    return redactSecrets(
      inputs.commitMessage
        ? inputs.commitMessage.replaceAll("{summary}", text.split("\n")[0]!)
        : text,
      secrets,
    );
  };
  const branch = env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME || undefined;
  const log = actionLog(secrets);
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
  say: (line: string) => void,
): Promise<void> {
  if (inputs.comment === "never" || !isPullRequestEvent(event) || !event.pullRequest) return;
  const [owner, repo] = (event.repository ?? env.GITHUB_REPOSITORY ?? "").split("/");
  if (!owner || !repo || !inputs.githubToken) {
    say("No pull-request comment: no repository or github-token.");
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
      say("No pull-request comment: the pull request touches no run files.");
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
      log: say,
    });
    if (result.action === "skipped")
      say(
        `No pull-request comment: ${result.reason ?? "not allowed"}; the job summary has the report.`,
      );
    else
      say(
        `Pull-request comment ${result.action} (#${result.id})${result.deleted.length > 0 ? `, ${result.deleted.length} duplicate(s) removed` : ""}.`,
      );
  } catch (error) {
    say(
      `No pull-request comment: ${cutMessage(error instanceof Error ? error.message : String(error))}; the job summary has the report.`,
    );
  }
}

/**
 * The action's pass. `progress` records how far it got, so that the entry point's last-resort
 * handler can still write what is missing (summary, outputs, one error) whatever fails.
 */
export async function run(
  env: Env = process.env,
  progress: ActionProgress = { secrets: [] },
): Promise<void> {
  let inputs: ActionInputs;
  try {
    inputs = readInputs((name) => core.getInput(name), env);
  } catch (error) {
    publishFailure(error instanceof Error ? error.message : String(error), progress, env);
    return;
  }
  const adminKey = inputs.settings.adminKey;
  const secrets = [adminKey, inputs.githubToken].filter((s): s is string => Boolean(s));
  for (const s of secrets) core.setSecret(s);
  progress.secrets = secrets;
  const say = actionLog(secrets);

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
  const passErrors: string[] = [];
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
        passDeadlineMs: inputs.settings.passDeadlineMinutes * 60_000,
        proxyEnv: env,
        onWaiting: ({ what, waitedMs, limitMs }) =>
          say(
            `Usage API: still waiting for the ${what}: ${duration(waitedMs)} so far, gives up at ${duration(limitMs)}`,
          ),
        onRetry: ({ attempt, delayMs, reason }) =>
          say(
            `Usage API: ${redact(cutMessage(reason), secrets)}; retry ${attempt} in ${Math.round(delayMs)} ms`,
          ),
      });
    }
    const committing =
      settings.mode === "reconcile" && !settings.dryRun && inputs.commit !== "none";
    if (committing && inputs.holdIdentical) {
      heldStore = actionsCacheStore({
        dir: join(env.RUNNER_TEMP ?? tmpdir(), "reconcile-usage-held"),
        runsDir: relative(workspace, settings.runsDir),
        log: say,
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
          passErrors.push(delivered.failed);
          report.errors++;
        }
      } catch (error) {
        // Keep this pass's readings for the next one: they are in no file.
        for (const [id, reading] of outcome.collected?.readings ?? [])
          outcome.held.set(id, [...(outcome.held.get(id) ?? []), reading]);
        const failed = `committing the changes failed: ${redact(cutMessage(error instanceof Error ? error.message : String(error)), secrets)}`;
        report.warnings.push(failed);
        passErrors.push(failed);
        report.errors++;
      }
    }
    await heldStore?.save(outcome.held);
  } catch (error) {
    const message = redact(
      cutMessage(error instanceof Error ? error.message : String(error)),
      secrets,
    );
    publishFailure(
      error instanceof ConfigError ||
        error instanceof PricingFileError ||
        error instanceof RunsLockHeldError
        ? message
        : `reconcile-usage failed: ${message}`,
      progress,
      env,
    );
    return;
  } finally {
    await http?.close();
    await writing?.end();
  }

  const rel = (p: string) => relative(workspace, p) || p;
  for (const r of report.runs) r.path = rel(r.path);
  report.changed_files = report.changed_files.map(rel);
  const unrooted = (w: string) => redact(w.replaceAll(`${workspace}/`, ""), secrets);
  report.warnings = report.warnings.map(unrooted);
  report = boundReport(report);

  const reportPath = resolve(
    workspace,
    inputs.reportPath ?? join(env.RUNNER_TEMP ?? tmpdir(), "reconcile-usage-report.json"),
  );
  await publishReport(report, {
    env,
    reportPath,
    commitSha,
    notice,
    failOnError: inputs.failOnError,
    dryRun: settings.dryRun,
    passErrors: passErrors.map((e) => cutMessage(unrooted(e))),
    secrets,
    progress,
  });
  await commentOnPullRequest(inputs, event, report, settings, workspace, env, notice, say);
}
