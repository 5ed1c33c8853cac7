import { countText } from "../util/count.ts";

/**
 * What an older tool left in a file and why it is not taken as a reading: the first reconcile
 * script wrote a `usage_api_verification` block (`verified: true`, Usage API totals against the
 * framework's own counts) with no time, no window and no key, so nothing says which minutes it
 * covered or when; often both sides are 0. A run with only that block is read afresh.
 */
export function legacyVerificationNote(file: Record<string, unknown>): string | undefined {
  const block = file.usage_api_verification;
  if (!block || typeof block !== "object" || Array.isArray(block)) return undefined;
  const b = block as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? countText(v) : "?");
  const said =
    b.verified === true ? "verified: true" : `verified: ${JSON.stringify(b.verified ?? null)}`;
  return `the old usage_api_verification block (${said}; Usage API ${n(b.api_tokens_in)} in / ${n(b.api_tokens_out)} out against the framework's own ${n(b.local_tokens_in)} / ${n(b.local_tokens_out)}) is not a reading: it records no time, window or key, so it cannot vouch for this run's minutes; the run is read afresh`;
}
