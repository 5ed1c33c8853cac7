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
  it("gives every node along the chosen paths, and their containers' children, the spans jsonc-parser gives", () => {
    fc.assert(
      fc.property(
        jsonArb,
        fc.constantFrom<number | string>(0, 2, 4, "\t"),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 4 }),
        (value, indent, crlf, picks) => {
          let text = JSON.stringify(value, null, indent);
          if (crlf) text = text.replaceAll("\n", "\r\n");
          text = ` ${text}\n`;
          const all = pathsOf(value);
          const chosen = picks.map((p) => all[p % all.length]!);
          const root = spansAlong(text, chosen);
          const oracle = parseTree(text)!;
          for (const path of chosen) {
            // the path and each of its prefixes
            for (let n = 0; n <= path.length; n++) {
              const prefix = path.slice(0, n);
              const ours = spanAtPath(root, prefix);
              const theirs = findNodeAtLocation(oracle, prefix as Array<string | number>);
              expect(ours && spanOf(ours)).toEqual(oracleOf(theirs!));
              // an expanded container lists what the full tree lists
              expect(ours!.children?.map(spanOf)).toEqual(theirs!.children?.map(oracleOf));
              for (const child of ours!.children ?? [])
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
