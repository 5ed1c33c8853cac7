/**
 * Where the values an edit touches sit in JSON text, found in one pass that builds nodes only
 * along the edited paths (docs/design.md#writing-files). A full parse tree of each file cost a
 * pass of 10,000 runs about 0.7 s and 640 MB of short-lived nodes (a node per value of every
 * file) for the handful of values an edit reads; everything off the paths is stepped over.
 *
 * Only for text already known to be valid JSON (the editor parses it with JSON.parse first, or
 * knows its bytes were parsed): the walk trusts the grammar and does not check it, though it
 * always ends, whatever the text.
 */

export type JsonPath = ReadonlyArray<string | number>;

export interface SpanNode {
  type: "object" | "array" | "property" | "string" | "number" | "boolean" | "null";
  /** Where the value starts (a property: its key's opening quote). */
  offset: number;
  /** How many characters it spans (a property: from its key to the end of its value). */
  length: number;
  /** The property a value belongs to, the array an element belongs to, a property's object. */
  parent?: SpanNode;
  /** An object's properties or an array's elements: only on containers along an edited path. */
  children?: SpanNode[];
  /** A property's key, decoded as JSON.parse decodes it. */
  key?: string;
  /** A property's value. */
  value?: SpanNode;
}

/**
 * The steps of the edited paths, as a tree. A path's last step is `null` (its value's span is all
 * an edit needs) unless the value is itself looked into: an array appended to, or a container
 * another path goes through. An object a property is removed from holds EVERY: removing looks at
 * the property's neighbours.
 */
type Steps = Map<string | number | typeof EVERY, Steps | null>;

/** In an object's steps: list every property, not only those a path names. */
const EVERY = Symbol("every property");

function stepsOf(
  paths: Iterable<JsonPath>,
  opened: Iterable<JsonPath>,
  removed: Iterable<JsonPath>,
): Steps {
  const root: Steps = new Map();
  const add = (path: JsonPath, how: "end" | "open" | "remove") => {
    let at = root;
    for (let i = 0; i < path.length; i++) {
      const step = path[i]!;
      let next = at.get(step);
      if (i === path.length - 1 && how !== "open") {
        if (next === undefined) at.set(step, null);
        if (how === "remove") at.set(EVERY, null);
        return;
      }
      if (!next) {
        next = new Map();
        at.set(step, next);
      }
      at = next;
    }
  };
  for (const path of paths) add(path, "end");
  for (const path of opened) add(path, "open");
  for (const path of removed) add(path, "remove");
  return root;
}

// The scanning steps below trust the grammar (valid JSON text); json-read.ts uses them too.

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** The index of the first character at or after `i` that is not JSON whitespace. */
export function skipSpace(text: string, i: number): number {
  while (isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** The index after the closing quote of the string opening at `i` (the text's length if none). */
export function stringEnd(text: string, i: number): number {
  let j = text.indexOf('"', i + 1);
  for (;;) {
    if (j < 0) return text.length;
    // the closing quote is the next one not escaped by an odd run of backslashes
    let slashes = 0;
    while (text.charCodeAt(j - 1 - slashes) === 0x5c) slashes++;
    if (slashes % 2 === 0) return j + 1;
    j = text.indexOf('"', j + 1);
  }
}

/** The index after the value starting at `i`, stepping over nested containers without recursion. */
export function valueEnd(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 0x22) return stringEnd(text, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text.charCodeAt(j);
      if (d === 0x22) j = stringEnd(text, j) - 1;
      else if (d === 0x7b || d === 0x5b) depth++;
      else if ((d === 0x7d || d === 0x5d) && --depth === 0) return j + 1;
    }
    return text.length;
  }
  let j = i;
  for (; j < text.length; j++) {
    const d = text.charCodeAt(j);
    if (d === 0x2c || d === 0x7d || d === 0x5d || isSpace(d)) break;
  }
  return j;
}

function typeAt(c: number): SpanNode["type"] {
  if (c === 0x7b) return "object";
  if (c === 0x5b) return "array";
  if (c === 0x22) return "string";
  if (c === 0x74 || c === 0x66) return "boolean";
  if (c === 0x6e) return "null";
  return "number";
}

/** The value at `i`; expanded (its children listed) when `steps` says an edit looks into it. */
function spanAt(
  text: string,
  i: number,
  steps: Steps | null | undefined,
  parent?: SpanNode,
): SpanNode {
  const c = text.charCodeAt(i);
  if (!steps || (c !== 0x7b && c !== 0x5b)) {
    const node: SpanNode = { type: typeAt(c), offset: i, length: valueEnd(text, i) - i };
    if (parent) node.parent = parent;
    return node;
  }
  const object = c === 0x7b;
  const children: SpanNode[] = [];
  const container: SpanNode = { type: object ? "object" : "array", offset: i, length: 0, children };
  if (parent) container.parent = parent;
  // An object lists the properties the paths name and its last one (where a new key goes), or
  // every one when a property is removed from it: the nodes of a manifest's other keys, at
  // 100,000 runs, were 200 MB.
  const every = steps.has(EVERY);
  // the property last passed over (its key's offset, -1 for none), kept if it is the last
  let skipped = -1;
  let skippedStart = 0;
  let skippedKey = "";
  let j = skipSpace(text, i + 1);
  if (text.charCodeAt(j) !== (object ? 0x7d : 0x5d)) {
    for (let index = 0; ; index++) {
      let end: number;
      if (object) {
        const keyEnd = stringEnd(text, j);
        const raw = text.slice(j + 1, keyEnd - 1);
        const key = raw.includes("\\") ? (JSON.parse(`"${raw}"`) as string) : raw;
        // past the key, the colon and the space around it
        const start = skipSpace(text, skipSpace(text, keyEnd) + 1);
        const inner = steps.get(key);
        if (every || inner !== undefined) {
          const property = propertyAt(text, j, start, key, inner, container);
          end = property.offset + property.length;
          children.push(property);
          skipped = -1;
        } else {
          end = valueEnd(text, start);
          skipped = j;
          skippedStart = start;
          skippedKey = key;
        }
      } else {
        const element = spanAt(text, j, steps.get(index), container);
        end = element.offset + element.length;
        children.push(element);
      }
      j = skipSpace(text, end);
      if (text.charCodeAt(j) !== 0x2c) break;
      j = skipSpace(text, j + 1);
    }
  }
  // the last property, passed over above, is where a new key goes
  if (skipped >= 0)
    children.push(propertyAt(text, skipped, skippedStart, skippedKey, null, container));
  container.length = j + 1 - i;
  return container;
}

/** A property's node: from its key (at `offset`) to the end of its value (at `start`). */
function propertyAt(
  text: string,
  offset: number,
  start: number,
  key: string,
  steps: Steps | null | undefined,
  object: SpanNode,
): SpanNode {
  const property: SpanNode = { type: "property", offset, length: 0, parent: object, key };
  const value = spanAt(text, start, steps, property);
  property.value = value;
  property.length = value.offset + value.length - offset;
  return property;
}

/**
 * The root of valid JSON text with the containers along `paths` expanded: every object or array
 * some path goes into lists its properties or elements (with their spans); anything else is a
 * leaf with its span, the values the paths end at included. The values `opened` paths end at are
 * expanded too (an array to append to lists its elements). Recursion goes no deeper than the
 * longest path.
 */
export function spansAlong(
  text: string,
  paths: Iterable<JsonPath>,
  opened: Iterable<JsonPath> = [],
  removed: Iterable<JsonPath> = [],
): SpanNode {
  return spanAt(text, skipSpace(text, 0), stepsOf(paths, opened, removed));
}

/** The node at `path` below `root`, if the text has it (and `path` was among the expanded ones). */
export function spanAtPath(root: SpanNode, path: JsonPath): SpanNode | undefined {
  let node: SpanNode | undefined = root;
  for (const step of path) {
    if (!node?.children) return undefined;
    if (typeof step === "number") {
      node = node.type === "array" ? node.children[step] : undefined;
    } else {
      node = node.type === "object" ? node.children.find((p) => p.key === step)?.value : undefined;
    }
  }
  return node;
}
