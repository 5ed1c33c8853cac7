import { escapeControl } from "../util/printable.ts";
import { mean, sd } from "./stats.ts";

/**
 * Markdown that is safe to fill with values from files and the API: a run id, a model name or an
 * API message can hold `|`, `<script>`, backticks, line breaks or other control characters; none
 * may reshape the summary or the comment. An `@name` gets a zero-width space after the `@`, so a
 * hostile name cannot notify a person or a team (GitHub links mentions in comments).
 */
export function escapeCell(value: unknown): string {
  return escapeControl(String(value ?? "").replace(/[\r\n\t]+/g, " "))
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/([\\`*_{}[\]()#+!|~])/g, "\\$1")
    .replace(/@(?=[A-Za-z0-9])/g, "@&#8203;")
    .trim();
}

export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align?: readonly ("l" | "r")[],
): string {
  const sep = headers.map((_, i) => (align?.[i] === "r" ? "---:" : "---"));
  return [headers, sep, ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

export function meanSd(values: readonly number[]): { mean: number; sd: number } | undefined {
  const m = mean(values);
  const s = sd(values);
  return m === null || s === null ? undefined : { mean: m, sd: s };
}
