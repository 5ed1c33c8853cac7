import { execFile } from "node:child_process";
import { cp, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PassReportSchema } from "../src/report/schema.ts";
import { BUNDLE_DIR, ROOT } from "./support/bundle.ts";
import { tempDir } from "./support/experiment.ts";

/**
 * The package as a stranger gets it (SPEC §14): `npm pack`, the tarball installed into an empty
 * directory with no registry at hand, and its `reconcile-usage` bin run on a copy of the example
 * experiment. The tarball is packed from a staging copy of the repository whose dist/ is the
 * bundle built from today's src/, so the test never depends on the committed dist/ being fresh.
 */

const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  dependencies?: Record<string, string>;
  bin: Record<string, string>;
  scripts: { start: string };
};

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

// npm running this test (npm test, npm cit) leaves npm_* variables behind; the npm under test
// must see none of them, and the node running the tests first on PATH (for the bin's shebang).
const env: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k))),
  PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
  npm_config_update_notifier: "false",
};

function run(command: string, args: string[], cwd: string): Promise<Result> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("npm pack, then install the tarball into an empty directory", () => {
  let temp: string;
  let installed: string;
  let packed: string[];

  beforeAll(async () => {
    temp = await tempDir("reconcile-usage-pack-");
    const staging = join(temp, "staging");
    // the repository's files as a clone has them (src/ and examples/ too, which must stay out)
    for (const name of [
      "package.json",
      "README.md",
      "CHANGELOG.md",
      "action.yml",
      "src",
      "examples",
    ])
      await cp(join(ROOT, name), join(staging, name), { recursive: true });
    await cp(BUNDLE_DIR, join(staging, "dist"), {
      recursive: true,
      filter: (source) => !source.includes(`${BUNDLE_DIR}/.build`),
    });
    const pack = await run(
      "npm",
      ["pack", "--json", "--pack-destination", temp, "--cache", join(temp, "npm-cache")],
      staging,
    );
    expect(pack.code, pack.stderr).toBe(0);
    const [info] = JSON.parse(pack.stdout) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    packed = info!.files.map((f) => f.path).sort();

    // an empty directory; --prefix keeps npm from adopting a package.json above it
    installed = join(temp, "user");
    await mkdir(installed);
    const install = await run(
      "npm",
      [
        "install",
        "--offline",
        "--prefix",
        installed,
        "--no-audit",
        "--no-fund",
        "--cache",
        join(temp, "npm-cache"),
        join(temp, info!.filename),
      ],
      installed,
    );
    expect(install.code, install.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await rm(temp, { recursive: true, force: true });
  });

  it("packs only what the bundle needs: dist/, action.yml, README and package.json, and depends on nothing", () => {
    expect(packed).toEqual(expect.arrayContaining(["action.yml", "dist/cli.js", "dist/index.js"]));
    for (const path of packed)
      expect(path, path).toMatch(/^(dist\/[^/]+|action\.yml|README\.md|package\.json|LICENSE)$/);
    // the bundle carries its dependencies: an install must not need a registry
    expect(pkg.dependencies ?? {}).toEqual({});
  });

  it("its bin runs: reconcile-usage --help", async () => {
    const bin = join(installed, "node_modules", ".bin", "reconcile-usage");
    const help = await run(bin, ["--help"], installed);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: reconcile-usage /);
    expect(help.stdout).toContain("--replay");
  });

  it("it reconciles a copy of the example experiment from the recorded Usage API pages and writes the files", async () => {
    const experiment = join(temp, "experiment");
    await cp(join(ROOT, "examples", "experiment"), experiment, { recursive: true });
    const before = await readFile(join(experiment, "runs", "manifest.json"), "utf8");
    // npm start's pass, pointed at the copy, and writing (no --dry-run)
    const args = pkg.scripts.start
      .split(" ")
      .slice(2)
      .filter((a) => a !== "--dry-run")
      .map((a) => a.replace("examples/experiment/", ""));
    const bin = join(installed, "node_modules", ".bin", "reconcile-usage");
    const pass = await run(bin, [...args, "--json"], experiment);
    expect(pass.code, pass.stderr).toBe(0);
    const report = PassReportSchema.parse(JSON.parse(pass.stdout));
    expect(report.errors).toBe(0);
    expect(report.requests).toBe(0);
    expect(report.runs.filter((r) => r.status === "verified").length).toBeGreaterThan(0);
    expect(report.changed_files.length).toBeGreaterThan(0);
    expect(await readFile(join(experiment, "runs", "manifest.json"), "utf8")).not.toBe(before);
    expect(await readdir(join(installed, "node_modules"))).toEqual(
      expect.arrayContaining([pkg.name]),
    );
  });
});
