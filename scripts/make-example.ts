/**
 * Regenerates the bundled example experiment (examples/experiment): a small four-framework
 * experiment (three on OpenAI, one on Claude) whose runs are at different stages, and the usage
 * pages of the pass the demo replays. The runs get their earlier readings from real passes against
 * the project's fake Usage API and fake Anthropic Admin API servers, then the demo pass's pages of
 * both are recorded with --record.
 *   node scripts/make-example.ts
 */
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCli } from "../test/support/cli.ts";
import {
  allEvents,
  claudeEventsOf,
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  tempDir,
  writeExperiment,
} from "../test/support/experiment.ts";
import { startFakeAnthropicApi } from "../test/support/fake-anthropic-api.ts";
import {
  NEW_USAGE_SCHEMA_AT,
  newSchemaFrom,
  startFakeUsageApi,
} from "../test/support/fake-usage-api.ts";

// after 2026-07-15, when the Usage API's completions results gained their token-class fields
const DEMO_NOW = "2026-08-03T12:00:00Z";
const demoNow = Date.parse(DEMO_NOW) / 1000;
const root = join(import.meta.dirname, "..");
const target = join(root, "examples", "experiment");

const runs: GeneratedRun[] = generateExperiment({
  runsPerFramework: 3,
  startAt: demoNow - 4.5 * 3600,
  seed: 7,
  durationSeconds: [300, 1500],
  gapSeconds: [120, 600],
});
// a rerun of baes started on a second machine while the previous baes run was still going:
// both runs' windows share minutes on baes's key, so both must come out ambiguous
const previous = runs.filter((r) => r.framework === "baes")[1]!;
const overlapStart = previous.end - 240;
const parallel = generateExperiment({
  frameworks: ["baes"],
  runsPerFramework: 1,
  startAt: overlapStart,
  seed: 99,
  durationSeconds: [600, 601],
})[0]!;
runs.push(parallel);
// the last run ended 10 minutes before the demo pass: too recent to read
const last = generateExperiment({
  frameworks: ["chatdev"],
  runsPerFramework: 1,
  startAt: demoNow - 25 * 60,
  seed: 5,
  durationSeconds: [900, 901],
})[0]!;
runs.push(last);
// one ghspec run whose usage the API has not reported yet
const late = runs.filter((r) => r.framework === "ghspec").at(-1)!;
// one chatdev run that also used a newer model with prompt caching (cache writes) and a realtime
// model with speech and a screenshot (audio and image tokens): every token class has a price in
// the example's config.yaml, so its cost is the sum of each class at its own rate
const multimodal = runs.filter((r) => r.framework === "chatdev")[0]!;
const inside = (share: number) =>
  Math.floor(multimodal.start + share * (multimodal.end - multimodal.start));
multimodal.events.push(
  {
    apiKeyId: multimodal.keyId,
    model: "gpt-5.6",
    completedAt: inside(0.2),
    inputTokens: 18_400,
    cachedTokens: 6_200,
    cacheWriteTokens: 9_800,
    outputTokens: 2_150,
    requests: 3,
  },
  {
    apiKeyId: multimodal.keyId,
    model: "gpt-realtime-2025-08-28",
    completedAt: inside(0.6),
    inputTokens: 7_340,
    cachedTokens: 1_200,
    cachedAudioTokens: 900,
    audioInputTokens: 3_100,
    imageInputTokens: 765,
    outputTokens: 2_480,
    audioOutputTokens: 2_050,
    requests: 2,
  },
);

// a framework whose runs called Claude (its key id is Anthropic's apikey_…): no request count
const CLAUDE_KEY_ID = "apikey_01ClaudeDemo";
const claudeRuns = generateExperiment({
  frameworks: ["claude"],
  runsPerFramework: 2,
  startAt: demoNow - 3.5 * 3600,
  seed: 21,
  durationSeconds: [300, 1500],
  gapSeconds: [120, 600],
  model: "claude-sonnet-4-5",
});
const claudeEvents = claudeRuns.flatMap(
  (r) => claudeEventsOf(r, CLAUDE_KEY_ID, "claude-sonnet-4-5-20250929").events,
);

const work = await tempDir("reconcile-usage-example-");
await writeExperiment(work, [...runs, ...claudeRuns]);
await writeFile(
  join(work, "config.yaml"),
  await readFile(join(root, "scripts", "example-config.yaml"), "utf8"),
);
const events = allEvents(runs.filter((r) => r !== late));
const api = await startFakeUsageApi({
  events,
  adminKey: "sk-admin-example",
  usageSchema: newSchemaFrom(NEW_USAGE_SCHEMA_AT),
});
const anthropic = await startFakeAnthropicApi({
  events: claudeEvents,
  adminKey: "sk-ant-admin01-example",
});
const args = [
  "--api-base-url",
  api.baseUrl,
  "--anthropic-api-base-url",
  anthropic.baseUrl,
  ...["baes", "chatdev", "ghspec"].flatMap((f) => [
    "--api-key-id",
    `${f}=${keyIdFor(f).replace("Test", "Demo")}`,
  ]),
  "--api-key-id",
  `claude=${CLAUDE_KEY_ID}`,
];
const env = { OPENAI_ADMIN_KEY: "sk-admin-example", ANTHROPIC_ADMIN_KEY: "sk-ant-admin01-example" };
// the demo's key ids read "Demo"; the fake server knows the generator's ids, so map them
api.setEvents(events.map((e) => ({ ...e, apiKeyId: e.apiKeyId.replace("Test", "Demo") })));
for (const hoursBefore of [2.2, 1.0]) {
  const now = new Date((demoNow - hoursBefore * 3600) * 1000).toISOString();
  const r = await runCli([...args, "--now", now], { cwd: work, env });
  if (r.code === 2) throw new Error(r.stderr);
}
const recording = join(work, "usage-recording");
const r = await runCli([...args, "--now", DEMO_NOW, "--dry-run", "--record", recording], {
  cwd: work,
  env,
});
await api.close();
await anthropic.close();
if (r.code === 2) throw new Error(r.stderr);
console.log(r.stdout);

await rm(target, { recursive: true, force: true });
await mkdir(target, { recursive: true });
for (const part of ["runs", "usage-recording", "config.yaml"])
  await cp(join(work, part), join(target, part), { recursive: true });
await rm(work, { recursive: true, force: true });
console.log(`wrote ${target}`);
