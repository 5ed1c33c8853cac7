import { describe, expect, it } from "vitest";
import { HEAP_FLAGS, heapFlagsToSet } from "../src/entry/heap.ts";

/**
 * The tool sets V8's garbage-collection flags itself (src/entry/heap.ts): the action runs under
 * `node24` with no flags of ours. A user who sets one of them, on node's command line or in
 * NODE_OPTIONS, keeps their own value.
 */
describe("the heap flags the tool sets", () => {
  it("sets both when the user set neither", () => {
    expect(heapFlagsToSet([])).toEqual([...HEAP_FLAGS]);
    expect(heapFlagsToSet(["--enable-source-maps", "--max-old-space-size=4096"])).toEqual([
      ...HEAP_FLAGS,
    ]);
  });

  it("leaves a flag the user set, however they spelled it", () => {
    expect(heapFlagsToSet(["--heap-growing-percent=80"])).toEqual(["--semi-space-growth-factor=1"]);
    expect(heapFlagsToSet(["--semi_space_growth_factor=4"])).toEqual(["--heap-growing-percent=50"]);
    expect(heapFlagsToSet(["--semi-space-growth-factor", "--heap-growing-percent=20"])).toEqual([]);
  });

  it("lets the young generation grow when the user sizes its semi-spaces", () => {
    expect(heapFlagsToSet(["--max-semi-space-size=16"])).toEqual(["--heap-growing-percent=50"]);
    expect(heapFlagsToSet(["--min_semi_space_size=4"])).toEqual(["--heap-growing-percent=50"]);
  });
});
