import type { ManifestEntry } from "../runs/schema.ts";
import { editJsonText, editsChangeNothing, type JsonPath } from "../util/json-text.ts";

export interface ManifestUpdate {
  framework: string;
  runId: string;
  status: string;
  tokensIn?: number;
  tokensOut?: number;
}

/**
 * Keeps `runs/manifest.json` entries in step with the files (docs/design.md#writing-files), with
 * the same minimal diffs. `entries` are the schema's reading of the text's `runs` (loose: every
 * value as read), made from these very bytes by the caller, and `keys` the number of keys the
 * bytes write (parseJsonShape); the editor takes the entries as the text's value instead of
 * parsing the text again (36 MB at 100,000 runs).
 */
export function applyManifestUpdates(
  text: string,
  entries: readonly ManifestEntry[],
  keys: number,
  updates: readonly ManifestUpdate[],
): string {
  // indexed once: a manifest lists every run, and a pass may update all of them
  const index = new Map<string, number>();
  entries.forEach((e, i) => {
    const key = `${e.framework ?? ""}/${e.run_id}`;
    if (!index.has(key)) index.set(key, i);
  });
  const set: Array<{ path: JsonPath; value: unknown }> = [];
  for (const u of updates) {
    const i = index.get(`${u.framework}/${u.runId}`) ?? index.get(`/${u.runId}`);
    if (i === undefined) continue;
    set.push({ path: ["runs", i, "verification_status"], value: u.status });
    if (u.tokensIn !== undefined)
      set.push({ path: ["runs", i, "total_tokens_in"], value: u.tokensIn });
    if (u.tokensOut !== undefined)
      set.push({ path: ["runs", i, "total_tokens_out"], value: u.tokensOut });
  }
  // a pass with nothing to change need not parse a manifest of every run for edits
  if (editsChangeNothing({ runs: entries }, { set })) return text;
  return editJsonText(text, { set }, { value: { runs: entries }, keys });
}
