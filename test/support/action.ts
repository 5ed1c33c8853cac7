import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { ACTION_BUNDLE } from "./bundle.ts";
import {
  emulateRunner,
  evaluateDefault,
  type RunnerAnnotation,
  type RunnerView,
} from "./runner.ts";

/**
 * Runs the action the way the runner does: `node index.js` of a bundle built from today's src/
 * with every input as INPUT_* (defaults from action.yml evaluated as the runner evaluates them:
 * `${{ github.token }}` is the job's token), GITHUB_* variables, a step summary file, an output
 * file and an event payload; then reads what it printed as the runner does (./runner.ts):
 * workflow commands, masks, and the annotations the runner keeps (10 per type).
 */

const ROOT = join(import.meta.dirname, "..", "..");
const actionYml = parse(readFileSync(join(ROOT, "action.yml"), "utf8")) as {
  inputs: Record<string, { default?: string }>;
};

/**
 * The job token the emulated runner hands the step (`${{ github.token }}`), shaped like a real
 * installation token; tests that talk to the fake GitHub API pass their own.
 */
export const JOB_TOKEN = "ghs_4pQ7nR2xLm9vT3kW8yB5cF1hJ6dS0gZaEuYo";

/**
 * Where the emulated runner points GITHUB_API_URL unless a test says otherwise: a closed port on
 * this machine, so a step that calls the GitHub API without a fake fails fast and never leaves it.
 */
export const UNREACHABLE_API = "http://127.0.0.1:9";

export interface ActionRun {
  code: number;
  /** What the process printed, raw (before the runner masks anything). */
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** Every line the runner acted on as a workflow command. */
  commands: RunnerView["commands"];
  /** The annotations the runner keeps and shows (at most 10 per type), in order. */
  annotations: RunnerAnnotation[];
  /** Every annotation the step asked for, the ones the runner drops included. */
  issues: RunnerAnnotation[];
  /** The step's log as the runner shows it (masked; commands as the runner writes them). */
  log: string[];
  masks: string[];
}

/** Parses the GITHUB_OUTPUT file (`name<<delimiter` blocks). */
function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (m) {
      const [, name, delimiter] = m;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
      out[name!] = value.join("\n");
    } else if (lines[i]!.includes("=")) {
      const [name, ...rest] = lines[i]!.split("=");
      out[name!] = rest.join("=");
    }
  }
  return out;
}

export async function runAction(options: {
  workspace: string;
  temp: string;
  inputs?: Record<string, string>;
  env?: Record<string, string>;
  event?: { name: string; payload: unknown };
  /** The job token behind `${{ github.token }}` (default JOB_TOKEN). */
  githubToken?: string;
  /** Extra arguments to node before the bundle (e.g. `--import` of a fault to inject). */
  nodeArgs?: string[];
}): Promise<ActionRun> {
  const summaryPath = join(options.temp, `summary-${Date.now()}.md`);
  const outputPath = join(options.temp, `output-${Date.now()}.txt`);
  const eventPath = join(options.temp, `event-${Date.now()}.json`);
  await writeFile(summaryPath, "");
  await writeFile(outputPath, "");
  await writeFile(eventPath, JSON.stringify(options.event?.payload ?? {}));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: options.temp,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GITHUB_ACTIONS: "true",
    GITHUB_WORKSPACE: options.workspace,
    GITHUB_STEP_SUMMARY: summaryPath,
    GITHUB_OUTPUT: outputPath,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_EVENT_NAME: options.event?.name ?? "schedule",
    GITHUB_REPOSITORY: "lab/experiment",
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_API_URL: UNREACHABLE_API,
    GITHUB_REF: "refs/heads/main",
    GITHUB_REF_NAME: "main",
    GITHUB_SHA: "0000000000000000000000000000000000000000",
    GITHUB_RUN_ID: "1",
    RUNNER_TEMP: options.temp,
  };
  Object.assign(env, options.env);
  const token = options.githubToken ?? JOB_TOKEN;
  const context = {
    github: {
      token,
      repository: env.GITHUB_REPOSITORY ?? "",
      ref: env.GITHUB_REF ?? "",
      ref_name: env.GITHUB_REF_NAME ?? "",
      sha: env.GITHUB_SHA ?? "",
      server_url: env.GITHUB_SERVER_URL ?? "",
      api_url: env.GITHUB_API_URL ?? "",
      event_name: env.GITHUB_EVENT_NAME ?? "",
      workspace: env.GITHUB_WORKSPACE ?? "",
      run_id: env.GITHUB_RUN_ID ?? "",
    },
    runner: { temp: env.RUNNER_TEMP ?? "" },
    env,
  };
  const unexpected = Object.keys(options.inputs ?? {}).filter((n) => !(n in actionYml.inputs));
  for (const [name, spec] of Object.entries(actionYml.inputs)) {
    const value = options.inputs?.[name] ?? evaluateDefault(spec.default ?? "", context);
    env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] = value;
  }
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [...(options.nodeArgs ?? []), ACTION_BUNDLE],
      { cwd: options.workspace, env, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
  // the runner masks the job token and the secrets a workflow passes (the admin key comes from one)
  const secrets = [
    token,
    options.inputs?.["admin-key"] ?? "",
    options.inputs?.["anthropic-admin-key"] ?? "",
  ];
  // the runner warns before the step starts about inputs the action does not declare
  const warnings =
    unexpected.length > 0
      ? [
          `Unexpected input(s) '${unexpected.join("', '")}', valid inputs are ['${Object.keys(actionYml.inputs).join("', '")}']`,
        ]
      : [];
  const view = emulateRunner(result, { secrets, warnings });
  return {
    ...result,
    outputs: {
      ...view.legacyOutputs,
      ...parseOutputs(await readFile(outputPath, "utf8").catch(() => "")),
    },
    summary: await readFile(summaryPath, "utf8").catch(() => ""),
    commands: view.commands,
    annotations: view.annotations,
    issues: view.issues,
    log: view.log,
    masks: view.masks,
  };
}
