/**
 * Prints the closing line CI reads to know tests ran: `N passed, N failed`, from vitest's JSON
 * report (vitest prints no such line itself). Exits non-zero when the report is missing or shows
 * no tests at all, so a silently skipped suite cannot pass.
 */
import { readFileSync } from "node:fs";

const path = process.argv[2] ?? "reports/vitest.json";
let report: {
  numPassedTests?: number;
  numFailedTests?: number;
  numPendingTests?: number;
  numTodoTests?: number;
};
try {
  report = JSON.parse(readFileSync(path, "utf8"));
} catch (error) {
  console.error(
    `no test report at ${path}: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
const failed = report.numFailedTests ?? 0;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
if (skipped > 0) console.log(`${skipped} skipped`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
