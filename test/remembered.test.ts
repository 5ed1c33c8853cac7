import { describe, expect, it } from "vitest";
import { remembered } from "../src/util/remembered.ts";

describe("remembered", () => {
  it("computes a key once while the table holds it, never holds more than its bound, and remembers no throw", () => {
    const calls: number[] = [];
    const square = remembered((n: number) => {
      calls.push(n);
      if (n < 0) throw new RangeError("negative");
      return n === 0 ? undefined : n * n;
    }, 3);
    expect([square(2), square(2), square(0), square(0)]).toEqual([4, 4, undefined, undefined]);
    expect(calls).toEqual([2, 0]);
    expect(() => square(-1)).toThrow(RangeError);
    expect(() => square(-1)).toThrow(RangeError);
    expect(calls).toEqual([2, 0, -1, -1]);
    // a fourth key empties the table: the first ones are computed again, with the same results
    square(3);
    square(4);
    expect(square(2)).toBe(4);
    expect(calls).toEqual([2, 0, -1, -1, 3, 4, 2]);
  });
});
