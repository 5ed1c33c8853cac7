import { basename, dirname, join } from "node:path";
import { ConfigError } from "../errors.ts";
import type { Files } from "../fs/types.ts";
import type { Discovery } from "../runs/discover.ts";

/**
 * What the user asked for, checked against what is there, with a hint where they likely slipped:
 * run ids as the table shows them (`02e05362…`, a unique prefix), a run under another framework,
 * and a runs directory that holds no runs.
 */

/** Shortest prefix accepted: shorter ones would match by accident in a large experiment. */
const MIN_PREFIX = 4;

/** A run id as typed or pasted from the table: the table's `…` (or `...`) is dropped. */
const typed = (id: string): string => id.trim().replace(/(…|\.\.\.)$/, "");

/**
 * The full run ids `given` stands for: an exact id, or a prefix of exactly one run's id (at least
 * MIN_PREFIX characters). An id that matches nothing, or several runs, stops the pass (exit 2)
 * with what the user can do: the runs a prefix matches, or the framework a run is really under.
 */
export async function resolveRunIds(
  given: readonly string[],
  frameworks: readonly string[],
  discovery: Discovery,
  files: Files,
  runsDir: string,
): Promise<string[]> {
  const known = [
    ...new Set([
      ...discovery.runs.map((r) => r.runId),
      ...discovery.problems.flatMap((p) => (p.runId ? [p.runId] : [])),
    ]),
  ];
  const resolved: string[] = [];
  for (const raw of given) {
    const id = typed(raw);
    if (known.includes(id)) {
      resolved.push(id);
      continue;
    }
    const matches = id.length >= MIN_PREFIX ? known.filter((k) => k.startsWith(id)) : [];
    if (matches.length === 1) {
      resolved.push(matches[0]!);
      continue;
    }
    if (matches.length > 1)
      throw new ConfigError(
        `run id ${raw} is the start of ${matches.length} run ids (${matches.slice(0, 5).join(", ")}${matches.length > 5 ? ", …" : ""}); give more of it`,
      );
    throw new ConfigError(await notFound(raw, id, frameworks, discovery, files, runsDir));
  }
  return resolved;
}

async function notFound(
  raw: string,
  id: string,
  frameworks: readonly string[],
  discovery: Discovery,
  files: Files,
  runsDir: string,
): Promise<string> {
  const where = frameworks.length > 0 ? join(runsDir, frameworks.join(", ")) : runsDir;
  const short =
    id.length < MIN_PREFIX ? ` (a shortened id needs at least ${MIN_PREFIX} characters)` : "";
  // the run may be under a framework that was not searched
  const others = discovery.frameworks.filter((f) => !frameworks.includes(f));
  for (const f of others) {
    if (await files.exists(join(runsDir, f, id, "metrics.json")))
      return `run id ${raw} is not under ${where}: it is a run of ${f} (${join(runsDir, f, id)}); give ${f} ${id}`;
  }
  return `run id ${raw} not found under ${where}${short}`;
}

/**
 * A runs directory in which no run was found: a framework's own directory given as the runs
 * directory (`--runs-dir runs/baes`) is a configuration error with the command that was meant;
 * an empty one gets a warning saying what layout was expected.
 */
export async function emptyRunsDir(
  files: Files,
  runsDir: string,
  discovery: Discovery,
): Promise<string | undefined> {
  if (discovery.runs.length > 0 || discovery.problems.length > 0) return undefined;
  for (const dir of discovery.frameworks.slice(0, 20)) {
    if (await files.exists(join(runsDir, dir, "metrics.json")))
      throw new ConfigError(
        `runs directory ${runsDir} holds run directories (${dir}/metrics.json), not framework directories: it looks like one framework's directory. Give its parent and the framework: --runs-dir ${dirname(runsDir)} ${basename(runsDir)}`,
      );
  }
  return `no runs found under ${runsDir}: expected ${runsDir}/{framework}/{run_id}/metrics.json (found ${discovery.frameworks.length > 0 ? `directories ${discovery.frameworks.slice(0, 5).join(", ")} without runs` : "nothing"})`;
}
