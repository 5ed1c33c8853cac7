import { randomBytes } from "node:crypto";
import { lstat, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { DirEntry, Files } from "./types.ts";

/** Writes to a temporary file beside the target, flushes it, then renames it over the target. */
async function writeAtomic(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  let mode: number | undefined;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch {
    mode = undefined;
  }
  const handle = await open(temp, "wx", mode ?? 0o644);
  try {
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

export const nodeFiles: Files = {
  async list(dir) {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.map(
      (e): DirEntry => ({
        name: e.name,
        kind: e.isSymbolicLink()
          ? "symlink"
          : e.isDirectory()
            ? "dir"
            : e.isFile()
              ? "file"
              : "other",
      }),
    );
  },
  read: (path) => readFile(path),
  writeAtomic,
  async exists(path) {
    try {
      await lstat(path);
      return true;
    } catch {
      return false;
    }
  },
};
