import { setFlagsFromString } from "node:v8";

/**
 * How the tool asks V8 to collect garbage. A pass keeps a little of every run (its state, its
 * readings, its report row) and makes much short-lived garbage around it (file texts, parsed
 * pages), and V8's defaults size the heap for a server: the young generation grows to tens of
 * megabytes and the old one to several times what is live. A 10,000-run pass then peaked at about
 * 440 MiB with some 50 MB alive. These keep the young generation at its first size and let the old
 * one grow to 1.5 times what is alive, so the peak follows what the pass holds (bench/scale.bench.ts
 * measures both); garbage is only collected more often, and nothing the pass computes changes.
 */
export const HEAP_FLAGS = ["--semi-space-growth-factor=1", "--heap-growing-percent=50"] as const;

/**
 * The flags of HEAP_FLAGS that the user has not set: a flag given to node (`node
 * --heap-growing-percent=80 …`, or in NODE_OPTIONS) is the user's choice and stays. A semi-space
 * size the user gives (`NODE_OPTIONS=--max-semi-space-size=16`) sizes the young generation
 * themselves: it then grows as V8 grows it, up to their limit, instead of keeping its first size.
 * A pass of tens of thousands of runs spends much of its time collecting a small young generation
 * (bench/scale.bench.ts), and V8 reads the semi-space limits only when it makes the heap, so an
 * entry cannot raise them itself.
 */
export function heapFlagsToSet(given: readonly string[]): string[] {
  const name = (flag: string) => flag.replace(/^--/, "").split("=")[0]!.replaceAll("_", "-");
  const named = new Set(given.map(name));
  if (named.has("max-semi-space-size") || named.has("min-semi-space-size"))
    named.add("semi-space-growth-factor");
  return HEAP_FLAGS.filter((f) => !named.has(name(f)));
}

/**
 * Sets the flags before the tool is loaded. Both are read by V8 each time it sizes a generation,
 * so setting them in a running process takes effect from the next collection.
 */
export function boundHeap(process: { execArgv: readonly string[]; env: NodeJS.ProcessEnv }): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  for (const flag of heapFlagsToSet(given.filter((a) => a.startsWith("--")))) {
    try {
      setFlagsFromString(flag);
    } catch {
      // a V8 without the flag: the pass is the same, only its peak of memory is higher
    }
  }
}
