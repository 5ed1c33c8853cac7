import { applyManifestUpdates, type ManifestUpdate } from "../edit/manifest.ts";
import {
  applyMetricsTarget,
  editMetricsText,
  type MetricsTarget,
  metricsEdits,
  unreadableEdit,
  unwritableValue,
} from "../edit/metrics.ts";
import { contentDigest } from "../fs/digest.ts";
import type { Files } from "../fs/types.ts";
import type { Totals } from "../model.ts";
import { type CostResult, costOf } from "../pricing/cost.ts";
import type { PriceSource } from "../pricing/prices.ts";
import type { RunReport } from "../report/schema.ts";
import {
  type DiscoveredRun,
  type Discovery,
  decodeUtf8,
  type FileProblem,
  MAX_FILE_BYTES,
} from "../runs/discover.ts";
import { legacyVerificationNote } from "../runs/legacy.ts";
import type { Attempt, ModelUsage } from "../runs/schema.ts";
import { editsChangeNothing, JsonEditError } from "../util/json-text.ts";
import { flatText, textKeeper } from "../util/kept-text.ts";
import { formatIsoSeconds } from "../util/time.ts";
import { type Evaluation, evaluateRun } from "../verify/evaluate.ts";
import { chronological, isZero, sameReading, totalsOf } from "../verify/reading.ts";
import { PERSISTED_STATUSES } from "../verify/status.ts";
import type { HeldReadings } from "./held.ts";
import type { PassSettings } from "./settings.ts";
import { buildRunStates, type RunState } from "./state.ts";

export interface FileChange {
  path: string;
  /**
   * The digest (fs/digest.ts) of the text the edit was made on: a writer replaces the file only
   * while it still holds that text.
   */
  before: string;
  /**
   * The new text; null when the file had already changed when the pass came to edit it, so that
   * only the pass re-applied on its new text (reapplyPass) can say what it should hold.
   */
  after: string | null;
  /**
   * On the manifest's change only: the entry updates it is made of, each with its run's file, so
   * a writer can leave out the runs whose file could not be written (see write.ts).
   */
  manifestUpdates?: RunManifestUpdate[];
}

/**
 * Takes each change as the pass makes it (the workspace's writer): a pass over thousands of runs
 * then never holds every new text at once, and writing overlaps the editing. `put` resolves when
 * there is room for the next change, not when this one is written.
 */
export interface ChangeSink {
  put(change: FileChange): Promise<void>;
}

/** A manifest entry update and the metrics.json it mirrors. */
export type RunManifestUpdate = ManifestUpdate & { runPath: string };

export interface Applied {
  runs: RunReport[];
  /** The changes, when no sink took them. */
  changes: FileChange[];
  /** The files changed, in the order the changes were made (also those a sink took). */
  changedPaths: string[];
  warnings: string[];
  /** Files that are not a run (a broken manifest…), reported apart. */
  otherProblems: FileProblem[];
  /** Every run's readings after this pass, oldest first (for verbose listings). */
  readings: Map<string, Attempt[]>;
  /** Readings still held back from the files after this pass (see held.ts). */
  held: HeldReadings;
  /** The runs as this pass saw them (windows, keys, ambiguity). */
  states: RunState[];
}

export interface ApplyInput {
  discovery: Discovery;
  /** Where the runs' files are read again to be edited (the texts are not kept from discovery). */
  files: Files;
  /** Takes each change as it is made; without it they are returned in `changes`. */
  sink?: ChangeSink;
  settings: PassSettings;
  now: number;
  prices: readonly PriceSource[];
  /** This pass's new readings by run id; re-applying them is idempotent. */
  readings: ReadonlyMap<string, Attempt>;
  failures: ReadonlyMap<string, string>;
  /** Readings held back by earlier passes. */
  held?: HeldReadings;
  /** Hold a new reading back when it is identical to the file's last and changes nothing else. */
  holdIdentical?: boolean;
  /** Usage fetched this pass per key read (see Collected.keyTotals). */
  keyTotals?: ReadonlyMap<string, Totals>;
  /**
   * The run states buildRunStates made of this very discovery, settings and clock, when the pass
   * has them already: building them is the pass's largest local step, so it is done once.
   */
  runStates?: ReturnType<typeof buildRunStates>;
}

/** Adds readings the file does not hold yet (a pass re-applied on another writer's head holds them). */
function withReadings(
  attempts: readonly Attempt[],
  extra: readonly Attempt[],
): { attempts: Attempt[]; added: Attempt[] } {
  const added: Attempt[] = [];
  for (const reading of extra) {
    const known = [...attempts, ...added].some(
      (a) => a.timestamp === reading.timestamp && sameReading(a, reading),
    );
    if (!known) added.push(reading);
  }
  return { attempts: chronological([...attempts, ...added]), added: chronological(added) };
}

/** A reading without a per-model split (the old script's) is priced as the run's declared model. */
function usageToPrice(basis: Attempt, declaredModel: string | undefined): ModelUsage[] | undefined {
  if (basis.models) return basis.models;
  if (!declaredModel) return undefined;
  return [
    {
      model: declaredModel,
      batch: null,
      service_tier: null,
      tokens_in: basis.total_tokens_in,
      tokens_out: basis.total_tokens_out,
      cached_tokens: basis.total_cached_tokens,
      api_calls: basis.total_api_calls,
    },
  ];
}

/** `baes/641abf54…`, as the terminal table shows a run (and a run id prefix selects it). */
const shortRun = (id: string): string => {
  const slash = id.indexOf("/");
  const run = id.slice(slash + 1);
  return `${id.slice(0, slash + 1)}${run.length > 13 ? `${run.slice(0, 8)}…` : run}`;
};

/** A run with no reading but an old tool's verification block says why that block does not count. */
function withLegacyNote(message: string, attempts: readonly Attempt[], file: object): string {
  const note =
    attempts.length === 0 ? legacyVerificationNote(file as Record<string, unknown>) : undefined;
  return note ? `${message}; ${note}` : message;
}

function errorRow(p: FileProblem): RunReport {
  return {
    framework: p.framework ?? "",
    run_id: p.runId ?? "",
    path: p.path,
    status: "error",
    tokens_in: null,
    tokens_out: null,
    cached_tokens: null,
    api_calls: null,
    cost_usd: null,
    stable_checks: 0,
    verified_at: null,
    message: p.reason,
    changed: false,
    read: false,
    window: null,
    shared: null,
  };
}

/**
 * The pure half of a pass: from the files as they are now and this pass's readings, decide every
 * run's status, aggregates and cost, and produce the new file texts. Called again on a fresh
 * checkout when a push is rejected, so another writer's changes are kept.
 */
export async function applyReadings(input: ApplyInput): Promise<Applied> {
  const applier = startApplying(input);
  await applier.apply(applier.states, input.readings, input.failures);
  return applier.finish(input.keyTotals);
}

/** applyReadings a few runs at a time, as their readings come (see startApplying). */
export interface Applier {
  /** The runs as this pass sees them (windows, keys, ambiguity), in the pass's order. */
  states: readonly RunState[];
  /**
   * Applies these runs: each run once, with this pass's new reading or failure for it (none for a
   * run not due). Calls are made one after another, never two at once.
   */
  apply(
    states: readonly RunState[],
    readings: ReadonlyMap<string, Attempt>,
    failures: ReadonlyMap<string, string>,
  ): Promise<void>;
  /**
   * After the last runs: the runs whose words need every run's readings (a run without usage is
   * told whether its key has usage elsewhere), the manifest, the warnings. Everything is in the
   * runs' order, whatever order they were applied in.
   */
  finish(keyTotals?: ReadonlyMap<string, Totals>): Promise<Applied>;
}

/** Runs applied between two turns of the event loop. */
const RUNS_PER_TURN = 64;

/**
 * Applies a pass run by run, so that a pass edits and writes the runs already read while the
 * provider's pages for the others are still coming. The result is applyReadings': a run whose
 * evaluation asks about its key's usage elsewhere waits until `finish`, when that is known.
 */
export function startApplying(
  input: Omit<ApplyInput, "readings" | "failures" | "keyTotals">,
): Applier {
  const { discovery, settings, now, prices } = input;
  const { states, problems } = input.runStates ?? buildRunStates(discovery, settings, now);
  const order = new Map(states.map((s, i) => [s.id, i]));
  const errorRows: RunReport[] = [];
  const rows: Array<[number, RunReport]> = [];
  const changes: Array<[number, FileChange]> = [];
  const changedPaths: Array<[number, string]> = [];
  const emit = async (at: number, change: FileChange): Promise<void> => {
    changedPaths.push([at, change.path]);
    if (input.sink) await input.sink.put(change);
    else changes.push([at, change]);
  };
  const manifestUpdates: Array<[number, RunManifestUpdate]> = [];
  const readings = new Map<string, Attempt[]>();
  // the rows' texts are kept to the end of the pass: flat, and equal ones shared
  const kept = textKeeper();
  const held: HeldReadings = new Map(input.held ?? []);
  // by model and reason: runs of one model can each miss a different class's price
  const unpriced = new Map<
    string,
    { model: string; reason: string; first: number; runs: Array<[number, string]> }
  >();
  const countUnpriced = (at: number, model: string, reason: string, run: string) => {
    const key = `${model}\u0000${reason}`;
    const u = unpriced.get(key) ?? { model, reason, first: at, runs: [] };
    u.first = Math.min(u.first, at);
    u.runs.push([at, run]);
    unpriced.set(key, u);
  };
  const priceWarnings = new Map<string, number>();
  const reconcile = settings.mode === "reconcile";
  const inScope = (framework?: string, runId?: string) =>
    (settings.runIds.length === 0 || (runId !== undefined && settings.runIds.includes(runId))) &&
    (settings.frameworks.length === 0 ||
      (framework !== undefined && settings.frameworks.includes(framework)));

  const otherProblems: FileProblem[] = [];
  for (const p of [...discovery.problems, ...problems]) {
    if (p.runId === undefined) otherProblems.push(p);
    else if (inScope(p.framework, p.runId)) errorRows.push(errorRow(p));
  }

  // Every run's readings after this pass: whether other runs on a key have usage decides what a
  // run without any is told (docs/design.md#trust-rules), so such a run waits for `finish`.
  const merged = new Map<string, { attempts: Attempt[]; added: Attempt[]; fresh?: Attempt }>();
  const waiting: RunState[] = [];
  type KeyUsageOf = ReturnType<typeof keyUsage>;

  /** One run; false when its evaluation needs every run's readings and it must wait. */
  const applyRun = async (
    state: RunState,
    failure: string | undefined,
    keyUsageOf: KeyUsageOf | undefined,
  ): Promise<boolean> => {
    const at = order.get(state.id)!;
    if (failure) {
      rows.push([
        at,
        {
          ...errorRow({
            path: state.run.path,
            framework: state.run.framework,
            runId: state.run.runId,
            reason: failure,
          }),
          window: windowOf(state),
        },
      ]);
      return true;
    }
    const { attempts, added, fresh } = merged.get(state.id)!;
    let askedAboutKey = false;
    const evaluation = evaluateRun(
      {
        now,
        endedAt: state.activity!.end,
        attempts,
        keyId: state.keyId,
        sharesWith: state.sharesWith,
        untrusted: state.untrusted,
        wasVerified: state.run.file.usage_api_reconciliation?.verification_status === "verified",
        get keyUsage() {
          askedAboutKey = true;
          return keyUsageOf?.(state, attempts);
        },
      },
      settings,
    );
    if (askedAboutKey && !keyUsageOf) return false;
    readings.set(state.id, attempts);
    held.delete(state.id);
    const ambiguous = evaluation.status === "ambiguous";
    const basis = ambiguous ? undefined : evaluation.basis;
    let cost: CostResult | undefined;
    if (basis) {
      const usage = usageToPrice(basis, state.run.file.model);
      cost = usage ? costOf(usage, prices) : undefined;
      if (!usage)
        countUnpriced(
          at,
          "(no model)",
          'readings without a per-model split and no "model" in the file; add "model": "gpt-4o-mini" (the model used) at the top of each metrics.json, or read the runs again with --force (a new reading has the split)',
          state.id,
        );
      for (const u of cost?.unknown ?? []) countUnpriced(at, u.model, u.reason, state.id);
      for (const w of cost?.warnings ?? [])
        priceWarnings.set(w, Math.min(priceWarnings.get(w) ?? at, at));
    }

    let changed = false;
    if (reconcile && PERSISTED_STATUSES.has(evaluation.status)) {
      const target: MetricsTarget = {
        newAttempts: added,
        status: evaluation.status,
        message: evaluation.message,
        verifiedAt: evaluation.verifiedAt ?? null,
        totals: basis ? totalsOf(basis) : undefined,
        cost,
      };
      // Nothing invalid is written (docs/design.md#trust-rules): a value the file cannot hold makes
      // the run an error, its file untouched and its manifest entry left as it is. Text the editor
      // cannot edit safely (a key twice) is likewise this run's error.
      const unwritable = unwritableValue(target);
      let refused = unwritable && `not written: ${unwritable}; the file is left as it was`;
      const edits = metricsEdits(state.run.file, target);
      // most files of a pass with nothing due already say all this: their text is not read again
      if (!refused && !editsChangeNothing(state.run.file, edits)) {
        const text = await readAgain(input.files, state.run);
        if (text === undefined) {
          // changed since discovery: the writer re-applies this pass on its new text
          await emit(at, { path: state.run.path, before: state.run.digest, after: null });
          changed = true;
        } else {
          let after = text;
          try {
            // the bytes discovery parsed (readAgain compared their digest)
            after = editMetricsText(text, state.run.file, edits, state.run.keys);
            const unreadable = after === text ? undefined : unreadableEdit(after);
            if (unreadable) refused = `not written: ${unreadable}; the file is left as it was`;
          } catch (error) {
            if (!(error instanceof JsonEditError)) throw error;
            refused = error.message;
          }
          if (!refused && input.holdIdentical && added.length > 0) {
            if (onlyRepeatsTheFile(state, text, target, added)) {
              after = text;
              held.set(state.id, added);
            }
          }
          if (!refused && after !== text) {
            await emit(at, { path: state.run.path, before: state.run.digest, after });
            changed = true;
          }
        }
      }
      if (refused) {
        rows.push([
          at,
          {
            ...errorRow({ path: state.run.path, ...idOf(state), reason: refused }),
            window: windowOf(state),
          },
        ]);
        return true;
      }
      const agg = state.run.file.aggregate_metrics;
      manifestUpdates.push([
        at,
        {
          runPath: state.run.path,
          framework: state.run.framework,
          runId: state.run.runId,
          status: evaluation.status,
          tokensIn: basis ? basis.total_tokens_in : agg?.TOK_IN,
          tokensOut: basis ? basis.total_tokens_out : agg?.TOK_OUT,
        },
      ]);
    }

    const shared = attempts.at(-1)?.shared;
    rows.push([
      at,
      {
        framework: state.run.framework,
        run_id: state.run.runId,
        path: state.run.path,
        status: evaluation.status,
        tokens_in: basis?.total_tokens_in ?? null,
        tokens_out: basis?.total_tokens_out ?? null,
        cached_tokens: basis?.total_cached_tokens ?? null,
        api_calls: basis?.total_api_calls ?? null,
        cost_usd: cost?.total ?? null,
        stable_checks: evaluation.stableChecks,
        verified_at: verifiedAtOf(state, evaluation, added),
        message: kept(
          evaluation.status === "pending"
            ? withLegacyNote(evaluation.message, attempts, state.run.file)
            : evaluation.message,
        ),
        changed,
        read: fresh !== undefined && added.includes(fresh),
        window: windowOf(state),
        next_reading:
          evaluation.nextReadingAt === undefined
            ? null
            : kept(formatIsoSeconds(evaluation.nextReadingAt)),
        shared: ambiguous && shared ? { ...shared } : null,
      },
    ]);
    return true;
  };

  const byOrder = <T>(list: Array<[number, T]>): T[] =>
    list.sort((x, y) => x[0] - y[0]).map(([, v]) => v);

  return {
    states,
    async apply(some, freshReadings, failures) {
      let sinceTurn = 0;
      for (const state of some) {
        // Reading files and editing them never waits for the event loop (reads are synchronous):
        // it is given a turn now and then, so that pages still coming are taken in meanwhile.
        if (++sinceTurn === RUNS_PER_TURN) {
          sinceTurn = 0;
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (!state.selected || state.windowError) continue;
        const failure = failures.get(state.id);
        if (!failure) {
          const fresh = freshReadings.get(state.id);
          merged.set(state.id, {
            ...withReadings(state.attempts, [
              ...(input.held?.get(state.id) ?? []),
              ...(fresh ? [fresh] : []),
            ]),
            fresh,
          });
        }
        if (!(await applyRun(state, failure, undefined))) waiting.push(state);
      }
    },
    async finish(keyTotals) {
      const keyUsageOf = keyUsage(states, merged, keyTotals);
      for (const state of byOrder(waiting.map((s) => [order.get(s.id)!, s])))
        await applyRun(state, undefined, keyUsageOf);
      const manifest = discovery.manifest;
      const updates = byOrder(manifestUpdates);
      if (manifest && updates.length > 0) {
        try {
          const after = applyManifestUpdates(
            manifest.text,
            manifest.entries,
            manifest.keys,
            updates,
          );
          if (after !== manifest.text)
            await emit(states.length, {
              path: manifest.path,
              before: manifest.digest,
              after,
              manifestUpdates: updates,
            });
        } catch (error) {
          // a manifest that cannot be edited safely is reported and left as it is; runs go on
          if (!(error instanceof JsonEditError)) throw error;
          otherProblems.push({ path: manifest.path, reason: `not updated: ${error.message}` });
        }
      }
      const warnings = [
        ...[...unpriced.values()]
          .sort((x, y) => x.first - y.first)
          .map((u) => {
            const names = byOrder(u.runs);
            return `no cost for ${names.length} run(s) using ${u.model}: ${u.reason}; COST_USD is left null, not 0${u.model === "(no model)" ? "" : " (add the model, or the rate it lacks, to config.yaml pricing or a pricing file)"}; runs: ${names.slice(0, 5).map(shortRun).join(", ")}${names.length > 5 ? ` and ${names.length - 5} more` : ""}`;
          }),
        ...[...priceWarnings].sort((x, y) => x[1] - y[1]).map(([w]) => w),
        ...otherProblems.map((p) => `${p.path}: ${p.reason}`),
      ];
      return {
        runs: sortRuns([...errorRows, ...byOrder(rows)]),
        changes: byOrder(changes),
        changedPaths: byOrder(changedPaths),
        warnings,
        otherProblems,
        readings,
        held,
        states,
      };
    },
  };
}

/**
 * What is known of a run's key beyond the run: `none` when this pass read the key and it had no
 * usage anywhere in the fetched minutes; `elsewhere` when another run of the same framework has a
 * non-zero reading taken with the key this run's newest reading used.
 */
function keyUsage(
  states: readonly RunState[],
  merged: ReadonlyMap<string, { attempts: Attempt[] }>,
  keyTotals: ReadonlyMap<string, Totals> | undefined,
): (state: RunState, attempts: readonly Attempt[]) => "elsewhere" | "none" | undefined {
  const withUsage = new Map<string, Set<string>>();
  for (const s of states) {
    for (const a of merged.get(s.id)?.attempts ?? s.attempts) {
      const key = a.api_key_id ?? s.keyId;
      if (key === undefined || isZero(totalsOf(a))) continue;
      const id = `${s.run.framework}\u0000${key}`;
      withUsage.set(id, (withUsage.get(id) ?? new Set()).add(s.id));
    }
  }
  return (state, attempts) => {
    const key = attempts.at(-1)?.api_key_id ?? state.keyId;
    if (key === undefined) return undefined;
    const fetched = keyTotals?.get(key);
    if (fetched && isZero(fetched)) return "none";
    const runs = withUsage.get(`${state.run.framework}\u0000${key}`);
    // a set holds each run once: another run is in it unless this run is all it holds
    return runs && (runs.size > 1 || !runs.has(state.id)) ? "elsewhere" : undefined;
  };
}

/** verified_at as the file says it after this pass (a settled verification keeps its recorded time). */
function verifiedAtOf(
  state: RunState,
  evaluation: Evaluation,
  added: readonly Attempt[],
): string | null {
  if (evaluation.status !== "verified") return null;
  const rec = state.run.file.usage_api_reconciliation;
  const settled =
    added.length === 0 &&
    rec?.verification_status === "verified" &&
    typeof rec.verified_at === "string";
  return settled ? (rec.verified_at as string) : (evaluation.verifiedAt ?? null);
}

/**
 * Whether writing the new readings would only repeat the file's last reading: same totals, same
 * status, and nothing else (aggregates, cost) to change. Such readings can wait in the cache.
 */
function onlyRepeatsTheFile(
  state: RunState,
  text: string,
  target: MetricsTarget,
  added: readonly Attempt[],
): boolean {
  const last = state.attempts.at(-1);
  const file = state.run.file;
  if (
    !last ||
    !added.every((a) => sameReading(a, last)) ||
    file.verification_status !== target.status
  )
    return false;
  const rec = file.usage_api_reconciliation;
  const rest = applyMetricsTarget(text, file, {
    ...target,
    newAttempts: [],
    message: rec?.verification_message ?? target.message,
    verifiedAt: rec?.verified_at ?? target.verifiedAt,
  });
  return rest === text;
}

/**
 * A run's file read again to be edited: its text, or undefined when it no longer holds the bytes
 * discovery judged (another process changed it, or it is gone). The content discovery kept
 * (`run.file`) is that of these very bytes, so the text is not parsed again.
 */
async function readAgain(files: Files, run: DiscoveredRun): Promise<string | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await files.read(run.path, MAX_FILE_BYTES);
  } catch {
    return undefined;
  }
  return contentDigest(bytes) === run.digest ? decodeUtf8(bytes) : undefined;
}

const idOf = (s: RunState) => ({ framework: s.run.framework, runId: s.run.runId });

// nearly every run's window is its own: flat copies, without a table of them
const windowOf = (s: RunState) =>
  s.window
    ? {
        start: flatText(formatIsoSeconds(s.window.start)),
        end: flatText(formatIsoSeconds(s.window.end)),
      }
    : null;

// localeCompare without arguments, made once: calling localeCompare sets one up per comparison
const { compare } = new Intl.Collator();

const sortRuns = (runs: RunReport[]): RunReport[] =>
  runs.sort(
    (a, b) =>
      compare(a.framework, b.framework) ||
      compare(a.window?.start ?? "", b.window?.start ?? "") ||
      compare(a.run_id, b.run_id),
  );
