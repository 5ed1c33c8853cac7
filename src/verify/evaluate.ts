import type { Totals } from "../model.ts";
import type { Attempt } from "../runs/schema.ts";
import { countText } from "../util/count.ts";
import { formatMinute } from "../util/time.ts";
import { attemptTime, firstDecrease, isZero, sameReading, totalsOf } from "./reading.ts";
import type { Status } from "./status.ts";
import { walkReadings } from "./walk.ts";

export interface VerifySettings {
  minAgeMinutes: number;
  verificationIntervalMinutes: number;
  stableChecks: number;
  giveUpAfterHours: number;
  force: boolean;
}

export interface RunFacts {
  now: number;
  /** When the run's last step ended (Unix seconds). */
  endedAt: number;
  /** Readings, oldest first. */
  attempts: readonly Attempt[];
  /** The key id configured for the run's framework now, if any. */
  keyId?: string;
  /** Runs on the same key whose windows share a minute with this one. */
  sharesWith: readonly string[];
  /**
   * Why a reading cannot vouch for the run as it is now (taken over another window or with another
   * key, or over a neighbour's minutes); undefined when it can. Such readings end the walk, never
   * give the run its numbers, and, when the newest is one, make the run due at once.
   */
  untrusted?: (a: Attempt) => string | undefined;
  /** The file said `verified` before this pass. */
  wasVerified?: boolean;
  /**
   * What is known of the key's usage beyond this run: `elsewhere` when other runs on the same key
   * have usage (so a zero here is not the key's fault), `none` when this pass read the key and found
   * no usage anywhere in the minutes it fetched (a mistyped key id).
   */
  keyUsage?: "elsewhere" | "none";
}

export interface Evaluation {
  status: Status;
  message: string;
  stableChecks: number;
  /** Whether this pass should take a reading. */
  due: boolean;
  /** The reading the run's aggregates come from: the newest non-zero one (none for ambiguous runs). */
  basis?: Attempt;
  /** When the run became verified: the reading that completed the walk. */
  verifiedAt?: string;
  /**
   * When a pass will next read the run (Unix seconds; `now` when it is due), so a report can say
   * what happens next; undefined when no reading is planned (verified, or ambiguous: it never
   * verifies without a change to its window or key).
   */
  nextReadingAt?: number;
}

const describe = (t: Totals): string =>
  `${countText(t.tokensIn)} in, ${countText(t.tokensOut)} out${t.requests === null ? "" : `, ${countText(t.requests)} requests`}`;

/** A `no_usage` run is read again this long after its last reading (docs/design.md#trust-rules). */
export const NO_USAGE_RECHECK_SECONDS = 24 * 3600;

/**
 * Decides a run's verification status from its readings (docs/design.md#verification). Pure: the
 * same facts always give the same answer, so a pass can be re-applied on top of another writer's
 * changes.
 */
export function evaluateRun(facts: RunFacts, settings: VerifySettings): Evaluation {
  const evaluation = evaluate(facts, settings);
  return { ...evaluation, nextReadingAt: nextReadingAt(facts, settings, evaluation) };
}

function nextReadingAt(
  facts: RunFacts,
  settings: VerifySettings,
  e: Evaluation,
): number | undefined {
  if (e.status === "too_recent") return facts.endedAt + settings.minAgeMinutes * 60;
  if (e.due) return facts.now;
  if (e.status === "verified" || e.status === "ambiguous") return undefined;
  const latest = facts.attempts.at(-1);
  if (!latest) return facts.now;
  const wait =
    e.status === "no_usage" ? NO_USAGE_RECHECK_SECONDS : settings.verificationIntervalMinutes * 60;
  return attemptTime(latest) + wait;
}

function evaluate(facts: RunFacts, settings: VerifySettings): Evaluation {
  const { now, attempts } = facts;
  const interval = settings.verificationIntervalMinutes * 60;
  const endedAgo = now - facts.endedAt;
  const latest = attempts.at(-1);
  const intervalElapsed = latest === undefined || now - attemptTime(latest) >= interval;
  // A reading taken with another key than the one configured now (a swapped or mistyped key id,
  // fixed since) vouches for nothing: every run of the framework is read again at once.
  const untrustedReason = (a: Attempt) =>
    facts.keyId !== undefined && a.api_key_id !== undefined && a.api_key_id !== facts.keyId
      ? `readings up to ${a.timestamp} were taken with key ${a.api_key_id}, but this framework is now configured with ${facts.keyId}; reading again with that key`
      : facts.untrusted?.(a);
  const vouches = (a: Attempt) => untrustedReason(a) === undefined;
  const vouching = attempts.filter(vouches);
  // The newest reading was taken over another window or key: it says nothing of the run as it is
  // now, so the run is read again at once, whatever the interval.
  const lostCover = latest !== undefined && !vouches(latest);
  const walk = walkReadings(attempts, interval, (a) => !vouches(a));
  const stableChecks = walk.stablePairs;
  const settled = stableChecks >= settings.stableChecks;
  const nextReading = latest
    ? ` next reading after ${formatMinute(attemptTime(latest) + interval)}`
    : "";

  if (endedAgo < settings.minAgeMinutes * 60) {
    const minutes = Math.max(0, Math.floor(endedAgo / 60));
    return {
      status: "too_recent",
      message: `ended ${minutes} min ago; the Usage API is read ${settings.minAgeMinutes} min after a run ends`,
      stableChecks,
      due: false,
    };
  }

  // Only a reading that vouches for the run's current window gives it numbers.
  const basis = [...vouching].reverse().find((a) => !isZero(totalsOf(a)));

  if (facts.sharesWith.length > 0) {
    const shared = latest?.shared;
    const sharedText = shared
      ? `; ${countText(shared.tokens_in)} in / ${countText(shared.tokens_out)} out in ${shared.minutes} shared minute(s) are reported apart and counted for neither`
      : "";
    return {
      status: "ambiguous",
      message: `window shares minutes with ${facts.sharesWith.join(", ")} on the same key${sharedText}; no tokens are shown (a shared minute's usage cannot be told apart)${stableChecks > 0 ? ` and its ${stableChecks} stable check(s) do not count` : ""} while the windows overlap`,
      stableChecks,
      due: settings.force || (!settled && intervalElapsed),
    };
  }

  const current = vouching.at(-1);
  if (!latest || !current) {
    const why = latest ? untrustedReason(latest) : undefined;
    return {
      status: "pending",
      message: !why
        ? "no reading yet"
        : `${facts.wasVerified ? "no longer verified" : "no reading vouches for this run's window yet"}: ${why}`,
      stableChecks: 0,
      due: true,
    };
  }
  const readAgain = lostCover ? `; ${untrustedReason(latest)}` : "";

  const latestTotals = totalsOf(current);
  if (isZero(latestTotals)) {
    const earlier = basis;
    if (earlier) {
      return {
        status: "warning",
        message: `the Usage API reported no usage for a window that had ${describe(totalsOf(earlier))} at ${earlier.timestamp}; the earlier values are kept and verification starts over${readAgain}`,
        stableChecks,
        due: settings.force || intervalElapsed || lostCover,
        basis,
      };
    }
    return noUsageYet(facts, settings, vouching, { lostCover, readAgain, nextReading });
  }

  if (settled) {
    return {
      status: "verified",
      message: `verified after ${stableChecks} stable checks: ${describe(latestTotals)}`,
      stableChecks,
      due: settings.force,
      basis,
      verifiedAt: verifiedAt(attempts, interval, settings.stableChecks, (a) => !vouches(a)),
    };
  }

  const previous = vouching.at(-2);
  const decrease =
    previous && !isZero(totalsOf(previous))
      ? firstDecrease(totalsOf(previous), latestTotals)
      : undefined;
  if (decrease) {
    return {
      status: "warning",
      message: `${decrease.field} decreased from ${countText(decrease.from)} to ${countText(decrease.to)} since the previous reading; verification starts over${readAgain};${nextReading}`,
      stableChecks,
      due: settings.force || intervalElapsed || lostCover,
      basis,
    };
  }

  const reason =
    walk.stoppedBy === "untrusted" ? untrustedReasonBefore(attempts, untrustedReason) : undefined;
  return {
    status: "pending",
    message: `${stableChecks} of ${settings.stableChecks} stable checks (${describe(latestTotals)})${reason ? `; ${reason}` : ""};${lostCover ? " read again this pass" : nextReading}`,
    stableChecks,
    due: settings.force || intervalElapsed || lostCover,
    basis,
  };
}

/**
 * A run whose every vouching reading is zero (docs/design.md#trust-rules, "giving up is not for
 * ever"): `no_usage` only on two zero readings at least the interval apart, the newer taken
 * give-up-after-hours after the run ended, so one empty page cannot give up on a run; a `no_usage`
 * run is read again once a day, and at once when its key id changes (its readings then no longer
 * vouch).
 */
function noUsageYet(
  facts: RunFacts,
  settings: VerifySettings,
  zeros: readonly Attempt[],
  ctx: {
    lostCover: boolean;
    readAgain: string;
    nextReading: string;
  },
): Evaluation {
  const interval = settings.verificationIntervalMinutes * 60;
  const first = zeros[0]!;
  const last = zeros.at(-1)!;
  const latest = facts.attempts.at(-1)!;
  const giveUpAt = facts.endedAt + settings.giveUpAfterHours * 3600;
  const key = last.api_key_id ?? facts.keyId ?? "(unknown)";
  const confirmed =
    attemptTime(last) - attemptTime(first) >= interval && attemptTime(last) >= giveUpAt;
  if (confirmed) {
    const recheck = ` next reading after ${formatMinute(attemptTime(latest) + NO_USAGE_RECHECK_SECONDS)}`;
    const readings = `zero readings from ${first.timestamp} to ${last.timestamp}`;
    const cause =
      facts.keyUsage === "elsewhere"
        ? `although other runs on key ${key} have usage: check this run's timestamps (a copied or corrected file?)`
        : `on key ${key}: check the key id configured for this framework`;
    return {
      status: "no_usage",
      message: `no usage in the window ${settings.giveUpAfterHours} h after the run ended (${readings}), ${cause}; read again once a day, and at once when the key id changes${ctx.readAgain};${recheck}`,
      stableChecks: 0,
      due:
        settings.force ||
        ctx.lostCover ||
        facts.now - attemptTime(latest) >= NO_USAGE_RECHECK_SECONDS,
    };
  }
  const keyText =
    facts.keyUsage === "none"
      ? `; key ${key} had no usage anywhere this pass read it: check the key id configured for this framework`
      : "";
  const waiting =
    facts.now >= giveUpAt
      ? `; no_usage only once zero readings at least ${settings.verificationIntervalMinutes} min apart, the later one taken ${settings.giveUpAfterHours} h or more after the run ended, agree`
      : "";
  return {
    status: "data_not_available",
    message: `the Usage API has no usage in the window yet${keyText}${waiting}${ctx.readAgain};${ctx.nextReading}`,
    stableChecks: 0,
    due: settings.force || ctx.lostCover || facts.now - attemptTime(latest) >= interval,
  };
}

function untrustedReasonBefore(
  attempts: readonly Attempt[],
  reason: (a: Attempt) => string | undefined,
): string | undefined {
  for (let i = attempts.length - 1; i >= 0; i--) {
    const r = reason(attempts[i]!);
    if (r) return r;
  }
  return undefined;
}

/** The reading at which the current run of identical readings first reached `needed` stable pairs. */
function verifiedAt(
  attempts: readonly Attempt[],
  interval: number,
  needed: number,
  untrusted: (a: Attempt) => boolean,
): string | undefined {
  let first = attempts.length - 1;
  while (first > 0 && sameReading(attempts[first - 1]!, attempts[first]!)) first--;
  for (let k = first; k < attempts.length; k++) {
    if (walkReadings(attempts.slice(0, k + 1), interval, untrusted).stablePairs >= needed) {
      return attempts[k]!.timestamp;
    }
  }
  return attempts.at(-1)?.timestamp;
}
