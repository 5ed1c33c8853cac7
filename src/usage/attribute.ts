import type { RunOnKey, Totals } from "../model.ts";
import type { TokenClass } from "../pricing/schema.ts";
import type { ModelUsage } from "../runs/schema.ts";
import { MINUTE } from "../util/time.ts";
import { addRequests, type UsageRow } from "./rows.ts";
import { summarizeUnattributed, type UnattributedUsage } from "./unattributed.ts";

export interface SharedMinutes {
  withRuns: string[];
  minutes: number;
  totals: Totals;
}

export interface RunUsage {
  totals: Totals;
  models: ModelUsage[];
  shared?: SharedMinutes;
}

export type { UnattributedUsage } from "./unattributed.ts";

const emptyTotals = (): Totals => ({ tokensIn: 0, tokensOut: 0, cachedTokens: 0, requests: 0 });

function addRow(t: Totals, r: UsageRow): void {
  t.tokensIn += r.inputTokens;
  t.tokensOut += r.outputTokens;
  t.cachedTokens += r.cachedTokens;
  t.requests = addRequests(t.requests, r.requests);
}

/** Adds to a map of lists in place: copying a list per element is quadratic in runs per key. */
function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Runs on the same key whose windows share at least one minute (docs/design.md#reading-usage): their shared usage
 * cannot be told apart. A sweep over windows sorted by start, per key.
 */
export function findSharing(runs: readonly RunOnKey[]): Map<string, string[]> {
  const sharing = new Map<string, string[]>();
  const byKey = new Map<string, RunOnKey[]>();
  for (const r of runs) pushTo(byKey, r.keyId, r);
  for (const list of byKey.values()) {
    list.sort((a, b) => a.window.start - b.window.start);
    let active: RunOnKey[] = [];
    for (const r of list) {
      active = active.filter((a) => a.window.end > r.window.start);
      for (const a of active) {
        pushTo(sharing, a.id, r.id);
        pushTo(sharing, r.id, a.id);
      }
      active.push(r);
    }
  }
  return sharing;
}

/** Which runs own each minute, per key. */
function minuteOwners(runs: readonly RunOnKey[]): Map<string, Map<number, string[]>> {
  const owners = new Map<string, Map<number, string[]>>();
  for (const r of runs) {
    let byMinute = owners.get(r.keyId);
    if (!byMinute) {
      byMinute = new Map();
      owners.set(r.keyId, byMinute);
    }
    for (let m = r.window.start; m < r.window.end; m += MINUTE) {
      const list = byMinute.get(m);
      if (list) list.push(r.id);
      else byMinute.set(m, [r.id]);
    }
  }
  return owners;
}

/** A model's usage (the model, batch and tier of the row) with nothing counted yet. */
export const emptyModelUsage = (r: UsageRow): ModelUsage => ({
  model: r.model,
  batch: r.batch,
  service_tier: r.serviceTier,
  tokens_in: 0,
  tokens_out: 0,
  cached_tokens: 0,
  api_calls: r.requests === null ? null : 0,
  ...(r.unpriced !== undefined ? { unpriced: r.unpriced } : {}),
});

/**
 * Adds a row to a model's usage: its counts, its token classes, and its schema generation to the
 * model's list of them (sorted, joined by `+`: a run whose minutes span the day the API changed
 * its fields has both).
 */
export function addToModel(m: ModelUsage, r: UsageRow): void {
  m.tokens_in += r.inputTokens;
  m.tokens_out += r.outputTokens;
  m.cached_tokens += r.cachedTokens;
  m.api_calls = addRequests(m.api_calls, r.requests);
  // the model's own object, never the row's: rows are shared with other sums
  m.classes ??= {};
  for (const [c, n] of Object.entries(r.classes) as Array<[TokenClass, number]>)
    if (n > 0) m.classes[c] = (m.classes[c] ?? 0) + n;
  const schemas = m.usage_schema?.split("+") ?? [];
  if (!schemas.includes(r.schema)) m.usage_schema = [...schemas, r.schema].sort().join("+");
}

const modelKey = (r: UsageRow): string =>
  `${r.model}\u0000${r.batch}\u0000${r.serviceTier}\u0000${r.unpriced ?? ""}`;

/** How a pass's runs own minutes: made once, then asked for the usage of runs as their rows come. */
export interface Attributor {
  /**
   * The usage of `targets`, from rows that hold every row of each target's minutes on its key
   * (other rows are ignored): the same as from all of the pass's rows.
   */
  usageOf(targets: readonly RunOnKey[], rows: readonly UsageRow[]): Map<string, RunUsage>;
  /** Whether a row's minute belongs to a run on its key. */
  owns(row: UsageRow): boolean;
  /** The usage in minutes no run owns, per key, from all of the pass's rows (or those not owned). */
  unattributed(rows: readonly UsageRow[]): UnattributedUsage[];
}

/**
 * Attributes minute buckets to runs (docs/design.md#reading-usage). A minute owned by one run counts for it; a minute
 * owned by several runs on the same key counts for none of them and is reported as shared; a
 * minute owned by no run is unattributed usage on that key. The owners of every minute are worked
 * out once; a pass asks for the usage of runs a few at a time, as the pages of their minutes come.
 */
export function attributor(runs: readonly RunOnKey[]): Attributor {
  const owners = minuteOwners(runs);
  return {
    usageOf(targets, rows) {
      const perRun = new Map<string, RunUsage>();
      const models = new Map<string, Map<string, ModelUsage>>();
      for (const r of targets) {
        const usage: RunUsage = { totals: emptyTotals(), models: [] };
        perRun.set(r.id, usage);
        models.set(r.id, new Map());
        const byMinute = owners.get(r.keyId);
        const others = new Set<string>();
        let minutes = 0;
        for (let m = r.window.start; m < r.window.end; m += MINUTE) {
          const list = byMinute?.get(m) ?? [];
          if (list.length > 1) {
            minutes++;
            for (const o of list) if (o !== r.id) others.add(o);
          }
        }
        if (minutes > 0)
          usage.shared = { withRuns: [...others].sort(), minutes, totals: emptyTotals() };
      }
      for (const row of rows) {
        const list = owners.get(row.apiKeyId)?.get(row.minute);
        if (!list) continue;
        if (list.length > 1) {
          for (const id of list) {
            const shared = perRun.get(id)?.shared;
            if (shared) addRow(shared.totals, row);
          }
          continue;
        }
        const id = list[0]!;
        const usage = perRun.get(id);
        if (!usage) continue;
        addRow(usage.totals, row);
        const byModel = models.get(id)!;
        const key = modelKey(row);
        let m = byModel.get(key);
        if (!m) {
          m = emptyModelUsage(row);
          byModel.set(key, m);
        }
        addToModel(m, row);
      }
      for (const [id, usage] of perRun) {
        usage.models = [...models.get(id)!.values()].sort((a, b) =>
          a.model < b.model
            ? -1
            : a.model > b.model
              ? 1
              : String(a.batch).localeCompare(String(b.batch)) ||
                String(a.service_tier).localeCompare(String(b.service_tier)),
        );
      }
      return perRun;
    },
    owns: (row) => owners.get(row.apiKeyId)?.get(row.minute) !== undefined,
    unattributed(rows) {
      const unattributed = new Map<string, Map<number, Totals>>();
      for (const row of rows) {
        if (owners.get(row.apiKeyId)?.get(row.minute)) continue;
        let byMinute = unattributed.get(row.apiKeyId);
        if (!byMinute) {
          byMinute = new Map();
          unattributed.set(row.apiKeyId, byMinute);
        }
        let t = byMinute.get(row.minute);
        if (!t) {
          t = emptyTotals();
          byMinute.set(row.minute, t);
        }
        addRow(t, row);
      }
      const runsByKey = new Map<string, RunOnKey[]>();
      for (const r of runs) pushTo(runsByKey, r.keyId, r);
      return [...unattributed]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([keyId, byMinute]) =>
          summarizeUnattributed(keyId, byMinute, runsByKey.get(keyId) ?? []),
        );
    },
  };
}
