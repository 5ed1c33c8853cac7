/**
 * The Actions toolkit writes straight to process.stdout when a test runs it in-process (the held
 * readings' cache: `::debug::` lines, `[command]/usr/bin/tar …`, "Cache saved successfully").
 * Hundreds of such lines bury what a developer needs in a test run, so a test worker's direct
 * writes to stdout are dropped; the test reporter does not write through them. Set
 * RECONCILE_USAGE_TEST_STDOUT=1 to see them when debugging a test.
 */
if (!process.env.RECONCILE_USAGE_TEST_STDOUT) {
  process.stdout.write = ((_chunk: unknown, encoding?: unknown, callback?: unknown) => {
    const done = typeof encoding === "function" ? encoding : callback;
    if (typeof done === "function") queueMicrotask(() => (done as () => void)());
    return true;
  }) as typeof process.stdout.write;
}
