import { constants } from "node:os";
import { releaseHeldLocksSync } from "./lock.ts";
import { removeTempFilesInFlight } from "./node.ts";

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * On SIGINT or SIGTERM (Ctrl-C, `kill`, a cancelled workflow), removes the temporary files of the
 * writes in flight and this process's runs-directory locks, then exits with the conventional code
 * (128 + the signal's number: 130, 143). Files already renamed into place are whole; the others
 * keep their old content. (SIGKILL cannot be caught: the next pass sweeps what it leaves, see
 * sweep.ts and lock.ts.) Returns a function that removes the handlers again.
 */
export function cleanUpOnSignals(onSignal?: (signal: NodeJS.Signals) => void): () => void {
  const handler = (signal: NodeJS.Signals) => {
    removeTempFilesInFlight();
    releaseHeldLocksSync();
    try {
      onSignal?.(signal);
    } finally {
      process.exit(128 + (constants.signals[signal] ?? 0));
    }
  };
  for (const s of SIGNALS) process.on(s, handler);
  return () => {
    for (const s of SIGNALS) process.off(s, handler);
  };
}
