/**
 * Independent answers the tests compare the product against, written apart from src/ so a bug in
 * the planner cannot agree with itself.
 */

/** Fewest pages of 1440 minutes covering the windows: greedy from the first uncovered minute. */
export function fewestPages(windows: ReadonlyArray<{ start: number; end: number }>): number {
  const page = 1440 * 60;
  let covered = Number.NEGATIVE_INFINITY;
  let pages = 0;
  for (const w of [...windows].sort((a, b) => a.start - b.start)) {
    for (let s = Math.max(w.start, covered); s < w.end; s = covered) {
      pages++;
      covered = s + page;
    }
  }
  return pages;
}
