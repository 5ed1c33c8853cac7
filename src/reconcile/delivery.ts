import type { Files } from "../fs/types.ts";
import type { PassReport } from "../report/schema.ts";
import type { Applied, ChangeSink, FileChange } from "./apply.ts";

/**
 * What the pipeline needs of a delivery: the seam through which a pass's changes leave it. The
 * ways there are (the workspace, git, the GitHub API) live in src/delivery/.
 */

/** What a delivery needs of a finished pass. */
export interface PassToDeliver {
  /** Runs whose file could not be written become `error` in it (the workspace writer). */
  report: PassReport;
  /** The changes no sink took. */
  changes: readonly FileChange[];
  /** This pass's changes recomputed from `files` as they are now (another head, a new text). */
  reapply(files: Files): Promise<Applied>;
}

export interface Delivered {
  /** The commit made; null when none (nothing changed, or the workspace is the destination). */
  sha: string | null;
}

export interface Delivery {
  /**
   * What writing needs before the pass reads anything: the runs directory's lock, for a delivery
   * that writes the workspace (RunsLockHeldError when another pass holds it). Notes for the report.
   */
  begin(): Promise<string[]>;
  /**
   * The files the pass reads, asked after begin(), when they are not the workspace's: a delivery
   * whose commits land on another branch (commit: pull-request) reads that branch's head.
   */
  files?(): Files | undefined;
  /**
   * Where the pass puts each change as it makes it, asked once per pass after begin(), for a
   * delivery that takes them one by one (the workspace); `deliver` then gets the rest.
   */
  sink?(): ChangeSink;
  deliver(pass: PassToDeliver): Promise<Delivered>;
  /** Gives back what begin() took. */
  end(): Promise<void>;
}
