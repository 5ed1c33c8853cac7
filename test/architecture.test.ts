import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The shape docs/design.md#layout describes, checked on the source: every import under src/ is an
 * explicit relative `.ts` path or a package name, so reading the import lines is enough.
 */

const SRC = join(import.meta.dirname, "..", "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith(".ts")
        ? [join(dir, e.name)]
        : [],
  );
}

/** `import … from "x"`, `export … from "x"`, `import "x"` and `import("x")`. */
const IMPORT =
  /^\s*(?:import|export)\s[^;]*?\sfrom\s*"([^"]+)"|^\s*import\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/gm;

interface Module {
  /** Relative to src/, `/`-separated. */
  path: string;
  /** Files of src/ it imports, relative to src/. */
  local: string[];
  /** Packages it imports. */
  packages: string[];
  lines: number;
}

const modules: Module[] = sourceFiles(SRC).map((file) => {
  const text = readFileSync(file, "utf8");
  const local: string[] = [];
  const packages: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = (m[1] ?? m[2] ?? m[3])!;
    if (spec.startsWith(".")) local.push(relative(SRC, resolve(dirname(file), spec)));
    else packages.push(spec);
  }
  return { path: relative(SRC, file), local, packages, lines: text.split("\n").length - 1 };
});
const byPath = new Map(modules.map((m) => [m.path, m]));

/** A file's folder; a file directly under src/ is a unit of its own. */
const folderOf = (path: string): string =>
  path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : path;

/** Strongly connected components with more than one member (or a self-loop): the cycles. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)?.includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** Every file a module reaches through its imports, itself excluded. */
function reachable(from: string): Set<string> {
  const seen = new Set<string>();
  const todo = [...(byPath.get(from)?.local ?? [])];
  while (todo.length > 0) {
    const p = todo.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    todo.push(...(byPath.get(p)?.local ?? []));
  }
  return seen;
}

describe("the architecture (docs/design.md#layout)", () => {
  it("finds the source and its imports", () => {
    expect(modules.length).toBeGreaterThan(50);
    expect(byPath.get("reconcile/pass.ts")?.local).toContain("reconcile/collect.ts");
    expect(byPath.get("main.ts")?.packages).toContain("@actions/core");
    // every local import names a file that exists
    const missing = modules.flatMap((m) =>
      m.local.filter((p) => !byPath.has(p)).map((p) => `${m.path} → ${p}`),
    );
    expect(missing).toEqual([]);
  });

  it("has no import cycle between files", () => {
    expect(cycles(new Map(modules.map((m) => [m.path, m.local])))).toEqual([]);
  });

  it("has no import cycle between folders", () => {
    const folders = new Map<string, string[]>();
    for (const m of modules) {
      const from = folderOf(m.path);
      const to = folders.get(from) ?? [];
      for (const p of m.local)
        if (folderOf(p) !== from && !to.includes(folderOf(p))) to.push(folderOf(p));
      folders.set(from, to);
    }
    expect(cycles(folders)).toEqual([]);
  });

  it("imports @actions/* only in the action's front end and the adapters that need it", () => {
    const allowed = (path: string) =>
      path === "main.ts" ||
      path === "index.ts" ||
      path.startsWith("action/") ||
      path === "github/octokit.ts";
    const outside = modules
      .filter((m) => m.packages.some((p) => p.startsWith("@actions/")) && !allowed(m.path))
      .map((m) => m.path);
    expect(outside).toEqual([]);
  });

  it("keeps verify/, edit/ and report/ free of any provider, directly or through other files", () => {
    const leaks = modules
      .filter((m) => /^(verify|edit|report)\//.test(m.path))
      .flatMap((m) =>
        [...reachable(m.path)]
          .filter((p) => p.startsWith("providers/"))
          .map((p) => `${m.path} → ${p}`),
      );
    expect(leaks).toEqual([]);
  });

  it("keeps the orchestration free of OpenAI's names: fields, page size, variables, line items", () => {
    const orchestration = ["reconcile/collect.ts", "reconcile/costcheck.ts", "reconcile/pass.ts"];
    for (const path of orchestration) {
      const text = readFileSync(join(SRC, path), "utf8");
      expect(text, path).not.toMatch(
        /OPENAI_|1440|input_tokens|num_model_requests|Usage API|Costs API|key_…|providers\/openai/,
      );
    }
  });

  it("keeps each front end at 120 lines or fewer", () => {
    for (const path of ["main.ts", "cli/main.ts", "index.ts", "cli.ts"])
      expect(byPath.get(path)!.lines, path).toBeLessThanOrEqual(120);
  });
});
