import type { QueryWindow, Span } from "../model.ts";
import { MINUTE } from "../util/time.ts";

/** Sorted, disjoint union of the windows. */
export function unionOf(windows: readonly QueryWindow[]): Span[] {
  const sorted = [...windows].sort((a, b) => a.start - b.start);
  const out: Span[] = [];
  for (const w of sorted) {
    const last = out.at(-1);
    if (last && w.start <= last.end) last.end = Math.max(last.end, w.end);
    else out.push({ start: w.start, end: w.end });
  }
  return out;
}

/**
 * The fewest pages that cover every minute of the windows (docs/design.md#reading-usage). Covering
 * points on a line with fixed-length pages is solved exactly by the greedy rule: open a page at the
 * first minute not yet covered. Pages that follow a full page without a gap are merged into one
 * span, which the API then pages through with its cursor: same count, fewer queries to plan.
 */
export function planSpans(
  windows: readonly QueryWindow[],
  pageMinutes: number,
  fillUntil?: number,
): Span[] {
  const pageSeconds = pageMinutes * MINUTE;
  const union = unionOf(windows);
  const pages: Span[] = [];
  let i = 0;
  let from = union[0]?.start ?? 0;
  while (i < union.length) {
    const start = Math.max(from, union[i]!.start);
    const limit = start + pageSeconds;
    let end = start;
    while (i < union.length && union[i]!.start < limit) {
      end = Math.min(union[i]!.end, limit);
      if (union[i]!.end <= limit) i++;
      else break;
    }
    pages.push({ start, end });
    from = end;
  }
  // A page costs one request however much of it is used: fill each to its full length (up to
  // `fillUntil`), so usage outside every window shows up (unattributed) at no cost. The next
  // page never starts before this one's full length, so filled pages do not overlap.
  if (fillUntil !== undefined) {
    for (const page of pages)
      page.end = Math.max(page.end, Math.min(page.start + pageSeconds, fillUntil));
  }
  const spans: Span[] = [];
  for (const page of pages) {
    const last = spans.at(-1);
    if (last && last.end === page.start && (last.end - last.start) % pageSeconds === 0)
      last.end = page.end;
    else spans.push({ ...page });
  }
  return spans;
}

/** Requests a span needs at best: one per page of `pageMinutes` buckets (the provider's). */
export const pagesFor = (span: Span, pageMinutes: number): number =>
  Math.ceil((span.end - span.start) / MINUTE / pageMinutes);

/** `Σ ceil(span_minutes / page_minutes)` over the spans: the fewest requests that can fetch them. */
export const requestLowerBound = (spans: readonly Span[], pageMinutes: number): number =>
  spans.reduce((n, s) => n + pagesFor(s, pageMinutes), 0);
