import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ACTION_BUNDLE, BUNDLE_DIR, CLI_BUNDLE, ROOT } from "./support/bundle.ts";

/** Newest modification time of the files a bundle is built from. */
function newestSource(): number {
  let newest = 0;
  const visit = (path: string) => {
    const s = statSync(path);
    if (s.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
    else newest = Math.max(newest, s.mtimeMs);
  };
  for (const p of ["src", "scripts/build.ts", "package-lock.json", "tsconfig.build.json"])
    visit(join(ROOT, p));
  return newest;
}

const builtAt = (path: string): number => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
};

/**
 * Builds the action and CLI bundles from the current src/ into BUNDLE_DIR, the same way
 * `npm run build` builds dist/, so tests that run the bundle test today's code. A bundle newer
 * than every source file is reused (a clean clone always builds).
 */
export default function setup(): void {
  if (Math.min(builtAt(ACTION_BUNDLE), builtAt(CLI_BUNDLE)) > newestSource()) return;
  execFileSync(process.execPath, [join(ROOT, "scripts", "build.ts"), "--out", BUNDLE_DIR], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
  });
}
