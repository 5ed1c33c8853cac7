import type { ManifestEntry } from "../runs/schema.ts";
import { editJsonText, type JsonPath } from "./json-text.ts";

export interface ManifestUpdate {
  framework: string;
  runId: string;
  status: string;
  tokensIn?: number;
  tokensOut?: number;
}

/** Keeps `runs/manifest.json` entries in step with the files (SPEC §6), with the same minimal diffs. */
export function applyManifestUpdates(
  text: string,
  entries: readonly ManifestEntry[],
  updates: readonly ManifestUpdate[],
): string {
  const set: Array<{ path: JsonPath; value: unknown }> = [];
  for (const u of updates) {
    let index = entries.findIndex((e) => e.run_id === u.runId && e.framework === u.framework);
    if (index < 0)
      index = entries.findIndex((e) => e.run_id === u.runId && e.framework === undefined);
    if (index < 0) continue;
    set.push({ path: ["runs", index, "verification_status"], value: u.status });
    if (u.tokensIn !== undefined)
      set.push({ path: ["runs", index, "total_tokens_in"], value: u.tokensIn });
    if (u.tokensOut !== undefined)
      set.push({ path: ["runs", index, "total_tokens_out"], value: u.tokensOut });
  }
  return editJsonText(text, { set });
}
