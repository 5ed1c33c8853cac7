/**
 * Builds the committed bundles: TypeScript 7 compiles src/ to build/ (it has no JavaScript API,
 * so ncc cannot compile TypeScript itself), then ncc bundles each entry with its dependencies
 * into one ESM file under dist/. CI rebuilds and fails when dist/ differs from what is committed.
 */
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const run = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { cwd: root, stdio: ["ignore", "ignore", "inherit"] });

/** Entry points: the action (dist/index.js) and the CLI (dist/cli.js). */
const ENTRIES = [
  { source: "build/index.js", out: "index.js" },
  { source: "build/cli.js", out: "cli.js" },
];

rmSync(join(root, "build"), { recursive: true, force: true });
run(bin("tsc"), ["-p", "tsconfig.build.json"]);

const dist = join(root, "dist");
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);
const licenses = new Set<string>();
for (const entry of ENTRIES) {
  if (!existsSync(join(root, entry.source))) continue;
  const out = join(root, "build", ".ncc", entry.out);
  run(bin("ncc"), [
    "build",
    entry.source,
    "-o",
    out,
    "--minify",
    "--no-source-map-register",
    "--license",
    "licenses.txt",
    "--quiet",
  ]);
  copyFileSync(join(out, "index.js"), join(dist, entry.out));
  // lazily imported modules (@actions/cache) come as chunks loaded from beside the entry
  for (const chunk of readdirSync(out).filter((f) => /^\d+\.index\.js$/.test(f))) {
    if (existsSync(join(dist, chunk)))
      throw new Error(`chunk ${chunk} of ${entry.out} collides with another entry's`);
    copyFileSync(join(out, chunk), join(dist, chunk));
  }
  licenses.add(readFileSync(join(out, "licenses.txt"), "utf8"));
}
writeFileSync(join(dist, "licenses.txt"), [...licenses].join("\n"));
writeFileSync(join(dist, "package.json"), `${JSON.stringify({ type: "module" }, null, 2)}\n`);
console.log(
  `built ${ENTRIES.filter((e) => existsSync(join(dist, e.out)))
    .map((e) => `dist/${e.out}`)
    .join(", ")}`,
);
