import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { MIN_NODE } from "../../src/entry/node-version.ts";
import { ROOT } from "./bundle.ts";

/**
 * Where the tests look for a Node.js older than the tool supports: OLD_NODE if set, the one CI
 * installs from the npm registry into .tools/node20 (the way it installs Node 24), then every
 * `node` on PATH (machines that still ship Node 20 have one there).
 */
const candidates = (): string[] => [
  ...(process.env.OLD_NODE ? [process.env.OLD_NODE] : []),
  join(ROOT, ".tools", "node20", "node_modules", ".bin", "node"),
  ...(process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "node")),
];

const major = (version: string) => Number(version.split(".")[0]);

/** A node binary older than MIN_NODE's major version, with its version, or undefined. */
export function findOldNode(): { path: string; version: string } | undefined {
  for (const path of candidates()) {
    if (!existsSync(path)) continue;
    try {
      const version = execFileSync(path, ["-p", "process.versions.node"], {
        encoding: "utf8",
      }).trim();
      if (major(version) < major(MIN_NODE)) return { path, version };
    } catch {
      // not a working node binary: try the next one
    }
  }
  return undefined;
}
