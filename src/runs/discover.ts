import { join } from "node:path";
import { type ParseError, parseTree, printParseErrorCode } from "jsonc-parser";
import { ConfigError } from "../errors.ts";
import { contentDigest } from "../fs/digest.ts";
import { repositoryRoot, resolvesInside } from "../fs/repository.ts";
import { type DirEntry, describeReadError, type Files, FileTooLargeError } from "../fs/types.ts";
import { mapInOrder } from "../util/concurrency.ts";
import { escapeControl, hasControlCharacter } from "../util/control-chars.ts";
import { parseJsonShape } from "../util/json-read.ts";
import { findDuplicateKey, formatJsonPath } from "../util/json-text.ts";
import {
  describeIssues,
  KeptMetricsSchema,
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
  /**
   * The digest of the bytes read (fs/digest.ts); the text itself is not kept: a pass that edits the
   * file reads it again and edits it only while it still has this digest.
   */
  digest: string;
  /**
   * What the pass needs of the file's content (KeptMetricsSchema): its steps only with their
   * numbers, times and legacy token fields, other keys only those the pass and the editor read.
   */
  file: MetricsFile;
  /** How many keys the bytes read write: the editor's check that it edits the text read. */
  keys: number;
}

/** A file we could not use: reported with its path and reason, and left untouched. */
export interface FileProblem {
  path: string;
  reason: string;
  framework?: string;
  runId?: string;
  /**
   * The file as JSON readers see it, when it parsed and validated but is refused (a key twice, a
   * run_id that is not its directory's): the run exists and used its key at those times, so its
   * neighbours must not take its minutes for their own. Never edited.
   */
  evidence?: MetricsFile;
}

export interface LoadedManifest {
  path: string;
  text: string;
  /** Of the bytes read (fs/digest.ts). */
  digest: string;
  entries: ManifestEntry[];
  /** How many keys the text writes (see DiscoveredRun). */
  keys: number;
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

/**
 * Largest metrics.json read. Real metrics files are under 20 KB: a larger file is a broken one,
 * and reading it whole could exhaust memory.
 */
export const MAX_FILE_BYTES = 32 * 1024 * 1024;

/**
 * Largest manifest read. A manifest grows with the experiment, about 360 bytes a run (36 MB at
 * 100,000 runs, past MAX_FILE_BYTES): this is room for some 700,000 runs.
 */
export const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

/** The text of UTF-8 bytes; undefined when they are not UTF-8 (a BOM is kept, to be reported). */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Where JSON.parse stopped, in words, without quoting the file (V8's message quotes it). */
function whereJsonBreaks(text: string): string {
  const errors: ParseError[] = [];
  parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  const first = errors[0];
  if (!first) return "not valid JSON";
  const before = text.slice(0, first.offset);
  const line = before.split("\n").length;
  const column = first.offset - before.lastIndexOf("\n");
  return `not valid JSON (${printParseErrorCode(first.error)} at line ${line}, column ${column})`;
}

/** Decodes and parses a JSON file, naming what is wrong with it (never quoting its content). */
export function parseJsonText(
  bytes: Uint8Array,
): { text: string; value: unknown; keys: number } | { error: string; value?: unknown } {
  const text = decodeUtf8(bytes);
  if (text === undefined) return { error: "not valid UTF-8" };
  if (text.charCodeAt(0) === 0xfeff)
    return { error: "starts with a byte-order mark; expected plain UTF-8 JSON" };
  let shape: ReturnType<typeof parseJsonShape>;
  try {
    shape = parseJsonShape(text, MAX_NESTING);
  } catch {
    return {
      error: text.length === 0 ? "not valid JSON: the file is empty" : whereJsonBreaks(text),
    };
  }
  const { value, keys } = shape;
  // The minimal-diff editor parses recursively: a file nested thousands of levels deep would
  // overflow the stack and stop the whole pass, so it is reported here like any broken file.
  if (shape.tooDeep)
    return { error: `nested more than ${MAX_NESTING} levels deep; not a metrics file` };
  // JSON.parse keeps a duplicate key's last copy, the editor would write into the first: such a
  // file means two things (a merge conflict that kept both sides), so it is nobody's to edit.
  const duplicate = shape.duplicateKey ? findDuplicateKey(parseTree(text)!) : undefined;
  if (duplicate)
    return {
      error: `${formatJsonPath(duplicate)} appears twice; a key must appear once in its object (a merge conflict that kept both sides?): keep one and delete the other`,
      value,
    };
  return { text, value, keys };
}

/** Reads and parses a JSON file; a file that cannot be read is a reason, never a thrown error. */
async function readJson(
  files: Files,
  path: string,
  maxBytes = MAX_FILE_BYTES,
): Promise<
  | { text: string; value: unknown; keys: number; digest: string }
  | { error: string; value?: unknown }
> {
  let bytes: Uint8Array;
  try {
    bytes = await files.read(path, maxBytes);
  } catch (error) {
    return { error: describeReadError(error) };
  }
  return readBytes(bytes, maxBytes);
}

/** Parses a JSON file's bytes (see readJson). */
function readBytes(
  bytes: Uint8Array,
  maxBytes = MAX_FILE_BYTES,
):
  | { text: string; value: unknown; keys: number; digest: string }
  | { error: string; value?: unknown } {
  if (bytes.length > maxBytes)
    return { error: new FileTooLargeError(bytes.length, maxBytes).message };
  const parsed = parseJsonText(bytes);
  return "error" in parsed ? parsed : { ...parsed, digest: contentDigest(bytes) };
}

/** Lists a directory; a directory that cannot be listed is a reason, never a thrown error. */
async function listDir(files: Files, dir: string): Promise<DirEntry[] | { error: string }> {
  try {
    return await files.list(dir);
  } catch (error) {
    return { error: describeReadError(error).replace("cannot be read", "cannot be listed") };
  }
}

/** A name shown in a report: as it is, or escaped when it holds control characters. */
const shown = (name: string): string => escapeControl(name);

const MAX_NESTING = 1000;

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
    const parsed = await readJson(files, path, MAX_MANIFEST_BYTES);
    if ("error" in parsed) {
      problems.push({ path, reason: parsed.error });
      return undefined;
    }
    const manifest = ManifestSchema.safeParse(parsed.value);
    if (!manifest.success) {
      problems.push({ path, reason: describeIssues(manifest.error) });
      return undefined;
    }
    return {
      path,
      text: parsed.text,
      digest: parsed.digest,
      entries: manifest.data.runs,
      keys: parsed.keys,
    };
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
  // Nearly every run directory holds a regular metrics.json: read it at once, without listing the
  // directory (a listing per run was a fifth of a pass with nothing to do). Anything else (no
  // file, a link, a FIFO, a directory that cannot be read) is told apart by listing, as below.
  if (files.readRegular) {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await files.readRegular(path, MAX_FILE_BYTES);
    } catch (error) {
      if (error instanceof FileTooLargeError)
        return { path, framework, runId, reason: error.message };
    }
    if (bytes) return runOf(framework, runId, path, readBytes(bytes));
  }
  const entries = await listDir(files, runDir);
  if ("error" in entries)
    return { path: runDir, framework, runId, reason: `run directory ${entries.error}` };
  const entry = entries.find((e) => e.name === "metrics.json");
  if (!entry) return { path, framework, runId, reason: "no metrics.json in the run directory" };
  if (entry.kind !== "file") {
    return {
      path,
      framework,
      runId,
      reason: `is a ${entry.kind === "symlink" ? "symbolic link (not followed: it may leave the repository)" : entry.kind === "other" ? "special file (a FIFO, socket or device)" : "directory"}, not a regular file`,
    };
  }
  return runOf(framework, runId, path, await readJson(files, path));
}

/** A run from its file as read: the run, or the file's problem. */
function runOf(
  framework: string,
  runId: string,
  path: string,
  parsed: Awaited<ReturnType<typeof readJson>>,
): DiscoveredRun | FileProblem {
  if ("error" in parsed) {
    const evidence = MetricsFileSchema.safeParse(parsed.value);
    return {
      path,
      framework,
      runId,
      reason: parsed.error,
      ...(parsed.value !== undefined && evidence.success ? { evidence: evidence.data } : {}),
    };
  }
  // the keys kept for the rest of the pass (see KeptMetricsSchema), checked as MetricsFileSchema
  const file = KeptMetricsSchema.safeParse(parsed.value);
  if (!file.success) return { path, framework, runId, reason: describeIssues(file.error) };
  if (file.data.run_id !== runId) {
    // the value is shown only when it reads as an id: a file's content is not echoed otherwise
    const value = /^[\w.:-]{1,100}$/.test(file.data.run_id) ? ` "${file.data.run_id}"` : "";
    return {
      path,
      framework,
      runId,
      reason: `run_id${value} does not match its directory name "${runId}"`,
      evidence: file.data,
    };
  }
  return { framework, runId, path, digest: parsed.digest, file: file.data, keys: parsed.keys };
}

/** Run directories loaded at a time. */
const LOAD_CONCURRENCY = 16;

/**
 * Finds every `{runsDir}/{framework}/{run_id}/metrics.json` (docs/design.md#runs-and-windows). Broken files become
 * problems and the rest goes on. Symbolic links are never followed, so nothing outside the runs
 * directory is read. `frameworks` narrows the search (all when empty).
 */
export async function discoverRuns(
  files: Files,
  runsDir: string,
  frameworks: readonly string[] = [],
): Promise<Discovery> {
  const problems: FileProblem[] = [];
  const repository = await repositoryRoot(files, runsDir);
  if (!(await resolvesInside(files, runsDir, repository)))
    throw new ConfigError(
      `runs directory ${runsDir} leads outside the repository (${repository}) through a symbolic link; links are not followed out of the repository`,
    );
  const top = await listDir(files, runsDir);
  if ("error" in top) throw new ConfigError(`runs directory ${runsDir} ${top.error}`);
  const found = top
    .filter((e) => e.kind === "dir" && !e.name.startsWith(".") && !hasControlCharacter(e.name))
    .map((e) => e.name)
    .sort();
  for (const e of top) {
    if (e.kind === "symlink")
      problems.push({
        path: join(runsDir, shown(e.name)),
        reason: "symbolic link under the runs directory, not followed",
      });
  }
  const manifest = await loadManifest(files, runsDir, top, problems);
  const selected = frameworks.length > 0 ? found.filter((f) => frameworks.includes(f)) : found;
  const runs: DiscoveredRun[] = [];
  if (frameworks.length === 0)
    for (const e of top)
      if (e.kind === "dir" && hasControlCharacter(e.name))
        await refuseControlFramework(files, runsDir, e.name, problems);
  // What each directory entry comes to, in order: a problem known from its name, or a run to load.
  // Runs load a few at a time (each is a listing and a read, trips to the I/O threads): one at a
  // time, the pass would wait for the disk once per run.
  const slots: Array<FileProblem | { framework: string; dir: string; runId: string }> = [];
  for (const framework of selected) {
    const dir = join(runsDir, framework);
    const listed = await listDir(files, dir);
    if ("error" in listed) {
      slots.push({ path: dir, framework, reason: `framework directory ${listed.error}` });
      continue;
    }
    const entries = listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      if (hasControlCharacter(e.name) && (e.kind === "dir" || e.kind === "symlink")) {
        // the report keeps the exact name (printing escapes it); the message shows it escaped
        slots.push({
          path: join(dir, e.name, "metrics.json"),
          framework,
          runId: e.name,
          reason: `run directory name "${shown(e.name)}" holds a control character (shown escaped); rename the directory`,
        });
        continue;
      }
      if (e.kind === "symlink") {
        slots.push({
          path: join(dir, e.name),
          framework,
          runId: e.name,
          reason: "symbolic link, not followed: it may leave the repository",
        });
        continue;
      }
      if (e.kind !== "dir") continue;
      slots.push({ framework, dir: join(dir, e.name), runId: e.name });
    }
  }
  const loaded = await mapInOrder(slots, LOAD_CONCURRENCY, (s) =>
    "reason" in s ? Promise.resolve(s) : loadRun(files, s.framework, s.dir, s.runId),
  );
  for (const result of loaded) {
    if ("reason" in result) problems.push(result);
    else runs.push(result);
  }
  flagDuplicateRunIds(runs, problems);
  const problemPaths = new Set(problems.map((p) => p.path));
  return {
    runs: runs.filter((r) => !problemPaths.has(r.path)),
    problems,
    manifest,
    frameworks: found,
  };
}

/**
 * A framework directory whose name holds a control character: each run in it is an error. The
 * report keeps the exact names (everything printed is escaped on the way out); the message shows
 * the name escaped.
 */
async function refuseControlFramework(
  files: Files,
  runsDir: string,
  name: string,
  problems: FileProblem[],
): Promise<void> {
  const reason = `framework directory name "${shown(name)}" holds a control character (shown escaped); rename the directory`;
  const listed = await listDir(files, join(runsDir, name));
  const runDirs = "error" in listed ? [] : listed.filter((e) => e.kind === "dir");
  if (runDirs.length === 0) problems.push({ path: join(runsDir, name), framework: name, reason });
  for (const e of runDirs)
    problems.push({
      path: join(runsDir, name, e.name, "metrics.json"),
      framework: name,
      runId: e.name,
      reason,
    });
}

/** The same run id under two frameworks cannot be told apart in the manifest or in reports. */
function flagDuplicateRunIds(runs: DiscoveredRun[], problems: FileProblem[]): void {
  const byId = new Map<string, DiscoveredRun[]>();
  for (const r of runs) {
    const same = byId.get(r.runId);
    if (same) same.push(r);
    else byId.set(r.runId, [r]);
  }
  for (const [runId, same] of byId) {
    if (same.length < 2) continue;
    for (const r of same) {
      const others = same.filter((o) => o !== r).map((o) => o.framework);
      problems.push({
        path: r.path,
        framework: r.framework,
        runId,
        reason: `run id "${runId}" also appears under ${others.join(", ")}`,
        evidence: r.file,
      });
    }
  }
}
