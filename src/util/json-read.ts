/**
 * Reading JSON text exactly, and telling in the same pass whether it writes a key twice.
 *
 * V8's JSON.parse (Node 24 and 26; nodejs/node#63785, open) can give a key written with an escape
 * (`"x\u0079"`) the wrong name: once some text read earlier in the process had, in an object of
 * otherwise the same keys, a key of the same length with a backslash where the escape starts
 * (`"x\\"`), the escaped key can come back under that earlier name. A pass reads thousands of
 * files in one process, so one odd file could move another file's value under a different key.
 * Text whose keys hold no backslash is what JSON.parse reads exactly; text with an escaped key is
 * read again here, each key and each value decoded by JSON.parse alone (a string alone is no key).
 */

import { skipSpace, stringEnd, valueEnd } from "./json-spans.ts";

/**
 * The keys valid JSON text writes (strings followed by a colon): how many, and whether one holds
 * an escape. Nothing is decoded or sliced.
 */
function keysWritten(text: string): { count: number; escaped: boolean } {
  let count = 0;
  let escaped = false;
  // outside strings, valid JSON has no quote: the next one always opens a string
  for (let open = text.indexOf('"'); open >= 0; ) {
    const end = stringEnd(text, open);
    const next = skipSpace(text, end);
    if (text.charCodeAt(next) === 0x3a) {
      count++;
      // Each key is looked through itself. In some processes V8's optimized code ran a search of
      // the whole text for a backslash, made once before this loop, again at every key (a profile:
      // memchr, called from this code): a 7 MB manifest without one took 24 s instead of 8 ms.
      if (!escaped)
        for (let i = open + 1; i < end - 1; i++)
          if (text.charCodeAt(i) === 0x5c) {
            escaped = true;
            break;
          }
    }
    open = text.indexOf('"', next);
  }
  return { count, escaped };
}

/**
 * Valid JSON text read token by token, without JSON.parse's object shapes: each key and each
 * scalar is decoded by JSON.parse on its own. Iterative, for text nested deeper than a call stack.
 */
function parseKeysExactly(text: string): unknown {
  let root: unknown;
  const open: Array<Record<string, unknown> | unknown[]> = [];
  // the key the innermost object's next value goes under, once read (a container takes its key
  // as it opens, so none waits when it closes)
  let key: string | undefined;
  const put = (value: unknown): void => {
    const parent = open.at(-1);
    if (parent === undefined) root = value;
    else if (Array.isArray(parent)) parent.push(value);
    // defined, not assigned: a key named __proto__ is a property, as JSON.parse makes it
    else
      Object.defineProperty(parent, key!, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
  };
  for (let i = skipSpace(text, 0); i < text.length; i = skipSpace(text, i + 1)) {
    const c = text.charCodeAt(i);
    if (c === 0x2c || c === 0x3a) continue;
    if (c === 0x7b || c === 0x5b) {
      const container = c === 0x7b ? {} : [];
      put(container);
      open.push(container);
      key = undefined;
    } else if (c === 0x7d || c === 0x5d) {
      open.pop();
      key = undefined;
    } else if (c === 0x22) {
      const end = stringEnd(text, i);
      const value = JSON.parse(text.slice(i, end)) as string;
      const parent = open.at(-1);
      // in an object, a string is a key when no key is waiting for its value
      if (parent !== undefined && !Array.isArray(parent) && key === undefined) key = value;
      else {
        put(value);
        key = undefined;
      }
      i = end - 1;
    } else {
      // a number, true, false or null
      const end = valueEnd(text, i);
      put(JSON.parse(text.slice(i, end)));
      key = undefined;
      i = end - 1;
    }
  }
  return root;
}

/** Own keys of every object in a parsed JSON value; undefined past `limit` levels of nesting. */
function keysParsed(value: unknown, limit: number): number | undefined {
  // a stack, not recursion: JSON.parse reads text nested far deeper than a call stack goes
  const stack: unknown[] = [value];
  const depths: number[] = [0];
  let keys = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    const depth = depths.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (depth >= limit) return undefined;
    const children = Array.isArray(v) ? v : Object.values(v);
    if (!Array.isArray(v)) keys += children.length;
    for (const child of children)
      if (typeof child === "object" && child !== null) {
        stack.push(child);
        depths.push(depth + 1);
      }
  }
  return keys;
}

/** How many keys valid JSON text writes (strings followed by a colon), decoding nothing. */
export const countKeysWritten = (text: string): number => keysWritten(text).count;

/** JSON.parse, exact for keys written with escapes (see above). Throws as JSON.parse does. */
export function parseJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (!text.includes("\\") || !keysWritten(text).escaped) return value;
  return parseKeysExactly(text);
}

/**
 * Reads JSON text (exactly, as parseJson) and tells whether it nests deeper than `limit`, and
 * whether an object holds a key twice, the keys compared as decoded. An exact reading keeps one
 * property per distinct key of an object, so the text holds a key twice exactly when it writes
 * more keys than the value's objects have together: counted without decoding or slicing a key
 * (comparing each key with its object's others took three times as long). `keys` is how many the
 * text writes. Text nested too deep is not read again: it is only to be refused. Throws as
 * JSON.parse does.
 */
export function parseJsonShape(
  text: string,
  limit: number,
): { value: unknown; keys: number; tooDeep: boolean; duplicateKey: boolean } {
  let value: unknown = JSON.parse(text);
  let parsed = keysParsed(value, limit);
  const written = keysWritten(text);
  if (parsed === undefined)
    return { value, keys: written.count, tooDeep: true, duplicateKey: false };
  if (written.escaped) {
    value = parseKeysExactly(text);
    parsed = keysParsed(value, limit);
  }
  return { value, keys: written.count, tooDeep: false, duplicateKey: parsed !== written.count };
}
