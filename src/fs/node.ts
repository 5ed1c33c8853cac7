import { randomBytes } from "node:crypto";
import { lstat, open, readdir, readFile, realpath, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { type DirEntry, type Files, FileTooLargeError } from "./types.ts";

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

/**
 * Reads a file of at most `maxBytes`: the size is checked before reading, and the read stops past
 * the limit (a file that grows meanwhile is refused too), so a huge file is never held in memory.
 * Opening without O_NONBLOCK on a FIFO would wait for a writer; callers read regular files only.
 */
async function readCapped(path: string, maxBytes: number): Promise<Uint8Array> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) throw new FileTooLargeError(size, maxBytes);
    // one byte more than the size: a regular file that reads short has been read whole
    const chunks: Buffer[] = [];
    let total = 0;
    for (let room = size + 1; ; room = 64 * 1024) {
      const chunk = Buffer.allocUnsafe(room);
      const { bytesRead } = await handle.read(chunk, 0, room, null);
      total += bytesRead;
      if (total > maxBytes) throw new FileTooLargeError(total, maxBytes);
      if (bytesRead > 0) chunks.push(chunk.subarray(0, bytesRead));
      if (bytesRead < room) break;
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  } finally {
    await handle.close();
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
  read: (path, maxBytes) => (maxBytes === undefined ? readFile(path) : readCapped(path, maxBytes)),
  realPath: (path) => realpath(path),
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
