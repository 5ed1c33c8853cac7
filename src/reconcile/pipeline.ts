import { loadPriceSources } from "../pricing/load.ts";
import type { PassReport } from "../report/schema.ts";
import { cutMessage } from "../util/printable.ts";
import { redact } from "../util/redact.ts";
import type { Delivery } from "./delivery.ts";
import type { HeldStore } from "./held.ts";
import { type PassDeps, type PassOutcome, runPass } from "./pass.ts";
import type { PassSettings } from "./settings.ts";

/**
 * The one pass pipeline both front ends and the tests run (docs/design.md#the-pipeline): take
 * what writing needs (the delivery's lock), load the prices, run the pass, deliver its changes,
 * keep the held readings. Configuration problems throw before any request; a failed delivery is
 * the pass's error, reported, and its readings are kept for the next pass.
 */

export interface PipelineDeps extends Omit<PassDeps, "prices" | "held" | "holdIdentical"> {
  /** A pricing file named by the user (absolute), over the runs' config.yaml and the built-ins. */
  pricingFile?: string;
  /** How the changes leave the pass; absent when nothing may be written (a dry run, a listing). */
  delivery?: Delivery;
  /** Where readings held back from the files wait between passes (the Actions cache). */
  heldStore?: HeldStore;
  /** Secrets a failure message must not carry. */
  secrets?: readonly (string | undefined)[];
}

export interface PipelineResult extends PassOutcome {
  /** The commit the delivery made, if any. */
  sha: string | null;
  /** Failures of the pass as a whole (its changes could not be delivered), also in the report. */
  passErrors: string[];
}

export async function reconcile(
  settings: PassSettings,
  deps: PipelineDeps,
): Promise<PipelineResult> {
  const notes = (await deps.delivery?.begin()) ?? [];
  try {
    // the files the delivery's commits land on, when they are not the workspace's
    const files = deps.delivery?.files?.() ?? deps.files;
    const prices = await loadPriceSources(files, settings.runsDir, deps.pricingFile);
    const held = await deps.heldStore?.restore();
    // a delivery that takes the changes one by one gets them as they are made
    const sink = deps.delivery?.sink?.();
    const outcome = await runPass(settings, {
      ...deps,
      files,
      prices,
      held,
      holdIdentical: deps.heldStore !== undefined,
      sink,
    });
    outcome.report.warnings.push(...notes);
    const result: PipelineResult = { ...outcome, sha: null, passErrors: [] };
    // every change, taken by the sink or returned, is in changed_files
    if (deps.delivery && outcome.report.changed_files.length > 0) {
      try {
        result.sha = (await deps.delivery.deliver(outcome)).sha;
      } catch (error) {
        // This pass's readings are in no file: hold them for the next pass.
        for (const [id, reading] of outcome.collected?.readings ?? [])
          outcome.held.set(id, [...(outcome.held.get(id) ?? []), reading]);
        const failed = `committing the changes failed: ${redact(cutMessage(error instanceof Error ? error.message : String(error)), deps.secrets)}`;
        outcome.report.warnings.push(failed);
        outcome.report.errors++;
        result.passErrors.push(failed);
      }
    }
    await deps.heldStore?.save(outcome.held);
    return result;
  } finally {
    await deps.delivery?.end();
  }
}

/**
 * The report as it is shown and kept (the one finisher of both front ends): paths relative to
 * `root` (the working directory, the workspace) when they lie inside it, and no secret in any
 * warning. Messages are cut where the report is printed (report/bounded.ts).
 */
export function finishReport(
  report: PassReport,
  root: string,
  secrets: readonly (string | undefined)[],
): PassReport {
  const prefix = `${root.replace(/\/+$/, "")}/`;
  const relative = (p: string) => (p.startsWith(prefix) ? p.slice(prefix.length) : p);
  return {
    ...report,
    runs: report.runs.map((r) => ({ ...r, path: relative(r.path) })),
    changed_files: report.changed_files.map(relative),
    warnings: report.warnings.map((w) => finishText(w, root, secrets)),
  };
}

/** A message as the report shows it: paths under `root` relative to it, no secret. */
export const finishText = (
  text: string,
  root: string,
  secrets: readonly (string | undefined)[],
): string => redact(text.replaceAll(`${root.replace(/\/+$/, "")}/`, ""), secrets);
