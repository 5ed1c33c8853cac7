import { lockRunsDir } from "./lock.ts";
import { cleanUpOnSignals } from "./signals.ts";
import { hasTempFileAtTop, sweepStaleTempFiles } from "./sweep.ts";

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
 * take the directory's lock (RunsLockHeldError when another pass holds it), then, when a killed
 * pass left its lock (or its lock's temporary file), sweep the temporary files it left behind.
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
  // A temporary file outlives its write only when its pass was killed (SIGKILL, a crash, a power
  // cut; SIGINT and SIGTERM remove them): such a pass leaves its lock behind, taken over here as
  // stale, or, killed while taking the lock, the lock's temporary file beside it. Otherwise there
  // is nothing to sweep, and listing every run directory would cost a pass of 10,000 runs 0.2 s.
  const swept =
    lock.tookOver || hasTempFileAtTop(runsDir) ? await sweepStaleTempFiles(runsDir) : [];
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
