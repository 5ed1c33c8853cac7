import type { Totals } from "../model.ts";
import type { Discovery } from "../runs/discover.ts";
import { countText } from "../util/count.ts";
import { formatMinute } from "../util/time.ts";
import type { Collected } from "./collect.ts";
import type { PassSettings } from "./settings.ts";

/**
 * A key whose usage outside every run, in the minutes a pass fetched, is more than this many
 * times its usage inside the runs is named in a warning (docs/design.md#trust-rules). Two
 * frameworks' key ids swapped read each other's minutes: almost nothing lands in the runs' windows
 * and nearly all of the key's usage lies outside them; a healthy key has next to nothing outside (a
 * lag longer than the tail, a run not pushed yet).
 */
export const UNATTRIBUTED_FACTOR = 2;
/** …and at least this many tokens (in + out) outside the runs, so a few stray requests are not. */
export const UNATTRIBUTED_FLOOR_TOKENS = 10_000;

const tokens = (t: Totals): number => t.tokensIn + t.tokensOut;

/**
 * Warnings about the key list itself (docs/design.md#trust-rules, issue "swapped key ids"):
 * frameworks in the list with no runs, keys read this pass without any usage (a mistyped key id),
 * and keys whose usage lies mostly outside the runs (swapped key ids, or a key used outside the
 * experiment).
 */
export function keyWarnings(
  settings: PassSettings,
  discovery: Discovery,
  collected: Collected | undefined,
): string[] {
  const warnings: string[] = [];
  const frameworkOf = new Map(Object.entries(settings.apiKeyIds).map(([f, k]) => [k, f]));
  for (const [framework, key] of Object.entries(settings.apiKeyIds).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    if (settings.frameworks.length > 0 && !settings.frameworks.includes(framework)) continue;
    const runs =
      discovery.runs.filter((r) => r.framework === framework).length +
      discovery.problems.filter((p) => p.framework === framework).length;
    if (runs > 0) continue;
    const found = discovery.frameworks.join(", ") || "none";
    warnings.push(
      `key list: framework ${framework} (key ${key}) has no runs in the runs directory (frameworks found: ${found}); a misspelt framework name, or a key list meant for another experiment?`,
    );
  }
  if (!collected) return warnings;

  // Minutes of a span that failed were never seen: "no usage" is said only of minutes read.
  const failed = collected.failedSpans ?? [];
  const minutes =
    collected.spans.reduce((n, s) => n + (s.end - s.start) / 60, 0) -
    failed.reduce((n, s) => n + (s.end - s.start) / 60, 0);
  if (minutes <= 0) return warnings;
  const first = collected.spans[0];
  const last = collected.spans.at(-1);
  const read =
    first && last
      ? `${countText(minutes)} minute(s) read this pass, ${formatMinute(first.start)} to ${formatMinute(last.end)}${failed.length > 0 ? ` (minutes that could not be read left out)` : ""}`
      : "the minutes read this pass";
  for (const [key, fetched] of [...collected.keyTotals].sort(([a], [b]) => a.localeCompare(b))) {
    const name = `key ${key} (${frameworkOf.get(key) ?? "no framework"})`;
    if (tokens(fetched) === 0 && !fetched.requests) {
      warnings.push(
        `${name} had no usage at all in the ${read}: if its runs used the API, the key id is likely mistyped; check it against the key the framework's runs used`,
      );
      continue;
    }
    const outside = collected.unattributed.find((u) => u.keyId === key)?.totals;
    if (!outside) continue;
    const inside = tokens(fetched) - tokens(outside);
    if (
      tokens(outside) >= UNATTRIBUTED_FLOOR_TOKENS &&
      tokens(outside) > UNATTRIBUTED_FACTOR * inside
    ) {
      warnings.push(
        `${name}: ${countText(tokens(outside))} tokens on this key in the ${read} fall outside every run's window, against ${countText(inside)} inside them: the key ids of two frameworks may be swapped or mistyped (or the key is used outside the experiment); until that is checked, this framework's readings may be another framework's usage`,
      );
    }
  }
  return warnings;
}
