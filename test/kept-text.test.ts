import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { flatText, textKeeper } from "../src/util/kept-text.ts";

describe("texts kept to the end of a pass", () => {
  it("keep every text exactly, lone surrogates and control characters included, asked once or again", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary" }), { maxLength: 20 }), (texts) => {
        const keep = textKeeper();
        expect(texts.map((t) => keep(t))).toEqual(texts);
        // asked again, built anew: the same text comes back
        expect(texts.map((t) => keep(["", t].join("")))).toEqual(texts);
        expect(texts.map(flatText)).toEqual(texts);
      }),
    );
  });
});
