import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { parseTree } from "jsonc-parser";
import { afterEach, describe, expect, it } from "vitest";
import { nodeFiles } from "../src/fs/node.ts";
import { discoverRuns } from "../src/runs/discover.ts";
import { parseJson, parseJsonShape } from "../src/util/json-read.ts";
import { findDuplicateKey } from "../src/util/json-text.ts";
import { generateExperiment, tempDir, writeExperiment } from "./support/experiment.ts";
import { valueOfTree } from "./support/json-oracle.ts";

// V8's JSON.parse (Node 24 and 26) names a key written with an escape after an earlier key that
// ends in a backslash, at the same place in an object of the same keys so far
// (src/util/json-read.ts). Each case: text read before, then the text whose keys must be exact.
const POISONED: Array<[string, string, unknown]> = [
  ['{"UTT": 1, "TOK_I\\\\": 0}', '{"UTT": 6, "TOK_I\\u004e": 35167}', { UTT: 6, TOK_IN: 35167 }],
  ['{"b": 1, "\\\\": 0}', '{"b": 6, "\\n": 7}', { b: 6, "\n": 7 }],
  ['{"c": 1, "ab\\\\": 0}', '{"c": 6, "ab\\u0063": 8}', { c: 6, abc: 8 }],
];

describe("parseJson", () => {
  it("reads a key written with an escape as the key it names, whatever text was read before", () => {
    for (const [before, text, expected] of POISONED) {
      JSON.parse(before);
      expect(parseJson(text)).toEqual(expected);
      expect(parseJsonShape(text, 1000)).toEqual({
        value: expected,
        keys: 2,
        tooDeep: false,
        duplicateKey: false,
      });
    }
  });

  it("gives what JSON.parse should for any text, keys written plainly or escaped, after any other", () => {
    // keys that end in a backslash, or hold one, or a quote, beside plain ones
    const keyArb = fc.constantFrom(
      "a",
      "ab",
      "a\\",
      "ab\\",
      "\\",
      "x",
      'q"',
      "\n",
      "é",
      "__proto__",
    );
    /** A key written as JSON.stringify writes it, or with some characters as \u escapes. */
    const written = (key: string, escapes: boolean[]) =>
      `"${[...key]
        .map((c, i) =>
          escapes[i % escapes.length]
            ? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`
            : JSON.stringify(c).slice(1, -1),
        )
        .join("")}"`;
    const objectArb: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.jsonValue({ maxDepth: 0 }).map((v) => JSON.stringify(v)),
        fc.array(tie("value"), { maxLength: 3 }).map((vs) => `[${vs.join(", ")}]`),
        fc
          .array(fc.tuple(keyArb, fc.array(fc.boolean(), { minLength: 1 }), tie("value")), {
            maxLength: 4,
          })
          .map(
            (props) =>
              `{${props.map(([k, escapes, v]) => `${written(k, escapes)}: ${v}`).join(", ")}}`,
          ),
      ),
    })).value;
    fc.assert(
      fc.property(fc.array(objectArb, { maxLength: 3 }), objectArb, (before, text) => {
        for (const t of before) JSON.parse(t);
        const expected = valueOfTree(text);
        expect(parseJson(text)).toEqual(expected);
        const shape = parseJsonShape(text, 1000);
        expect(shape.value).toEqual(expected);
        expect(shape.duplicateKey).toBe(findDuplicateKey(parseTree(text)!) !== undefined);
      }),
      { numRuns: 1000 },
    );
  });

  it("keeps a key named __proto__ as a property, and every number and literal as JSON.parse reads it", () => {
    const value = parseJson(
      '{"\\u005f_proto__": {"polluted": true}, "n\\u0031": [0.1, -0, 12345678901234567890, 1e-7, 1E+2, true, false, null, "s\\"q"]}',
    ) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(["__proto__", "n1"]);
    expect(Object.getOwnPropertyDescriptor(value, "__proto__")?.value).toEqual({ polluted: true });
    expect(value.n1).toEqual([0.1, -0, 12345678901234567e3, 1e-7, 100, true, false, null, 's"q']);
    expect(Object.is((value.n1 as unknown[])[1], -0)).toBe(true);
  });

  it("reads text with an escaped key nested far deeper than the call stack goes", () => {
    const depth = 100_000;
    const text = `${"[".repeat(depth)}{"\\u0061": 1}${"]".repeat(depth)}`;
    let value = parseJson(text);
    for (let i = 0; i < depth; i++) value = (value as unknown[])[0];
    expect(value).toEqual({ a: 1 });
  });

  it("refuses what JSON.parse refuses", () => {
    expect(() => parseJson('{"\\u0061": 1,}')).toThrow(SyntaxError);
    expect(() => parseJsonShape("{", 1000)).toThrow(SyntaxError);
  });
});

describe("a run file with an escaped key, after a file with a key ending in a backslash", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  it("is read with the value under its own key", async () => {
    const root = await tempDir("reconcile-usage-json-read-");
    dirs.push(root);
    const [odd, escaped] = generateExperiment({ frameworks: ["baes"], runsPerFramework: 2 });
    const runsDir = await writeExperiment(root, [odd!], { manifest: false });
    // a file whose aggregate_metrics has a key ending in a backslash where TOK_IN stands (after
    // a key no other test writes, so that no other object of this process has these keys)
    const oddPath = join(runsDir, odd!.path);
    const oddText = await readFile(oddPath, "utf8");
    await writeFile(
      oddPath,
      oddText.replace('"UTT"', '"PROBE_ODD": 1,\n    "UTT"').replace('"TOK_IN"', '"TOK_I\\\\"'),
    );
    expect((await discoverRuns(nodeFiles, runsDir)).problems).toEqual([]);

    // then a file with the same keys, TOK_IN written with an escape (as a tool that escapes
    // letters would write it)
    await writeExperiment(root, [escaped!], { manifest: false });
    const escapedPath = join(runsDir, escaped!.path);
    const escapedText = await readFile(escapedPath, "utf8");
    const tokensIn = Number(/"TOK_IN": (\d+)/.exec(escapedText)![1]);
    await writeFile(
      escapedPath,
      escapedText
        .replace('"UTT"', '"PROBE_ODD": 1,\n    "UTT"')
        .replace('"TOK_IN"', '"TOK_I\\u004e"'),
    );
    const discovery = await discoverRuns(nodeFiles, runsDir);
    expect(discovery.problems).toEqual([]);
    const run = discovery.runs.find((r) => r.runId === escaped!.runId)!;
    expect(run.file.aggregate_metrics?.TOK_IN).toBe(tokensIn);
  });
});
