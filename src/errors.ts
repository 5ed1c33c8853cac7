import { hostname } from "node:os";
import { head } from "./util/printable.ts";

/**
 * The errors the tool throws on purpose, in one place so that a front end can tell who must act:
 *
 * - a `UserError` is the user's to fix (a setting, a file they named, a lock another pass holds):
 *   the CLI prints its message and exits with `exitCode`, the action fails the step with the
 *   message alone. Raised before any request is sent, so nothing was read or written.
 * - a `UsageApiError` is a provider's API (or the way to it) failing: it costs the runs whose
 *   minutes it concerns, never the pass.
 * - a `DeliveryError` is the pass's changes not getting out (a push or a commit refused).
 *
 * Anything else is a bug, reported as an unexpected error. Each class sets `name` itself: bundling
 * renames classes, and the name is what an unexpected error is shown with.
 */

/** The user's to fix: reported as its message alone; the CLI exits with `exitCode`. */
export class UserError extends Error {
  override readonly name: string = "UserError";
  /** The CLI's exit status: 2, bad usage or configuration. */
  readonly exitCode: number = 2;
}

/** Bad usage or configuration: reported before any request, exit code 2. */
export class ConfigError extends UserError {
  override readonly name = "ConfigError";
}

/** A price file (config.yaml's pricing, a pricing file) that cannot be used. */
export class PricingFileError extends UserError {
  override readonly name = "PricingFileError";
  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
  }
}

/** A `--replay` directory that cannot be read, or a file in it that is not a recorded page. */
export class ReplayError extends UserError {
  override readonly name = "ReplayError";
}

/** Who holds a runs directory's lock, as its lock file says. */
export interface LockHolderInfo {
  pid: number;
  host: string;
  started_at: string;
}

/** Another pass writes to the same runs directory: nothing was done (exit code 3). */
export class RunsLockHeldError extends UserError {
  override readonly name = "RunsLockHeldError";
  override readonly exitCode = 3;
  readonly holder: LockHolderInfo | undefined;
  readonly lockPath: string;
  constructor(runsDir: string, lockPath: string, holder: LockHolderInfo | undefined) {
    const who = holder
      ? `pid ${holder.pid} on ${holder.host === hostname() ? "this machine" : `host ${holder.host}`}, started ${holder.started_at}`
      : "a process that is still creating the lock file";
    super(
      `another pass is already writing to ${runsDir} (${who}; lock file ${lockPath}). Wait for it to finish, then run again. If no pass is running (it ran on another machine, or this one restarted), delete the lock file.`,
    );
    this.holder = holder;
    this.lockPath = lockPath;
  }
}

/** Why a provider's page could not be had. `retryable` kinds were already retried as far as allowed. */
export type UsageErrorKind =
  | "auth"
  | "forbidden"
  | "quota"
  | "rate_limited"
  | "server"
  | "network"
  | "timeout"
  | "malformed"
  | "protocol"
  | "too_large"
  | "deadline"
  | "bad_request"
  | "replay";

/** A backstop for a whole message: our words around at most one quote from the API. */
const MAX_MESSAGE_CHARS = 1000;

/** A usage or costs API, or the way to it, failed: the runs of the minutes concerned are `error`. */
export class UsageApiError extends Error {
  override readonly name = "UsageApiError";
  readonly kind: UsageErrorKind;
  readonly status: number | undefined;
  constructor(kind: UsageErrorKind, message: string, status?: number) {
    super(
      message.length <= MAX_MESSAGE_CHARS
        ? message
        : `${head(message, MAX_MESSAGE_CHARS)}… (${message.length} characters in all)`,
    );
    this.kind = kind;
    this.status = status;
  }
}

/** Errors that another try may cure. */
export const isRetryable = (e: UsageApiError): boolean =>
  e.kind === "rate_limited" ||
  e.kind === "server" ||
  e.kind === "network" ||
  e.kind === "timeout" ||
  e.kind === "malformed";

/**
 * The pass's changes could not be delivered: git or the GitHub API refused (a hook, permissions,
 * a detached HEAD…), or the branch kept moving through every attempt.
 */
export class DeliveryError extends Error {
  override readonly name = "DeliveryError";
  /** Publish attempts made (0 when it failed before the first). */
  readonly attempts: number;
  constructor(message: string, attempts = 0) {
    super(message);
    this.attempts = attempts;
  }
}
