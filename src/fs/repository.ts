import { dirname, join, relative, resolve, sep } from "node:path";
import type { Files } from "./types.ts";

/**
 * "The repository" whose files a pass may read (docs/design.md#trust-rules: links are never followed out of it):
 * the git work tree holding the runs directory (the nearest ancestor with a `.git` entry, as in
 * the action's checkout); outside git, the directory holding the runs directory, i.e. the
 * experiment with its `config.yaml`.
 */
export async function repositoryRoot(files: Files, runsDir: string): Promise<string> {
  const start = resolve(runsDir);
  for (let dir = start; ; dir = dirname(dir)) {
    if (await files.exists(join(dir, ".git"))) return dir;
    if (dirname(dir) === dir) return dirname(start);
  }
}

/** Whether `path` lies lexically inside `root` (or is it). */
export function isWithin(path: string, root: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !rel.startsWith(sep));
}

/**
 * Whether `path`, with every symbolic link resolved, still lies inside `root` (resolved too).
 * Without link resolution (a filesystem with no links), or when the path cannot be resolved (it
 * does not exist: reading it fails on its own), there is no link to follow out.
 */
export async function resolvesInside(files: Files, path: string, root: string): Promise<boolean> {
  if (!files.realPath) return true;
  let real: string;
  let realRoot: string;
  try {
    [real, realRoot] = await Promise.all([files.realPath(path), files.realPath(root)]);
  } catch {
    return true;
  }
  return isWithin(real, realRoot);
}
