/**
 * Text from files, directory names and APIs on its way to a terminal, a log, a report or a
 * comment: cut to a readable length, control characters made visible, and no line the GitHub
 * runner would take for a workflow command.
 */

/** Longest message quoted anywhere (terminal, JSON report, summary, annotations, comment). */
export const MESSAGE_MAX_CHARS = 400;

/** The first `max` characters, without splitting a surrogate pair. */
export function head(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/**
 * Cuts a quoted message to `max` characters (never inside a surrogate pair) and says how much was
 * left out. The one function every output path cuts messages with.
 */
export function cutMessage(text: string, max = MESSAGE_MAX_CHARS): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}… (${(text.length - end).toLocaleString("en-US")} more characters)`;
}

/**
 * C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the bidirectional
 * overrides and isolates (which reorder what a reader sees).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** Control characters as visible escapes (`\n`, `\x1b`, `\u2028`): one value stays on one line. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** A name or message shown on one line: cut, with its control characters made visible. */
export const oneLine = (text: string, max = MESSAGE_MAX_CHARS): string =>
  escapeControl(cutMessage(text, max));

// What the runner trims before looking for `::` (.NET's Char.IsWhiteSpace, plus what JavaScript
// trims, to be safe), line breaks excepted: those start a new line.
const SPACE = new Set([
  0x09, 0x0b, 0x0c, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
  0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff,
]);

const LINE_OR_HASH = /[\n\r#]/g;

/**
 * A filter for a stream of printed text, so that no line can be read by the GitHub runner as a
 * workflow command. The runner reads a line (split at `\n`, `\r` or both) as a command when it
 * starts with `::` after leading white space, or when it holds `##[` anywhere (the old syntax).
 * The filter writes the second `:` of such a start as `\u003a` and the `[` of `##[` as `\u005b`,
 * escapes that also read back as the same characters inside a JSON string. It keeps state between
 * chunks, so a command split over two writes is caught too.
 */
export function commandGuard(): (chunk: string) => string {
  // 0: the line so far is white space; 1: white space then one ':'; 2: no command can start
  let lead = 0;
  let hashes = 0;
  return (chunk: string): string => {
    let out = "";
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c === 0x0a || c === 0x0d) {
        lead = 0;
        hashes = 0;
        continue;
      }
      if (c === 0x3a /* : */) {
        hashes = 0;
        if (lead === 0) lead = 1;
        else if (lead === 1) {
          out += `${chunk.slice(from, i)}\\u003a`;
          from = i + 1;
          lead = 2;
        }
        continue;
      }
      if (c === 0x23 /* # */) {
        hashes++;
        lead = 2;
        continue;
      }
      if (c === 0x5b /* [ */ && hashes >= 2) {
        out += `${chunk.slice(from, i)}\\u005b`;
        from = i + 1;
      }
      hashes = 0;
      // (every one of SPACE but the blank is below it or from 0x85 on)
      if (!(lead === 0 && (c === 0x20 || ((c < 0x20 || c >= 0x85) && SPACE.has(c))))) lead = 2;
      if (lead === 2) {
        // the rest of the line can only matter at a `#`: go there, or to the next line, at once
        LINE_OR_HASH.lastIndex = i + 1;
        const next = LINE_OR_HASH.exec(chunk);
        i = (next === null ? chunk.length : next.index) - 1;
      }
    }
    return from === 0 ? chunk : out + chunk.slice(from);
  };
}

/** `commandGuard` for one self-contained text (a log line or block that starts a line). */
export const neutraliseCommands = (text: string): string => commandGuard()(text);
