import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { ACTION_BUNDLE } from "./bundle.ts";

/**
 * Runs the action the way the runner does: `node index.js` of a bundle built from today's src/ with every input as INPUT_*
 * (defaults from action.yml, as the runner fills them), GITHUB_* variables, a step summary file,
 * an output file and an event payload.
 */

const ROOT = join(import.meta.dirname, "..", "..");
const actionYml = parse(readFileSync(join(ROOT, "action.yml"), "utf8")) as {
  inputs: Record<string, { default?: string }>;
};

export interface ActionRun {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
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
    GITHUB_REF_NAME: "main",
    GITHUB_SHA: "0000000000000000000000000000000000000000",
    GITHUB_RUN_ID: "1",
    RUNNER_TEMP: options.temp,
  };
  for (const [name, spec] of Object.entries(actionYml.inputs)) {
    const value =
      options.inputs?.[name] ?? (spec.default?.includes("${{") ? "" : (spec.default ?? ""));
    env[`INPUT_${name.toUpperCase()}`] = value;
  }
  Object.assign(env, options.env);
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [ACTION_BUNDLE],
      { cwd: options.workspace, env, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
  return {
    ...result,
    outputs: parseOutputs(await readFile(outputPath, "utf8")),
    summary: await readFile(summaryPath, "utf8"),
  };
}
