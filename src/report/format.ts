import { countText } from "../util/count.ts";

/** Numbers as every report shows them: terminal tables, job summary, comment. */

export const int = (n: number | null | undefined): string =>
  n === null || n === undefined ? "–" : countText(Math.round(n));

export const usd = (n: number | null | undefined): string => {
  if (n === null || n === undefined) return "–";
  return `$${n.toFixed(n !== 0 && Math.abs(n) < 0.01 ? 6 : 4)}`;
};

/** `+1.25%`, `-0.50%`, or `–`. */
export const signedPercent = (p: number | null): string =>
  p === null ? "–" : `${p > 0 ? "+" : ""}${p.toFixed(2)}%`;

/** A share (0..1) as `88.8%`, or `–`. */
export const share = (r: number | null): string => (r === null ? "–" : `${(r * 100).toFixed(1)}%`);
