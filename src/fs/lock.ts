import { randomBytes } from "node:crypto";
import { readFileSync, rmdirSync, unlinkSync } from "node:fs";
import { link, lstat, mkdir, readFile, rmdir, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { z } from "zod";
import { ConfigError, RunsLockHeldError } from "../errors.ts";
import { asWrite, trackTempFile } from "./node.ts";
import { processIsAlive } from "./process.ts";

/**
 * One pass at a time per runs directory (docs/design.md#trust-rules). Two passes that both read a file, add their
 * reading and write it back lose one of the two readings; so a pass that writes takes this lock
 * first and a second one stops at once, naming the holder.
 *
 * The lock is a file in the runs directory, `.reconcile-usage.lock`, holding the holder's pid,
 * host, start time and a random token. It is created whole or not at all (written to a temporary
 * file, then hard-linked to its name, which fails if the name exists), and removed when the pass
 * ends, on SIGINT/SIGTERM too (signals.ts). A lock whose holder is gone (same host, pid no longer
 * running: a SIGKILL, a crash), or older than STALE_LOCK_AGE_MS, is stale and taken over. The
 * commit code stages only the files a pass changed, so the lock file is never committed.
 */
export const LOCK_NAME = ".reconcile-usage.lock";

const HolderSchema = z.looseObject({
  pid: z.int().positive(),
  host: z.string(),
  started_at: z.string(),
  tool: z.string().optional(),
  token: z.string().optional(),
});
export type LockHolder = z.infer<typeof HolderSchema>;

/** A lock file that does not parse may be one being created without hard links: give it time. */
const UNREADABLE_GRACE_MS = 10_000;
/**
 * No pass holds the lock this long (a GitHub-hosted job is cancelled after 6 hours): an older lock
 * is stale whatever its host or pid says — one from another machine, or a pid reused since, or a
 * lock file committed by mistake and checked out again.
 */
export const STALE_LOCK_AGE_MS = 6 * 60 * 60 * 1000;
/** A takeover (below) takes milliseconds; a guard older than this was left by a killed process. */
const TAKEOVER_GUARD_STALE_MS = 5_000;
/** How long to keep trying while locks come and go (longer than a guard can stand in the way). */
const TRYING_MS = 10_000;

export interface RunsLock {
  path: string;
  holder: LockHolder;
  /** The stale lock this one replaced, and why it was stale. */
  tookOver?: { holder: LockHolder | undefined; why: string };
  /** Removes the lock file if it is still ours. */
  release(): Promise<void>;
  releaseSync(): void;
}

/** Locks held by this process, and takeover guards it has made, removed by a signal handler. */
const held = new Set<RunsLock>();
const guards = new Set<string>();
/** Lock files this process is creating: a signal may come before it knows whether it got one. */
const creating = new Map<string, string>();

/** Removes a lock file if it holds exactly `text` (ours: the token is random). */
function removeIfOurs(path: string, text: string): void {
  try {
    if (readFileSync(path, "utf8") === text) unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Releases every lock this process holds (for a signal handler: synchronous). */
export function releaseHeldLocksSync(): void {
  for (const lock of [...held]) lock.releaseSync();
  for (const [path, text] of creating) removeIfOurs(path, text);
  for (const guard of guards) {
    try {
      rmdirSync(guard);
    } catch {
      // already gone
    }
  }
  guards.clear();
}

interface Seen {
  text: string;
  holder: LockHolder | undefined;
  mtimeMs: number;
}

async function readLock(path: string): Promise<Seen | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(path, "utf8"), lstat(path)]);
    let holder: LockHolder | undefined;
    try {
      const parsed = HolderSchema.safeParse(JSON.parse(text));
      holder = parsed.success ? parsed.data : undefined;
    } catch {
      holder = undefined;
    }
    return { text, holder, mtimeMs: info.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Why a lock is stale, or undefined while its holder may still be running. */
function staleness(seen: Seen, path: string, now: number): string | undefined {
  const h = seen.holder;
  if (!h) return now - seen.mtimeMs > UNREADABLE_GRACE_MS ? "an unreadable lock file" : undefined;
  const who = `pid ${h.pid}, started ${h.started_at}`;
  // the holder's own start time, not the file's mtime: a checkout makes every file new
  const started = Date.parse(h.started_at);
  if (!Number.isFinite(started) || now - started > STALE_LOCK_AGE_MS)
    return `${who}, older than ${STALE_LOCK_AGE_MS / 3_600_000} hours`;
  // a pid on another machine cannot be checked from here
  if (h.host !== hostname()) return undefined;
  const gone =
    h.pid === process.pid ? ![...held].some((l) => l.path === path) : !processIsAlive(h.pid);
  return gone ? `${who}, no longer running` : undefined;
}

/** Removes a stale lock, unless another process replaced it meanwhile (one takeover at a time). */
async function removeStale(path: string, seen: Seen): Promise<void> {
  const guard = `${path}.takeover`;
  try {
    await asWrite(() => mkdir(guard));
    guards.add(guard);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const info = await lstat(guard).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > TAKEOVER_GUARD_STALE_MS)
      await rmdir(guard).catch(() => undefined);
    await delay(10 + Math.random() * 40);
    return;
  }
  try {
    const now = await readLock(path);
    if (now?.text === seen.text) await unlink(path).catch(() => undefined);
  } finally {
    await rmdir(guard).catch(() => undefined);
    guards.delete(guard);
  }
}

/** Creates the lock file with its whole content, or reports that it exists (false). */
async function create(runsDir: string, path: string, text: string): Promise<boolean> {
  const temp = join(runsDir, `${LOCK_NAME}.${process.pid}-${randomBytes(6).toString("hex")}.tmp`);
  const untrack = trackTempFile(temp);
  try {
    await writeFile(temp, text, { flag: "wx", mode: 0o644 });
    try {
      await link(temp, path);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") return false;
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS")
        throw error;
    }
    // no hard links here (some network and FUSE filesystems): create it exclusively instead
    try {
      await writeFile(path, text, { flag: "wx", mode: 0o644 });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw error;
    }
  } finally {
    await unlink(temp).catch(() => undefined);
    untrack();
  }
}

/** A lock file we can neither read nor replace (permissions): say so, naming it. */
const unusable =
  (path: string) =>
  (error: unknown): never => {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ConfigError(
      `cannot use the lock file ${path} (${code}); check its permissions, or delete it if no pass is running`,
    );
  };

/**
 * Takes the lock of a runs directory for this process, taking over a stale one. Throws
 * RunsLockHeldError when a live pass holds it, ConfigError when the directory is missing or
 * cannot be written.
 */
export async function lockRunsDir(runsDir: string, tool: string): Promise<RunsLock> {
  const path = join(runsDir, LOCK_NAME);
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    started_at: new Date().toISOString(),
    tool,
    token: randomBytes(8).toString("hex"),
  };
  const text = `${JSON.stringify(holder, null, 2)}\n`;
  let tookOver: RunsLock["tookOver"];
  for (const until = Date.now() + TRYING_MS; Date.now() < until; ) {
    let created: boolean;
    creating.set(path, text);
    try {
      created = await asWrite(() => create(runsDir, path, text));
    } catch (error) {
      creating.delete(path);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT")
        throw new ConfigError(`runs directory ${runsDir} does not exist (runs-dir)`);
      if (code === "ENOTDIR")
        throw new ConfigError(`runs directory ${runsDir} is not a directory (runs-dir)`);
      throw new ConfigError(
        `cannot write in the runs directory ${runsDir} (creating its lock file ${LOCK_NAME} failed: ${code ?? String(error)}); check its permissions, or use --dry-run to check without writing`,
      );
    }
    if (created) {
      const lock: RunsLock = {
        path,
        holder,
        tookOver,
        releaseSync() {
          held.delete(lock);
          removeIfOurs(path, text);
        },
        async release() {
          // synchronous, and forgotten only once removed: a signal landing between the two
          // would otherwise find no lock to remove and leave this one behind
          removeIfOurs(path, text);
          held.delete(lock);
        },
      };
      held.add(lock);
      creating.delete(path);
      return lock;
    }
    creating.delete(path);
    const seen = await readLock(path).catch(unusable(path));
    if (!seen) continue; // released meanwhile
    const why = staleness(seen, path, Date.now());
    if (why === undefined) throw new RunsLockHeldError(runsDir, path, seen.holder);
    await removeStale(path, seen).catch(unusable(path));
    tookOver = { holder: seen.holder, why };
  }
  throw new RunsLockHeldError(runsDir, path, (await readLock(path))?.holder);
}
