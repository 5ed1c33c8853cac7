import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { commandGuard } from "../src/util/printable.ts";

/**
 * The guard by its definition, a line at a time: where a line (split at `\n` or `\r`) starts with
 * white space and `::`, its second `:` is written `\u003a`; a `[` after two or more `#` is written
 * `\u005b`. The white space is the runner's (.NET's, and JavaScript's), line breaks excepted.
 */
const LEAD = /^([\t\v\f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*:):/;
function guardedByDefinition(text: string): string {
  return text
    .split(/([\r\n])/)
    .map((line) => line.replace(LEAD, "$1\\u003a").replace(/(?<=##)\[/g, "\\u005b"))
    .join("");
}

describe("commandGuard", () => {
  it("writes what no runner reads as a command", () => {
    const guard = commandGuard();
    expect(guard("ok\n  ::error::x\n")).toBe("ok\n  :\\u003aerror::x\n");
    expect(guard("a ##[warning]b ::c\r::d")).toBe("a ##\\u005bwarning]b ::c\r:\\u003ad");
  });

  it("guards as the definition does, however the text is cut into writes (property)", () => {
    // texts dense in what matters: colons, hashes, brackets, white space and line breaks
    const char = fc.constantFrom(
      ":",
      "#",
      "[",
      " ",
      "\t",
      "\u3000",
      "\u2028",
      "\n",
      "\r",
      "a",
      "{",
      '"',
      "\\",
    );
    const text = fc.array(char, { maxLength: 80 }).map((cs) => cs.join(""));
    fc.assert(
      fc.property(text, fc.array(fc.nat(80), { maxLength: 6 }), (t, cuts) => {
        const at = [...new Set(cuts.map((c) => c % (t.length + 1)))].sort((a, b) => a - b);
        const pieces = [0, ...at].map((from, k) => t.slice(from, [...at, t.length][k]));
        const guard = commandGuard();
        expect(pieces.map(guard).join("")).toBe(guardedByDefinition(t));
      }),
      { numRuns: 5000 },
    );
  });
});
