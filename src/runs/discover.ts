import { join } from "node:path";
import type { DirEntry, Files } from "../fs/types.ts";
import {
  describeIssues,
  type ManifestEntry,
  ManifestSchema,
  type MetricsFile,
  MetricsFileSchema,
} from "./schema.ts";

export interface DiscoveredRun {
  framework: string;
  runId: string;
  /** Path of metrics.json, as given by the runs directory (relative when it is). */
  path: string;
  text: string;
  file: MetricsFile;
}

/** A file we could not use: reported with its path and reason, and left untouched. */
export interface FileProblem {
  path: string;
  reason: string;
  framework?: string;
  runId?: string;
}

export interface LoadedManifest {
  path: string;
  text: string;
  entries: ManifestEntry[];
}

export interface Discovery {
  runs: DiscoveredRun[];
  problems: FileProblem[];
  manifest?: LoadedManifest;
  /** Framework directories found, selected or not. */
  frameworks: string[];
}

const MANIFEST_NAMES = ["manifest.json", "runs_manifest.json"];
// ignoreBOM keeps a byte-order mark in the text, so it is reported below instead of silently
// dropped (which would also drop it from the file on the next write).
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decodes and parses a JSON file, naming what is wrong with it. */
export function parseJsonText(
  bytes: Uint8Array,
): { text: string; value: unknown } | { error: string } {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { error: "not valid UTF-8" };
  }
  if (text.charCodeAt(0) === 0xfeff)
    return { error: "starts with a byte-order mark; expected plain UTF-8 JSON" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { error: `not valid JSON (${detail})${text.length === 0 ? ": the file is empty" : ""}` };
  }
  // The minimal-diff editor parses recursively: a file nested thousands of levels deep would
  // overflow the stack and stop the whole pass, so it is reported here like any broken file.
  if (nestedDeeperThan(text, MAX_NESTING))
    return { error: `nested more than ${MAX_NESTING} levels deep; not a metrics file` };
  return { text, value };
}

const MAX_NESTING = 1000;

/** Whether arrays and objects in valid JSON text nest deeper than `limit` (strings skipped). */
function nestedDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

async function loadManifest(
  files: Files,
  runsDir: string,
  top: readonly DirEntry[],
  problems: FileProblem[],
): Promise<LoadedManifest | undefined> {
  for (const name of MANIFEST_NAMES) {
    const path = join(runsDir, name);
    // a symbolic link is reported with the other links under the runs dir, and not followed
    if (top.find((e) => e.name === name)?.kind !== "file") continue;
    const parsed = parseJsonText(await files.read(path));
    if ("error" in parsed) {
      problems.push({ path, reason: parsed.error });
      return undefined;
    }
    const manifest = ManifestSchema.safeParse(parsed.value);
    if (!manifest.success) {
      problems.push({ path, reason: describeIssues(manifest.error) });
      return undefined;
    }
    return { path, text: parsed.text, entries: manifest.data.runs };
  }
  return undefined;
}

async function loadRun(
  files: Files,
  framework: string,
  runDir: string,
  runId: string,
): Promise<DiscoveredRun | FileProblem> {
  const path = join(runDir, "metrics.json");
  const entries = await files.list(runDir);
  const entry = entries.find((e) => e.name === "metrics.json");
  if (!entry) return { path, framework, runId, reason: "no metrics.json in the run directory" };
  if (entry.kind !== "file") {
    return {
      path,
      framework,
      runId,
      reason: `is a ${entry.kind === "symlink" ? "symbolic link (not followed: it may leave the repository)" : entry.kind}, not a regular file`,
    };
  }
  const parsed = parseJsonText(await files.read(path));
  if ("error" in parsed) return { path, framework, runId, reason: parsed.error };
  const file = MetricsFileSchema.safeParse(parsed.value);
  if (!file.success) return { path, framework, runId, reason: describeIssues(file.error) };
  if (file.data.run_id !== runId) {
    return {
      path,
      framework,
      runId,
      reason: `run_id "${file.data.run_id}" does not match its directory name "${runId}"`,
    };
  }
  return { framework, runId, path, text: parsed.text, file: file.data };
}

/**
 * Finds every `{runsDir}/{framework}/{run_id}/metrics.json` (SPEC §2). Broken files become
 * problems and the rest goes on. Symbolic links are never followed, so nothing outside the runs
 * directory is read. `frameworks` narrows the search (all when empty).
 */
export async function discoverRuns(
  files: Files,
  runsDir: string,
  frameworks: readonly string[] = [],
): Promise<Discovery> {
  const problems: FileProblem[] = [];
  const top = await files.list(runsDir);
  const found = top
    .filter((e) => e.kind === "dir" && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort();
  for (const e of top) {
    if (e.kind === "symlink")
      problems.push({
        path: join(runsDir, e.name),
        reason: "symbolic link under the runs directory, not followed",
      });
  }
  const manifest = await loadManifest(files, runsDir, top, problems);
  const selected = frameworks.length > 0 ? found.filter((f) => frameworks.includes(f)) : found;
  const runs: DiscoveredRun[] = [];
  for (const framework of selected) {
    const dir = join(runsDir, framework);
    const entries = (await files.list(dir)).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      if (e.kind === "symlink") {
        problems.push({
          path: join(dir, e.name),
          framework,
          runId: e.name,
          reason: "symbolic link, not followed: it may leave the repository",
        });
        continue;
      }
      if (e.kind !== "dir") continue;
      const result = await loadRun(files, framework, join(dir, e.name), e.name);
      if ("reason" in result) problems.push(result);
      else runs.push(result);
    }
  }
  flagDuplicateRunIds(runs, problems);
  return {
    runs: runs.filter((r) => !problems.some((p) => p.path === r.path)),
    problems,
    manifest,
    frameworks: found,
  };
}

/** The same run id under two frameworks cannot be told apart in the manifest or in reports. */
function flagDuplicateRunIds(runs: DiscoveredRun[], problems: FileProblem[]): void {
  const byId = new Map<string, DiscoveredRun[]>();
  for (const r of runs) byId.set(r.runId, [...(byId.get(r.runId) ?? []), r]);
  for (const [runId, same] of byId) {
    if (same.length < 2) continue;
    for (const r of same) {
      const others = same.filter((o) => o !== r).map((o) => o.framework);
      problems.push({
        path: r.path,
        framework: r.framework,
        runId,
        reason: `run id "${runId}" also appears under ${others.join(", ")}`,
      });
    }
  }
}
