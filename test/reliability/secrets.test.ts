import { readdir, readFile, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { annotationsOf } from "../../src/action/annotations.ts";
import { writeChanges } from "../../src/delivery/write.ts";
import { nodeFiles } from "../../src/fs/node.ts";
import { loadPriceSources } from "../../src/pricing/load.ts";
import { createHttpPageSource } from "../../src/providers/openai/http.ts";
import { GROUP_BY, MAX_MINUTE_BUCKETS } from "../../src/providers/openai/query.ts";
import { runPass } from "../../src/reconcile/pass.ts";
import { PassReportSchema } from "../../src/report/schema.ts";
import { renderSummary } from "../../src/report/summary.ts";
import { runTable, summaryLines } from "../../src/report/table.ts";
import { resolveSettings } from "../../src/settings/resolve.ts";
import { TOOL, VERSION } from "../../src/version.ts";
import { runAction } from "../support/action.ts";
import { runCli } from "../support/cli.ts";
import {
  allEvents,
  type GeneratedRun,
  generateExperiment,
  keyIdFor,
  tempDir,
  writeExperiment,
} from "../support/experiment.ts";
import { type Fault, startFakeUsageApi } from "../support/fake-usage-api.ts";
import { isolateGitConfig, makeSandbox, remoteHead, sh } from "../support/git.ts";

/**
 * A recognisable admin key (and a GitHub token) through every error path the fake Usage API can
 * produce, most of them echoing the key back as real APIs and proxies do: the key must appear in
 * no log line (but the runner's own ::add-mask:: command), summary, annotation, report, output,
 * recorded page, commit, committed file, thrown error or stack, at debug log level, from the CLI
 * and from the action (`node index.js` of the test bundle, committing with git into a sandbox).
 */

const KEY = "sk-admin-LEAKCHECK-0123456789abcdef";
const GITHUB_TOKEN = "ghs_LEAKCHECK0123456789abcdefABCDEFghij";
const b64 = (text: string) => Buffer.from(text).toString("base64");
const b64url = (text: string) => b64(text).replace(/\+/g, "-").replace(/\//g, "_");
const hex = (text: string) => Buffer.from(text).toString("hex");
/** Every byte percent-encoded, as some proxies log a header. */
const percent = (text: string) =>
  [...Buffer.from(text)].map((b) => `%${b.toString(16).padStart(2, "0").toUpperCase()}`).join("");

/**
 * The ways a secret can be spelled: plain, URL-encoded, hex in either case, and base64 or base64url
 * wherever it starts in a longer encoded text (`Basic user:token`, `Bearer sk-…`): for each of the
 * three byte offsets, the middle of the encoding, which depends on the secret's bytes alone.
 */
function spellings(secret: string): string[] {
  const out = [secret, hex(secret), hex(secret).toUpperCase(), percent(secret)];
  for (const prefix of ["", "a", "ab"]) {
    const middle = (encoded: string) => encoded.slice(4, -4);
    out.push(middle(b64(prefix + secret)), middle(b64url(prefix + secret)));
  }
  return out;
}

/** The spec's rule: any run of 12 or more characters of a secret (in any spelling) shows it. */
const windows = (text: string) =>
  Array.from({ length: Math.max(0, text.length - 11) }, (_, i) => text.slice(i, i + 12));

/** Anything that would betray either secret: whole, cut, or in any encoding. */
const NEEDLES = [
  ...new Set([
    "LEAKCHECK",
    "0123456789abcdef",
    ...[KEY, GITHUB_TOKEN].flatMap(spellings).flatMap(windows),
  ]),
];
const FRAMEWORKS = ["baes", "chatdev"];
const HOUR = 3600;

let restoreGit: () => void;
beforeAll(() => {
  restoreGit = isolateGitConfig();
});
afterAll(() => restoreGit());

/** Runs `body` with its own cleanups (the tests run concurrently: nothing shared). */
async function withCleanups<T>(
  body: (defer: (c: () => Promise<unknown>) => void) => Promise<T>,
): Promise<T> {
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    return await body((c) => cleanups.push(c));
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}

const errorBody = (message: string, type: string, code: string | null = null) =>
  JSON.stringify({ error: { message, type, param: null, code } });

interface Scenario {
  name: string;
  fault: Fault;
  /** Retried to the end with the client's real backoff (seconds) in the CLI and the action. */
  slow?: boolean;
  /** What the failed runs' message says: proof that this path was taken. */
  message: RegExp;
}

const SCENARIOS: Scenario[] = [
  {
    name: "401 whose message echoes the key",
    fault: {
      kind: "status",
      status: 401,
      body: errorBody(
        `Incorrect API key provided: ${KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        "invalid_request_error",
        "invalid_api_key",
      ),
    },
    message: /401 Unauthorized: Incorrect API key provided/,
  },
  {
    name: "403 with a bare error string",
    fault: {
      kind: "status",
      status: 403,
      body: JSON.stringify({
        error: `You have insufficient permissions for this operation. Missing scopes: api.usage.read (key ${KEY}).`,
      }),
    },
    message: /403 Forbidden: You have insufficient permissions/,
  },
  {
    name: "429 insufficient_quota",
    fault: {
      kind: "status",
      status: 429,
      body: errorBody(
        `You exceeded your current quota on ${KEY}, please check your plan and billing details.`,
        "insufficient_quota",
        "insufficient_quota",
      ),
    },
    message: /429 insufficient_quota: You exceeded your current quota/,
  },
  {
    name: "429 rate limit until the retries are exhausted",
    fault: {
      kind: "status",
      status: 429,
      body: errorBody(
        `Rate limit reached for ${KEY} on requests.`,
        "requests",
        "rate_limit_exceeded",
      ),
    },
    slow: true,
    message: /429 Too Many Requests: Rate limit reached .*gave up after \d+ tries/,
  },
  {
    name: "429 asking to wait an hour",
    fault: {
      kind: "status",
      status: 429,
      retryAfter: "3600",
      body: errorBody(`Rate limit reached for ${KEY}.`, "requests", "rate_limit_exceeded"),
    },
    message: /429 Too Many Requests: .*wait 3600 s/,
  },
  {
    name: "500 until the retries are exhausted",
    fault: {
      kind: "status",
      status: 500,
      body: errorBody(`The server had an error processing the request of ${KEY}.`, "server_error"),
    },
    slow: true,
    message: /500 server error: The server had an error .*gave up after \d+ tries/,
  },
  {
    name: "502 from a proxy quoting the Authorization header in plain text",
    fault: {
      kind: "status",
      status: 502,
      retryAfter: "3600",
      body: `Bad gateway. Upstream request headers: Authorization: Bearer ${KEY}`,
    },
    message: /502 server error: Bad gateway/,
  },
  {
    name: "401 quoting the key base64-encoded in a Basic header",
    fault: {
      kind: "status",
      status: 401,
      body: errorBody(
        `Invalid credentials in Authorization: Basic ${b64(`admin:${KEY}`)}`,
        "invalid_request_error",
        "invalid_api_key",
      ),
    },
    message: /401 Unauthorized: Invalid credentials in Authorization: Basic/,
  },
  {
    name: "401 quoting the key base64url-encoded, from each byte offset",
    fault: {
      kind: "status",
      status: 401,
      body: errorBody(
        `Unknown token ${b64url(KEY)}, ${b64url(`x${KEY}`)}, ${b64url(`xy${KEY}`)}`,
        "invalid_request_error",
      ),
    },
    message: /401 Unauthorized: Unknown token/,
  },
  {
    name: "403 quoting the key in hex, lower and upper case, and URL-encoded",
    fault: {
      kind: "status",
      status: 403,
      body: errorBody(
        `Key ${hex(KEY)} (${hex(KEY).toUpperCase()}) from ?key=${percent(KEY)} lacks api.usage.read`,
        "invalid_request_error",
      ),
    },
    message: /403 Forbidden: Key .* lacks api\.usage\.read/,
  },
  {
    name: "401 quoting the key split in two by a line break",
    fault: {
      kind: "status",
      status: 401,
      body: errorBody(
        `Incorrect API key provided: ${KEY.slice(0, 17)}\n${KEY.slice(17)}.`,
        "invalid_request_error",
        "invalid_api_key",
      ),
    },
    message: /401 Unauthorized: Incorrect API key provided/,
  },
  {
    name: "401 quoting 14 characters of the key inside a longer word",
    fault: {
      kind: "status",
      status: 401,
      body: errorBody(
        `Key fingerprint ref${KEY.slice(6, 20)}xyz is not an admin key.`,
        "invalid_request_error",
      ),
    },
    message: /401 Unauthorized: Key fingerprint ref/,
  },
  {
    name: "a page that breaks the schema",
    fault: { kind: "schema-violation" },
    message: /does not match the Usage API schema/,
  },
  {
    name: "an HTML page instead of JSON, quoting the key",
    fault: {
      kind: "status",
      status: 200,
      body: `<html><body>Proxy error for Authorization: Bearer ${KEY}</body></html>`,
    },
    slow: true,
    message: /not valid JSON/,
  },
  {
    name: "connection reset",
    fault: { kind: "reset" },
    slow: true,
    message: /network error/,
  },
];

/** Every place a secret was found: `where: line`. The runner's own mask command is allowed. */
function leaks(where: string, text: string): string[] {
  return text
    .split("\n")
    .filter((line) => !line.startsWith("::add-mask::"))
    .filter((line) => NEEDLES.some((n) => line.includes(n)))
    .map((line) => `${where}: ${line.slice(0, 300)}`);
}

/** Every file under `dir` as latin1 text (binary files too: the needles are ASCII). */
async function filesUnder(
  dir: string,
  skip: (rel: string) => boolean = () => false,
): Promise<Array<{ path: string; text: string }>> {
  const out: Array<{ path: string; text: string }> = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    if (skip(relative(dir, path))) continue;
    out.push({ path, text: (await readFile(path)).toString("latin1") });
  }
  return out;
}

/**
 * Two groups of runs a week apart, so two spans: faults hit the first group's span only, and the
 * second group is read and written (and committed by the action) in the same pass.
 */
function layout(now: number): { early: GeneratedRun[]; late: GeneratedRun[]; faulty: string } {
  const early = generateExperiment({
    frameworks: FRAMEWORKS,
    runsPerFramework: 1,
    seed: 41,
    startAt: now - 8 * 24 * HOUR,
  });
  const late = generateExperiment({
    frameworks: FRAMEWORKS,
    runsPerFramework: 1,
    seed: 42,
    startAt: now - 6 * HOUR,
  });
  const faulty = String(Math.min(...early.map((r) => Math.floor(r.start / 60) * 60)));
  return { early, late, faulty };
}

async function fakeApi(
  runs: GeneratedRun[],
  faulty: string,
  fault: Fault,
  defer: (c: () => Promise<unknown>) => void,
) {
  const api = await startFakeUsageApi({
    adminKey: KEY,
    events: allEvents(runs),
    faults: ({ query }) => (query.get("start_time") === faulty ? fault : undefined),
  });
  defer(() => api.close());
  return api;
}

const keyArgs = FRAMEWORKS.flatMap((f) => ["--api-key-id", `${f}=${keyIdFor(f)}`]);

describe.concurrent("secrets never leak", () => {
  describe("the admin key and the GitHub token, through the CLI and the action", () => {
    // the slow ones first: the CLI and the action wait for real between retries
    const ordered = [...SCENARIOS].sort(
      (a, b) => Number(Boolean(b.slow)) - Number(Boolean(a.slow)),
    );

    for (const s of ordered) {
      it(`${s.name}: CLI (--json --record, --verbose) and action (debug, commit: git)`, () =>
        withCleanups(async (defer) => {
          const now = Math.floor(Date.now() / 1000);
          const { early, late, faulty } = layout(now);
          const runs = [...early, ...late];
          const api = await fakeApi(runs, faulty, s.fault, defer);
          const found: string[] = [];
          const env = { OPENAI_ADMIN_KEY: KEY, RUNNER_DEBUG: "1", GITHUB_TOKEN };

          const cli = async (args: string[]) => {
            const root = await tempDir("reconcile-usage-secrets-cli-");
            defer(() => rm(root, { recursive: true, force: true }));
            await writeExperiment(root, runs);
            const r = await runCli(["--api-base-url", api.baseUrl, ...keyArgs, ...args], {
              cwd: root,
              env,
            });
            expect(r.stderr).not.toMatch(/unexpected error/);
            expect(r.code, r.stderr).toBe(1);
            found.push(...leaks("CLI stdout", r.stdout), ...leaks("CLI stderr", r.stderr));
            for (const f of await filesUnder(root)) found.push(...leaks(f.path, f.text));
            return r;
          };

          const action = async () => {
            const sandbox = await makeSandbox();
            defer(() => sandbox.cleanup());
            const temp = await tempDir("reconcile-usage-secrets-action-");
            defer(() => rm(temp, { recursive: true, force: true }));
            await writeExperiment(sandbox.clone, runs);
            await sh(sandbox.clone, ["add", "--all"]);
            await sh(sandbox.clone, ["commit", "--quiet", "-m", "experiment runs"]);
            await sh(sandbox.clone, ["push", "--quiet", "origin", "HEAD:refs/heads/main"]);
            const before = await remoteHead(sandbox.bare);
            const result = await runAction({
              workspace: sandbox.clone,
              temp,
              inputs: {
                "admin-key": KEY,
                "github-token": GITHUB_TOKEN,
                "api-key-ids": FRAMEWORKS.map((f) => `${f}=${keyIdFor(f)}`).join("\n"),
                "api-base-url": api.baseUrl,
              },
              env: { RUNNER_DEBUG: "1", ACTIONS_STEP_DEBUG: "true" },
            });
            // the step fails on the errored runs, after committing what it read
            expect(result.code, result.stdout).toBe(1);
            expect(result.stdout.split("\n")).toContain(`::add-mask::${KEY}`);
            expect(result.outputs.errors).toBe(String(early.length));
            expect(await remoteHead(sandbox.bare)).not.toBe(before);
            found.push(
              ...leaks("action stdout", result.stdout),
              ...leaks("action stderr", result.stderr),
            );
            found.push(...leaks("action summary", result.summary));
            for (const [name, value] of Object.entries(result.outputs))
              found.push(...leaks(`action output ${name}`, value));
            for (const f of await filesUnder(temp)) found.push(...leaks(f.path, f.text));
            // the workspace, but git's packed objects (the remote's history is read below, unpacked)
            for (const f of await filesUnder(sandbox.clone, (rel) =>
              rel.startsWith(".git/objects"),
            ))
              found.push(...leaks(f.path, f.text));
            const history = await sh(sandbox.root, [
              "--git-dir",
              sandbox.bare,
              "log",
              "--all",
              "-p",
              "--format=fuller%n%B",
            ]);
            found.push(...leaks("remote history", history));
            const report = PassReportSchema.parse(
              JSON.parse(await readFile(result.outputs["report-path"]!, "utf8")),
            );
            return report;
          };

          const [json, verbose, report] = await Promise.all([
            cli(["--json", "--record", "recorded"]),
            cli(["--verbose"]),
            action(),
          ]);
          // the error path was really taken, by both front ends
          const cliReport = PassReportSchema.parse(JSON.parse(json.stdout));
          for (const r of early) {
            expect(cliReport.runs.find((x) => x.run_id === r.runId)?.message).toMatch(s.message);
            expect(report.runs.find((x) => x.run_id === r.runId)?.message).toMatch(s.message);
          }
          for (const r of late) {
            expect(cliReport.runs.find((x) => x.run_id === r.runId)?.status).toBe("pending");
            expect(report.runs.find((x) => x.run_id === r.runId)?.status).toBe("pending");
          }
          expect(verbose.stdout).toMatch(/error/);
          expect(found).toEqual([]);
        }));
    }
  });

  describe("the admin key, at the pass level, timeouts included", () => {
    const inProcess: Scenario[] = [
      ...SCENARIOS,
      {
        name: "a response slower than the timeout, every time",
        fault: { kind: "slow", delayMs: 1500 },
        message: /timed out/,
      },
    ];

    for (const s of inProcess) {
      it(`${s.name}: report, table, summary, annotations, retry log, files, thrown error and stack`, () =>
        withCleanups(async (defer) => {
          const now = Math.floor(Date.now() / 1000);
          const { early, late, faulty } = layout(now);
          const runs = [...early, ...late];
          const api = await fakeApi(runs, faulty, s.fault, defer);
          const root = await tempDir("reconcile-usage-secrets-pass-");
          defer(() => rm(root, { recursive: true, force: true }));
          const runsDir = await writeExperiment(root, runs);
          const retries: string[] = [];
          const source = createHttpPageSource({
            baseUrl: api.baseUrl,
            adminKey: KEY,
            timeoutMs: 200,
            maxAttempts: 2,
            sleep: async () => undefined,
            onRetry: (info) =>
              retries.push(`retry ${info.attempt} in ${info.delayMs} ms: ${info.reason}`),
          });
          defer(() => source.close());
          const settings = resolveSettings(
            {
              "runs-dir": runsDir,
              "api-key-ids": FRAMEWORKS.map((f) => `${f}=${keyIdFor(f)}`).join("\n"),
            },
            {},
            (name) => name,
          ).pass;
          const prices = await loadPriceSources(nodeFiles, runsDir, undefined);
          const outcome = await runPass(settings, {
            files: nodeFiles,
            now,
            prices,
            source,
            tool: TOOL,
            version: VERSION,
          });
          const failedWrites = await writeChanges(nodeFiles, outcome.changes);
          expect(failedWrites).toEqual([]);
          const report = outcome.report;
          for (const r of early)
            expect(report.runs.find((x) => x.run_id === r.runId)?.message).toMatch(s.message);

          // the same failing request, asked directly: what a caller would catch and print
          let thrown: unknown;
          try {
            await source.fetchPage({
              startTime: Number(faulty),
              endTime: Number(faulty) + 3600,
              apiKeyIds: FRAMEWORKS.map(keyIdFor),
              groupBy: GROUP_BY,
              bucketWidth: "1m",
              limit: MAX_MINUTE_BUCKETS,
            });
          } catch (error) {
            thrown = error;
          }
          const texts: Array<[string, string]> = [
            ["report", JSON.stringify(report, null, 2)],
            ["table", runTable(report.runs, true)],
            ["summary lines", summaryLines(report).join("\n")],
            ["job summary", renderSummary(report)],
            ["annotations", JSON.stringify(annotationsOf(report, (p) => p))],
            ["retry log", retries.join("\n")],
            ["changes", outcome.changes.map((c) => c.after).join("\n")],
          ];
          if (thrown !== undefined) {
            const e = thrown as Error;
            texts.push(["thrown message", e.message], ["thrown stack", e.stack ?? ""]);
            texts.push(["thrown, inspected", inspect(thrown, { depth: 5 })]);
          }
          for (const f of await filesUnder(root)) texts.push([f.path, f.text]);
          const found = texts.flatMap(([where, text]) => leaks(where, text));
          expect(found).toEqual([]);
          // and the check would have seen it: the fault's own body carries the key, in some spelling
          if (s.fault.kind === "status" && s.fault.body)
            expect(leaks("fault body", s.fault.body)).not.toEqual([]);
          // faults that the schema check (not HTTP) catches answer the direct request fine
          if (s.fault.kind !== "schema-violation") expect(thrown).toBeInstanceOf(Error);
        }));
    }
  });
});
