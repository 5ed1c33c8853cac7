import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { findNodeAtLocation, parseTree } from "jsonc-parser";
import { describe, expect, it } from "vitest";
import { countKeysWritten, parseJson, parseJsonShape } from "../src/util/json-read.ts";
import {
  detectStyle,
  editJsonText,
  editsChangeNothing,
  findDuplicateKey,
  formatJsonPath,
  JsonEditError,
  type JsonPath,
  PyFloat,
  render,
} from "../src/util/json-text.ts";
import { valueOfTree } from "./support/json-oracle.ts";

/** A file the way Python's json.dump(indent=2) writes the real metrics.json files. */
const METRICS = `{
  "run_id": "01335fc4",
  "aggregate_metrics": {
    "AUTR": 1.0,
    "TOK_IN": 35167,
    "TOK_OUT": 8987,
    "T_WALL_seconds": 409.4641361236572,
    "AEI": 9.553021884839807e-05,
    "COST_USD": 0.0
  },
  "verification_status": "pending",
  "usage_api_reconciliation": {
    "verification_message": "\\u2705 Verified after 2 stable checks",
    "attempts": [
      {
        "timestamp": "2025-10-30T11:42:05.259428+00:00",
        "total_tokens_in": 35167
      }
    ]
  }
}
`;

const INDENTS: Array<[string, number | string]> = [
  ["2 spaces", 2],
  ["4 spaces", 4],
  ["tabs", "\t"],
];

const SAMPLE = {
  name: "sample",
  counts: { a: 1, b: 2, c: 3, d: 4 },
  list: [1, { x: "y" }, [2, 3]],
  empty: {},
  none: [],
  flag: true,
};

const fmt = (value: unknown, indent: number | string, crlf = false): string => {
  const text = `${JSON.stringify(value, null, indent)}\n`;
  return crlf ? text.replaceAll("\n", "\r\n") : text;
};

describe("editJsonText: setting values", () => {
  it("changes only the bytes of the value that is set", () => {
    const out = editJsonText(METRICS, {
      set: [{ path: ["aggregate_metrics", "TOK_IN"], value: 40000 }],
    });
    expect(out).toBe(METRICS.replace('"TOK_IN": 35167', '"TOK_IN": 40000'));
    // float literals, exponents, \u escapes and the trailing newline elsewhere stay as written
    expect(out).toContain('"AUTR": 1.0,');
    expect(out).toContain('"AEI": 9.553021884839807e-05,');
    expect(out).toContain('"\\u2705 Verified after 2 stable checks"');
    expect(out.endsWith("}\n")).toBe(true);
  });

  it("sets strings, booleans, null and nested values in place", () => {
    const out = editJsonText(METRICS, {
      set: [
        { path: ["verification_status"], value: "verified" },
        { path: ["usage_api_reconciliation", "attempts", 0, "total_tokens_in"], value: null },
        { path: ["run_id"], value: true },
      ],
    });
    expect(out).toBe(
      METRICS.replace('"verification_status": "pending"', '"verification_status": "verified"')
        .replace('"total_tokens_in": 35167', '"total_tokens_in": null')
        .replace('"run_id": "01335fc4"', '"run_id": true'),
    );
  });

  it("returns the very same text when every value is already equal", () => {
    const edits = {
      set: [
        { path: ["aggregate_metrics", "COST_USD"], value: 0 },
        { path: ["aggregate_metrics", "AUTR"], value: 1 },
        { path: ["aggregate_metrics", "TOK_IN"], value: 35167 },
        { path: ["verification_status"], value: "pending" },
        {
          path: ["usage_api_reconciliation", "verification_message"],
          value: "✅ Verified after 2 stable checks",
        },
        {
          path: ["usage_api_reconciliation", "attempts"],
          value: [{ timestamp: "2025-10-30T11:42:05.259428+00:00", total_tokens_in: 35167 }],
        },
      ] as Array<{ path: JsonPath; value: unknown }>,
      append: [{ path: ["usage_api_reconciliation", "attempts"], values: [] }],
    };
    const out = editJsonText(METRICS, edits);
    expect(out).toBe(METRICS);
    expect(out).toContain('"COST_USD": 0.0');
  });

  it("keeps `0.0` when set to 0 or to PyFloat(0)", () => {
    const text = '{\n  "COST_USD": 0.0,\n  "x": 1\n}\n';
    expect(editJsonText(text, { set: [{ path: ["COST_USD"], value: 0 }] })).toBe(text);
    expect(editJsonText(text, { set: [{ path: ["COST_USD"], value: new PyFloat(0) }] })).toBe(text);
  });

  it("writes PyFloat values the way Python writes floats", () => {
    const text = '{\n  "COST_USD": 0.0\n}\n';
    expect(editJsonText(text, { set: [{ path: ["COST_USD"], value: new PyFloat(2) }] })).toBe(
      '{\n  "COST_USD": 2.0\n}\n',
    );
    expect(editJsonText(text, { set: [{ path: ["COST_USD"], value: new PyFloat(0.42) }] })).toBe(
      '{\n  "COST_USD": 0.42\n}\n',
    );
    const style = detectStyle(text);
    expect(render(new PyFloat(2), "", style)).toBe("2.0");
    expect(render(new PyFloat(0), "", style)).toBe("0.0");
    expect(render(new PyFloat(1.5), "", style)).toBe("1.5");
    expect(render({ a: new PyFloat(3), b: [new PyFloat(4)] }, "", style)).toBe(
      '{\n  "a": 3.0,\n  "b": [\n    4.0\n  ]\n}',
    );
    expect(render(3, "", style)).toBe("3");
  });

  it("replaces a scalar by an object rendered at the value's own indentation", () => {
    const text = fmt({ a: { b: 1, c: 2 } }, 2);
    const out = editJsonText(text, { set: [{ path: ["a", "b"], value: { x: [1, 2], y: {} } }] });
    expect(out).toBe(fmt({ a: { b: { x: [1, 2], y: {} }, c: 2 } }, 2));
  });

  it("rejects text that is not JSON", () => {
    expect(() => editJsonText("{ not json", { set: [] })).toThrow(/not valid JSON/);
    expect(() => editJsonText('{"a": 1,}', { set: [] })).toThrow(/not valid JSON/);
  });
});

describe("editJsonText: adding keys and array elements in the file's style", () => {
  for (const [name, indent] of INDENTS) {
    for (const crlf of [false, true]) {
      const label = `${name}${crlf ? ", CRLF" : ""}`;
      it(`adds keys at the end of objects (${label})`, () => {
        const text = fmt(SAMPLE, indent, crlf);
        const out = editJsonText(text, {
          set: [
            { path: ["counts", "e"], value: 5 },
            { path: ["counts", "f"], value: { deep: [1, { z: null }], no: [] } },
            { path: ["empty", "k"], value: "v" },
            { path: ["added"], value: [{ p: 1 }, "q"] },
          ],
        });
        const expected = {
          ...SAMPLE,
          counts: { ...SAMPLE.counts, e: 5, f: { deep: [1, { z: null }], no: [] } },
          empty: { k: "v" },
          added: [{ p: 1 }, "q"],
        };
        expect(out).toBe(fmt(expected, indent, crlf));
      });

      it(`appends elements to arrays, empty ones too (${label})`, () => {
        const text = fmt(SAMPLE, indent, crlf);
        const out = editJsonText(text, {
          append: [
            { path: ["list"], values: [4, { w: [5] }] },
            { path: ["none"], values: [{ first: true }] },
            { path: ["list", 2], values: [9] },
          ],
        });
        const expected = {
          ...SAMPLE,
          list: [1, { x: "y" }, [2, 3, 9], 4, { w: [5] }],
          none: [{ first: true }],
        };
        expect(out).toBe(fmt(expected, indent, crlf));
      });
    }
  }

  it("detects indent unit and line ending", () => {
    expect(detectStyle(fmt(SAMPLE, 4))).toMatchObject({ unit: "    ", eol: "\n" });
    expect(detectStyle(fmt(SAMPLE, "\t", true))).toMatchObject({ unit: "\t", eol: "\r\n" });
    expect(detectStyle(fmt(SAMPLE, 2))).toMatchObject({ unit: "  ", eol: "\n", ascii: false });
  });

  it("writes new non-ASCII text with \\u escapes in a file that escapes (ensure_ascii)", () => {
    for (const escaped of [
      "caf\\u00e9",
      "\\u2705 done",
      "\\u00fc and \\u201cq\\u201d",
      "\\u0100",
    ]) {
      const text = `{\n  "name": "${escaped}"\n}\n`;
      expect(detectStyle(text).ascii, escaped).toBe(true);
      const out = editJsonText(text, { set: [{ path: ["note"], value: "naïve “q” ✅ 😀" }] });
      expect(out).toBe(
        `{\n  "name": "${escaped}",\n  "note": "na\\u00efve \\u201cq\\u201d \\u2705 \\ud83d\\ude00"\n}\n`,
      );
      expect(JSON.parse(out).note).toBe("naïve “q” ✅ 😀");
    }
  });

  it("writes raw UTF-8 in a file that has raw UTF-8, or no non-ASCII text at all", () => {
    for (const text of ['{\n  "name": "café"\n}\n', '{\n  "name": "cafe"\n}\n']) {
      const out = editJsonText(text, { set: [{ path: ["note"], value: "naïve ✅" }] });
      expect(out).toBe(text.replace('"\n}', '",\n  "note": "naïve ✅"\n}'));
    }
    // escapes of ASCII characters (\u001f) do not make a file "ensure_ascii"
    expect(detectStyle('{\n  "a": "\\u001f"\n}').ascii).toBe(false);
  });

  it("escapes new keys the same way as new values", () => {
    const text = '{\n  "a": "\\u00e9"\n}\n';
    const out = editJsonText(text, { set: [{ path: ["clé"], value: 1 }] });
    expect(out).toBe('{\n  "a": "\\u00e9",\n  "cl\\u00e9": 1\n}\n');
  });

  it("rejects adding under a parent that is missing or not an object", () => {
    const text = fmt(SAMPLE, 2);
    expect(() => editJsonText(text, { set: [{ path: ["missing", "x"], value: 1 }] })).toThrow(
      /parent is not an object/,
    );
    expect(() => editJsonText(text, { set: [{ path: ["list", 7], value: 1 }] })).toThrow(
      /parent is not an object/,
    );
    expect(() => editJsonText(text, { append: [{ path: ["counts"], values: [1] }] })).toThrow(
      /not an array/,
    );
  });
});

describe("editJsonText: removing properties", () => {
  const base = { keep: 0, obj: { a: 1, b: [1, 2], c: { d: 3 }, e: "x", f: null }, tail: true };
  const without = (keys: string[]) => ({
    ...base,
    obj: Object.fromEntries(Object.entries(base.obj).filter(([k]) => !keys.includes(k))),
  });
  const cases: Array<[string, string[]]> = [
    ["the first", ["a"]],
    ["one in the middle", ["c"]],
    ["several adjacent", ["b", "c", "e"]],
    ["separate ones", ["a", "c", "f"]],
    ["the trailing one", ["f"]],
    ["several trailing", ["e", "f"]],
    ["all of them", ["a", "b", "c", "e", "f"]],
  ];
  for (const [name, keys] of cases) {
    for (const [indentName, indent] of INDENTS) {
      for (const crlf of [false, true]) {
        it(`removes ${name} (${indentName}${crlf ? ", CRLF" : ""})`, () => {
          const text = fmt(base, indent, crlf);
          const out = editJsonText(text, { remove: keys.map((k) => ["obj", k]) });
          expect(out).toBe(fmt(without(keys), indent, crlf));
        });
      }
    }
  }

  it("removes from several objects and sets values elsewhere at once", () => {
    const value = {
      steps: [
        { step: 1, tokens_in: 5, tokens_out: 6, api_calls: 1, start: 10 },
        { step: 2, tokens_in: 7, tokens_out: 8, api_calls: 2, start: 20 },
      ],
      total: 1,
    };
    const text = fmt(value, 2);
    const out = editJsonText(text, {
      set: [
        { path: ["total"], value: 2 },
        { path: ["steps", 1, "start"], value: 21 },
      ],
      remove: [0, 1].flatMap((i) =>
        ["tokens_in", "tokens_out", "api_calls"].map((f) => ["steps", i, f]),
      ),
    });
    expect(out).toBe(
      fmt(
        {
          steps: [
            { step: 1, start: 10 },
            { step: 2, start: 21 },
          ],
          total: 2,
        },
        2,
      ),
    );
  });

  it("ignores paths that are not there", () => {
    const text = fmt(base, 2);
    expect(
      editJsonText(text, {
        remove: [
          ["obj", "zzz"],
          ["nope", "a"],
        ],
      }),
    ).toBe(text);
  });
});

describe("editJsonText: conflicting edits", () => {
  const text = fmt({ a: { b: 1, c: 2 }, d: [1] }, 2);

  it("throws on overlapping edits instead of writing a mangled file", () => {
    expect(() =>
      editJsonText(text, {
        set: [
          { path: ["a"], value: { b: 5 } },
          { path: ["a", "b"], value: 6 },
        ],
      }),
    ).toThrow(/overlapping/);
    expect(() =>
      editJsonText(text, { set: [{ path: ["a", "c"], value: 3 }], remove: [["a", "c"]] }),
    ).toThrow(/overlapping/);
    expect(() =>
      editJsonText(text, {
        set: [{ path: ["d"], value: [2] }],
        append: [{ path: ["d"], values: [3] }],
      }),
    ).toThrow(/overlapping/);
  });

  it("throws when one object gets keys added and removed in one edit", () => {
    expect(() =>
      editJsonText(text, { set: [{ path: ["a", "z"], value: 3 }], remove: [["a", "b"]] }),
    ).toThrow(/add to and remove from/);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: random objects formatted like JSON.stringify(…, null, 2), random leaves set.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const key = fc.stringMatching(/^[a-z_][a-zA-Z0-9_ é-]{0,7}$/);
const scalar: fc.Arbitrary<Json> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x)),
  fc.string({ unit: "grapheme", maxLength: 12 }),
);
const { tree } = fc.letrec<{ tree: Json; node: Json }>((tie) => ({
  tree: fc.dictionary(key, tie("node"), { maxKeys: 5 }),
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc.array(tie("node"), { maxLength: 4 }),
    fc.dictionary(key, tie("node"), { maxKeys: 4 }),
  ),
}));

function leafPaths(value: Json, path: Array<string | number> = []): Array<Array<string | number>> {
  if (Array.isArray(value)) return value.flatMap((v, i) => leafPaths(v, [...path, i]));
  if (value !== null && typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...path, k]));
  return [path];
}

function setAt(value: Json, path: ReadonlyArray<string | number>, leaf: Json): Json {
  if (path.length === 0) return leaf;
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((v, i) => (i === head ? setAt(v, rest, leaf) : v));
  const obj = value as Record<string, Json>;
  return Object.fromEntries(
    Object.entries(obj).map(([k, v]) => [k, k === head ? setAt(v, rest, leaf) : v]),
  );
}

describe("editJsonText: properties", () => {
  it("setting random existing leaves gives the expected object and leaves other lines alone", () => {
    fc.assert(
      fc.property(
        tree.filter((t) => leafPaths(t).length > 0),
        fc.array(fc.tuple(fc.nat(), scalar), { minLength: 1, maxLength: 6 }),
        (obj, picks) => {
          const text = JSON.stringify(obj, null, 2);
          const paths = leafPaths(obj);
          const chosen = new Map<number, Json>();
          for (const [n, v] of picks) chosen.set(n % paths.length, v);
          let expected = obj;
          const set = [...chosen].map(([i, v]) => {
            expected = setAt(expected, paths[i]!, v);
            return { path: paths[i]!, value: v };
          });
          const out = editJsonText(text, { set });
          expect(JSON.parse(out)).toEqual(expected);

          // every leaf of this format sits on its own line: only the edited leaves' lines change
          const root = parseTree(text)!;
          const lineOf = (offset: number) => text.slice(0, offset).split("\n").length - 1;
          const edited = new Map<number, Json>();
          for (const { path, value } of set) {
            const node = findNodeAtLocation(root, path)!;
            if (JSON.stringify(node.value) !== JSON.stringify(value))
              edited.set(lineOf(node.offset), value);
          }
          const before = text.split("\n");
          const after = out.split("\n");
          expect(after.length).toBe(before.length);
          before.forEach((line, i) => {
            if (!edited.has(i)) {
              expect(after[i]).toBe(line);
              return;
            }
            // dotAll: a string may hold U+2028/U+2029, which JSON.stringify writes raw and `.`
            // would not match otherwise
            const m = /^(\s*(?:"(?:[^"\\]|\\.)*": )?)(.*?)(,?)$/s.exec(line)!;
            const prefix = m[1]!;
            const comma = m[3]!;
            expect(after[i]!.startsWith(prefix)).toBe(true);
            expect(after[i]!.endsWith(comma)).toBe(true);
            const valueText = after[i]!.slice(prefix.length, after[i]!.length - comma.length);
            expect(JSON.parse(valueText)).toEqual(edited.get(i));
          });
          if (edited.size === 0) expect(out).toBe(text);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("adding and removing random keys gives exactly what JSON.stringify would write", () => {
    fc.assert(
      fc.property(
        // an empty root shows no indentation to follow
        tree.filter((t) => Object.keys(t as object).length > 0),
        fc.constantFrom<number | string>(2, 4, "\t"),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), scalar), { maxLength: 3 }),
        (obj, indent, removePicks, addPicks) => {
          // objects in the tree, by path
          const objects: Array<Array<string | number>> = [];
          const walk = (v: Json, path: Array<string | number>) => {
            if (Array.isArray(v)) {
              v.forEach((x, i) => {
                walk(x, [...path, i]);
              });
            } else if (v !== null && typeof v === "object") {
              objects.push(path);
              for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
            }
          };
          walk(obj, []);
          const props = objects.flatMap((p) => {
            const o = p.reduce<Json>((v, k) => (v as Record<string, Json>)[k as string]!, obj);
            return Object.keys(o as object).map((k) => [...p, k]);
          });
          const isPrefix = (a: unknown[], b: unknown[]) =>
            a.length < b.length && a.every((x, i) => x === b[i]);
          const picked = props.length
            ? [...new Set(removePicks.map((n) => n % props.length))].map((i) => props[i]!)
            : [];
          // a property inside another removed one goes with it
          const removed = picked.filter((p) => !picked.some((q) => isPrefix(q, p)));
          const removedParents = new Set(removed.map((p) => JSON.stringify(p.slice(0, -1))));
          // a new key per chosen object that loses no key (adding and removing at once is refused)
          const addable = objects.filter(
            (p) =>
              !removedParents.has(JSON.stringify(p)) &&
              !removed.some((r) => isPrefix(r, p) || JSON.stringify(r) === JSON.stringify(p)),
          );
          const added = addable.length
            ? [...new Map(addPicks.map(([n, v]) => [n % addable.length, v]))].map(([i, v]) => ({
                path: [...addable[i]!, "new!"],
                value: v,
              }))
            : [];

          const transform = (v: Json, path: Array<string | number>): Json => {
            if (Array.isArray(v)) return v.map((x, i) => transform(x, [...path, i]));
            if (v === null || typeof v !== "object") return v;
            const here = JSON.stringify(path);
            const entries = Object.entries(v)
              .filter(
                ([k]) => !removed.some((r) => JSON.stringify(r) === JSON.stringify([...path, k])),
              )
              .map(([k, x]): [string, Json] => [k, transform(x, [...path, k])]);
            const add = added.find((a) => JSON.stringify(a.path.slice(0, -1)) === here);
            if (add) entries.push(["new!", add.value]);
            return Object.fromEntries(entries);
          };
          const text = `${JSON.stringify(obj, null, indent)}\n`;
          const out = editJsonText(text, { remove: removed, set: added });
          expect(out).toBe(`${JSON.stringify(transform(obj, []), null, indent)}\n`);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("editsChangeNothing", () => {
  /** Every path in a value, containers included. */
  const allPaths = (
    value: Json,
    path: Array<string | number> = [],
  ): Array<Array<string | number>> => [
    path,
    ...(Array.isArray(value)
      ? value.flatMap((v, i) => allPaths(v, [...path, i]))
      : value !== null && typeof value === "object"
        ? Object.entries(value).flatMap(([k, v]) => allPaths(v, [...path, k]))
        : []),
  ];
  const at = (value: Json, path: ReadonlyArray<string | number>): Json =>
    path.reduce<Json>((v, k) => (v as Record<string | number, Json>)[k]!, value);
  /** The same value as the pass may hand it to the editor: numbers as PyFloat, unset keys. */
  const asEdit = (value: Json): unknown =>
    Array.isArray(value)
      ? value.map(asEdit)
      : value !== null && typeof value === "object"
        ? {
            unset: undefined,
            ...Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asEdit(v)])),
          }
        : typeof value === "number"
          ? new PyFloat(value)
          : value;
  /** Another value: a container with one element or key fewer or more, anything else changed. */
  const reshaped = (value: Json, more: boolean): unknown => {
    if (Array.isArray(value)) return more ? [...value, 0] : value.slice(1);
    if (value !== null && typeof value === "object") {
      const entries = Object.entries(value);
      return Object.fromEntries(more ? [...entries, ["extra", 1]] : entries.slice(1));
    }
    return typeof value === "string" ? `${value}!` : [value];
  };

  it("says an edit leaves the text as it is exactly when editJsonText returns it unchanged (random edits)", () => {
    fc.assert(
      fc.property(
        tree,
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.constantFrom("same", "float", "python", "fewer", "more", "other", "missing"),
            scalar,
          ),
          {
            maxLength: 5,
          },
        ),
        fc.array(fc.tuple(fc.nat(), fc.boolean(), scalar), { maxLength: 2 }),
        (obj, setPicks, appendPicks) => {
          const text = `${JSON.stringify(obj, null, 2)}\n`;
          const paths = allPaths(obj).filter((p) => p.length > 0);
          const set = paths.length
            ? setPicks.map(([n, how, v]) => {
                const path = paths[n % paths.length]!;
                const current = at(obj, path);
                if (how === "missing") return { path: [...path.slice(0, -1), "new!"], value: v };
                if (how === "same") return { path, value: structuredClone(current) };
                if (how === "python") return { path, value: asEdit(current) };
                if (how === "fewer" || how === "more")
                  return { path, value: reshaped(current, how === "more") };
                // a float written the Python way is the same number
                if (how === "float" && typeof current === "number")
                  return { path, value: new PyFloat(current) };
                return { path, value: v };
              })
            : [];
          const arrays = paths.filter((p) => Array.isArray(at(obj, p)));
          const append = arrays.length
            ? appendPicks.map(([n, some, v]) => ({
                path: arrays[n % arrays.length]!,
                values: some ? [v] : [],
              }))
            : [];
          const quiet = editsChangeNothing(JSON.parse(text), { set, append });
          // the truth: nothing appended, and every value set is there already, as JSON
          const asJson = (v: unknown) =>
            JSON.parse(JSON.stringify(v, (_, x) => (x instanceof PyFloat ? x.value : x)));
          const there = JSON.parse(text) as Json;
          const unchanged =
            append.every((a) => a.values.length === 0) &&
            set.every(({ path, value }) => {
              const current = at(there, path);
              return current !== undefined && isDeepStrictEqual(current, asJson(value));
            });
          expect(quiet).toBe(unchanged);
          let out: string | undefined;
          try {
            out = editJsonText(text, { set, append });
          } catch {
            out = undefined;
          }
          if (quiet) expect(out).toBe(text);
          else expect(out).not.toBe(text);
          // given the text's value (bytes already parsed), the editor edits the same
          let known: string | undefined;
          try {
            known = editJsonText(
              text,
              { set, append },
              { value: parseJson(text), keys: countKeysWritten(text) },
            );
          } catch {
            known = undefined;
          }
          expect(known).toBe(out);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("counts a removal as a change", () => {
    expect(editsChangeNothing({ a: 1 }, { remove: [["a"]] })).toBe(false);
    expect(editsChangeNothing({ a: 1 }, { set: [{ path: ["a"], value: 1 }] })).toBe(true);
  });
});

describe("editJsonText refuses text that means two things (SPEC §11)", () => {
  const twice = `{
  "aggregate_metrics": {
    "TOK_IN": 0,
    "TOK_OUT": 5,
    "TOK_IN": 35167
  }
}
`;

  it("throws a JsonEditError naming the key path, instead of writing into the copy no reader sees", () => {
    // JSON.parse keeps the last copy; the editor would have written into the first
    expect(JSON.parse(twice).aggregate_metrics.TOK_IN).toBe(35167);
    const edit = () =>
      editJsonText(twice, { set: [{ path: ["aggregate_metrics", "TOK_IN"], value: 40000 }] });
    expect(edit).toThrow(JsonEditError);
    expect(edit).toThrow(/^aggregate_metrics\.TOK_IN appears twice/);
  });

  it("given a reading of the text, edits it without parsing it, but not a text that writes other keys", () => {
    const text = '{"a": 1, "b": {"c": 2}}';
    const known = { value: { a: 1, b: { c: 2 } }, keys: 3 };
    expect(editJsonText(text, { set: [{ path: ["a"], value: 5 }] }, known)).toBe(
      '{"a": 5, "b": {"c": 2}}',
    );
    // not the text the reading was of: a key twice is named as always, other text is refused
    const grown = '{"a": 1, "b": {"c": 2}, "a": 3}';
    expect(() => editJsonText(grown, { set: [{ path: ["a"], value: 5 }] }, known)).toThrow(
      /^a appears twice/,
    );
    const other = '{"a": 1, "b": {"c": 2, "d": 4}}';
    expect(() => editJsonText(other, { set: [{ path: ["a"], value: 5 }] }, known)).toThrow(
      /^the text writes 4 keys, not the 3 of the reading the edits were made from; not edited$/,
    );
  });

  it("refuses a first copy that is null, where it used to throw a plain error", () => {
    const text = '{"rec": null, "rec": {"status": "pending"}}';
    expect(() => editJsonText(text, { set: [{ path: ["rec", "status"], value: "x" }] })).toThrow(
      /^rec appears twice/,
    );
    // every refusal is typed, so a caller can make it one file's error
    expect(() => editJsonText("[1", { set: [] })).toThrow(JsonEditError);
    expect(() => editJsonText('{"a": 1}', { set: [{ path: ["missing", "x"], value: 1 }] })).toThrow(
      JsonEditError,
    );
  });

  it("finds duplicates anywhere, as JSON.parse reads keys (escapes decoded), and names them safely", () => {
    const find = (text: string) => findDuplicateKey(parseTree(text)!);
    expect(find('{"runs": [{"a": 1}, {"b": 1, "c": 2, "b": 3}]}')).toEqual(["runs", 1, "b"]);
    expect(find('{"a": 1, "\\u0061": 2}')).toEqual(["a"]);
    expect(find('{"a": {"x": 1}, "b": {"x": 1}}')).toBeUndefined();
    expect(formatJsonPath(["runs", 1, "b"])).toBe("runs[1].b");
    // a key with a newline or ESC is shown escaped, never raw
    expect(formatJsonPath(["x", "bad\nkey\u001b"])).toBe('x["bad\\nkey\\u001b"]');
  });
});

describe("parseJsonShape", () => {
  const keyArb = fc.constantFrom(
    "a",
    "b",
    'q"uote',
    "back\\slash",
    "\\",
    "é",
    "tab\t",
    "x",
    "colon:",
    '":',
    "__proto__",
  );
  // the spacing JSON allows around a colon: a key is still a key however it is written
  const colons = [": ", ":", " : ", "\n\t:\r\n "];
  /** An object's text from key/value pairs, keys written plain or with \u escapes. */
  const objectText = (pairs: Array<[string, unknown, boolean]>): string =>
    `{${pairs
      .map(([k, v, escaped], i) => {
        const key = escaped
          ? `"${[...k].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")}"`
          : JSON.stringify(k);
        return `${key}${colons[i % colons.length]}${JSON.stringify(v)}`;
      })
      .join(", ")}}`;
  /** The text's shape; its value as read must be the oracle's. */
  const shapes = (text: string, limit: number) => {
    const { value, keys, ...shape } = parseJsonShape(text, limit);
    if (!shape.tooDeep) expect(value).toEqual(valueOfTree(text));
    expect(keys).toBe(countKeysWritten(text));
    return shape;
  };

  it("finds a key twice exactly when the decoded keys of some object repeat, at any depth", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(keyArb, fc.jsonValue({ maxDepth: 2 }), fc.boolean()), { maxLength: 6 }),
        fc.boolean(),
        (pairs, nest) => {
          const inner = objectText(pairs);
          const text = nest ? `{"outer": [1, "\\"{", ${inner}], "z": {}}` : inner;
          const repeated = new Set(pairs.map(([k]) => k)).size < pairs.length;
          const shape = shapes(text, 1000);
          expect(shape).toEqual({ tooDeep: false, duplicateKey: repeated });
          expect(findDuplicateKey(parseTree(text)!) !== undefined).toBe(repeated);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("finds a key twice in objects of many keys too (past the few compared one by one), nested in each other", () => {
    /** Distinct keys, then perhaps one of them again at another place. */
    const keysArb = (max: number) =>
      fc
        .tuple(
          fc.uniqueArray(fc.nat(999), { minLength: max / 2, maxLength: max }),
          fc.option(fc.tuple(fc.nat(), fc.nat())),
          fc.boolean(),
        )
        .map(([ids, again, escaped]) => {
          const keys = ids.map((n) => `k${n}`);
          if (again && keys.length > 0)
            keys.splice(again[1] % (keys.length + 1), 0, keys[again[0] % keys.length]!);
          return keys.map((k, i): [string, unknown, boolean] => [k, i, escaped && i % 2 === 0]);
        });
    fc.assert(
      fc.property(keysArb(40), keysArb(30), fc.nat(40), (outer, inner, at) => {
        // the inner object sits among the outer one's keys: its keys must not count as theirs
        const entries = outer.map((pair) => objectText([pair]).slice(1, -1));
        entries.splice(Math.min(at, outer.length), 0, `"nested": ${objectText(inner)}`);
        const text = `{${entries.join(", ")}}`;
        const repeated = (keys: string[]) => new Set(keys).size < keys.length;
        const expected =
          repeated(inner.map(([k]) => k)) || repeated([...outer.map(([k]) => k), "nested"]);
        expect(shapes(text, 1000)).toEqual({ tooDeep: false, duplicateKey: expected });
        expect(findDuplicateKey(parseTree(text)!) !== undefined).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it("tells nesting deeper than the limit, strings aside", () => {
    expect(shapes(`${"[".repeat(5)}${"]".repeat(5)}`, 5).tooDeep).toBe(false);
    expect(shapes(`${"[".repeat(6)}${"]".repeat(6)}`, 5).tooDeep).toBe(true);
    expect(shapes(`["${"[".repeat(50)}"]`, 5).tooDeep).toBe(false);
    expect(shapes(`[{"a": [{"b": {}}]}]`, 5).tooDeep).toBe(false);
    expect(shapes(`[{"a": [{"b": {"c": []}}]}]`, 5).tooDeep).toBe(true);
  });

  it("reads text nested far deeper than the call stack goes", () => {
    const text = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    expect(parseJsonShape(text, 1000).tooDeep).toBe(true);
    expect(parseJsonShape(text, Number.POSITIVE_INFINITY)).toMatchObject({
      tooDeep: false,
      duplicateKey: false,
    });
  });
});
