import { randomBytes } from "node:crypto";
import {
  close,
  closeSync,
  constants,
  fstatSync,
  fsync,
  open,
  openSync,
  readdirSync,
  readSync,
  statSync,
  unlinkSync,
  write,
} from "node:fs";
import { lstat, realpath, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { type DirEntry, type Files, FileTooLargeError } from "./types.ts";

/**
 * Temporary files this process has created and not yet renamed or removed. A signal handler
 * (signals.ts) removes them before the process exits, so an interrupted pass leaves no trace.
 */
const inFlight = new Set<string>();
/** The writes under way, and whether new ones are refused (the process is stopping). */
const writing = new Set<Promise<void>>();
let stopping = false;

export class WritesStoppedError extends Error {
  override name = "WritesStoppedError";
  constructor() {
    super("interrupted: the process is stopping, nothing written");
  }
}

/**
 * Refuses every write from now on and resolves once the writes under way have settled: each has
 * then renamed its temporary file into place or removed it. (Removing a temporary file while its
 * open() is still queued in the thread pool would not do: the open would create it afterwards.)
 */
export async function stopWrites(): Promise<void> {
  stopping = true;
  await Promise.allSettled([...writing]);
}

/** Random once per process; a counter after it tells this process's temporary files apart. */
const tempPrefix = randomBytes(3).toString("hex");
let tempCount = 0;

/**
 * The name of the temporary file beside `path`: hidden, with our pid (so a later pass can tell a
 * dead writer's leftover from a live writer's file; see sweep.ts) and 12 hex digits: a part random
 * per process and a counter, unique within the process without drawing random bytes per file.
 */
export function tempPathFor(path: string): string {
  tempCount = (tempCount + 1) % 0x1000000;
  return join(
    dirname(path),
    `.${basename(path)}.${process.pid}-${tempPrefix}${tempCount.toString(16).padStart(6, "0")}.tmp`,
  );
}

/** Removes, synchronously, every temporary file still in flight (for a signal handler). */
export function removeTempFilesInFlight(): string[] {
  const removed: string[] = [];
  for (const temp of inFlight) {
    try {
      unlinkSync(temp);
      removed.push(temp);
    } catch {
      // already renamed into place, or never created: nothing left behind either way
    }
  }
  inFlight.clear();
  return removed;
}

/** Whether `path` is a temporary file this process is writing right now. */
export const isTempFileInFlight = (path: string): boolean => inFlight.has(path);

/** Tracks a temporary file written outside writeAtomic (the lock's), until `untrack` is called. */
export function trackTempFile(path: string): () => void {
  inFlight.add(path);
  return () => inFlight.delete(path);
}

/**
 * Writes to a temporary file beside the target, flushes it, then renames it over the target.
 * Whatever fails (open, write, sync, close, rename: a full disk, a quota, a read-only directory),
 * the temporary file is removed before the error is passed on.
 */
const writeAtomic = (path: string, text: string): Promise<void> =>
  asWrite(() => replaceWith(path, text));

/** Runs a write that creates files, unless the process is stopping; stopWrites() waits for it. */
export async function asWrite<T>(work: () => Promise<T>): Promise<T> {
  if (stopping) throw new WritesStoppedError();
  const write = work();
  const settled = write.then(
    () => undefined,
    () => undefined,
  );
  writing.add(settled);
  try {
    return await write;
  } finally {
    writing.delete(settled);
  }
}

// A write goes through the callback API on a bare descriptor: a FileHandle (fs/promises) cost
// this thread more than twice as much per file, which a pass pays for each of 10,000 files.
const openFd = promisify(open);
const writeFd = promisify(write);
const syncFd = promisify(fsync);
const closeFd = promisify(close);

/** Writes all of `bytes`: a write may take fewer than it is given (a disk filling up). */
async function writeAll(fd: number, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length; ) {
    const { bytesWritten } = await writeFd(fd, bytes, at, bytes.length - at, null);
    if (bytesWritten <= 0) throw new Error(`no byte written of the ${bytes.length - at} left`);
    at += bytesWritten;
  }
}

async function replaceWith(path: string, text: string): Promise<void> {
  const temp = tempPathFor(path);
  // the file's permissions, kept; synchronous (microseconds on a local disk): through the thread
  // pool it cost a pass of 10,000 writes 0.3 s of this thread's time (see readCapped)
  let mode: number | undefined;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    mode = undefined;
  }
  // registered before it exists: a signal that comes while open() runs still removes it
  inFlight.add(temp);
  try {
    const fd = await openFd(temp, "wx", mode ?? 0o644);
    try {
      if (stopping) throw new WritesStoppedError();
      await writeAll(fd, Buffer.from(text, "utf8"));
      await syncFd(fd);
    } finally {
      await closeFd(fd);
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  } finally {
    inFlight.delete(temp);
  }
}

/**
 * Reads a file of at most `maxBytes`: the size is checked before reading, and the read stops past
 * the limit (a file that grows meanwhile is refused too), so a huge file is never held in memory.
 * Opened with O_NONBLOCK, which changes nothing for a regular file, so that a FIFO put in a file's
 * place never waits for a writer.
 *
 * Synchronous on purpose, like `list`: a pass reads thousands of small files from a local disk,
 * where each call takes microseconds and a trip to libuv's thread pool and back several times
 * that (10,000 runs: about 0.3 s this way, 1–2 s through fs/promises even 16 at a time).
 */
function readCapped(
  path: string,
  maxBytes = Number.POSITIVE_INFINITY,
  regularOnly = false,
): Uint8Array {
  const fd = openSync(
    path,
    constants.O_RDONLY | constants.O_NONBLOCK | (regularOnly ? constants.O_NOFOLLOW : 0),
  );
  try {
    const stats = fstatSync(fd);
    if (regularOnly && !stats.isFile())
      throw Object.assign(new Error("not a regular file"), {
        code: stats.isDirectory() ? "EISDIR" : "ENOTREG",
      });
    const { size } = stats;
    if (size > maxBytes) throw new FileTooLargeError(size, maxBytes);
    // one byte more than the size: a regular file that reads short has been read whole
    const chunks: Buffer[] = [];
    let total = 0;
    for (let room = size + 1; ; room = 64 * 1024) {
      const chunk = Buffer.allocUnsafe(room);
      const bytesRead = readSync(fd, chunk, 0, room, null);
      total += bytesRead;
      if (total > maxBytes) throw new FileTooLargeError(total, maxBytes);
      if (bytesRead > 0) chunks.push(chunk.subarray(0, bytesRead));
      if (bytesRead < room) break;
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** A synchronous call as a promise: its error rejects instead of throwing in the caller's frame. */
function settled<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error);
  }
}

export const nodeFiles: Files = {
  // synchronous, like readCapped (see there)
  list: (dir) =>
    settled(() =>
      readdirSync(dir, { withFileTypes: true }).map(
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
      ),
    ),
  read: (path, maxBytes) => settled(() => readCapped(path, maxBytes)),
  // only where the system can refuse to follow a link at the name (not Windows): elsewhere the
  // callers list the directory first, which tells a link apart
  ...(constants.O_NOFOLLOW === undefined
    ? {}
    : {
        readRegular: (path: string, maxBytes?: number) =>
          settled(() => readCapped(path, maxBytes, true)),
      }),
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
