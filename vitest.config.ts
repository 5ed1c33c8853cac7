import { createLogger } from "vite";
import { defineConfig } from "vitest/config";

// @actions/workflow-parser ships source maps without their sources; inlining it (below) makes
// vite warn once per file. The warnings say nothing about our code.
const logger = createLogger();
const warn = logger.warn.bind(logger);
logger.warn = (message, options) => {
  if (message.includes("points to missing source files")) return;
  warn(message, options);
};

export default defineConfig({
  customLogger: logger,
  test: {
    include: ["test/**/*.test.ts"],
    // builds the bundles the action and CLI tests run, fresh from src/
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // CI asks for a JSON report beside the console's through the environment (scripts/test-summary.ts
    // reads it), so that it runs the README's test command exactly as written
    ...(process.env.VITEST_JSON_REPORT
      ? { reporters: ["default", "json"], outputFile: { json: process.env.VITEST_JSON_REPORT } }
      : {}),
    server: {
      deps: {
        // @actions/workflow-parser imports JSON without import attributes, which plain Node ESM
        // rejects; inlined, vite transforms it.
        inline: ["@actions/workflow-parser"],
      },
    },
  },
});
