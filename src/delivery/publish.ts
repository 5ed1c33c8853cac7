import { setTimeout as delay } from "node:timers/promises";
import { DeliveryError } from "../errors.ts";
import type { Files } from "../fs/types.ts";

/**
 * The one "retry when the branch moved" loop of every commit mode (docs/design.md#delivery): read
 * the head, compute this pass's updates from its files, keep those that differ, commit them on
 * the head, publish; when another writer moved the branch first, wait (with backoff), move to the
 * new head and do it all again, so the other writer's changes are kept and ours land on top. A
 * way of publishing (git, the GitHub API) supplies only its steps, as a Publisher.
 */

/** A file's new full text. */
export interface FileUpdate {
  /** Absolute, inside the repository. */
  path: string;
  after: string;
}

/** The head a commit is built on. */
export interface Head {
  /** The commit. */
  sha: string;
  /** Its files, at the workspace's paths. */
  files: Files;
}

/** One way of publishing a commit: the steps the loop runs, and how its messages name them. */
export interface Publisher<H extends Head = Head, S = unknown> {
  /** Where commits go, in messages: `origin/main`, `org/repo@main`. */
  target: string;
  /** A try at publishing, counted in messages: `push(es)`, `ref update(s)`. */
  tries: string;
  /** A try, in the message that gives up: `git push to origin/main`. */
  tryName: string;
  /** A try that lost the race, in the log: `push to origin/main`. */
  lostName: string;
  /** Removes secrets from anything that reaches a log or an error. */
  clean(text: string): string;
  /** The head to build on now. */
  readHead(): Promise<H>;
  /** The updates whose content differs from the head's, ready to commit, and their paths. */
  stage(head: H, updates: readonly FileUpdate[]): Promise<{ paths: string[]; staged: S }>;
  /** Commits the staged updates on the head; returns the commit. */
  commit(head: H, staged: S, message: string): Promise<string>;
  /**
   * Tries to make the branch point at the commit: `published` when it did, `lost` with the reason
   * when another writer moved the branch first. Any other refusal throws a DeliveryError.
   */
  publish(head: H, sha: string, attempt: number): Promise<"published" | { lost: string }>;
  /** The line that says the commit was published. */
  published(sha: string, paths: readonly string[], attempts: number): string;
  /** After a lost race: makes the new head the one readHead() gives (git fetches and resets). */
  advance?(head: H, attempts: number): Promise<void>;
}

export interface PublishOptions {
  /**
   * This pass's updates computed from the head's files. Called once per attempt, on the head as
   * it is then, so another writer's change to a file is kept.
   */
  computeChanges: (files: Files, head: string) => Promise<FileUpdate[]>;
  /** The commit message for the paths that changed (repository paths, `/`-separated). */
  message: (paths: string[]) => string;
  /** Publish attempts, the first included; default 5. */
  maxAttempts?: number;
  /** Pause before retry number `attempt` + 1, after attempt `attempt` lost; default defaultBackoffMs. */
  backoffMs?: (attempt: number) => number;
  sleep?: (ms: number) => Promise<void>;
  /** Test seam and hook: runs before every publish attempt (1, 2, …), once its commit exists. */
  beforePublish?: (attempt: number) => Promise<void>;
  log?: (line: string) => void;
}

export interface PublishResult {
  /** The published commit; null when nothing changed (then nothing was committed). */
  sha: string | null;
  /** Publish attempts made. */
  attempts: number;
  /** Repository paths committed; empty when nothing changed. */
  files: string[];
}

/** 1 s, 2 s, 4 s… (capped at 30 s), each ±50 % so that writers that collided do not collide again. */
export function defaultBackoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.5 + random()));
}

export async function publishWithRetries<H extends Head, S>(
  publisher: Publisher<H, S>,
  options: PublishOptions,
): Promise<PublishResult> {
  const maxAttempts = options.maxAttempts ?? 5;
  const backoffMs = options.backoffMs ?? ((attempt: number) => defaultBackoffMs(attempt));
  const sleep = options.sleep ?? ((ms: number) => delay(ms).then(() => undefined));
  const log = (line: string) => options.log?.(publisher.clean(line));
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw new DeliveryError(`maxAttempts: expected a whole number ≥ 1, got ${maxAttempts}`);

  for (let attempts = 0; ; ) {
    const head = await publisher.readHead();
    const updates = await options.computeChanges(head.files, head.sha);
    const { paths, staged } = await publisher.stage(head, updates);
    if (paths.length === 0) {
      log(
        attempts === 0
          ? "nothing changed: no commit"
          : `nothing left to commit on ${publisher.target} after ${attempts} rejected ${publisher.tries}: another writer already made these changes`,
      );
      return { sha: null, attempts, files: [] };
    }
    const sha = await publisher.commit(head, staged, options.message([...paths]));
    attempts++;
    await options.beforePublish?.(attempts);
    const outcome = await publisher.publish(head, sha, attempts);
    if (outcome === "published") {
      log(publisher.published(sha, paths, attempts));
      return { sha, attempts, files: paths };
    }
    if (attempts >= maxAttempts) {
      throw new DeliveryError(
        publisher.clean(
          `${publisher.tryName} was rejected ${attempts} times (${outcome.lost}): other writers kept updating the branch; gave up after ${attempts} attempts`,
        ),
        attempts,
      );
    }
    const wait = Math.max(0, Math.round(backoffMs(attempts)));
    log(
      `${publisher.lostName} rejected (${outcome.lost}); re-applying this pass on the new head in ${(wait / 1000).toFixed(1)} s (attempt ${attempts + 1} of ${maxAttempts})`,
    );
    await sleep(wait);
    await publisher.advance?.(head, attempts);
  }
}
