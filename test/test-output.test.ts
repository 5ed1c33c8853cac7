import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/bundle.ts";

/**
 * The test run's own output is for the developer (issue 15 item 8): no dependency's warnings
 * (`Sourcemap … points to missing source files` from the inlined workflow parser) and no Actions
 * toolkit chatter (`::debug::`, `[command]/usr/bin/tar`, "Cache saved") from tests that run the
 * toolkit in-process.
 */
describe("test output (issue 15 item 8)", () => {
  it("the test files that load the workflow parser and run the Actions cache in-process print only the reporter's lines", async () => {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("VITEST") && k !== "NODE_OPTIONS"),
    );
    const vitest = `${ROOT}/node_modules/vitest/vitest.mjs`;
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [vitest, "run", "test/workflows.test.ts", "test/held-readings.test.ts", "--reporter", "dot"],
      { cwd: ROOT, env: { ...env, NO_COLOR: "1", CI: "1" }, maxBuffer: 64 * 1024 * 1024 },
    );
    const lines = `${stdout}\n${stderr}`.split("\n");
    expect(lines.filter((l) => /points to missing source files/.test(l))).toEqual([]);
    expect(
      lines.filter((l) => /^::|^\[command\]|^Cache (saved|restored|hit|Size)/.test(l)),
    ).toEqual([]);
    expect(stdout).toMatch(/Test Files\s+2 passed/);
  });
});
