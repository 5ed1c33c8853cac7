import { rm } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { nodeFiles } from "../src/fs/node.ts";
import { builtinSource } from "../src/pricing/prices.ts";
import { createHttpPageSource } from "../src/providers/openai/http.ts";
import { openai } from "../src/providers/openai/provider.ts";
import { PROVIDERS, providerOf } from "../src/providers/registry.ts";
import { runPass } from "../src/reconcile/pass.ts";
import type { UsageProvider } from "../src/usage/provider.ts";
import { TOOL, VERSION } from "../src/version.ts";
import {
  allEvents,
  type GeneratedRun,
  generateExperiment,
  tempDir,
  writeExperiment,
} from "./support/experiment.ts";
import { startFakeUsageApi } from "./support/fake-usage-api.ts";
import { testSettings } from "./support/settings.ts";

/**
 * The provider seam (docs/design.md#providers): a pass asks each provider only about its own
 * keys, through that provider's own source, and one provider's failure costs only its runs. The
 * second provider here is OpenAI's code under another name and key pattern, served by a second
 * fake server: what is tested is the routing, not a second API.
 */

const OPENAI_KEY = "sk-admin-providers-openai-01";
const SECOND_KEY = "sk-admin-providers-second-01";
const SECOND_KEY_ID = "apikey_claudeTest01";

const second: UsageProvider = {
  ...openai,
  id: "second",
  usageApi: "Second API",
  keyIdPattern: /^apikey_[A-Za-z0-9_-]+$/,
};

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function mixedExperiment(secondAdminKey: string) {
  const runs = generateExperiment({ frameworks: ["baes", "claude"], runsPerFramework: 6, seed: 5 });
  const root = await tempDir();
  const runsDir = await writeExperiment(root, runs);
  const isSecond = (r: GeneratedRun) => r.framework === "claude";
  const openaiApi = await startFakeUsageApi({
    events: allEvents(runs.filter((r) => !isSecond(r))),
    adminKey: OPENAI_KEY,
  });
  const secondApi = await startFakeUsageApi({
    events: allEvents(runs.filter(isSecond)).map((e) => ({ ...e, apiKeyId: SECOND_KEY_ID })),
    adminKey: SECOND_KEY,
  });
  const fast = { sleep: async () => {}, maxAttempts: 2 };
  const openaiHttp = createHttpPageSource({
    baseUrl: openaiApi.baseUrl,
    adminKey: OPENAI_KEY,
    ...fast,
  });
  const secondHttp = createHttpPageSource({
    baseUrl: secondApi.baseUrl,
    adminKey: secondAdminKey,
    ...fast,
  });
  cleanups.push(async () => {
    await openaiHttp.close();
    await secondHttp.close();
    await openaiApi.close();
    await secondApi.close();
    await rm(root, { recursive: true, force: true });
  });
  const settings = testSettings(runsDir, ["baes", "claude"], {
    dryRun: true,
    apiKeyIds: { baes: "key_baesTest01", claude: SECOND_KEY_ID },
  });
  const pass = () =>
    runPass(settings, {
      files: nodeFiles,
      now: Math.max(...runs.map((r) => r.end)) + 3600,
      prices: [builtinSource()],
      sources: new Map([
        ["openai", openaiHttp],
        ["second", secondHttp],
      ]),
      providers: [openai, second],
      tool: TOOL,
      version: VERSION,
    });
  return { runs, openaiApi, secondApi, pass };
}

describe("the provider seam", () => {
  it("reads each provider's runs from its own API, asking it only for its own keys", async () => {
    const { runs, openaiApi, secondApi, pass } = await mixedExperiment(SECOND_KEY);
    const { report } = await pass();

    for (const row of report.runs) {
      const truth = runs.find((r) => r.runId === row.run_id)!;
      expect(row.status, row.run_id).toBe("pending");
      expect([row.tokens_in, row.tokens_out]).toEqual([
        truth.totals.tokensIn,
        truth.totals.tokensOut,
      ]);
    }
    const keysAsked = (api: typeof openaiApi) =>
      new Set(api.requests.flatMap((r) => r.query.getAll("api_key_ids")));
    expect(keysAsked(openaiApi)).toEqual(new Set(["key_baesTest01"]));
    expect(keysAsked(secondApi)).toEqual(new Set([SECOND_KEY_ID]));
    // each provider at its own fewest requests: together the pass's lower bound
    expect(openaiApi.requests.length).toBeGreaterThan(0);
    expect(secondApi.requests.length).toBeGreaterThan(0);
    expect(openaiApi.requests.length + secondApi.requests.length).toBe(report.request_lower_bound);
  });

  it("a provider that refuses its admin key costs only its own runs, named by its API", async () => {
    const { openaiApi, pass } = await mixedExperiment("sk-admin-providers-wrong-01");
    const { report } = await pass();

    const claude = report.runs.filter((r) => r.framework === "claude");
    const baes = report.runs.filter((r) => r.framework === "baes");
    expect(claude.length).toBeGreaterThan(0);
    for (const row of claude) {
      expect(row.status, row.run_id).toBe("error");
      expect(row.message).toMatch(/^Second API: 401 Unauthorized/);
    }
    for (const row of baes) expect(row.status, row.run_id).toBe("pending");
    expect(openaiApi.requests.every((r) => r.status === 200)).toBe(true);
  });

  it("a key id is owned by the provider whose pattern it matches; OpenAI's are key_…", () => {
    expect(PROVIDERS[0]).toBe(openai);
    expect(providerOf("key_baesTest01")).toBe(openai);
    expect(providerOf("apikey_claudeTest01")).toBe(PROVIDERS[1]);
    expect(providerOf("apikey_claudeTest01", [openai, second])).toBe(second);
  });
});
