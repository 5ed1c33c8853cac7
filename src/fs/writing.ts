import { lockRunsDir } from "./lock.ts";
import { cleanUpOnSignals } from "./signals.ts";
import { sweepStaleTempFiles } from "./sweep.ts";

export interface WritingSession {
  /** What a user should know about the state earlier passes left (a stale lock, temp files). */
  notes: string[];
  /** Temporary files of earlier, killed passes that were removed. */
  swept: string[];
  /** Releases the lock and the signal handlers. */
  end(): Promise<void>;
}

/**
 * What a pass does before it writes into a runs directory (docs/design.md#trust-rules): clean up on SIGINT/SIGTERM,
 * take the directory's lock (RunsLockHeldError when another pass holds it), then sweep the
 * temporary files that killed passes left behind.
 */
export async function beginWriting(runsDir: string, tool: string): Promise<WritingSession> {
  const stopSignals = cleanUpOnSignals();
  let lock: Awaited<ReturnType<typeof lockRunsDir>>;
  try {
    lock = await lockRunsDir(runsDir, tool);
  } catch (error) {
    stopSignals();
    throw error;
  }
  const swept = await sweepStaleTempFiles(runsDir);
  const notes: string[] = [];
  if (lock.tookOver) notes.push(`took over a stale lock (${lock.tookOver.why})`);
  if (swept.length > 0)
    notes.push(
      `removed ${swept.length} temporary file(s) left by an interrupted earlier pass (${swept
        .slice(0, 3)
        .join(", ")}${swept.length > 3 ? ", …" : ""})`,
    );
  return {
    notes,
    swept,
    async end() {
      await lock.release();
      stopSignals();
    },
  };
}
