import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MIN_NODE, nodeTooOld } from "../src/entry/node-version.ts";
import { ACTION_BUNDLE, CLI_BUNDLE, ROOT } from "./support/bundle.ts";
import { findOldNode } from "./support/old-node.ts";

/**
 * The CLI and the action check the Node version before anything else and say in one line what
 * they need (SPEC §14), instead of failing inside the minified bundle on an old Node.
 */

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  engines: { node: string };
  scripts: { start: string };
};

function run(node: string, args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(node, args, { cwd: ROOT, env: { PATH: process.env.PATH } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("the supported Node versions", () => {
  it("package.json's engines asks for the same Node the entry points check for", () => {
    expect(pkg.engines.node).toBe(`>=${MIN_NODE}`);
  });

  it("accepts 22.19 and later, 24 and later, and names what to install for anything older", () => {
    for (const ok of ["22.19.0", "22.23.3", "v22.19.0", "24.0.0", "24.21.0", "26.1.0"])
      expect(nodeTooOld(ok), ok).toBeUndefined();
    for (const old of ["22.18.9", "22.0.0", "20.20.2", "18.20.8", "v16.20.2"]) {
      const message = nodeTooOld(old);
      expect(message, old).toContain(`Node.js ${MIN_NODE} or newer`);
      expect(message).toContain(old);
      expect(message).not.toContain("\n");
    }
  });
});

const old = findOldNode();

const oldTitle = old
  ? `the built bundles under Node.js ${old.version}, too old to run them (${old.path})`
  : "skipped: no Node.js older than 22 here to run the bundles under (set OLD_NODE, or run .ci/run, which installs one)";

describe.skipIf(!old)(oldTitle, () => {
  it("the CLI says in one line which Node it needs and exits 2, for --help and for npm start's pass", async () => {
    const startArgs = pkg.scripts.start.split(" ").slice(2);
    for (const args of [["--help"], startArgs]) {
      const result = await run(old!.path, [CLI_BUNDLE, ...args]);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toBe(`${nodeTooOld(old!.version)}\n`);
    }
  });

  it("the action fails the step with one error annotation saying which Node it needs", async () => {
    const result = await run(old!.path, [ACTION_BUNDLE]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(`::error::${nodeTooOld(old!.version)}\n`);
    expect(result.stderr).toBe("");
  });
});
