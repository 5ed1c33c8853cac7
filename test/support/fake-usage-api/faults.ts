/**
 * Fault plans: a fixed queue, or a deterministic pseudo-random mix. Generic over the fault type so
 * the fake Anthropic Admin API plans its own faults with the same helpers; the type defaults to
 * this fake's faults.
 */
import type { Fault } from "./types.ts";

/** A plan of faults of type F, consulted with the request's global index. */
export type PlanOf<F> = (ctx: { requestIndex: number }) => F | undefined;

/** The i-th request gets faults[i] (undefined answers normally); past the end, no faults. */
export function faultQueue<F extends { kind: string } = Fault>(
  faults: Array<F | undefined>,
): PlanOf<F> {
  const queue = [...faults];
  return ({ requestIndex }) => queue[requestIndex];
}

/** mulberry32: a tiny 32-bit PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Each request faults with probability `rate`, choosing uniformly among `kinds`. The draw depends
 * only on (seed, requestIndex), so the same seed yields the same faults for the same request
 * indices, however often or in whatever order the plan is consulted.
 */
export function seededFaults<F extends { kind: string } = Fault>(
  seed: number,
  rate: number,
  kinds: F[],
): PlanOf<F> {
  const choices = [...kinds];
  return ({ requestIndex }) => {
    if (choices.length === 0) return undefined;
    const random = mulberry32((seed ^ Math.imul(requestIndex + 1, 0x9e3779b1)) >>> 0);
    random(); // discard the first draw to decorrelate neighbouring indices further
    if (random() >= rate) return undefined;
    return choices[Math.floor(random() * choices.length)];
  };
}
