/**
 * Cold start of the action: from spawning `node dist/index.js` (as the runner does, with INPUT_*
 * variables) to the first request reaching the Usage API, median of several runs; plus the size
 * of the bundle the runner loads. Part of `npm run bench`; not a test.
 *   node bench/cold-start.bench.ts [runs=11]
 */
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  allEvents,
  generateExperiment,
  keyIdFor,
  tempDir,
  writeExperiment,
} from "../test/support/experiment.ts";
import { startFakeUsageApi } from "../test/support/fake-usage-api.ts";

const repeats = Number(process.argv[2] ?? 11);
const root = join(import.meta.dirname, "..");
const now = Math.floor(Date.now() / 1000);
const runs = generateExperiment({
  frameworks: ["baes", "chatdev"],
  runsPerFramework: 3,
  startAt: now - 5 * 3600,
  durationSeconds: [300, 600],
  gapSeconds: [60, 120],
});
const work = await tempDir("reconcile-usage-coldstart-");
await writeExperiment(work, runs);
const adminKey = "sk-admin-coldstart";
let firstRequestAt = 0;
const api = await startFakeUsageApi({
  events: allEvents(runs),
  adminKey,
  faults: () => {
    if (firstRequestAt === 0) firstRequestAt = performance.now();
    return undefined;
  },
});
const summary = join(work, "summary.md");
const output = join(work, "output.txt");
await writeFile(summary, "");
await writeFile(output, "");

const times: number[] = [];
for (let i = 0; i < repeats; i++) {
  firstRequestAt = 0;
  const env = {
    PATH: process.env.PATH ?? "",
    GITHUB_WORKSPACE: work,
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_OUTPUT: output,
    GITHUB_EVENT_NAME: "schedule",
    RUNNER_TEMP: work,
    "INPUT_ADMIN-KEY": adminKey,
    "INPUT_API-KEY-IDS": `baes=${keyIdFor("baes")}\nchatdev=${keyIdFor("chatdev")}`,
    "INPUT_API-BASE-URL": api.baseUrl,
    "INPUT_DRY-RUN": "true",
    INPUT_COMMIT: "none",
  };
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, "dist", "index.js")], {
      env,
      stdio: "ignore",
    });
    child.on("error", reject);
    child.on("exit", () => resolve());
  });
  if (firstRequestAt === 0) throw new Error("the action sent no request");
  times.push(firstRequestAt - start);
}
await api.close();
await rm(work, { recursive: true, force: true });

times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)]!;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} kB`;
const dist = join(root, "dist");
const chunks = readdirSync(dist).filter((f) => /^\d+\.index\.js$/.test(f));
console.log(
  `action cold start: node dist/index.js → first Usage API request, median of ${repeats}: ${median.toFixed(0)} ms (min ${times[0]!.toFixed(0)}, max ${times.at(-1)!.toFixed(0)})`,
);
console.log(
  `bundle: dist/index.js ${kb(statSync(join(dist, "index.js")).size)} loaded at start; lazily loaded chunks (octokit for pull requests and commit: api, @actions/cache for held readings) ${chunks.map((c) => `${c} ${kb(statSync(join(dist, c)).size)}`).join(", ")}; CLI dist/cli.js ${kb(statSync(join(dist, "cli.js")).size)}`,
);
