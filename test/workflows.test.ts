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
import { MIN_NODE } from "../src/entry/node-version.ts";

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

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}

interface Workflow {
  on: {
    workflow_call?: {
      inputs: Record<string, { type: string; default?: unknown; required?: boolean }>;
      secrets: Record<string, { required?: boolean }>;
    };
    workflow_dispatch?: {
      inputs: Record<string, { type: string; default?: unknown; required?: boolean }>;
    };
  };
  permissions: Record<string, string>;
  jobs: Record<
    string,
    {
      permissions: Record<string, string>;
      concurrency?: { group: string; "cancel-in-progress": boolean };
      needs?: string | string[];
      uses?: string;
      strategy?: { matrix: Record<string, unknown[]> };
      steps: Step[];
    }
  >;
}

const readWorkflow = (path: string) => parse(readFileSync(join(ROOT, path), "utf8")) as Workflow;

describe("workflow files", () => {
  it("there are workflows to check: CI, the reusable workflow and the example caller", () => {
    expect(WORKFLOWS).toEqual(
      expect.arrayContaining([
        ".github/workflows/ci.yml",
        ".github/workflows/reconcile.yml",
        ".github/workflows/release.yml",
        "examples/workflows/reconcile-usage.yml",
      ]),
    );
  });

  for (const path of WORKFLOWS) {
    it(`${path} parses and validates with @actions/workflow-parser`, async () => {
      expect(await validate(path)).toEqual([]);
    });
  }

  it("no run script expands inputs or event data in place (they reach the shell through env)", () => {
    for (const path of WORKFLOWS) {
      const workflow = readWorkflow(path);
      for (const [name, job] of Object.entries(workflow.jobs))
        for (const step of job.steps ?? [])
          expect(step.run ?? "", `${path} ${name} ${step.name}`).not.toMatch(
            /\$\{\{[^}]*\b(inputs|github\.event|github\.head_ref)\b/,
          );
    }
  });

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

/** A workflow expression as it appears in YAML: `${{ inner }}`. */
const expr = (inner: string) => `\${{ ${inner} }}`;

/** Where the reusable workflow checks out the action it runs. */
const ACTION_DIR = ".reconcile-usage-action";

describe("the reusable workflow", () => {
  const workflow = readWorkflow(".github/workflows/reconcile.yml");
  const action = parse(readFileSync(join(ROOT, "action.yml"), "utf8")) as {
    inputs: Record<string, { default?: string }>;
  };
  const call = workflow.on.workflow_call!;
  /** The jobs that run the action, with the step that runs it. */
  const actionJobs = Object.entries(workflow.jobs).map(([name, job]) => {
    const index = job.steps.findIndex((s) => s.uses === `./${ACTION_DIR}`);
    return { name, steps: job.steps, index, step: job.steps[index]! };
  });

  it("its inputs mirror the action's, with the same defaults", () => {
    for (const [name, spec] of Object.entries(call.inputs)) {
      expect(action.inputs, name).toHaveProperty(name);
      if (spec.default !== undefined)
        expect(String(spec.default), `default of ${name}`).toBe(action.inputs[name]!.default);
    }
  });

  it("runs the action in both jobs, and only there", () => {
    expect(actionJobs.map((j) => [j.name, j.index >= 0])).toEqual([
      ["reconcile", true],
      ["pull-request", true],
    ]);
  });

  it("passes every one of its inputs to the action in every job that runs it, unchanged but for the fixed few", () => {
    // what a job sets whatever the caller says, and why
    const fixed: Record<string, Record<string, unknown>> = {
      // the pull request gets the comment; a committing pass comments nowhere
      reconcile: { comment: "never" },
      // a pull request never commits, never writes, and is never failed by a run's error
      "pull-request": { commit: "none", "dry-run": true, "fail-on-error": false },
    };
    for (const { name, step } of actionJobs) {
      const given = step.with ?? {};
      for (const input of Object.keys(call.inputs)) {
        expect(given, `${name} passes ${input}`).toHaveProperty(input);
        const expected = fixed[name]?.[input] ?? expr(`inputs.${input}`);
        expect(given[input], `${name}: ${input}`).toEqual(expected);
      }
      // besides the inputs: each provider's admin key, from its secret
      expect(Object.keys(given).sort()).toEqual(
        ["admin-key", "anthropic-admin-key", ...Object.keys(call.inputs)].sort(),
      );
      expect(given["admin-key"]).toBe(expr("secrets.OPENAI_ADMIN_KEY"));
      expect(given["anthropic-admin-key"]).toBe(expr("secrets.ANTHROPIC_ADMIN_KEY"));
      for (const key of Object.keys(given)) expect(action.inputs, key).toHaveProperty(key);
    }
  });

  it("runs the action from the commit the workflow was called at, never from a tag of its own", () => {
    for (const { name, steps, index } of actionJobs) {
      // no step anywhere takes the action from its repository at some ref
      for (const step of steps)
        expect(step.uses ?? "", name).not.toMatch(/reconcile-usage(\/[^/]*)?@/);
      const checkout = steps.findIndex((s) => s.with?.path === ACTION_DIR);
      expect(checkout, `${name} checks the action out into ${ACTION_DIR}`).toBeGreaterThan(0);
      expect(checkout).toBeLessThan(index);
      const step = steps[checkout]!;
      expect(step.uses).toMatch(/^actions\/checkout@/);
      // job.*: the called workflow's own repository and commit (github.* is the caller's)
      expect(step.with).toMatchObject({
        repository: expr("job.workflow_repository"),
        ref: expr("job.workflow_sha"),
        "persist-credentials": false,
      });
      // the sparse checkout holds what the runner loads: action.yml and the bundle it names
      const sparse = String(step.with?.["sparse-checkout"]).split("\n").filter(Boolean);
      const main = (
        parse(readFileSync(join(ROOT, "action.yml"), "utf8")) as { runs: { main: string } }
      ).runs.main;
      expect(sparse).toContain("action.yml");
      expect(sparse.some((p) => main.startsWith(`${p}/`))).toBe(true);
      // the experiment's own checkout comes first: it would clean the action out of the workspace
      const experiment = steps.findIndex(
        (s) => s.uses?.startsWith("actions/checkout@") && s.with?.path === undefined,
      );
      expect(experiment, name).toBeGreaterThanOrEqual(0);
      expect(experiment).toBeLessThan(checkout);
      // an empty job.workflow_sha (an old self-hosted runner) stops the job: an empty ref would
      // check out the default branch, a floating ref again
      const guard = steps.slice(0, checkout).find((s) => s.env?.WORKFLOW_SHA);
      expect(guard?.env).toEqual({
        WORKFLOW_REPOSITORY: expr("job.workflow_repository"),
        WORKFLOW_SHA: expr("job.workflow_sha"),
      });
      expect(guard?.run).toContain("exit 1");
    }
  });

  it("a manual run asks for the key ids: the action's OPENAI_API_KEY_{FW}_ID fallback reads the job's environment, which repository variables never reach", () => {
    const dispatch = workflow.on.workflow_dispatch!;
    expect(dispatch.inputs["api-key-ids"]?.required).toBe(true);
    expect(call.inputs["api-key-ids"]?.required).toBe(true);
    for (const [name, spec] of Object.entries(dispatch.inputs)) {
      expect(call.inputs, name).toHaveProperty(name);
      expect(JSON.stringify(spec), name).not.toMatch(/OPENAI_API_KEY_|variables/);
    }
  });

  it("takes each provider's admin key as a secret, neither required: an experiment may use one provider or both", () => {
    expect(call.secrets.OPENAI_ADMIN_KEY?.required).toBe(false);
    expect(call.secrets.ANTHROPIC_ADMIN_KEY?.required).toBe(false);
  });

  it("asks for least permissions: nothing at the top, contents: write only to commit, pull-requests: write only for comments and commit: pull-request", () => {
    expect(workflow.permissions).toEqual({});
    expect(workflow.jobs.reconcile!.permissions).toEqual({
      contents: "write",
      "pull-requests": "write",
    });
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
    const step = actionJobs.find((j) => j.name === "pull-request")!.step;
    expect(step.with?.commit).toBe("none");
    expect(step.with?.["dry-run"]).toBe(true);
  });
});

describe("the example caller workflow", () => {
  const caller = parse(
    readFileSync(join(ROOT, "examples", "workflows", "reconcile-usage.yml"), "utf8"),
  ) as {
    on: { schedule: Array<{ cron: string }>; workflow_dispatch: unknown; pull_request: unknown };
    jobs: Record<string, { uses: string }>;
  };

  it("calls the workflow under the OWNER placeholder the README explains, and so does the README", () => {
    const uses = "OWNER/reconcile-usage/.github/workflows/reconcile.yml@v1";
    expect(caller.jobs.reconcile!.uses).toBe(uses);
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    expect(readme).toContain(`uses: ${uses}`);
    expect(readme).toContain("`OWNER` is a placeholder");
    for (const text of [
      readme,
      readFileSync(join(ROOT, "examples", "workflows", "reconcile-usage.yml"), "utf8"),
    ])
      expect(text).not.toMatch(/\borg\/reconcile-usage/);
  });

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
      "ANTHROPIC_ADMIN_KEY",
      "RECONCILIATION_VERIFICATION_INTERVAL_MIN",
      "RECONCILIATION_MIN_STABLE_VERIFICATIONS",
    ]) {
      expect(example, name).toContain(name);
    }
  });
});

describe("CI", () => {
  const ci = readWorkflow(".github/workflows/ci.yml");
  const job = ci.jobs.ci!;

  it("runs .ci/run on every Node the tool supports: 22 from 22.19 (LTS), and 24, which the action runs on", () => {
    const nodes = job.strategy!.matrix.node!.map(String);
    const nodeVersion = readFileSync(join(ROOT, ".node-version"), "utf8").trim();
    expect(nodes).toEqual(expect.arrayContaining([MIN_NODE.split(".")[0], nodeVersion]));
    // a bare major gets that line's newest release, which is past MIN_NODE for 22
    for (const node of nodes) expect(node).toMatch(/^\d+$/);
    const action = parse(readFileSync(join(ROOT, "action.yml"), "utf8")) as {
      runs: { using: string };
    };
    expect(nodes).toContain(action.runs.using.replace("node", ""));
    expect(job.steps.find((s) => s.uses?.startsWith("actions/setup-node@"))?.with).toEqual({
      "node-version": expr("matrix.node"),
    });
    expect(job.steps.at(-1)?.run).toBe("bash .ci/run");
  });

  it("runs the README's commands as written, and the README's test command works on a fresh clone", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const block = /```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    const [demo, test] = block
      .trim()
      .split("\n")
      .map((l) => l.replace(/\s*#.*$/, ""));
    expect(demo).toBe("npm start");
    // npm cit = npm ci, then npm test: nothing to install first
    expect(test).toBe("npm cit");
    const script = readFileSync(join(ROOT, ".ci", "run"), "utf8");
    expect(script).toContain('bash -c "$test_command"');
    expect(script).toContain('bash -c "$demo_command"');
    expect(script).not.toMatch(/^npm (ci|test)\b/m);
  });
});

describe("the release workflow", () => {
  const release = readWorkflow(".github/workflows/release.yml") as Workflow & {
    concurrency: { group: string; "cancel-in-progress": boolean };
  };
  const jobs = release.jobs;
  const runs = (name: string) => jobs[name]!.steps.map((s) => s.run ?? "").join("\n");

  it("is started by hand with the version to release", () => {
    expect(release.on.workflow_dispatch!.inputs.version).toMatchObject({
      type: "string",
      required: true,
    });
  });

  it("checks the version and takes the notes from CHANGELOG.md before anything else", () => {
    expect(runs("prepare")).toContain('node scripts/release-notes.ts "$VERSION"');
    expect(runs("prepare")).toContain("refs/heads/main");
    expect(runs("prepare")).toMatch(/ls-remote --exit-code --tags origin "refs\/tags\/v\$VERSION"/);
  });

  it("runs CI's own checks (the same workflow, every supported Node) and tags only after they pass", () => {
    expect(jobs.checks!.uses).toBe("./.github/workflows/ci.yml");
    expect(jobs.checks!.needs).toBe("prepare");
    expect(jobs.release!.needs).toBe("checks");
    const ci = readWorkflow(".github/workflows/ci.yml");
    expect(ci.on).toHaveProperty("workflow_call");
  });

  it("tags v<version>, moves the major tag to the same commit and publishes the CHANGELOG section", () => {
    const script = runs("release");
    expect(script).toContain('git tag -a "v$VERSION"');
    expect(script).toMatch(/major="v\$\{VERSION%%\.\*\}"/);
    expect(script).toContain('git tag -fa "$major"');
    expect(script).toContain('git push --force origin "refs/tags/$major"');
    expect(script).toMatch(
      /node scripts\/release-notes\.ts "\$VERSION" >"\$RUNNER_TEMP\/notes\.md"/,
    );
    expect(script).toContain('gh release create "v$VERSION" --verify-tag');
    expect(script).toContain('--notes-file "$RUNNER_TEMP/notes.md"');
  });

  it("writes only in the job that tags, and never runs two releases at once", () => {
    expect(release.permissions).toEqual({});
    expect(jobs.prepare!.permissions).toEqual({ contents: "read" });
    expect(jobs.checks!.permissions).toEqual({ contents: "read" });
    expect(jobs.release!.permissions).toEqual({ contents: "write" });
    expect(release.concurrency["cancel-in-progress"]).toBe(false);
  });
});
