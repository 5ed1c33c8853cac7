import { getNodePath, type Node, parseTree } from "jsonc-parser";
import { escapeControl } from "./control-chars.ts";
import { countKeysWritten, parseJsonShape } from "./json-read.ts";
import { type JsonPath, type SpanNode, spanAtPath, spansAlong } from "./json-spans.ts";

/**
 * Minimal-diff edits of JSON text (docs/design.md#writing-files). The edited values are located in
 * the text (json-spans.ts); we write only the bytes of the values that change, in the file's own
 * style (indent unit, line ending, \u escapes), so key order, number literals such as `1.0`,
 * escapes and the trailing newline stay as they were.
 */

export type { JsonPath } from "./json-spans.ts";

/**
 * Text the editor refuses to edit: not JSON, a key that appears twice in one object, or a path
 * that is not where the edit expects it. Callers turn it into that file's error; it never means
 * the pass is broken.
 */
export class JsonEditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JsonEditError";
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** A key as it can be shown safely: identifiers as they are, anything else quoted, escaped and cut. */
function keyLabel(key: string): string {
  if (IDENTIFIER.test(key)) return key;
  return `["${escapeControl(key, 60).replaceAll('"', '\\"')}"]`;
}

/** A path the way messages name fields: `aggregate_metrics.TOK_IN`, `runs[3].run_id`. */
export function formatJsonPath(path: JsonPath): string {
  return path
    .map((p, i) => {
      if (typeof p === "number") return `[${p}]`;
      const label = keyLabel(p);
      return i === 0 || label.startsWith("[") ? label : `.${label}`;
    })
    .join("");
}

/**
 * The first key that appears twice in one object, as a path (`["aggregate_metrics", "TOK_IN"]`).
 * JSON.parse keeps the last copy and the editor would locate the first, so such a file means two
 * things (a merge conflict that kept both sides). Walks the tree without recursion.
 */
export function findDuplicateKey(root: Node): JsonPath | undefined {
  // nodes only on the stack: a path is worked out for the duplicate alone (files of 100,000 steps)
  const stack: Node[] = [root];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (node.type !== "object" && node.type !== "array") continue;
    if (node.type === "array") {
      for (const child of node.children ?? []) stack.push(child);
      continue;
    }
    const seen = new Set<string>();
    for (const property of node.children ?? []) {
      const key = property.children?.[0]?.value;
      if (typeof key !== "string") continue;
      if (seen.has(key)) return [...getNodePath(node), key];
      seen.add(key);
      const value = property.children?.[1];
      if (value) stack.push(value);
    }
  }
  return undefined;
}

/**
 * Reads JSON text for editing: its value, and the nodes along the edited paths. Refuses text that
 * is not JSON or that holds a key twice; the duplicate's path is worked out (from a full parse
 * tree) only when there is one.
 *
 * With `known`, the value read from these very bytes (it may keep only some of their keys) and
 * the number of keys they write, the text is not parsed again. Its keys are still counted: text
 * that writes another number is not the text that was read, and is read here, refused for a key
 * twice like any text, and otherwise refused as not the text the edits were made for.
 */
function parseForEdit(
  text: string,
  paths: { ends: Iterable<JsonPath>; opened: Iterable<JsonPath>; removed: Iterable<JsonPath> },
  known?: KnownReading,
): { root: SpanNode; value: unknown } {
  if (known && countKeysWritten(text) === known.keys)
    return { root: spansAlong(text, paths.ends, paths.opened, paths.removed), value: known.value };
  let shape: ReturnType<typeof parseJsonShape>;
  try {
    shape = parseJsonShape(text, Number.POSITIVE_INFINITY);
  } catch {
    throw new JsonEditError("cannot edit text that is not valid JSON");
  }
  const duplicate = shape.duplicateKey ? findDuplicateKey(parseTree(text)!) : undefined;
  if (duplicate)
    throw new JsonEditError(
      `${formatJsonPath(duplicate)} appears twice; a key must appear once (a merge conflict that kept both sides?)`,
    );
  if (known)
    throw new JsonEditError(
      `the text writes ${shape.keys} keys, not the ${known.keys} of the reading the edits were made from; not edited`,
    );
  return { root: spansAlong(text, paths.ends, paths.opened, paths.removed), value: shape.value };
}

/**
 * What a caller already read from a text's very bytes: `value` (or a reading that keeps every
 * value at the edited paths) and `keys`, how many keys the bytes write (parseJsonShape).
 */
export interface KnownReading {
  value: unknown;
  keys: number;
}

/** A number written the way Python writes floats (`0.0`, not `0`), for fields readers expect as floats. */
export class PyFloat {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
}

export interface JsonEdits {
  /** Values to set; a missing key is added at the end of its (existing) parent object. */
  set?: Array<{ path: JsonPath; value: unknown }>;
  /** Object properties to remove. */
  remove?: JsonPath[];
  /** Elements to add at the end of an (existing) array, or before its element `at`. */
  append?: Array<{ path: JsonPath; values: unknown[]; at?: number }>;
}

interface Style {
  unit: string;
  eol: string;
  ascii: boolean;
}

interface TextEdit {
  offset: number;
  length: number;
  content: string;
}

export function detectStyle(text: string): Style {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const unit = /\n([ \t]+)\S/.exec(text)?.[1] ?? "  ";
  // Python's json.dump escapes non-ASCII unless told otherwise; follow whichever the file shows.
  const ascii =
    /\\u(00[89a-fA-F][0-9a-fA-F]|0[1-9a-fA-F][0-9a-fA-F]{2}|[1-9a-fA-F][0-9a-fA-F]{3})/.test(
      text,
    ) && !/[\u0080-\uffff]/.test(text);
  return { eol, unit, ascii };
}

/**
 * Whether the value an edit sets is, as JSON, the value already there: a PyFloat counts as its
 * number, and a key whose value is undefined (never written) as absent. Compared in place, without
 * a JSON copy of the edit's value: a pass asks it of every value it sets in every file.
 */
function sameValue(parsed: unknown, value: unknown): boolean {
  if (value instanceof PyFloat) return parsed === value.value;
  if (value === null || typeof value !== "object") return parsed === value;
  if (parsed === null || typeof parsed !== "object") return false;
  if (Array.isArray(value)) {
    if (!Array.isArray(parsed) || parsed.length !== value.length) return false;
    for (let i = 0; i < value.length; i++) if (!sameValue(parsed[i], value[i])) return false;
    return true;
  }
  if (Array.isArray(parsed)) return false;
  let defined = 0;
  for (const k of Object.keys(value)) {
    const x = (value as Record<string, unknown>)[k];
    if (x === undefined) continue;
    defined++;
    if (!Object.hasOwn(parsed, k) || !sameValue((parsed as Record<string, unknown>)[k], x))
      return false;
  }
  return defined === Object.keys(parsed).length;
}

function quote(s: string, ascii: boolean): string {
  const json = JSON.stringify(s);
  return ascii
    ? json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    : json;
}

export function render(v: unknown, base: string, style: Style): string {
  if (v instanceof PyFloat) {
    const s = String(v.value);
    return Number.isInteger(v.value) && !s.includes("e") ? `${s}.0` : s;
  }
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return quote(v, style.ascii);
  if (typeof v !== "object") return JSON.stringify(v);
  // built by appending, without an array per level: a pass renders a new reading into every file
  const inner = base + style.unit;
  const between = `,${style.eol}${inner}`;
  let out = "";
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++)
      out += (i === 0 ? `[${style.eol}${inner}` : between) + render(v[i], inner, style);
    return out === "" ? "[]" : `${out}${style.eol}${base}]`;
  }
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (x === undefined) continue;
    out += `${out === "" ? `{${style.eol}${inner}` : between}${quote(k, style.ascii)}: ${render(x, inner, style)}`;
  }
  return out === "" ? "{}" : `${out}${style.eol}${base}}`;
}

function lineIndent(text: string, offset: number): string {
  const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart, offset))?.[0] ?? "";
}

function removalEdits(object: SpanNode, removed: Set<SpanNode>): TextEdit[] {
  const props = object.children ?? [];
  if (props.every((p) => removed.has(p)))
    return [{ offset: object.offset, length: object.length, content: "{}" }];
  const edits: TextEdit[] = [];
  for (let i = 0; i < props.length; i++) {
    if (!removed.has(props[i]!)) continue;
    let j = i;
    while (j + 1 < props.length && removed.has(props[j + 1]!)) j++;
    const next = props[j + 1];
    const prev = props[i - 1];
    const last = props[j]!;
    if (next)
      edits.push({ offset: props[i]!.offset, length: next.offset - props[i]!.offset, content: "" });
    else if (prev)
      edits.push({
        offset: prev.offset + prev.length,
        length: last.offset + last.length - (prev.offset + prev.length),
        content: "",
      });
    i = j;
  }
  return edits;
}

/** The value at `path` in a parsed JSON value; undefined when it is not there. */
function valueAt(root: unknown, path: JsonPath): unknown {
  let at = root;
  for (const key of path) {
    if (typeof key === "number") {
      if (!Array.isArray(at) || key < 0 || key >= at.length) return undefined;
      at = at[key];
    } else {
      if (at === null || typeof at !== "object" || Array.isArray(at) || !Object.hasOwn(at, key))
        return undefined;
      at = (at as Record<string, unknown>)[key];
    }
  }
  return at;
}

/**
 * Whether `edits` would leave a text as it is, judged from `parsed`, the text's value as
 * JSON.parse gives it (or a reading that keeps every value, such as a loose zod schema): true
 * exactly when editJsonText would return the text unchanged, without parsing the text for edits
 * again. A pass with nothing to do asks this of every file. Text the editor would refuse (a key
 * twice) is not told apart: callers ask only of text that was checked when it was read.
 */
export function editsChangeNothing(parsed: unknown, edits: JsonEdits): boolean {
  if ((edits.remove?.length ?? 0) > 0) return false;
  if ((edits.append ?? []).some((a) => a.values.length > 0)) return false;
  // a set changes nothing where the value is there already; a missing one is added (or refused)
  return (edits.set ?? []).every(({ path, value }) => {
    const current = valueAt(parsed, path);
    return current !== undefined && sameValue(current, value);
  });
}

/**
 * Applies the edits; returns the text unchanged (the same string) when no value differs.
 * `known` is for text whose very bytes were already read (a run file whose digest still matches
 * discovery's reading): the text is not parsed again (see parseForEdit).
 */
export function editJsonText(text: string, edits: JsonEdits, known?: KnownReading): string {
  // a value set is located by its span; an array appended to lists its elements, and an object
  // a property is removed from lists them all
  const paths = {
    ends: (edits.set ?? []).map((s) => s.path),
    opened: (edits.append ?? []).map((a) => a.path),
    removed: edits.remove ?? [],
  };
  const { root, value: parsed } = parseForEdit(text, paths, known);
  const locate = (path: JsonPath) => spanAtPath(root, path);
  const style = detectStyle(text);
  const out: TextEdit[] = [];
  const inserts = new Map<SpanNode, Array<[string, unknown]>>();

  for (const { path, value } of edits.set ?? []) {
    const node = locate(path);
    if (node) {
      if (!sameValue(valueAt(parsed, path), value)) {
        out.push({
          offset: node.offset,
          length: node.length,
          content: render(value, lineIndent(text, node.offset), style),
        });
      }
      continue;
    }
    const parent = locate(path.slice(0, -1));
    const key = path.at(-1);
    if (parent?.type !== "object" || typeof key !== "string") {
      throw new JsonEditError(
        `cannot set ${formatJsonPath(path)}: its parent is not an object in the file`,
      );
    }
    inserts.set(parent, [...(inserts.get(parent) ?? []), [key, value]]);
  }

  for (const [object, entries] of inserts) {
    const props = object.children ?? [];
    const last = props.at(-1);
    if (!last) {
      out.push({
        offset: object.offset,
        length: object.length,
        content: render(Object.fromEntries(entries), lineIndent(text, object.offset), style),
      });
      continue;
    }
    const indent = lineIndent(text, last.offset);
    const content = entries
      .map(
        ([k, v]) => `,${style.eol}${indent}${quote(k, style.ascii)}: ${render(v, indent, style)}`,
      )
      .join("");
    out.push({ offset: last.offset + last.length, length: 0, content });
  }

  const removals = new Map<SpanNode, Set<SpanNode>>();
  for (const path of edits.remove ?? []) {
    const property = locate(path)?.parent;
    if (property?.type !== "property" || !property.parent) continue;
    if (inserts.has(property.parent))
      throw new JsonEditError(
        `cannot add to and remove from ${formatJsonPath(path.slice(0, -1))} at once`,
      );
    removals.set(property.parent, (removals.get(property.parent) ?? new Set()).add(property));
  }
  for (const [object, removed] of removals)
    for (const e of removalEdits(object, removed)) out.push(e);

  for (const { path, values, at } of edits.append ?? []) {
    if (values.length === 0) continue;
    const array = locate(path);
    if (array?.type !== "array")
      throw new JsonEditError(`cannot append to ${formatJsonPath(path)}: not an array in the file`);
    const items = array.children ?? [];
    const before = at === undefined ? undefined : items[Math.max(0, at)];
    if (before) {
      // inserted before an element: after the one preceding it, or ahead of the first
      const indent = lineIndent(text, before.offset);
      const rendered = values.map((v) => render(v, indent, style));
      const previous = items[items.indexOf(before) - 1];
      out.push(
        previous
          ? {
              offset: previous.offset + previous.length,
              length: 0,
              content: rendered.map((r) => `,${style.eol}${indent}${r}`).join(""),
            }
          : {
              offset: before.offset,
              length: 0,
              content: rendered.map((r) => `${r},${style.eol}${indent}`).join(""),
            },
      );
      continue;
    }
    const last = items.at(-1);
    if (!last) {
      out.push({
        offset: array.offset,
        length: array.length,
        content: render(values, lineIndent(text, array.offset), style),
      });
      continue;
    }
    const indent = lineIndent(text, last.offset);
    out.push({
      offset: last.offset + last.length,
      length: 0,
      content: values.map((v) => `,${style.eol}${indent}${render(v, indent, style)}`).join(""),
    });
  }

  if (out.length === 0) return text;
  out.sort((a, b) => a.offset - b.offset || a.length - b.length);
  for (let i = 1; i < out.length; i++) {
    const prev = out[i - 1]!;
    if (prev.offset + prev.length > out[i]!.offset)
      throw new JsonEditError("internal error: overlapping JSON edits");
  }
  // one pass over the text: a manifest of 10,000 runs gets 30,000 edits
  const pieces: string[] = [];
  let at = 0;
  for (const e of out) {
    pieces.push(text.slice(at, e.offset), e.content);
    at = e.offset + e.length;
  }
  pieces.push(text.slice(at));
  return pieces.join("");
}
