/**
 * Text laid out for a terminal of a given width: words wrapped, and table columns dropped by
 * priority until the last column (a message) has room. A width of Infinity is a log file or a
 * pipe: nothing is wrapped or dropped.
 */

/** Code points, not UTF-16 units: `…` and `±` take one column each. */
export const widthOf = (text: string): number => [...text].length;

const padEnd = (text: string, width: number): string =>
  text + " ".repeat(Math.max(0, width - widthOf(text)));
const padStart = (text: string, width: number): string =>
  " ".repeat(Math.max(0, width - widthOf(text))) + text;

/** `text` in lines of at most `width` columns, broken at spaces (a longer word is cut). */
export function wrap(text: string, width: number): string[] {
  if (!Number.isFinite(width) || widthOf(text) <= width) return [text];
  const w = Math.max(1, Math.floor(width));
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    let rest = word;
    while (widthOf(rest) > w) {
      // a word longer than the line (a URL, a long id): cut it where the line ends
      const room = line === "" ? w : w - widthOf(line) - 1;
      if (room < 8) {
        if (line !== "") lines.push(line);
        line = "";
        continue;
      }
      const chars = [...rest];
      line =
        line === "" ? chars.slice(0, room).join("") : `${line} ${chars.slice(0, room).join("")}`;
      lines.push(line);
      line = "";
      rest = chars.slice(room).join("");
    }
    if (rest === "") continue;
    if (line === "") line = rest;
    else if (widthOf(line) + 1 + widthOf(rest) <= w) line = `${line} ${rest}`;
    else {
      lines.push(line);
      line = rest;
    }
  }
  if (line !== "") lines.push(line);
  return lines.length > 0 ? lines : [""];
}

export interface Column {
  header: string;
  cells: string[];
  right?: boolean;
  /** Dropped first when the terminal is narrow: higher drops earlier; absent: never dropped. */
  drop?: number;
}

export interface Fitted {
  text: string;
  /** Headers of the columns left out to fit the width. */
  dropped: string[];
}

/** Narrowest room the last column keeps before other columns are dropped for it. */
export const MIN_LAST_COLUMN = 32;

/**
 * A table whose last column wraps within `width`: columns are dropped (highest `drop` first) until
 * the last one has MIN_LAST_COLUMN columns; if it still has not, it goes on lines of its own under
 * each row, indented.
 */
export function fitTable(columns: readonly Column[], last: Column, width: number): Fitted {
  const widths = (cols: readonly Column[]) =>
    cols.map((c) => Math.max(widthOf(c.header), ...c.cells.map(widthOf)));
  const used = (cols: readonly Column[]) => widths(cols).reduce((a, w) => a + w + 2, 0);
  let kept = [...columns];
  const dropped: string[] = [];
  const byDrop = columns
    .filter((c) => c.drop !== undefined)
    .sort((a, b) => (b.drop ?? 0) - (a.drop ?? 0));
  for (const c of byDrop) {
    if (used(kept) + MIN_LAST_COLUMN <= width) break;
    kept = kept.filter((k) => k !== c);
    dropped.push(c.header);
  }
  const ws = widths(kept);
  const room = width - used(kept);
  const below = room < MIN_LAST_COLUMN;
  const rows = Math.max(0, ...kept.map((c) => c.cells.length), last.cells.length);
  const cellsOf = (i: number) =>
    kept.map((c, k) =>
      c.right ? padStart(c.cells[i] ?? "", ws[k]!) : padEnd(c.cells[i] ?? "", ws[k]!),
    );
  const indent = " ".repeat(used(kept));
  const lines: string[] = [];
  const head = (cells: string[], lastCell: string) =>
    lines.push(`${cells.join("  ")}  ${lastCell}`.trimEnd());
  head(
    kept.map((c, k) => (c.right ? padStart(c.header, ws[k]!) : padEnd(c.header, ws[k]!))),
    below ? "" : last.header,
  );
  const lastWidth = Math.max(widthOf(last.header), ...last.cells.map(widthOf));
  head(
    ws.map((w) => "-".repeat(w)),
    below ? "" : "-".repeat(Math.min(lastWidth, Math.max(room, widthOf(last.header)))),
  );
  for (let i = 0; i < rows; i++) {
    const message = last.cells[i] ?? "";
    if (below) {
      head(cellsOf(i), "");
      for (const l of wrap(message, width - 4)) lines.push(`    ${l}`);
      continue;
    }
    const [first = "", ...more] = wrap(message, room);
    head(cellsOf(i), first);
    for (const l of more) lines.push(`${indent}${l}`);
  }
  return { text: lines.join("\n"), dropped };
}
