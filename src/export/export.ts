import { z } from "zod";
import type { PassReport } from "../report/schema.ts";
import { mean, median, sd } from "../report/stats.ts";
import { STATUSES, StatusSchema } from "../verify/status.ts";

/**
 * `reconcile-usage export`: paper-ready tables. One row per run, and per framework the statistics
 * of VERIFIED runs only; every other run is counted by status and excluded, never mixed in.
 * The zod schemas document the JSON format.
 */

const stat = z.object({
  mean: z.number().nullable(),
  sd: z.number().nullable(),
  median: z.number().nullable(),
});

export const ExportRunSchema = z.object({
  framework: z.string(),
  run_id: z.string(),
  window_start: z.string().nullable(),
  window_end: z.string().nullable(),
  status: StatusSchema,
  tokens_in: z.number().nullable(),
  tokens_out: z.number().nullable(),
  cached_tokens: z.number().nullable(),
  requests: z.number().nullable(),
  cost_usd: z.number().nullable(),
  stable_checks: z.number(),
  verified_at: z.string().nullable(),
});
export type ExportRun = z.infer<typeof ExportRunSchema>;

export const ExportFrameworkSchema = z.object({
  framework: z.string(),
  /** Verified runs: the only ones in the statistics. */
  n: z.number(),
  tokens_in: stat,
  tokens_out: stat,
  cached_tokens: stat,
  requests: stat,
  /** Over verified runs with a known cost; `cost_n` says how many. */
  cost_usd: stat,
  cost_n: z.number(),
  /** Runs left out of the statistics, by status. */
  excluded: z.record(z.string(), z.number()),
});
export type ExportFramework = z.infer<typeof ExportFrameworkSchema>;

export const ExportSchema = z.object({
  generated_at: z.string(),
  version: z.string(),
  runs: z.array(ExportRunSchema),
  frameworks: z.array(ExportFrameworkSchema),
});
export type ExportData = z.infer<typeof ExportSchema>;

/**
 * A figure without the noise of binary floating point (`0.010980565500000006`): 12 significant
 * digits keep every digit a token count or a price can mean and drop the error of the sums.
 */
export const clean = (n: number | null): number | null =>
  n === null ? null : Number(n.toPrecision(12));

const statOf = (values: number[]) => ({
  mean: clean(mean(values)),
  sd: clean(sd(values)),
  median: clean(median(values)),
});

export function buildExport(report: PassReport): ExportData {
  const runs: ExportRun[] = report.runs.map((r) => ({
    framework: r.framework,
    run_id: r.run_id,
    window_start: r.window?.start ?? null,
    window_end: r.window?.end ?? null,
    status: r.status,
    tokens_in: r.tokens_in,
    tokens_out: r.tokens_out,
    cached_tokens: r.cached_tokens,
    requests: r.api_calls,
    cost_usd: clean(r.cost_usd),
    stable_checks: r.stable_checks,
    verified_at: r.verified_at,
  }));
  const names = [...new Set(runs.map((r) => r.framework).filter(Boolean))].sort();
  const frameworks = names.map((framework): ExportFramework => {
    const mine = runs.filter((r) => r.framework === framework);
    const verified = mine.filter((r) => r.status === "verified");
    const pick = (f: (r: ExportRun) => number | null) =>
      verified.flatMap((r) => (f(r) === null ? [] : [f(r)!]));
    const costs = pick((r) => r.cost_usd);
    const excluded: Record<string, number> = {};
    for (const s of STATUSES) {
      const n = mine.filter((r) => r.status === s && s !== "verified").length;
      if (n > 0) excluded[s] = n;
    }
    return {
      framework,
      n: verified.length,
      tokens_in: statOf(pick((r) => r.tokens_in)),
      tokens_out: statOf(pick((r) => r.tokens_out)),
      cached_tokens: statOf(pick((r) => r.cached_tokens)),
      requests: statOf(pick((r) => r.requests)),
      cost_usd: statOf(costs),
      cost_n: costs.length,
      excluded,
    };
  });
  return { generated_at: report.now, version: report.version, runs, frameworks };
}

/** What the per-framework figures are, said with every table that shows them. */
export const STATISTIC =
  "Mean ± sample standard deviation (n − 1) and median over the n verified runs of each framework; runs not verified are counted and excluded";

// ---- CSV ----

/** RFC 4180 quoting, and a leading quote on text a spreadsheet would run as a formula. */
function csvCell(value: string | number | null): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const csvLines = (header: string[], rows: Array<Array<string | number | null>>): string =>
  [header.join(","), ...rows.map((r) => r.map(csvCell).join(","))].join("\n");

export function runsCsv(data: ExportData): string {
  const header = Object.keys(ExportRunSchema.shape);
  return `${csvLines(
    header,
    data.runs.map((r) => header.map((k) => r[k as keyof ExportRun])),
  )}\n`;
}

export function frameworksCsv(data: ExportData): string {
  const metrics = ["tokens_in", "tokens_out", "cached_tokens", "requests", "cost_usd"] as const;
  const header = [
    "framework",
    "n",
    ...metrics.flatMap((m) => [`${m}_mean`, `${m}_sd`, `${m}_median`]),
    "cost_n",
    ...STATUSES.filter((s) => s !== "verified").map((s) => `excluded_${s}`),
  ];
  const rows = data.frameworks.map((f) => [
    f.framework,
    f.n,
    ...metrics.flatMap((m) => [f[m].mean, f[m].sd, f[m].median]),
    f.cost_n,
    ...STATUSES.filter((s) => s !== "verified").map((s) => f.excluded[s] ?? 0),
  ]);
  return `${csvLines(header, rows)}\n`;
}

// ---- Markdown ----

const md = (v: string | null): string => (v ?? "–").replace(/\|/g, "\\|").replace(/[\r\n]+/g, " ");
const num = (v: number | null, digits = 0): string =>
  v === null
    ? "–"
    : v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const money = (v: number | null): string => (v === null ? "–" : `$${v.toFixed(4)}`);

// ---- LaTeX ----

/** Text safe in a LaTeX document: every character LaTeX gives a meaning to is escaped. */
export function texText(v: string | null): string {
  if (v === null) return "--";
  const map: Record<string, string> = {
    "\\": "\\textbackslash{}",
    "&": "\\&",
    "%": "\\%",
    $: "\\$",
    "#": "\\#",
    _: "\\_",
    "{": "\\{",
    "}": "\\}",
    "~": "\\textasciitilde{}",
    "^": "\\textasciicircum{}",
  };
  return v.replace(/[\r\n]+/g, " ").replace(/[\\&%$#_{}~^]/g, (c) => map[c]!);
}

const texNum = (v: number | null, digits = 0): string =>
  v === null ? "--" : num(v, digits).replaceAll(",", "{,}");
const texMoney = (v: number | null): string => (v === null ? "--" : `\\$${v.toFixed(4)}`);
const texStat = (
  s: { mean: number | null; sd: number | null },
  f: (v: number | null) => string,
): string => (s.mean === null ? "--" : `${f(s.mean)} $\\pm$ ${f(s.sd)}`);

/**
 * LaTeX tables with booktabs rules (`\usepackage{booktabs}`; the runs table is a `longtable`,
 * `\usepackage{longtable}`, since it runs over pages). Each caption says what is shown.
 */
export function toTex(data: ExportData, which: ExportTable = "both"): string {
  const out: string[] = [
    `% reconcile-usage ${data.version}, ${data.generated_at}`,
    "% needs \\usepackage{booktabs}" +
      (which === "frameworks" ? "" : " and \\usepackage{longtable}"),
  ];
  if (which !== "runs") {
    const rows = data.frameworks.map((f) => {
      const excluded =
        Object.entries(f.excluded)
          .map(([s, n]) => `${n} ${s.replaceAll("_", " ")}`)
          .join(", ") || "none";
      return `${texText(f.framework)} & ${f.n} & ${texStat(f.tokens_in, (v) => texNum(v))} & ${texStat(f.tokens_out, (v) => texNum(v))} & ${texStat(f.cost_usd, texMoney)} & ${texText(excluded)} \\\\`;
    });
    out.push(
      "\\begin{table}[ht]",
      "  \\centering",
      `  \\caption{Tokens and cost per verified run: mean $\\pm$ sample standard deviation ($n-1$) over the $n$ verified runs of each framework; runs not verified are excluded and counted.}`,
      "  \\label{tab:usage-per-framework}",
      "  \\begin{tabular}{lrrrrl}",
      "    \\toprule",
      "    Framework & $n$ & Tokens in & Tokens out & Cost (USD) & Excluded \\\\",
      "    \\midrule",
      ...rows.map((r) => `    ${r}`),
      "    \\bottomrule",
      "  \\end{tabular}",
      "\\end{table}",
    );
  }
  if (which !== "frameworks") {
    const head =
      "Framework & Run & Status & Tokens in & Tokens out & Cached & Requests & Cost (USD) \\\\";
    out.push(
      "\\begin{longtable}{lllrrrrr}",
      `  \\caption{Every run (${data.runs.length}): reconciled totals as the files hold them; only verified runs are final.}`,
      "  \\label{tab:usage-runs} \\\\",
      "  \\toprule",
      `  ${head}`,
      "  \\midrule",
      "  \\endfirsthead",
      "  \\toprule",
      `  ${head}`,
      "  \\midrule",
      "  \\endhead",
      "  \\bottomrule",
      "  \\endfoot",
      ...data.runs.map(
        (r) =>
          `  ${texText(r.framework)} & \\texttt{${texText(r.run_id)}} & ${texText(r.status.replaceAll("_", " "))} & ${texNum(r.tokens_in)} & ${texNum(r.tokens_out)} & ${texNum(r.cached_tokens)} & ${texNum(r.requests)} & ${texMoney(r.cost_usd)} \\\\`,
      ),
      "\\end{longtable}",
    );
  }
  return `${out.join("\n")}\n`;
}

export type ExportTable = "both" | "runs" | "frameworks";

export function toMarkdown(data: ExportData, which: ExportTable = "both"): string {
  const runRows = data.runs.map((r) =>
    [
      md(r.framework),
      md(r.run_id),
      md(r.window_start),
      md(r.window_end),
      r.status,
      num(r.tokens_in),
      num(r.tokens_out),
      num(r.cached_tokens),
      num(r.requests),
      money(r.cost_usd),
      String(r.stable_checks),
      md(r.verified_at),
    ].join(" | "),
  );
  const cell = (
    s: { mean: number | null; sd: number | null; median: number | null },
    f: (v: number | null) => string,
  ) => (s.mean === null ? "–" : `${f(s.mean)} ± ${f(s.sd)} (median ${f(s.median)})`);
  const fwRows = data.frameworks.map((f) => {
    const excluded =
      Object.entries(f.excluded)
        .map(([s, n]) => `${n} ${s}`)
        .join(", ") || "none";
    return [
      md(f.framework),
      String(f.n),
      cell(f.tokens_in, (v) => num(v)),
      cell(f.tokens_out, (v) => num(v)),
      cell(f.cost_usd, money),
      excluded,
    ].join(" | ");
  });
  const runsPart = [
    `## Runs (${data.runs.length})`,
    "",
    "One row per run: its reconciled totals as the files hold them (no statistic).",
    "",
    "| framework | run | window start | window end | status | tokens in | tokens out | cached | requests | cost (USD) | stable checks | verified at |",
    "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ...runRows.map((r) => `| ${r} |`),
    "",
  ];
  const frameworksPart = [
    "## Verified runs per framework",
    "",
    `${STATISTIC}.`,
    "",
    "| framework | n (verified) | tokens in, mean ± sd (median) | tokens out, mean ± sd (median) | cost (USD), mean ± sd (median) | excluded (not verified) |",
    "|---|---:|---:|---:|---:|---|",
    ...fwRows.map((r) => `| ${r} |`),
    "",
  ];
  return [
    ...(which === "frameworks" ? [] : runsPart),
    ...(which === "runs" ? [] : frameworksPart),
    `<sub>reconcile-usage ${data.version}, ${data.generated_at}</sub>`,
    "",
  ].join("\n");
}

export function toJson(data: ExportData): string {
  return `${JSON.stringify(ExportSchema.parse(data), null, 2)}\n`;
}
