import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Node, parseTree } from "jsonc-parser";
import { describe, expect, it } from "vitest";
import { applyManifestUpdates } from "../src/edit/manifest.ts";
import { applyMetricsTarget, type MetricsTarget } from "../src/edit/metrics.ts";
import { costOf } from "../src/pricing/cost.ts";
import { builtinSource } from "../src/pricing/prices.ts";
import {
  type Attempt,
  LEGACY_STEP_TOKEN_FIELDS,
  ManifestSchema,
  type MetricsFile,
  MetricsFileSchema,
  type ModelUsage,
} from "../src/runs/schema.ts";
import { countKeysWritten } from "../src/util/json-read.ts";
import { editJsonText, type JsonPath } from "../src/util/json-text.ts";
import { chronological, totalsOf } from "../src/verify/reading.ts";
import {
  type GeneratedRun,
  generateExperiment,
  manifestText,
  metricsText,
  onSharedData,
  SHARED_DATA,
  sharedDataPresent,
} from "./support/experiment.ts";

// ---------------------------------------------------------------------------------------------
// A line diff (LCS) and the JSON path each line belongs to.

function lcsDiff(
  a: readonly string[],
  b: readonly string[],
): { removed: number[]; added: number[] } {
  const n = a.length;
  const m = b.length;
  const w = m + 1;
  const len = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      len[i * w + j] =
        a[i] === b[j]
          ? len[(i + 1) * w + j + 1]! + 1
          : Math.max(len[(i + 1) * w + j]!, len[i * w + j + 1]!);
  const removed: number[] = [];
  const added: number[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      i++;
      j++;
    } else if (len[(i + 1) * w + j]! >= len[i * w + j + 1]!) removed.push(i++);
    else added.push(j++);
  }
  while (i < n) removed.push(i++);
  while (j < m) added.push(j++);
  return { removed, added };
}

/** The JSON path of each line: of the property or element it starts, or the container it closes. */
function linePaths(text: string): JsonPath[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  const lineOf = (offset: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const paths: Array<JsonPath | undefined> = new Array(starts.length).fill(undefined);
  const claim = (offset: number, path: JsonPath) => {
    const line = lineOf(offset);
    if (paths[line] === undefined) paths[line] = path;
  };
  const visit = (node: Node, path: JsonPath) => {
    claim(node.offset, path);
    if (node.type === "object")
      for (const prop of node.children ?? []) {
        const [k, v] = prop.children!;
        const p = [...path, k!.value as string];
        claim(prop.offset, p);
        if (v) visit(v, p);
      }
    if (node.type === "array")
      node.children?.forEach((c, i) => {
        visit(c, [...path, i]);
      });
    claim(node.offset + node.length - 1, path);
  };
  const root = parseTree(text);
  if (root) visit(root, []);
  return paths.map((p) => p ?? []);
}

const same = (a: JsonPath, b: JsonPath) => a.length === b.length && a.every((x, i) => x === b[i]);

interface DiffCheck {
  /** Paths whose lines may change, be removed or be added. */
  editable: (path: JsonPath) => boolean;
  /** Paths whose line may only gain a comma (a key or element was added after it). */
  commaOnly?: JsonPath[];
}

/**
 * Asserts that, line by line, the text outside editable paths is identical (in content and order)
 * and returns the line diff. Lines are keyed by their JSON path, so the check does not depend on
 * how a diff aligns repeated lines.
 */
function expectOnlyEdits(before: string, after: string, check: DiffCheck) {
  const a = before.split("\n");
  const b = after.split("\n");
  const pa = linePaths(before);
  const pb = linePaths(after);
  const commaOnly = (p: JsonPath) => (check.commaOnly ?? []).some((c) => same(c, p));
  const kept = (lines: string[], paths: JsonPath[]) =>
    lines.flatMap((line, i) => {
      const p = paths[i]!;
      if (check.editable(p)) return [];
      return [`${JSON.stringify(p)} ${commaOnly(p) ? line.replace(/,$/, "") : line}`];
    });
  expect(kept(b, pb)).toEqual(kept(a, pa));
  // a comma-only line really only gained its comma
  for (const c of check.commaOnly ?? []) {
    const la = a.filter((_, i) => same(pa[i]!, c));
    const lb = b.filter((_, i) => same(pb[i]!, c));
    lb.forEach((line, k) => {
      expect([la[k], `${la[k]},`]).toContain(line);
    });
  }
}

/** The lines a line diff (LCS) removes and adds. */
function changedLines(before: string, after: string) {
  const a = before.split("\n");
  const b = after.split("\n");
  const { removed, added } = lcsDiff(a, b);
  return { removed: removed.map((i) => a[i]!), added: added.map((j) => b[j]!) };
}

/** The lines of the property at a path (its first line, or every line of a multi-line value). */
const linesAt = (text: string, path: JsonPath): string[] => {
  const paths = linePaths(text);
  return text.split("\n").filter((_, i) => same(paths[i]!, path));
};

// ---------------------------------------------------------------------------------------------

const REC = "usage_api_reconciliation";
const AGGREGATES = ["TOK_IN", "TOK_OUT", "API_CALLS", "CACHED_TOKENS", "COST_USD"];
const BREAKDOWN = [
  "uncached_input_cost",
  "cached_input_cost",
  "output_cost",
  "cache_savings",
  "model",
  "models",
  "unpriced_models",
];
const REC_FIELDS = ["verification_status", "verification_message", "verified_at"];

/** What a reconciliation may touch, given how many attempts the file already holds. */
function editableFor(file: MetricsFile, extra: (p: JsonPath) => boolean = () => false) {
  const recExists = file[REC] !== undefined;
  const oldAttempts = file[REC]?.attempts?.length;
  return (p: JsonPath): boolean => {
    const [a, b, c] = p;
    if (p.length === 1 && a === "verification_status") return true;
    if (a === REC) {
      if (!recExists) return true;
      if (p.length === 1) return false;
      if (p.length === 2 && REC_FIELDS.includes(b as string)) return true;
      if (b === "attempts")
        return oldAttempts === undefined || (typeof c === "number" && c >= oldAttempts);
      return false;
    }
    if (a === "aggregate_metrics") return p.length === 2 && AGGREGATES.includes(b as string);
    if (a === "cost_breakdown")
      return (
        (p.length === 1 && file.cost_breakdown === undefined) || BREAKDOWN.includes(b as string)
      );
    return extra(p);
  };
}

const API_MODEL = "gpt-4o-mini-2024-07-18";

function readingFor(
  totals: { tokensIn: number; tokensOut: number; cachedTokens: number; requests: number | null },
  timestamp: string,
  model = API_MODEL,
): Attempt {
  const models: ModelUsage[] = [
    {
      model,
      batch: false,
      service_tier: "default",
      tokens_in: totals.tokensIn,
      tokens_out: totals.tokensOut,
      cached_tokens: totals.cachedTokens,
      api_calls: totals.requests,
    },
  ];
  return {
    timestamp,
    total_tokens_in: totals.tokensIn,
    total_tokens_out: totals.tokensOut,
    total_api_calls: totals.requests,
    total_cached_tokens: totals.cachedTokens,
    query_window: {
      start: 1_761_820_800,
      end: 1_761_821_640,
      buffer_seconds: 0,
      tail_seconds: 120,
    },
    api_key_id: "key_baesTest01",
    models,
    tool: "reconcile-usage 0.1.0",
  };
}

function targetFor(attempt: Attempt, overrides: Partial<MetricsTarget> = {}): MetricsTarget {
  return {
    newAttempts: [attempt],
    status: "pending",
    message:
      "1 of 2 stable checks (1,234 in, 567 out, 8 requests); next reading after 2025-10-30 13:00 UTC",
    verifiedAt: null,
    totals: totalsOf(attempt),
    cost: costOf(attempt.models!, [builtinSource()]),
    ...overrides,
  };
}

const parse = (text: string): MetricsFile => MetricsFileSchema.parse(JSON.parse(text));

/** The parsed file without the parts a reconciliation may edit. */
function untouchedPart(value: Record<string, unknown>, dropSteps: boolean): unknown {
  const copy = structuredClone(value) as Record<string, Record<string, unknown> | unknown>;
  delete copy.verification_status;
  delete copy[REC];
  delete copy.cost_breakdown;
  const agg = copy.aggregate_metrics as Record<string, unknown> | undefined;
  for (const k of AGGREGATES) delete agg?.[k];
  if (dropSteps)
    for (const s of (copy.steps as Array<Record<string, unknown>> | undefined) ?? [])
      for (const f of LEGACY_STEP_TOKEN_FIELDS) delete s[f];
  return copy;
}

const runs: GeneratedRun[] = generateExperiment({ seed: 11, runsPerFramework: 2 });
const run = runs[0]!;

describe("applyMetricsTarget on a current-format file", () => {
  const text = metricsText(run);
  const file = parse(text);
  const attempt = readingFor(run.totals, "2025-10-30T12:00:05.123456+00:00");

  it("changes only the reconciled values and adds the reading", () => {
    const target = targetFor(attempt);
    const after = applyMetricsTarget(text, file, target);
    expectOnlyEdits(text, after, { editable: editableFor(file) });
    const { removed } = changedLines(text, after);
    // the values that change are exactly these lines
    // API_CALLS equals the file's and does not move; CACHED_TOKENS is 0 in the file
    expect(removed.map((l) => l.trim().replace(/:.*/, "")).sort()).toEqual(
      [
        '"verification_status"',
        '"TOK_IN"',
        '"TOK_OUT"',
        ...(run.totals.cachedTokens > 0 ? ['"CACHED_TOKENS"'] : []),
        '"COST_USD"',
        '"uncached_input_cost"',
        '"cached_input_cost"',
        '"output_cost"',
        '"cache_savings"',
        '"model"',
      ].sort(),
    );
    const result = JSON.parse(after);
    expect(result.verification_status).toBe("pending");
    expect(result.aggregate_metrics).toMatchObject({
      TOK_IN: run.totals.tokensIn,
      TOK_OUT: run.totals.tokensOut,
      API_CALLS: run.totals.requests,
      CACHED_TOKENS: run.totals.cachedTokens,
      COST_USD: target.cost!.total,
    });
    expect(result[REC]).toEqual({
      verification_status: "pending",
      verification_message: target.message,
      verified_at: null,
      attempts: [JSON.parse(JSON.stringify(attempt))],
    });
    expect(result.cost_breakdown.model).toBe(API_MODEL);
    expect(result.cost_breakdown.models).toHaveLength(1);
    expect(untouchedPart(result, false)).toEqual(untouchedPart(JSON.parse(text), false));
    // float literals stay floats: the ones we did not touch and the costs we wrote
    expect(after).toContain('"AUTR": 1.0,');
    expect(after).toMatch(/"COST_USD": \d+\.\d+\n/);
    expect(after.endsWith("}")).toBe(text.endsWith("}"));
  });

  it("writes a zero cost as 0.0 and an unknown model's cost as null, listing it", () => {
    const free = readingFor(
      { tokensIn: 0, tokensOut: 0, cachedTokens: 0, requests: 0 },
      "2025-10-30T12:00:00.000000+00:00",
    );
    const zero = applyMetricsTarget(text, file, targetFor(free));
    expect(zero).toContain('"COST_USD": 0.0\n');
    expect(zero).toContain('"uncached_input_cost": 0.0,');

    const unknown = readingFor(run.totals, "2025-10-30T12:00:00.000000+00:00", "mystery-model-9");
    const after = applyMetricsTarget(text, file, targetFor(unknown));
    expectOnlyEdits(text, after, { editable: editableFor(file) });
    const result = JSON.parse(after);
    expect(result.aggregate_metrics.COST_USD).toBeNull();
    expect(result.cost_breakdown.unpriced_models).toEqual([
      { model: "mystery-model-9", reason: "no price for this model" },
    ]);
  });

  it("returns the same string when the target matches the file's state", () => {
    const target = targetFor(attempt);
    const once = applyMetricsTarget(text, file, target);
    expect(once).not.toBe(text);
    const again = applyMetricsTarget(once, parse(once), { ...target, newAttempts: [] });
    expect(again).toBe(once);
  });

  it("later passes append readings and only touch the reconciliation fields", () => {
    const first = applyMetricsTarget(text, file, targetFor(attempt));
    const firstFile = parse(first);
    const second = readingFor(run.totals, "2025-10-30T13:00:07.000000+00:00");
    const after = applyMetricsTarget(
      first,
      firstFile,
      targetFor(second, {
        status: "verified",
        message: "verified after 2 stable checks",
        verifiedAt: second.timestamp,
      }),
    );
    expectOnlyEdits(first, after, {
      editable: editableFor(firstFile),
      commaOnly: [[REC, "attempts", 0]],
    });
    // same totals, same cost: the aggregate and cost lines do not move
    for (const key of ["TOK_IN", "TOK_OUT", "API_CALLS", "CACHED_TOKENS", "COST_USD"])
      expect(linesAt(after, ["aggregate_metrics", key])).toEqual(
        linesAt(first, ["aggregate_metrics", key]),
      );
    for (const key of BREAKDOWN.filter((k) => k !== "unpriced_models"))
      expect(linesAt(after, ["cost_breakdown", key])).toEqual(
        linesAt(first, ["cost_breakdown", key]),
      );
    const result = JSON.parse(after);
    expect(result[REC].attempts).toHaveLength(2);
    expect(result[REC].verified_at).toBe(second.timestamp);
  });

  it("adds COST_USD and cost_breakdown to a file that has neither", () => {
    const bare = editJsonText(text, {
      remove: [["aggregate_metrics", "COST_USD"], ["cost_breakdown"]],
    });
    const bareFile = parse(bare);
    const after = applyMetricsTarget(bare, bareFile, targetFor(attempt));
    expectOnlyEdits(bare, after, {
      editable: editableFor(bareFile),
      commaOnly: [["aggregate_metrics", "ESR"], ["usage_api_verification"]],
    });
    const result = JSON.parse(after);
    expect(typeof result.aggregate_metrics.COST_USD).toBe("number");
    expect(Object.keys(result).slice(-2)).toEqual([REC, "cost_breakdown"]);
  });
});

describe("applyMetricsTarget on a legacy (v1) file", () => {
  const text = metricsText(run, "legacy");
  const file = parse(text);
  const attempt = readingFor(run.totals, "2025-10-30T12:00:05.123456+00:00");
  const stepFields = (p: JsonPath) =>
    p[0] === "steps" &&
    p.length === 3 &&
    (LEGACY_STEP_TOKEN_FIELDS as readonly string[]).includes(p[2] as string);

  it("keeps non-zero step-level token counts when it rewrites the file, and touches nothing else (SPEC §11)", () => {
    expect(text).toContain('"tokens_in"');
    const after = applyMetricsTarget(text, file, targetFor(attempt));
    // the steps' counts are data the framework measured: not editable at all
    expectOnlyEdits(text, after, {
      editable: editableFor(file),
      commaOnly: [["aggregate_metrics", "ESR"]],
    });
    const { removed } = changedLines(text, after);
    expect(
      removed.filter((l) => /"(tokens_in|tokens_out|api_calls|cached_tokens)"/.test(l)),
    ).toEqual([]);
    const result = JSON.parse(after);
    result.steps.forEach((step: Record<string, unknown>, i: number) => {
      for (const f of LEGACY_STEP_TOKEN_FIELDS) expect(step[f]).toBe(file.steps![i]![f]);
    });
    // a step's zero cached_tokens beside non-zero counts is a measurement too, and stays
    expect(result.steps[0].cached_tokens).toBe(0);
    expect(untouchedPart(result, false)).toEqual(untouchedPart(JSON.parse(text), false));
    expect(result.aggregate_metrics.COST_USD).toBe(targetFor(attempt).cost!.total);
    // the commands' “quotes” are raw UTF-8 in the generated legacy file and stay so
    expect(after).toContain("“Student/Course/Teacher”");
  });

  it("drops a step's counts only when they are all zero placeholders", () => {
    // step 2 carries placeholders (0 everywhere); the others carry counts
    const placeholders = editJsonText(text, {
      set: LEGACY_STEP_TOKEN_FIELDS.map((f) => ({ path: ["steps", 1, f], value: 0 })),
    });
    const placeholderFile = parse(placeholders);
    const after = applyMetricsTarget(placeholders, placeholderFile, targetFor(attempt));
    expectOnlyEdits(placeholders, after, {
      editable: editableFor(placeholderFile, (p) => stepFields(p) && p[1] === 1),
      commaOnly: [
        ["aggregate_metrics", "ESR"],
        ["steps", 1, "hitl_count"],
      ],
    });
    const result = JSON.parse(after);
    for (const f of LEGACY_STEP_TOKEN_FIELDS) expect(result.steps[1]).not.toHaveProperty(f);
    result.steps.forEach((step: Record<string, unknown>, i: number) => {
      if (i !== 1)
        for (const f of LEGACY_STEP_TOKEN_FIELDS) expect(step[f]).toBe(file.steps![i]![f]);
    });
  });

  it("keeps zero placeholders when nothing else changes, and drops them when the file is written anyway", () => {
    const target = targetFor(attempt);
    const once = applyMetricsTarget(text, file, target);
    // zero placeholders in every step: a file in the reconciled state that still has them
    const onceFile = parse(once);
    const withFields = editJsonText(once, {
      set: onceFile.steps!.flatMap((_, i) =>
        LEGACY_STEP_TOKEN_FIELDS.map((f) => ({ path: ["steps", i, f], value: 0 })),
      ),
    });
    const withFile = parse(withFields);
    expect(applyMetricsTarget(withFields, withFile, { ...target, newAttempts: [] })).toBe(
      withFields,
    );
    // …and drops them as soon as the file is written for another reason
    const next = readingFor(run.totals, "2025-10-30T13:00:05.000000+00:00");
    const changed = applyMetricsTarget(withFields, withFile, {
      ...target,
      newAttempts: [next],
      message: "a new message",
    });
    for (const step of JSON.parse(changed).steps)
      for (const f of LEGACY_STEP_TOKEN_FIELDS) expect(step).not.toHaveProperty(f);
    expect(JSON.parse(changed)[REC].verification_message).toBe("a new message");
    expect(JSON.parse(changed)[REC].attempts).toHaveLength(2);
  });
});

// ---------------------------------------------------------------------------------------------
// Real files

const realRuns = (dataset: string): Array<{ path: string; text: string }> => {
  const root = join(SHARED_DATA, dataset, "runs");
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((fw) =>
      readdirSync(join(root, fw.name)).map((id) => {
        const path = join(root, fw.name, id, "metrics.json");
        return { path, text: readFileSync(path, "utf8") };
      }),
    );
};

describe("applyMetricsTarget on real files", () => {
  // The editor tells "nothing to change" from the schema's reading of a file, without parsing the
  // text again: that holds only while the reading keeps every value exactly as JSON.parse reads it
  // (loose objects, no defaults, no transforms).
  for (const name of ["baes-berk", "legacy-v1"])
    it.skipIf(!sharedDataPresent(name))(
      `the schema's reading of every real file holds each value exactly as JSON.parse reads it ${onSharedData(name)}`,
      () => {
        const files = realRuns(name);
        expect(files.length).toBeGreaterThan(200);
        for (const { path, text } of files)
          expect(parse(text), path).toStrictEqual(JSON.parse(text));
        // the manifest's entries likewise (applyManifestUpdates asks the same of them)
        const runsDir = join(SHARED_DATA, name, "runs");
        const manifest = readdirSync(runsDir).find((f) => /^(runs_)?manifest\.json$/.test(f))!;
        const text = readFileSync(join(runsDir, manifest), "utf8");
        expect(ManifestSchema.parse(JSON.parse(text))).toStrictEqual(JSON.parse(text));
      },
    );

  it.skipIf(!sharedDataPresent("baes-berk"))(
    `edits every real baes-berk file minimally ${onSharedData("baes-berk")}`,
    () => {
      const files = realRuns("baes-berk");
      expect(files).toHaveLength(300);
      for (const { path, text } of files) {
        const file = parse(text);
        const old = chronological(file[REC]!.attempts!);
        const last = old.at(-1)!;
        const attempt = readingFor(totalsOf(last), "2025-11-05T09:00:00.000000+00:00");
        const target = targetFor(attempt, {
          status: "verified",
          message: "verified after 2 stable checks",
          verifiedAt: "2025-11-05T09:00:00.000000+00:00",
        });
        const after = applyMetricsTarget(text, file, target);
        const n = file[REC]!.attempts!.length;
        expectOnlyEdits(text, after, {
          editable: editableFor(file),
          commaOnly: [[REC, "attempts", n - 1]],
        });
        // the aggregates already hold the newest reading's totals: those lines do not move
        for (const key of ["TOK_IN", "TOK_OUT", "API_CALLS", "CACHED_TOKENS"])
          expect(linesAt(after, ["aggregate_metrics", key]), `${path}: ${key}`).toEqual(
            linesAt(text, ["aggregate_metrics", key]),
          );
        const result = JSON.parse(after);
        expect(result[REC].attempts).toHaveLength(n + 1);
        expect(result.verification_status).toBe("verified");
        expect(result.aggregate_metrics.COST_USD).toBeGreaterThan(0);
        expect(untouchedPart(result, false)).toEqual(untouchedPart(JSON.parse(text), false));
        // applying the same target again changes nothing
        expect(applyMetricsTarget(after, parse(after), { ...target, newAttempts: [] })).toBe(after);
      }
    },
  );

  it.skipIf(!sharedDataPresent("legacy-v1"))(
    `edits real legacy-v1 files minimally, keeping their \\u escapes ${onSharedData("legacy-v1")}`,
    () => {
      const files = realRuns("legacy-v1");
      expect(files.length).toBeGreaterThan(200);
      let escaped = 0;
      let kept = 0;
      for (const { path, text } of files) {
        const file = parse(text);
        const totals = { tokensIn: 1000, tokensOut: 500, cachedTokens: 100, requests: 9 };
        const attempt = readingFor(totals, "2025-11-05T09:00:00.000000+00:00");
        const target = targetFor(attempt, { message: "pending “first” reading ✅" });
        const after = applyMetricsTarget(text, file, target);
        const n = file[REC]?.attempts?.length;
        const lastAgg = Object.keys(file.aggregate_metrics ?? {}).at(-1);
        const lastTop = Object.keys(JSON.parse(text)).at(-1)!;
        // only a step whose counts are all zero placeholders may lose them
        const placeholder = (i: number) =>
          LEGACY_STEP_TOKEN_FIELDS.every((f) => (file.steps?.[i]?.[f] ?? 0) === 0);
        expectOnlyEdits(text, after, {
          editable: editableFor(
            file,
            (p) =>
              p[0] === "steps" &&
              p.length === 3 &&
              placeholder(p[1] as number) &&
              (LEGACY_STEP_TOKEN_FIELDS as readonly string[]).includes(p[2] as string),
          ),
          commaOnly: [
            ...(n ? [[REC, "attempts", n - 1]] : []),
            ...(lastAgg ? [["aggregate_metrics", lastAgg]] : []),
            [lastTop],
            ...(file[REC] ? [[REC, Object.keys(file[REC]!).at(-1)!]] : []),
          ],
        });
        const result = JSON.parse(after);
        expect(result[REC].verification_message, path).toBe("pending “first” reading ✅");
        expect(untouchedPart(result, true)).toEqual(untouchedPart(JSON.parse(text), true));
        (file.steps ?? []).forEach((step, i) => {
          for (const f of LEGACY_STEP_TOKEN_FIELDS) {
            if (placeholder(i)) expect(result.steps[i], path).not.toHaveProperty(f);
            else expect(result.steps[i][f], `${path} steps[${i}].${f}`).toBe(step[f]);
            if (!placeholder(i) && step[f] !== undefined) kept++;
          }
        });
        if (/\\u[0-9a-f]{4}/.test(text) && !/[^\p{ASCII}]/u.test(text)) {
          escaped++;
          expect(after, path).not.toMatch(/[^\p{ASCII}]/u);
        }
      }
      expect(escaped).toBeGreaterThan(0);
      // the step-level counts the frameworks measured survive the rewrite (1,290 lines on main)
      expect(kept).toBeGreaterThan(1000);
    },
  );
});

// ---------------------------------------------------------------------------------------------

describe("applyManifestUpdates", () => {
  const MANIFEST_FIELDS = ["verification_status", "total_tokens_in", "total_tokens_out"];

  function check(
    text: string,
    index: number,
    update: { status: string; tokensIn?: number; tokensOut?: number },
    framework: string | undefined,
    runId: string,
  ) {
    const entries = ManifestSchema.parse(JSON.parse(text)).runs;
    const after = applyManifestUpdates(text, entries, countKeysWritten(text), [
      { framework: framework ?? "", runId, ...update },
    ]);
    expectOnlyEdits(text, after, {
      editable: (p) =>
        p[0] === "runs" &&
        p[1] === index &&
        p.length === 3 &&
        MANIFEST_FIELDS.includes(p[2] as string),
    });
    const before = JSON.parse(text);
    const result = JSON.parse(after);
    const expected = structuredClone(before);
    expected.runs[index].verification_status = update.status;
    if (update.tokensIn !== undefined) expected.runs[index].total_tokens_in = update.tokensIn;
    if (update.tokensOut !== undefined) expected.runs[index].total_tokens_out = update.tokensOut;
    expect(result).toEqual(expected);
    return { after, removed: changedLines(text, after).removed };
  }

  it("changes only the three fields of the matching entry", () => {
    const text = manifestText(runs);
    const target = runs[3]!;
    const { removed } = check(
      text,
      3,
      { status: "verified", tokensIn: 123, tokensOut: 45 },
      target.framework,
      target.runId,
    );
    expect(removed).toHaveLength(3);
  });

  it("leaves the token fields when the update has none, and returns the same text when nothing differs", () => {
    const text = manifestText(runs);
    const r = runs[1]!;
    const { removed } = check(text, 1, { status: "data_not_available" }, r.framework, r.runId);
    expect(removed).toHaveLength(1);
    const entries = ManifestSchema.parse(JSON.parse(text)).runs;
    const same = applyManifestUpdates(text, entries, countKeysWritten(text), [
      {
        framework: r.framework,
        runId: r.runId,
        status: "pending",
        tokensIn: r.totals.tokensIn - 17,
        tokensOut: r.totals.tokensOut + 3,
      },
      { framework: "nope", runId: "not-a-run", status: "verified", tokensIn: 1 },
    ]);
    expect(same).toBe(text);
  });

  it("matches the framework as well as the run id, falling back to entries without a framework", () => {
    const text = JSON.stringify(
      {
        runs: [
          {
            run_id: "r1",
            framework: "a",
            verification_status: "pending",
            total_tokens_in: 1,
            total_tokens_out: 1,
          },
          {
            run_id: "r1",
            framework: "b",
            verification_status: "pending",
            total_tokens_in: 1,
            total_tokens_out: 1,
          },
          { run_id: "r2", verification_status: "pending", total_tokens_in: 1, total_tokens_out: 1 },
        ],
      },
      null,
      2,
    );
    check(text, 1, { status: "verified", tokensIn: 5, tokensOut: 6 }, "b", "r1");
    check(text, 2, { status: "warning", tokensIn: 7 }, "c", "r2");
  });

  it.skipIf(!sharedDataPresent("baes-berk"))(
    `edits the real baes-berk manifest minimally ${onSharedData("baes-berk")}`,
    () => {
      const text = readFileSync(join(SHARED_DATA, "baes-berk", "runs", "manifest.json"), "utf8");
      const entries = ManifestSchema.parse(JSON.parse(text)).runs;
      const i = 150;
      const e = entries[i]!;
      const { removed } = check(
        text,
        i,
        { status: "warning", tokensIn: e.total_tokens_in! + 1, tokensOut: e.total_tokens_out! + 1 },
        e.framework,
        e.run_id,
      );
      expect(removed).toHaveLength(3);
    },
  );

  it.skipIf(!sharedDataPresent("legacy-v1"))(
    `edits the real legacy-v1 runs_manifest.json minimally ${onSharedData("legacy-v1")}`,
    () => {
      const text = readFileSync(
        join(SHARED_DATA, "legacy-v1", "runs", "runs_manifest.json"),
        "utf8",
      );
      const entries = ManifestSchema.parse(JSON.parse(text)).runs;
      const i = entries.length - 1;
      const e = entries[i]!;
      check(text, i, { status: "verified", tokensIn: 42, tokensOut: 43 }, e.framework, e.run_id);
    },
  );
});
