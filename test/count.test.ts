import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { countText } from "../src/util/count.ts";

// Messages and tables quote counts as the locale writes them; files keep those messages, so the
// fast path must write the very same text.
describe("countText", () => {
  it("writes counts grouped by thousands", () => {
    expect(countText(0)).toBe("0");
    expect(countText(999)).toBe("999");
    expect(countText(1000)).toBe("1,000");
    expect(countText(200_163)).toBe("200,163");
    expect(countText(1_002_003)).toBe("1,002,003");
  });

  it("writes every number as toLocaleString('en-US') does (property)", () => {
    const number = fc.oneof(
      fc.nat(),
      fc.integer({ min: 0, max: 2_000_000 }),
      fc.maxSafeNat(),
      fc.integer(),
      fc.double(),
      fc.constantFrom(-0, Number.MAX_SAFE_INTEGER + 1, 1e21, Number.NaN, Number.POSITIVE_INFINITY),
    );
    fc.assert(
      fc.property(number, (n) => {
        expect(countText(n)).toBe(n.toLocaleString("en-US"));
      }),
      { numRuns: 20_000 },
    );
  });
});
