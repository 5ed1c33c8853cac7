import type { Attempt } from "../runs/schema.ts";
import { formatMinute } from "../util/time.ts";
import {
  attemptTime,
  firstDecrease,
  isZero,
  sameReading,
  type Totals,
  totalsOf,
} from "./reading.ts";
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
  /** Readings that must not vouch for a value (see walkReadings); reason for the message. */
  untrusted?: (a: Attempt) => string | undefined;
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
}

const fmt = (n: number): string => n.toLocaleString("en-US");
const describe = (t: Totals): string =>
  `${fmt(t.tokensIn)} in, ${fmt(t.tokensOut)} out, ${fmt(t.requests)} requests`;

/**
 * Decides a run's verification status from its readings (SPEC §4). Pure: the same facts always
 * give the same answer, so a pass can be re-applied on top of another writer's changes.
 */
export function evaluateRun(facts: RunFacts, settings: VerifySettings): Evaluation {
  const { now, attempts } = facts;
  const interval = settings.verificationIntervalMinutes * 60;
  const endedAgo = now - facts.endedAt;
  const latest = attempts.at(-1);
  const intervalElapsed = latest === undefined || now - attemptTime(latest) >= interval;
  const untrustedReason = (a: Attempt) => facts.untrusted?.(a);
  const walk = walkReadings(attempts, interval, (a) => untrustedReason(a) !== undefined);
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

  const basis = [...attempts].reverse().find((a) => !isZero(totalsOf(a)));

  if (facts.sharesWith.length > 0) {
    const shared = latest?.shared;
    const sharedText = shared
      ? `; ${fmt(shared.tokens_in)} in / ${fmt(shared.tokens_out)} out in ${shared.minutes} shared minute(s) are reported apart and counted for neither`
      : "";
    return {
      status: "ambiguous",
      message: `window shares minutes with ${facts.sharesWith.join(", ")} on the same key${sharedText}`,
      stableChecks,
      due: settings.force || (!settled && intervalElapsed),
    };
  }

  if (!latest) {
    return {
      status: "pending",
      message: "no reading yet",
      stableChecks: 0,
      due: true,
      basis,
    };
  }

  const latestTotals = totalsOf(latest);
  if (isZero(latestTotals)) {
    const earlier = basis;
    if (earlier) {
      return {
        status: "warning",
        message: `the Usage API reported no usage for a window that had ${describe(totalsOf(earlier))} at ${earlier.timestamp}; the earlier values are kept and verification starts over`,
        stableChecks,
        due: settings.force || intervalElapsed,
        basis,
      };
    }
    const keyChanged =
      facts.keyId !== undefined &&
      latest.api_key_id !== undefined &&
      latest.api_key_id !== facts.keyId;
    if (endedAgo >= settings.giveUpAfterHours * 3600) {
      return {
        status: "no_usage",
        message: `no usage ${settings.giveUpAfterHours} h after the run ended on key ${latest.api_key_id ?? facts.keyId ?? "(unknown)"}: check the key id configured for this framework`,
        stableChecks: 0,
        due: settings.force || keyChanged,
      };
    }
    return {
      status: "data_not_available",
      message: `the Usage API has no usage in the window yet;${nextReading}`,
      stableChecks: 0,
      due: settings.force || intervalElapsed,
    };
  }

  if (settled) {
    return {
      status: "verified",
      message: `verified after ${stableChecks} stable checks: ${describe(latestTotals)}`,
      stableChecks,
      due: settings.force,
      basis,
      verifiedAt: verifiedAt(
        attempts,
        interval,
        settings.stableChecks,
        (a) => untrustedReason(a) !== undefined,
      ),
    };
  }

  const previous = attempts.at(-2);
  const decrease =
    previous && !isZero(totalsOf(previous))
      ? firstDecrease(totalsOf(previous), latestTotals)
      : undefined;
  if (decrease) {
    return {
      status: "warning",
      message: `${decrease.field} decreased from ${fmt(decrease.from)} to ${fmt(decrease.to)} since the previous reading; verification starts over;${nextReading}`,
      stableChecks,
      due: settings.force || intervalElapsed,
      basis,
    };
  }

  const reason =
    walk.stoppedBy === "untrusted" ? untrustedReasonBefore(attempts, untrustedReason) : undefined;
  return {
    status: "pending",
    message: `${stableChecks} of ${settings.stableChecks} stable checks (${describe(latestTotals)})${reason ? `; ${reason}` : ""};${nextReading}`,
    stableChecks,
    due: settings.force || intervalElapsed,
    basis,
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
