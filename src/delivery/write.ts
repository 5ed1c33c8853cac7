import { applyManifestUpdates } from "../edit/manifest.ts";
import { contentDigest } from "../fs/digest.ts";
import type { Files } from "../fs/types.ts";
import type { Applied, ChangeSink, FileChange } from "../reconcile/apply.ts";
import type { PassReport, RunReport } from "../report/schema.ts";
import { MAX_MANIFEST_BYTES, parseJsonText } from "../runs/discover.ts";
import { describeIssues, ManifestSchema } from "../runs/schema.ts";

export interface WriteFailure {
  path: string;
  reason: string;
}

export interface WriteOptions {
  /** Files written at a time (each write waits for its fsync); default 16. */
  concurrency?: number;
  /**
   * This pass's changes recomputed from the files as they are now (reapplyPass). Called once
   * when a file changed on disk after the pass read it, so that this pass's edit is made on the
   * new text instead of overwriting another process's change. Without it such a file is reported.
   */
  reapply?: () => Promise<Applied>;
  /** When given, runs whose file was not written become `error` rows in it (totals follow). */
  report?: PassReport;
}

const MOVED =
  "changed by another process during the pass, and this pass's edit could not be made on the new text; not written (the next pass reads it again)";
const MOVED_AGAIN =
  "changed again by another process while this pass wrote it; not written (the next pass reads it again)";

/** The digest of the file's bytes now; undefined when it is gone or unreadable. */
async function digestNow(files: Files, path: string): Promise<string | undefined> {
  try {
    return contentDigest(await files.read(path));
  } catch {
    return undefined;
  }
}

/** Writes a pass's changes as they come (ChangeSink), then finishes what needs them all. */
export interface ChangeWriter extends ChangeSink {
  /**
   * Waits for the writes under way and drops the changes not yet started: a pass that failed
   * half-way writes nothing more (and the manifest is not updated), and no write outlives the lock.
   */
  settle(): Promise<void>;
  /**
   * After the last change: writes the rest, re-applies the pass for the files that moved, writes
   * the manifest, and reports what could not be written.
   */
  finish(options?: Omit<WriteOptions, "concurrency">): Promise<WriteFailure[]>;
}

/**
 * Changes written together: one batch is written while the edits of the next are made, so a pass
 * holds at most two batches of new texts.
 */
const BATCH = 256;

/**
 * Writes a pass's changes (docs/design.md#trust-rules), each atomically:
 * - every file is re-read just before it is replaced; one that changed since the pass read it
 *   (another process edited it) gets this pass's edit re-applied on its new text (`reapply`),
 *   or is reported — never overwritten;
 * - run files first, in batches as they come (`concurrency` at a time), then the manifest, re-read
 *   too and updated only for the runs whose file was written (or needed no write), so it never
 *   disagrees with the files.
 * A file that cannot be written is reported and the rest still are. Batches, rather than writes
 * started as each edit is made: many writes in flight among the reads for the edits slowed both
 * on the disks measured (docs/design.md#writing-files).
 */
export function changeWriter(files: Files, concurrency = 16): ChangeWriter {
  const failed = new Map<string, string>();
  const fail = (path: string, error: unknown) =>
    failed.set(path, error instanceof Error ? error.message : String(error));
  const moved: FileChange[] = [];
  let manifest: FileChange | undefined;
  let waiting: FileChange[] = [];
  let writing: Promise<void> = Promise.resolve();
  let settled = false;

  /** Writes `c` if the file still holds what `c` was computed from. */
  const replace = async (c: FileChange): Promise<boolean> => {
    if (c.after === null || (await digestNow(files, c.path)) !== c.before) return false;
    await files.writeAtomic(c.path, c.after);
    return true;
  };
  const write = async (c: FileChange): Promise<void> => {
    try {
      if (!(await replace(c))) moved.push(c);
    } catch (error) {
      fail(c.path, error);
    }
  };
  /** Starts writing the changes waiting, once the batch before has been written. */
  const flush = async (): Promise<void> => {
    const batch = waiting;
    waiting = [];
    await writing;
    // a pass that failed meanwhile (settle) starts no more writes
    if (!settled) writing = inParallel(batch, concurrency, write);
  };

  return {
    async put(c) {
      if (c.manifestUpdates !== undefined) manifest = c;
      else if (waiting.push(c) >= BATCH) await flush();
    },
    async settle() {
      settled = true;
      waiting = [];
      await writing;
    },
    async finish(options = {}) {
      await flush();
      await writing;
      let reapplied: Applied | undefined;
      if (moved.length > 0 && options.reapply) {
        try {
          reapplied = await options.reapply();
        } catch (error) {
          for (const c of moved) fail(c.path, `${MOVED} (${String(error)})`);
        }
      }
      if (reapplied) {
        const again = new Map(reapplied.changes.map((c) => [c.path, c]));
        const rows = new Map(reapplied.runs.map((r) => [r.path, r]));
        await inParallel(moved, concurrency, async (m) => {
          const c = again.get(m.path);
          if (!c) {
            // nothing left to write (the new text already says it), unless the new text is broken
            const row = rows.get(m.path);
            if (row?.status === "error") failed.set(m.path, `${MOVED}: ${row.message}`);
            return;
          }
          try {
            if (!(await replace(c))) failed.set(m.path, MOVED_AGAIN);
          } catch (error) {
            fail(m.path, error);
          }
        });
        // the manifest as the re-applied pass wants it (it saw the new texts)
        manifest = reapplied.changes.find((c) => c.manifestUpdates !== undefined);
      } else for (const c of moved) if (!failed.has(c.path)) failed.set(c.path, MOVED);

      if (manifest) {
        try {
          await writeManifest(files, manifest, failed);
        } catch (error) {
          fail(manifest.path, error);
        }
      }
      const failures = [...failed]
        .map(([path, reason]) => ({ path, reason }))
        .sort((a, b) => a.path.localeCompare(b.path));
      if (options.report) {
        if (reapplied) {
          const rewritten = moved.map((m) => m.path).filter((p) => !failed.has(p));
          replaceRows(options.report, reapplied, new Set(rewritten));
        }
        recordWriteFailures(options.report, failures);
      }
      return failures;
    },
  };
}

/** Writes a pass's changes all at once (see changeWriter). */
export async function writeChanges(
  files: Files,
  changes: readonly FileChange[],
  options: WriteOptions = {},
): Promise<WriteFailure[]> {
  const writer = changeWriter(files, options.concurrency);
  for (const c of changes) await writer.put(c);
  return writer.finish(options);
}

/** Updates the manifest as it is now with the entries of the runs whose file was not refused. */
async function writeManifest(
  files: Files,
  change: FileChange,
  failed: ReadonlyMap<string, string>,
): Promise<void> {
  const updates = (change.manifestUpdates ?? []).filter((u) => !failed.has(u.runPath));
  const bytes = await files.read(change.path, MAX_MANIFEST_BYTES);
  // Still the text the pass edited, and every update kept: the pass's edit is what this would
  // make again (a manifest of 100,000 runs took 2.6 s to parse, check and edit a second time).
  if (
    change.after !== null &&
    updates.length === change.manifestUpdates?.length &&
    contentDigest(bytes) === change.before
  ) {
    await files.writeAtomic(change.path, change.after);
    return;
  }
  const parsed = parseJsonText(bytes);
  if ("error" in parsed)
    throw new Error(
      `changed during the pass and is no longer valid (${parsed.error}); not updated`,
    );
  const manifest = ManifestSchema.safeParse(parsed.value);
  if (!manifest.success)
    throw new Error(
      `changed during the pass and is no longer valid (${describeIssues(manifest.error)}); not updated`,
    );
  const after = applyManifestUpdates(parsed.text, manifest.data.runs, parsed.keys, updates);
  if (after !== parsed.text) await files.writeAtomic(change.path, after);
}

async function inParallel<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

type Totals = PassReport["totals"];

/** Adds (sign 1) or removes (sign −1) a run row's share of the report's totals. */
function count(totals: Totals, row: RunReport, sign: 1 | -1): void {
  totals.by_status[row.status] += sign;
  totals.tokens_in += sign * (row.tokens_in ?? 0);
  totals.tokens_out += sign * (row.tokens_out ?? 0);
  totals.cached_tokens += sign * (row.cached_tokens ?? 0);
  totals.api_calls += sign * (row.api_calls ?? 0);
  if (row.api_calls === null && row.tokens_in !== null) totals.api_calls_unknown_runs += sign;
  if (row.cost_usd !== null)
    totals.cost_usd = Math.round((totals.cost_usd + sign * row.cost_usd) * 1e10) / 1e10;
  else if (row.tokens_in !== null) totals.cost_unknown_runs += sign;
}

/** Each run row's place in the report by path (the first, as findIndex would): failures × runs otherwise. */
function rowIndex(report: PassReport): Map<string, number> {
  const index = new Map<string, number>();
  report.runs.forEach((r, i) => {
    if (!index.has(r.path)) index.set(r.path, i);
  });
  return index;
}

/** The rows of the runs whose edit was re-applied on a new text, as the re-applied pass saw them. */
function replaceRows(report: PassReport, reapplied: Applied, paths: ReadonlySet<string>): void {
  const rowOf = rowIndex(report);
  for (const row of reapplied.runs) {
    if (!paths.has(row.path)) continue;
    const i = rowOf.get(row.path) ?? -1;
    if (i < 0) continue;
    const old = report.runs[i]!;
    count(report.totals, old, -1);
    count(report.totals, row, 1);
    report.errors += (row.status === "error" ? 1 : 0) - (old.status === "error" ? 1 : 0);
    report.runs[i] = row;
  }
}

/**
 * Puts write failures in a report: a run whose file was not written becomes `error` with the
 * reason (its reading is in no file), any other file a warning; each counts as an error.
 */
export function recordWriteFailures(report: PassReport, failures: readonly WriteFailure[]): void {
  const rowOf = failures.length > 0 ? rowIndex(report) : new Map<string, number>();
  for (const f of failures) {
    const i = rowOf.get(f.path) ?? -1;
    const row = report.runs[i];
    if (row) {
      if (row.status !== "error") report.errors++;
      count(report.totals, row, -1);
      const errored: RunReport = {
        ...row,
        status: "error",
        tokens_in: null,
        tokens_out: null,
        cached_tokens: null,
        api_calls: null,
        cost_usd: null,
        stable_checks: 0,
        verified_at: null,
        message: `not written: ${f.reason}`,
        changed: false,
      };
      count(report.totals, errored, 1);
      report.runs[i] = errored;
    } else {
      report.warnings.push(`${f.path}: could not be written (${f.reason})`);
      report.errors++;
    }
  }
  const failedPaths = new Set(failures.map((f) => f.path));
  report.changed_files = report.changed_files.filter((p) => !failedPaths.has(p));
}
