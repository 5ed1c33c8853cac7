/**
 * Builds the committed bundles: TypeScript 7 compiles src/ to build/ (it has no JavaScript API,
 * so ncc cannot compile TypeScript itself), then ncc bundles each entry with its dependencies
 * into one ESM file under dist/. CI rebuilds and fails when dist/ differs from what is committed.
 * ncc minifies only the entry file; the chunks it splits off (the tool behind the Node-version
 * gate, and the lazily loaded octokit and @actions/cache) are minified here with terser, the
 * minifier ncc itself uses, so what we ship stays lean.
 *
 * `--out DIR` builds the same bundles into DIR instead (compiling in DIR/.build), leaving dist/
 * and build/ alone: the test run builds its own bundle that way, so tests of the bundle never
 * run a stale dist/.
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
import { join, relative, resolve } from "node:path";
import { minify } from "terser";

const root = join(import.meta.dirname, "..");
const outArg = process.argv.indexOf("--out");
const custom = outArg >= 0 ? process.argv[outArg + 1] : undefined;
if (outArg >= 0 && !custom) throw new Error("--out needs a directory");
const dist = custom ? resolve(root, custom) : join(root, "dist");
const build = custom ? join(dist, ".build") : join(root, "build");
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const run = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { cwd: root, stdio: ["ignore", "ignore", "inherit"] });

/**
 * Entry points: the action (dist/index.js) and the CLI (dist/cli.js). Each is a few lines that
 * check the Node version and then import the tool, which ncc puts in a chunk of its own.
 */
const ENTRIES = [
  { source: join(build, "entry", "action.js"), out: "index.js" },
  { source: join(build, "entry", "cli.js"), out: "cli.js" },
];

rmSync(dist, { recursive: true, force: true });
rmSync(build, { recursive: true, force: true });
run(bin("tsc"), ["-p", "tsconfig.build.json", "--outDir", build]);
mkdirSync(dist, { recursive: true });
/** An ESM chunk minified; the same input always gives the same output. */
async function minified(code: string, name: string): Promise<string> {
  const result = await minify(code, { module: true, ecma: 2020, compress: true, mangle: true });
  if (result.code === undefined) throw new Error(`terser returned nothing for ${name}`);
  return result.code;
}

const licenses = new Set<string>();
for (const entry of ENTRIES) {
  if (!existsSync(entry.source)) continue;
  const out = join(build, ".ncc", entry.out);
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
  // the tool behind the entry and its lazily imported modules (octokit, @actions/cache) come as
  // chunks loaded from beside the entry; a chunk both entries share must be the same file
  for (const chunk of readdirSync(out).filter((f) => /^\d+\.index\.js$/.test(f))) {
    const ours = await minified(readFileSync(join(out, chunk), "utf8"), chunk);
    if (existsSync(join(dist, chunk)) && readFileSync(join(dist, chunk), "utf8") !== ours)
      throw new Error(`chunk ${chunk} of ${entry.out} collides with another entry's`);
    writeFileSync(join(dist, chunk), ours);
  }
  licenses.add(readFileSync(join(out, "licenses.txt"), "utf8"));
}
writeFileSync(join(dist, "licenses.txt"), [...licenses].join("\n"));
writeFileSync(join(dist, "package.json"), `${JSON.stringify({ type: "module" }, null, 2)}\n`);
if (custom) rmSync(build, { recursive: true, force: true });
console.log(
  `built ${ENTRIES.filter((e) => existsSync(join(dist, e.out)))
    .map((e) => relative(root, join(dist, e.out)))
    .join(", ")}`,
);
