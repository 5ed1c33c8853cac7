import { type Dirent, readdirSync } from "node:fs";
import { lstat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { isTempFileInFlight } from "./node.ts";
import { processIsAlive } from "./process.ts";

/**
 * Temporary files of our own atomic writes (node.ts), for the files a pass writes:
 * `.metrics.json.<pid>-<12 hex>.tmp`, `.manifest.json.…`, `.runs_manifest.json.…`, and the lock's
 * (`.reconcile-usage.lock.<pid>-<12 hex>.tmp`, lock.ts). Earlier versions wrote them without the
 * pid (`.metrics.json.<12 hex>.tmp`). Nothing else is ever swept.
 */
const TEMP_NAME =
  /^\.(?:metrics\.json|manifest\.json|runs_manifest\.json|reconcile-usage\.lock)\.(?:(\d{1,10})-)?[0-9a-f]{12}\.tmp$/;

/** Whether the runs directory itself holds a temporary file of ours (the lock's, a manifest's). */
export function hasTempFileAtTop(runsDir: string): boolean {
  try {
    return readdirSync(runsDir).some((name) => TEMP_NAME.test(name));
  } catch {
    return false;
  }
}

/**
 * A temporary file lives for the milliseconds of one write; one whose writer may still be alive
 * is left alone until it is older than this, far longer than any pass takes to write its files.
 */
export const STALE_TEMP_AGE_MS = 60 * 60 * 1000;

/** Directories listed at a time, per directory above them. */
const SWEEP_CONCURRENCY = 16;

export interface SweepOptions {
  /** Current time, ms (default Date.now()). */
  now?: number;
  staleAgeMs?: number;
}

/**
 * Removes temporary files left by earlier passes that were killed (SIGKILL, a crash, a power cut)
 * from the runs directory, the framework directories and the run directories. Call it only while
 * holding the runs directory's lock (lock.ts): no other pass writes there then. A file goes when
 * the process that wrote it is gone (its pid, same host), or this process itself (a reused pid:
 * what it writes now is tracked in memory), or it is older than `staleAgeMs`. Symbolic links and
 * hidden directories are not entered. Returns the paths removed.
 */
export async function sweepStaleTempFiles(
  runsDir: string,
  options: SweepOptions = {},
): Promise<string[]> {
  const now = options.now ?? Date.now();
  const staleAge = options.staleAgeMs ?? STALE_TEMP_AGE_MS;
  const removed: string[] = [];

  const sweepDir = async (dir: string, depth: number): Promise<void> => {
    let entries: Dirent[];
    try {
      // synchronous, as discovery lists (see node.ts): one call per run directory
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // unreadable: discovery reports it; nothing of ours can be in it either way
    }
    const subdirs: string[] = [];
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (depth < 2 && !e.name.startsWith(".")) subdirs.push(path);
        continue;
      }
      if (!e.isFile()) continue;
      const match = TEMP_NAME.exec(e.name);
      if (!match || isTempFileInFlight(path)) continue;
      const pid = match[1] === undefined ? undefined : Number(match[1]);
      let stale = pid !== undefined && (pid === process.pid || !processIsAlive(pid));
      if (!stale) {
        try {
          stale = now - (await lstat(path)).mtimeMs > staleAge;
        } catch {
          continue;
        }
      }
      if (!stale) continue;
      try {
        await unlink(path);
        removed.push(path);
      } catch {
        // gone already, or not ours to remove: the next pass tries again
      }
    }
    // a few directories at a time: a stale file found is a stat and a removal by the I/O threads
    let next = 0;
    const worker = async () => {
      while (next < subdirs.length) await sweepDir(subdirs[next++]!, depth + 1);
    };
    await Promise.all(Array.from({ length: Math.min(SWEEP_CONCURRENCY, subdirs.length) }, worker));
  };
  await sweepDir(runsDir, 0);
  return removed.sort();
}
