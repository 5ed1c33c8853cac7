import { execFileSync } from "node:child_process";
import { BUNDLE_DIR, ROOT } from "./support/bundle.ts";

/**
 * Builds the action and CLI bundles from the current src/ into BUNDLE_DIR once per test run, the
 * same way `npm run build` builds dist/, so tests that run the bundle test today's code.
 */
export default function setup(): void {
  execFileSync(process.execPath, [`${ROOT}/scripts/build.ts`, "--out", BUNDLE_DIR], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
  });
}
