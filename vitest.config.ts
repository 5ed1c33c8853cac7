import { readFile } from "node:fs/promises";
import { defineConfig } from "vitest/config";

// @actions/workflow-parser ships source maps without their sources; inlined (below), vite would
// look for them and warn once per file ("Sourcemap … points to missing source files"), words
// about a dependency that bury the test run's own output. Loaded without the map comment, its
// files are not looked up at all.
const workflowParserWithoutMaps = {
  name: "workflow-parser-without-source-maps",
  enforce: "pre" as const,
  async load(id: string) {
    const path = id.split("?")[0]!;
    if (!path.includes("/@actions/workflow-parser/dist/") || !path.endsWith(".js")) return null;
    const code = await readFile(path, "utf8");
    return { code: code.replace(/^\/\/# sourceMappingURL=.*$/gm, ""), map: null };
  },
};

export default defineConfig({
  plugins: [workflowParserWithoutMaps],
  test: {
    include: ["test/**/*.test.ts"],
    // builds the bundles the action and CLI tests run, fresh from src/
    globalSetup: ["test/global-setup.ts"],
    // @actions/cache and @actions/core, run in-process by a few tests, print their workflow
    // commands (::debug::) and progress to stdout: silenced unless asked for (see the file)
    setupFiles: ["test/support/quiet-actions.ts"],
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
