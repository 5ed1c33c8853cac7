import { constants } from "node:os";
import { setTimeout as delay } from "node:timers/promises";
import { releaseHeldLocksSync } from "./lock.ts";
import { removeTempFilesInFlight, stopWrites } from "./node.ts";

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** How long a signal waits for the writes under way to settle before exiting regardless. */
const SETTLE_MS = 2000;

/**
 * On SIGINT or SIGTERM (Ctrl-C, `kill`, a cancelled workflow): refuses new writes, lets the ones
 * under way settle (each renames its temporary file into place or removes it; at most SETTLE_MS),
 * removes any temporary file still there and this process's runs-directory locks, then exits with
 * the conventional code (128 + the signal's number: 130, 143). Every file is whole: the new text or
 * the old. A second signal exits at once, after the same removals. (SIGKILL cannot be caught: the
 * next pass sweeps what it leaves, see sweep.ts and lock.ts.) Returns a function that removes the
 * handlers again.
 */
export function cleanUpOnSignals(onSignal?: (signal: NodeJS.Signals) => void): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    const exit = () => {
      removeTempFilesInFlight();
      releaseHeldLocksSync();
      try {
        onSignal?.(signal);
      } finally {
        process.exit(128 + (constants.signals[signal] ?? 0));
      }
    };
    if (stopping) exit();
    stopping = true;
    void Promise.race([stopWrites(), delay(SETTLE_MS)]).finally(exit);
  };
  for (const s of SIGNALS) process.on(s, handler);
  return () => {
    for (const s of SIGNALS) process.off(s, handler);
  };
}
