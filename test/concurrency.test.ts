import { describe, expect, it } from "vitest";
import { mapInOrder } from "../src/util/concurrency.ts";

const tick = () => new Promise<void>((r) => setImmediate(r));

describe("mapInOrder (discovery, span fetching and page pieces share it)", () => {
  it("keeps the items' order and never runs more than the limit at once", async () => {
    let running = 0;
    let most = 0;
    const out = await mapInOrder([5, 1, 4, 2, 3, 0], 2, async (n) => {
      running++;
      most = Math.max(most, running);
      for (let i = 0; i < n; i++) await tick();
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(most).toBe(2);
  });

  it("after a failure starts nothing new, and throws the first error only once the work under way has settled", async () => {
    const started: number[] = [];
    let running = 0;
    const failing = mapInOrder([0, 1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      started.push(n);
      running++;
      try {
        for (let i = 0; i < (n === 1 ? 1 : 5); i++) await tick();
        if (n === 1) throw new Error("page 1 refused");
        return n;
      } finally {
        running--;
      }
    });
    await expect(failing).rejects.toThrow("page 1 refused");
    expect(running).toBe(0);
    // 0, 1 and 2 start at once; 1 fails before any other finishes, so 3 and later never start
    expect(started).toEqual([0, 1, 2]);
  });
});
