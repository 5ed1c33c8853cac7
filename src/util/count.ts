/**
 * A count as `n.toLocaleString("en-US")` writes it (`1,234,567`), for the messages and tables a
 * pass writes for every run: a whole number is grouped here, anything else goes to the locale
 * formatting. Faster than ICU for the counts every message quotes; the same text.
 */
export function countText(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0 || Object.is(n, -0)) return n.toLocaleString("en-US");
  let rest = n;
  let text = "";
  while (rest >= 1000) {
    const group = rest % 1000;
    text = `,${group < 10 ? "00" : group < 100 ? "0" : ""}${group}${text}`;
    rest = Math.floor(rest / 1000);
  }
  return `${rest}${text}`;
}
