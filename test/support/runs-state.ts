/**
 * What a runs directory looks like on disk, checked without the code under test: which files
 * parse and validate, which temporary files or lock are lying around, and whether the manifest
 * says what each metrics.json says.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { ManifestSchema, MetricsFileSchema } from "../../src/runs/schema.ts";

export interface RunsDirState {
  /** metrics.json paths (relative to the runs dir) and the number of readings each holds. */
  readings: Map<string, number>;
  /** Files (metrics.json and the manifest) that do not parse as JSON or do not validate. */
  invalid: string[];
  /** Leftover temporary files (any `*.tmp`), relative paths. */
  temps: string[];
  /** Whether the runs directory's lock file exists. */
  locked: boolean;
  /** The pid the lock file names, when it exists and says. */
  lockPid?: number;
  /** Runs whose manifest entry disagrees with their file (status, tokens in/out). */
  manifestMismatches: string[];
}

interface Metrics {
  run_id: string;
  verification_status?: string;
  aggregate_metrics?: { TOK_IN?: number; TOK_OUT?: number };
  usage_api_reconciliation?: { attempts?: unknown[] };
}

export async function inspectRunsDir(runsDir: string): Promise<RunsDirState> {
  const state: RunsDirState = {
    readings: new Map(),
    invalid: [],
    temps: [],
    locked: false,
    manifestMismatches: [],
  };
  const files = new Map<string, Metrics>();
  for (const e of await readdir(runsDir, { withFileTypes: true, recursive: true })) {
    const path = join(e.parentPath, e.name);
    const rel = relative(runsDir, path);
    if (e.name.endsWith(".tmp")) state.temps.push(rel);
    if (rel === ".reconcile-usage.lock") {
      state.locked = true;
      try {
        state.lockPid = JSON.parse(await readFile(path, "utf8")).pid;
      } catch {
        state.lockPid = undefined;
      }
    }
    if (!e.isFile() || e.name !== "metrics.json") continue;
    try {
      const value = JSON.parse(await readFile(path, "utf8"));
      const valid = MetricsFileSchema.safeParse(value);
      if (!valid.success) throw new Error(valid.error.message);
      files.set(rel, value as Metrics);
      state.readings.set(rel, (value as Metrics).usage_api_reconciliation?.attempts?.length ?? 0);
    } catch {
      state.invalid.push(rel);
    }
  }
  let manifestText: string | undefined;
  try {
    manifestText = await readFile(join(runsDir, "manifest.json"), "utf8");
  } catch {
    manifestText = undefined;
  }
  if (manifestText !== undefined) {
    const parsed = (() => {
      try {
        return ManifestSchema.safeParse(JSON.parse(manifestText));
      } catch {
        return undefined;
      }
    })();
    if (!parsed?.success) state.invalid.push("manifest.json");
    else {
      const entries = new Map(parsed.data.runs.map((r) => [`${r.framework}/${r.run_id}`, r]));
      for (const [rel, file] of files) {
        const id = rel.split("/").slice(0, 2).join("/");
        const entry = entries.get(id);
        if (!entry) continue;
        if (
          entry.verification_status !== file.verification_status ||
          entry.total_tokens_in !== file.aggregate_metrics?.TOK_IN ||
          entry.total_tokens_out !== file.aggregate_metrics?.TOK_OUT
        )
          state.manifestMismatches.push(id);
      }
    }
  }
  state.temps.sort();
  state.invalid.sort();
  state.manifestMismatches.sort();
  return state;
}

/** The pid in a temporary file's name (`.metrics.json.<pid>-<hex>.tmp`), if it has one. */
export const tempFilePid = (path: string): number | undefined => {
  const m = /\.(\d+)-[0-9a-f]{12}\.tmp$/.exec(path);
  return m ? Number(m[1]) : undefined;
};
