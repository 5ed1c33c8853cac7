import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { releaseNotes, releaseProblems } from "../scripts/release-notes.ts";

/** The release workflow takes its notes from CHANGELOG.md and refuses a version the files do not say. */

const ROOT = join(import.meta.dirname, "..");

const CHANGELOG = `# Changelog

All notable changes. The format follows Keep a Changelog.

## [Unreleased]

### Fixed
- Something not yet released.

## [1.1.0] - 2025-12-01

### Added
- \`commit: pull-request\`.

### Fixed
- The pull-request job passes every input.

## [1.0.10] - 2025-11-20

- A patch.

## [1.0.1] - 2025-11-10

- Another patch.

[Unreleased]: https://github.com/OWNER/reconcile-usage/compare/v1.1.0...HEAD
[1.1.0]: https://github.com/OWNER/reconcile-usage/compare/v1.0.10...v1.1.0
[1.0.1]: https://github.com/OWNER/reconcile-usage/releases/tag/v1.0.1
`;

describe("release notes from CHANGELOG.md", () => {
  it("are the version's section, from below its heading to the next one", () => {
    expect(releaseNotes(CHANGELOG, "1.1.0")).toBe(
      "### Added\n- `commit: pull-request`.\n\n### Fixed\n- The pull-request job passes every input.\n",
    );
  });

  it("match the version exactly: 1.0.1 is not 1.0.10", () => {
    expect(releaseNotes(CHANGELOG, "1.0.1")).toBe("- Another patch.\n");
    expect(releaseNotes(CHANGELOG, "1.0.10")).toBe("- A patch.\n");
  });

  it("leave out the link definitions that close the file", () => {
    expect(releaseNotes(CHANGELOG, "1.0.1")).not.toContain("https://");
  });

  it("refuse a version without a section, naming the heading to add, and an empty section", () => {
    expect(() => releaseNotes(CHANGELOG, "2.0.0")).toThrow(
      'CHANGELOG.md has no section for 2.0.0: add a heading "## [2.0.0] - YYYY-MM-DD"',
    );
    expect(() => releaseNotes("## [1.2.0] - 2025-12-02\n\n## [1.1.0]\n- x\n", "1.2.0")).toThrow(
      "section for 1.2.0 is empty",
    );
  });
});

describe("what stops a release", () => {
  it("a version that is not MAJOR.MINOR.PATCH, or one package.json does not say", () => {
    expect(releaseProblems("1.2.3", "1.2.3")).toEqual([]);
    expect(releaseProblems("v1.2.3", "1.2.3")[0]).toContain("without a leading v");
    expect(releaseProblems("1.2", "1.2")[0]).toContain("not MAJOR.MINOR.PATCH");
    expect(releaseProblems("1.2.3", "1.2.2")[0]).toContain("package.json says version 1.2.2");
  });
});

describe("node scripts/release-notes.ts, as the release workflow runs it", () => {
  const script = join(ROOT, "scripts", "release-notes.ts");
  const run = (cwd: string, version: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [script, version], { cwd }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });

  it("prints the notes when package.json and CHANGELOG.md both say the version, and fails in one line otherwise", async () => {
    const dir = await mkdtemp(join(tmpdir(), "reconcile-usage-release-"));
    try {
      await writeFile(join(dir, "CHANGELOG.md"), CHANGELOG);
      await writeFile(join(dir, "package.json"), JSON.stringify({ version: "1.1.0" }));
      const ok = await run(dir, "1.1.0");
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toBe(releaseNotes(CHANGELOG, "1.1.0"));

      const wrongPackage = await run(dir, "1.0.10");
      expect(wrongPackage.code).toBe(1);
      expect(wrongPackage.stdout).toBe("");
      expect(wrongPackage.stderr).toBe(
        "release 1.0.10: package.json says version 1.1.0, not 1.0.10: bump it (and src/version.ts) in the release commit first\n",
      );

      await writeFile(join(dir, "package.json"), JSON.stringify({ version: "1.2.0" }));
      const noSection = await run(dir, "1.2.0");
      expect(noSection.code).toBe(1);
      expect(noSection.stderr).toMatch(
        /^release 1\.2\.0: CHANGELOG\.md has no section for 1\.2\.0/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("the project's CHANGELOG.md keeps the format the script reads (Keep a Changelog headings)", async () => {
    const changelog = await readFile(join(ROOT, "CHANGELOG.md"), "utf8");
    expect(changelog).toMatch(/^## \[Unreleased\]$/m);
    for (const [, version] of changelog.matchAll(/^## \[(\d+\.\d+\.\d+)\]/gm))
      expect(releaseNotes(changelog, version!).length).toBeGreaterThan(0);
  });
});
