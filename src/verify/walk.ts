import type { Attempt } from "../runs/schema.ts";
import { attemptTime, sameReading } from "./reading.ts";

export interface WalkResult {
  /** Stable pairs found from the newest reading back. */
  stablePairs: number;
  /** Pairs of identical readings closer than the interval, passed over. */
  passedOver: number;
  /** Why the walk stopped before the oldest reading, if it did. */
  stoppedBy?: "differs" | "untrusted";
}

/**
 * The verification walk (docs/design.md#verification): from the newest reading back, each pair of
 * consecutive identical readings at least `intervalSeconds` apart is a stable pair; an identical
 * pair closer than that is passed over; a differing pair ends the walk. `untrusted` marks readings
 * that must not vouch for the current value (taken over a window that overlapped another run):
 * reaching one ends the walk like a differing reading.
 */
export function walkReadings(
  attemptsOldestFirst: readonly Attempt[],
  intervalSeconds: number,
  untrusted: (a: Attempt) => boolean = () => false,
): WalkResult {
  let stablePairs = 0;
  let passedOver = 0;
  for (let i = attemptsOldestFirst.length - 1; i >= 1; i--) {
    const newer = attemptsOldestFirst[i]!;
    const older = attemptsOldestFirst[i - 1]!;
    if (untrusted(newer) || untrusted(older))
      return { stablePairs, passedOver, stoppedBy: "untrusted" };
    if (!sameReading(newer, older)) return { stablePairs, passedOver, stoppedBy: "differs" };
    if (attemptTime(newer) - attemptTime(older) >= intervalSeconds) stablePairs++;
    else passedOver++;
  }
  return { stablePairs, passedOver };
}
