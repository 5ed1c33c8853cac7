import fc from "fast-check";
import { findNodeAtLocation, type Node, parseTree } from "jsonc-parser";
import { describe, expect, it } from "vitest";
import { type JsonPath, type SpanNode, spanAtPath, spansAlong } from "../src/util/json-spans.ts";

/** Every path in a parsed JSON value, the root's first, at most `max` of them. */
function pathsOf(value: unknown, max = 200): JsonPath[] {
  const out: JsonPath[] = [];
  const walk = (v: unknown, path: JsonPath) => {
    if (out.length >= max) return;
    out.push(path);
    if (Array.isArray(v))
      v.forEach((x, i) => {
        walk(x, [...path, i]);
      });
    else if (v && typeof v === "object")
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(value, []);
  return out;
}

/** A node's span and kind, and its children's, in the words of both parsers. */
const spanOf = (n: SpanNode) => ({ type: n.type, offset: n.offset, length: n.length });
const oracleOf = (n: Node) => ({ type: n.type, offset: n.offset, length: n.length });

// Strings with quotes, backslashes, escapes and non-ASCII text, where a scanner that steps over
// strings by hand goes wrong first.
const trickyString = fc.oneof(
  fc.string(),
  fc.constantFrom('"', "\\", '\\"', '"\\', "}]", "{[", ",", "é\u2028", "\\\\\\"),
);
const jsonArb = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    trickyString,
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(trickyString, tie("value"), { maxKeys: 5 }),
  ),
})).value;

describe("spansAlong locates what a full parse tree locates", () => {
  it("gives every node along the chosen paths the span jsonc-parser gives, and lists what edits need", () => {
    fc.assert(
      fc.property(
        jsonArb,
        fc.constantFrom<number | string>(0, 2, 4, "\t"),
        fc.boolean(),
        fc.array(fc.record({ pick: fc.nat(), kind: fc.constantFrom("set", "append", "remove") }), {
          maxLength: 4,
        }),
        (value, indent, crlf, picks) => {
          let text = JSON.stringify(value, null, indent);
          if (crlf) text = text.replaceAll("\n", "\r\n");
          text = ` ${text}\n`;
          const all = pathsOf(value);
          const chosen = picks.map((p) => ({ path: all[p.pick % all.length]!, kind: p.kind }));
          const of = (kind: string) => chosen.filter((c) => c.kind === kind).map((c) => c.path);
          const root = spansAlong(text, of("set"), of("append"), of("remove"));
          const oracle = parseTree(text)!;
          const same = (a: JsonPath, b: JsonPath) =>
            a.length === b.length && a.every((step, i) => step === b[i]);
          for (const { path } of chosen) {
            // the path and each of its prefixes
            for (let n = 0; n <= path.length; n++) {
              const prefix = path.slice(0, n);
              const ours = spanAtPath(root, prefix)!;
              const theirs = findNodeAtLocation(oracle, prefix as Array<string | number>)!;
              expect(ours && spanOf(ours)).toEqual(oracleOf(theirs));
              const container = theirs.type === "object" || theirs.type === "array";
              // what a path goes through, an array appended to, or the root lists its children;
              // the value a path only ends at (set or removed) is a span alone
              const through = chosen.filter(
                (c) => c.path.length > n && same(c.path.slice(0, n), prefix),
              );
              const opened = chosen.some((c) => c.kind === "append" && same(c.path, prefix));
              if (!container || (through.length === 0 && !opened && n > 0)) {
                expect(ours.children).toBeUndefined();
                continue;
              }
              const listed = ours.children!.map(spanOf);
              const full = theirs.children!.map(oracleOf);
              const removedFrom = through.some(
                (c) => c.kind === "remove" && c.path.length === n + 1,
              );
              if (theirs.type === "array" || removedFrom) {
                expect(listed).toEqual(full);
              } else {
                // an object: the properties the paths name and its last one, in order
                const named = new Set(through.map((c) => c.path[n]));
                const wanted = theirs.children!.filter(
                  (p, i, ps) => named.has(p.children![0]!.value) || i === ps.length - 1,
                );
                expect(listed).toEqual(wanted.map(oracleOf));
              }
              for (const child of ours.children!)
                if (child.type === "property")
                  expect(child.value && spanOf(child.value)).toEqual(
                    oracleOf(
                      findNodeAtLocation(oracle, [...prefix, child.key!] as Array<
                        string | number
                      >)!,
                    ),
                  );
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("finds nothing where the text has nothing, and nothing off the paths it was given", () => {
    const text = JSON.stringify({ a: { b: [1, { c: 2 }] }, d: { e: 3 } }, null, 2);
    const root = spansAlong(text, [["a", "b", 1, "c"], ["x"]]);
    expect(spanAtPath(root, ["a", "b", 1, "c"])?.offset).toBe(text.indexOf("2"));
    expect(spanAtPath(root, ["x"])).toBeUndefined();
    expect(spanAtPath(root, ["a", "b", 5])).toBeUndefined();
    expect(spanAtPath(root, ["a", "b", 0, "c"])).toBeUndefined();
    // "d" was not on a path: its span is known, its insides were stepped over
    const d = spanAtPath(root, ["d"])!;
    expect(text.slice(d.offset, d.offset + d.length)).toBe('{\n    "e": 3\n  }');
    expect(d.children).toBeUndefined();
  });

  it("decodes escaped keys the way JSON.parse does", () => {
    const text = '{"t\\u0061b\\"": {"\\\\": 1}}';
    const root = spansAlong(text, [['tab"', "\\"]]);
    expect(spanAtPath(root, ['tab"', "\\"])?.offset).toBe(text.lastIndexOf("1"));
  });
});
