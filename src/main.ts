import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import * as core from "@actions/core";
import { commentOnPullRequest } from "./action/comment.ts";
import { deliveryFor } from "./action/delivery.ts";
import { readEvent } from "./action/event.ts";
import { filesForEvent } from "./action/files.ts";
import { actionsCacheStore } from "./action/held-cache.ts";
import { type ActionInputs, readInputs } from "./action/inputs.ts";
import { passForEvent } from "./action/mode.ts";
import { type ActionProgress, actionLog, publishFailure, publishReport } from "./action/publish.ts";
import { type ActionSources, actionSources } from "./action/source.ts";
import { UserError } from "./errors.ts";
import { finishReport, finishText, reconcile } from "./reconcile/pipeline.ts";
import { boundReport } from "./report/bounded.ts";
import type { PassReport } from "./report/schema.ts";
import { cutMessage } from "./util/printable.ts";
import { redact } from "./util/redact.ts";
import { TOOL, VERSION } from "./version.ts";

type Env = Record<string, string | undefined>;
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The action: read the inputs, wire the real adapters (files, clock, Usage API, delivery, cache),
 * run the one pass pipeline, and publish the result. `progress` records how far it got, so that
 * the entry point's last-resort handler can still write what is missing whatever fails.
 */
export async function run(
  env: Env = process.env,
  progress: ActionProgress = { secrets: [] },
): Promise<void> {
  let inputs: ActionInputs;
  try {
    inputs = readInputs((name) => core.getInput(name), env);
  } catch (error) {
    publishFailure(messageOf(error), progress, env);
    return;
  }
  // every admin key (OpenAI's, Anthropic's) and the GitHub token
  const secrets = inputs.settings.secrets;
  for (const s of secrets) core.setSecret(s);
  progress.secrets = secrets;
  const say = actionLog(secrets);
  const workspace = resolve(env.GITHUB_WORKSPACE ?? process.cwd());
  const event = readEvent(env);
  const { settings, notice } = passForEvent(
    { ...inputs.settings.pass, runsDir: resolve(workspace, inputs.settings.pass.runsDir) },
    event,
    Object.values(inputs.settings.access).some((a) => Boolean(a.adminKey)),
  );

  let http: ActionSources | undefined;
  let report: PassReport;
  let result: Awaited<ReturnType<typeof reconcile>>;
  try {
    const delivery = deliveryFor(inputs, settings, { workspace, env, secrets, log: say });
    http = actionSources(inputs.settings, settings.mode, { env, secrets, say });
    const { sources, clients } = http;
    result = await reconcile(settings, {
      files: await filesForEvent(event, inputs, { workspace, env, secrets }),
      now: Date.now() / 1000,
      pricingFile: inputs.settings.pricingFile && resolve(workspace, inputs.settings.pricingFile),
      sources,
      requestCount: () => clients.reduce((n, c) => n + c.stats.requests, 0),
      tool: TOOL,
      version: VERSION,
      delivery,
      // identical readings wait in the Actions cache instead of making commits
      heldStore:
        delivery && inputs.commit !== "none" && inputs.holdIdentical
          ? actionsCacheStore({
              dir: join(env.RUNNER_TEMP ?? tmpdir(), "reconcile-usage-held"),
              runsDir: relative(workspace, settings.runsDir),
              log: say,
            })
          : undefined,
      secrets,
    });
    report = boundReport(finishReport(result.report, workspace, secrets));
  } catch (error) {
    const message = redact(cutMessage(messageOf(error)), secrets);
    const line = error instanceof UserError ? message : `reconcile-usage failed: ${message}`;
    publishFailure(line, progress, env);
    return;
  } finally {
    for (const client of http?.clients ?? []) await client.close();
  }

  const reportPath = resolve(
    workspace,
    inputs.reportPath ?? join(env.RUNNER_TEMP ?? tmpdir(), "reconcile-usage-report.json"),
  );
  await publishReport(report, {
    env,
    reportPath,
    commitSha: result.sha,
    notice,
    failOnError: inputs.failOnError,
    dryRun: settings.dryRun,
    passErrors: result.passErrors.map((e) => cutMessage(finishText(e, workspace, secrets))),
    secrets,
    progress,
  });
  await commentOnPullRequest(inputs, event, report, {
    runsDir: settings.runsDir,
    workspace,
    env,
    notice,
    say,
  });
}
