/**
 * The release workflow's gate and notes: `node scripts/release-notes.ts 1.2.3` (run at the root
 * of the repository) checks that the version is `MAJOR.MINOR.PATCH`, that package.json says the
 * same version, and that CHANGELOG.md has a section for it with something in it; then prints that
 * section's text, which becomes the GitHub release's notes. Any problem is one line on stderr and
 * exit status 1, so the workflow stops before it tags anything.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const VERSION_PATTERN = /^\d+\.\d+\.\d+$/;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The body of CHANGELOG's `## [version]` section (Keep a Changelog: `## [1.2.3] - 2025-11-05`),
 * without its heading and without the link definitions (`[1.2.3]: https://…`) that close the file.
 * Throws when there is no such section or it is empty.
 */
export function releaseNotes(changelog: string, version: string): string {
  const lines = changelog.split(/\r?\n/);
  const heading = new RegExp(`^## \\[?${escapeRegExp(version)}\\]?(\\s|$)`);
  const start = lines.findIndex((line) => heading.test(line));
  if (start < 0)
    throw new Error(
      `CHANGELOG.md has no section for ${version}: add a heading "## [${version}] - YYYY-MM-DD" above the changes it releases`,
    );
  let end = lines.findIndex((line, i) => i > start && /^## /.test(line));
  if (end < 0) end = lines.length;
  const body = lines
    .slice(start + 1, end)
    .filter((line) => !/^\[[^\]]+\]:\s*\S/.test(line))
    .join("\n")
    .trim();
  if (!body) throw new Error(`CHANGELOG.md's section for ${version} is empty`);
  return `${body}\n`;
}

/** Problems that must stop a release of `version`, each one line; none when it may go ahead. */
export function releaseProblems(version: string, packageVersion: string): string[] {
  if (!VERSION_PATTERN.test(version))
    return [
      `version "${version}" is not MAJOR.MINOR.PATCH (for example 1.0.0, without a leading v)`,
    ];
  if (packageVersion !== version)
    return [
      `package.json says version ${packageVersion}, not ${version}: bump it (and src/version.ts) in the release commit first`,
    ];
  return [];
}

if (import.meta.main) {
  const version = process.argv[2] ?? "";
  try {
    const pkg = JSON.parse(readFileSync(join(process.cwd(), "package.json"), "utf8")) as {
      version: string;
    };
    const problems = releaseProblems(version, pkg.version);
    if (problems.length > 0) throw new Error(problems.join("; "));
    process.stdout.write(
      releaseNotes(readFileSync(join(process.cwd(), "CHANGELOG.md"), "utf8"), version),
    );
  } catch (error) {
    process.stderr.write(
      `release ${version}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  }
}
