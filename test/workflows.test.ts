import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  convertWorkflowTemplate,
  NoOperationTraceWriter,
  parseWorkflow,
} from "@actions/workflow-parser";
import { parseAction } from "@actions/workflow-parser/actions/action-parser";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

/** Every workflow file and action.yml, validated by GitHub's own parser. */

const ROOT = join(import.meta.dirname, "..");
const WORKFLOWS = [
  ...readdirSync(join(ROOT, ".github", "workflows")).map((f) => join(".github", "workflows", f)),
  ...readdirSync(join(ROOT, "examples", "workflows")).map((f) => join("examples", "workflows", f)),
].filter((f) => /\.ya?ml$/.test(f));

async function validate(path: string): Promise<string[]> {
  const file = { name: path, content: readFileSync(join(ROOT, path), "utf8") };
  const parsed = parseWorkflow(file, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  if (parsed.value) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    errors.push(...(template.errors ?? []).map((e) => e.Message));
  }
  return errors;
}

interface Workflow {
  on: {
    workflow_call?: {
      inputs: Record<string, { type: string; default?: unknown }>;
      secrets: Record<string, { required?: boolean }>;
    };
  };
  permissions: Record<string, string>;
  jobs: Record<
    string,
    {
      permissions: Record<string, string>;
      concurrency?: { group: string; "cancel-in-progress": boolean };
      steps: Array<{ uses?: string; with?: Record<string, unknown> }>;
    }
  >;
}

describe("workflow files", () => {
  it("there are workflows to check: CI, the reusable workflow and the example caller", () => {
    expect(WORKFLOWS).toEqual(
      expect.arrayContaining([
        ".github/workflows/ci.yml",
        ".github/workflows/reconcile.yml",
        "examples/workflows/reconcile-usage.yml",
      ]),
    );
  });

  for (const path of WORKFLOWS) {
    it(`${path} parses and validates with @actions/workflow-parser`, async () => {
      expect(await validate(path)).toEqual([]);
    });
  }

  it("the validator does catch a broken workflow (so a pass above means something)", async () => {
    const file = {
      name: "broken.yml",
      content:
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v5\n        run: echo both\n    permisions: {}\n",
    };
    const parsed = parseWorkflow(file, new NoOperationTraceWriter());
    expect(parsed.context.errors.getErrors().length).toBeGreaterThan(0);
  });

  it("action.yml validates with GitHub's action schema", () => {
    const parsed = parseAction(
      { name: "action.yml", content: readFileSync(join(ROOT, "action.yml"), "utf8") },
      new NoOperationTraceWriter(),
    );
    expect(parsed.context.errors.getErrors().map((e) => e.message)).toEqual([]);
  });
});

describe("the reusable workflow", () => {
  const workflow = parse(
    readFileSync(join(ROOT, ".github", "workflows", "reconcile.yml"), "utf8"),
  ) as Workflow;
  const action = parse(readFileSync(join(ROOT, "action.yml"), "utf8")) as {
    inputs: Record<string, { default?: string }>;
  };
  const call = workflow.on.workflow_call!;
  const actionSteps = Object.values(workflow.jobs).flatMap((j) =>
    j.steps.filter((s) => s.uses?.includes("reconcile-usage")),
  );

  it("its inputs mirror the action's, with the same defaults", () => {
    for (const [name, spec] of Object.entries(call.inputs)) {
      expect(action.inputs, name).toHaveProperty(name);
      if (spec.default !== undefined)
        expect(String(spec.default), `default of ${name}`).toBe(action.inputs[name]!.default);
    }
  });

  it("passes every one of its inputs to the action, and only inputs the action has", () => {
    const reconcile = workflow.jobs.reconcile!.steps.find((s) =>
      s.uses?.includes("reconcile-usage"),
    )!;
    for (const name of Object.keys(call.inputs)) expect(reconcile.with, name).toHaveProperty(name);
    for (const step of actionSteps)
      for (const name of Object.keys(step.with ?? {}))
        expect(action.inputs, name).toHaveProperty(name);
  });

  it("requires the admin key as a secret", () => {
    expect(call.secrets.OPENAI_ADMIN_KEY?.required).toBe(true);
  });

  it("asks for least permissions: nothing at the top, contents: write only to commit, pull-requests: write only for comments", () => {
    expect(workflow.permissions).toEqual({});
    expect(workflow.jobs.reconcile!.permissions).toEqual({ contents: "write" });
    expect(workflow.jobs["pull-request"]!.permissions).toEqual({
      contents: "read",
      "pull-requests": "write",
    });
  });

  it("serialises committing passes on one repository without cancelling a running one", () => {
    const c = workflow.jobs.reconcile!.concurrency!;
    expect(c["cancel-in-progress"]).toBe(false);
    expect(c.group).toContain("github.repository");
  });

  it("never commits from a pull request", () => {
    const step = workflow.jobs["pull-request"]!.steps.find((s) =>
      s.uses?.includes("reconcile-usage"),
    )!;
    expect(step.with?.commit).toBe("none");
    expect(step.with?.["dry-run"]).toBe(true);
  });
});

describe("the example caller workflow", () => {
  const caller = parse(
    readFileSync(join(ROOT, "examples", "workflows", "reconcile-usage.yml"), "utf8"),
  ) as {
    on: { schedule: Array<{ cron: string }>; workflow_dispatch: unknown; pull_request: unknown };
  };

  it("runs every 30 to 60 minutes, off the top of the hour, by hand, and on pull requests", () => {
    const [minutes] = caller.on.schedule[0]!.cron.split(" ");
    const marks = minutes!.split(",").map(Number);
    expect(marks).not.toContain(0);
    const gaps = marks.map((m, i) => (marks[(i + 1) % marks.length]! - m + 60) % 60 || 60);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(30);
    for (const gap of gaps) expect(gap).toBeLessThanOrEqual(60);
    expect(caller.on).toHaveProperty("workflow_dispatch");
    expect(caller.on).toHaveProperty("pull_request");
  });

  it(".env.example documents every variable the CLI reads", () => {
    const example = readFileSync(join(ROOT, "examples", ".env.example"), "utf8");
    for (const name of [
      "OPENAI_ADMIN_KEY",
      "OPENAI_API_KEY_USAGE_TRACKING",
      "OPENAI_API_KEY_BAES_ID",
      "RECONCILIATION_VERIFICATION_INTERVAL_MIN",
      "RECONCILIATION_MIN_STABLE_VERIFICATIONS",
    ]) {
      expect(example, name).toContain(name);
    }
  });
});
