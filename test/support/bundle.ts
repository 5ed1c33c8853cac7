import { join } from "node:path";

/**
 * Where the tests find the bundles they run as a user would (`node …/index.js`, `node …/cli.js`).
 * The test run builds them fresh from src/ into this directory first (test/global-setup.ts), so a
 * test of the bundle never runs a dist/ older than the code it is meant to test.
 */
export const ROOT = join(import.meta.dirname, "..", "..");
export const BUNDLE_DIR = join(ROOT, ".cache", "test-bundle");
export const ACTION_BUNDLE = join(BUNDLE_DIR, "index.js");
export const CLI_BUNDLE = join(BUNDLE_DIR, "cli.js");
