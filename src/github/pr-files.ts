import { posix } from "node:path";
import type { GitHub } from "./octokit.ts";

export interface PullRequestRunFile {
  /** Repository path of the metrics.json, `/`-separated. */
  path: string;
  framework: string;
  runId: string;
  change: "added" | "modified" | "renamed" | "removed";
}

export interface PullRequestFilesOptions {
  github: GitHub;
  owner: string;
  repo: string;
  pullNumber: number;
  /** The runs directory relative to the repository root, e.g. "runs" ("." for the root). */
  runsDir: string;
}

/** GitHub's file statuses, as the change to a run they mean ("unchanged" is none). */
const CHANGES: Record<string, PullRequestRunFile["change"] | undefined> = {
  added: "added",
  copied: "added",
  modified: "modified",
  changed: "modified",
  renamed: "renamed",
  removed: "removed",
};

/**
 * The runs a pull request adds, changes, renames or removes: its files that are
 * `{runsDir}/{framework}/{run_id}/metrics.json`. A run moved out of that shape (renamed away) is
 * reported as removed under its old path.
 *
 * GitHub lists at most 3000 files of a pull request (`GET /pulls/{n}/files`); the runs of a
 * larger pull request past that cap are not seen here.
 */
export async function pullRequestRunFiles(
  o: PullRequestFilesOptions,
): Promise<PullRequestRunFile[]> {
  const prefix = runsPrefix(o.runsDir);
  const files = await o.github.paginate(o.github.rest.pulls.listFiles, {
    owner: o.owner,
    repo: o.repo,
    pull_number: o.pullNumber,
    per_page: 100,
  });
  const out: PullRequestRunFile[] = [];
  for (const f of files) {
    const change = CHANGES[f.status];
    if (!change) continue;
    const run = runOf(f.filename, prefix);
    if (run) {
      out.push({ path: f.filename, ...run, change });
      continue;
    }
    const previous = change === "renamed" && f.previous_filename;
    const before = previous ? runOf(previous, prefix) : undefined;
    if (previous && before) out.push({ path: previous, ...before, change: "removed" });
  }
  return out;
}

/** "runs", "./runs/", "runs//" → "runs/"; ".", "" → "" (runs at the repository root). */
function runsPrefix(runsDir: string): string {
  const dir = posix.normalize(runsDir.replaceAll("\\", "/")).replace(/^\.\/|\/+$/g, "");
  if (dir.startsWith("../") || dir === ".." || dir.startsWith("/"))
    throw new Error(`runs directory ${runsDir} is not inside the repository`);
  return dir === "." || dir === "" ? "" : `${dir}/`;
}

function runOf(path: string, prefix: string): { framework: string; runId: string } | undefined {
  if (!path.startsWith(prefix)) return undefined;
  const parts = path.slice(prefix.length).split("/");
  if (parts.length !== 3 || parts[2] !== "metrics.json") return undefined;
  const [framework, runId] = parts as [string, string, string];
  // discovery skips hidden directories (docs/design.md#runs-and-windows): so does this
  if (!framework || !runId || framework.startsWith(".") || runId.startsWith(".")) return undefined;
  return { framework, runId };
}
