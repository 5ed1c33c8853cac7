import { describe, expect, it } from "vitest";
import { emulateRunner, evaluateDefault, readLines } from "./support/runner.ts";

/**
 * The tests' emulation of what the GitHub runner does with a step's output (test/support/runner.ts),
 * checked against the behaviour of actions/runner: if the emulation missed a command the runner
 * acts on, a test of the action's output could pass while the real runner is steered.
 */

const run = (stdout: string, stderr = "", secrets: string[] = []) =>
  emulateRunner({ stdout, stderr }, { secrets });

describe("the runner emulation", () => {
  it("reads annotations with their escaped properties, and debug, group and echo commands", () => {
    const view = run(
      [
        "plain line",
        "::error title=bad%3A run,file=runs/a%2Cb/metrics.json::first%0Asecond 100%25",
        "::warning::careful",
        "::notice title=n::note",
        "::debug::details",
        "::group::Tables",
        "::endgroup::",
        "::echo::on",
        "::set-output name=x::legacy value",
        "::unknown-command::not a command",
      ].join("\n"),
    );
    expect(view.annotations).toEqual([
      {
        level: "error",
        message: "first\nsecond 100%",
        title: "bad: run",
        file: "runs/a,b/metrics.json",
        properties: { title: "bad: run", file: "runs/a,b/metrics.json" },
      },
      { level: "warning", message: "careful", properties: {} },
      { level: "notice", message: "note", title: "n", properties: { title: "n" } },
      {
        level: "warning",
        message: expect.stringMatching(/set-output.*deprecated/),
        properties: {},
      },
    ]);
    expect(view.debug).toEqual(["details"]);
    expect(view.legacyOutputs).toEqual({ x: "legacy value" });
    expect(view.commands.map((c) => c.name)).toEqual([
      "error",
      "warning",
      "notice",
      "debug",
      "group",
      "endgroup",
      "echo",
      "set-output",
    ]);
    expect(view.log).toContain("plain line");
    expect(view.log).toContain("##[group]Tables");
    expect(view.log).toContain("::unknown-command::not a command");
    // echo on: later commands are shown as they were printed
    expect(view.log).toContain("::set-output name=x::legacy value");
  });

  it("takes a command after leading white space, and the old ##[…] form anywhere in a line", () => {
    const view = run(
      [
        "   ::error::after spaces",
        "\u00a0\u2003::warning::after unicode spaces",
        "table cell ##[error]old syntax mid-line",
        "x::error::not at the start",
      ].join("\n"),
    );
    expect(view.annotations.map((a) => [a.level, a.message])).toEqual([
      ["error", "after spaces"],
      ["warning", "after unicode spaces"],
      ["error", "old syntax mid-line"],
    ]);
  });

  it("splits lines at \\r as well as \\n, on stdout and stderr", () => {
    expect(readLines("a\rb\r\nc\nd\n")).toEqual(["a", "b", "c", "d"]);
    const view = run("name\r::error::from stdout", "x\n::warning::from stderr\n");
    expect(view.annotations.map((a) => a.message)).toEqual(["from stdout", "from stderr"]);
  });

  it("masks an ::add-mask:: value in every later line and annotation, not earlier ones", () => {
    const view = run(
      ["value 0 before", "::add-mask::0", "value 0 after 10", "::error::code 0"].join("\n"),
    );
    expect(view.masks).toEqual(["0"]);
    expect(view.log).toEqual(["value 0 before", "value *** after 1***", "##[error]code ***"]);
    expect(view.annotations[0]!.message).toBe("code ***");
  });

  it("ignores commands between ::stop-commands:: and its token, and resumes after it", () => {
    const view = run(
      [
        "::stop-commands::pause-token-1",
        "::error::ignored while stopped",
        "::add-mask::ignored",
        "::pause-token-1::",
        "::error::seen after resuming",
      ].join("\n"),
    );
    expect(view.annotations.map((a) => a.message)).toEqual(["seen after resuming"]);
    expect(view.masks).toEqual(["pause-token-1"]);
    expect(view.log).toContain("::error::ignored while stopped");
  });

  it("keeps only 10 annotations of each type per step, as the runner does", () => {
    const lines = [
      ...Array.from({ length: 12 }, (_, i) => `::error::e${i}`),
      ...Array.from({ length: 11 }, (_, i) => `::warning::w${i}`),
      "::notice::n",
    ];
    const view = run(lines.join("\n"));
    expect(view.issues).toHaveLength(24);
    expect(view.annotations.filter((a) => a.level === "error").map((a) => a.message)).toEqual(
      Array.from({ length: 10 }, (_, i) => `e${i}`),
    );
    expect(view.annotations.filter((a) => a.level === "warning")).toHaveLength(10);
    expect(view.annotations.filter((a) => a.level === "notice")).toHaveLength(1);
    // the dropped ones are still log lines
    expect(view.log).toContain("##[error]e11");
  });

  it("masks the secrets it was given from the start", () => {
    const view = run("token ghs_abc123def456 here", "", ["ghs_abc123def456"]);
    expect(view.log).toEqual(["token *** here"]);
  });

  it("evaluates expressions in defaults as the runner does, and refuses what it cannot", () => {
    const ctx = {
      github: { token: "ghs_jobtoken", repository: "lab/x" },
      runner: { temp: "/tmp/r" },
      env: { NAME: "v" },
    };
    // `${{ … }}`, spelled without a template placeholder
    const $ = "$";
    expect(evaluateDefault(`${$}{{ github.token }}`, ctx)).toBe("ghs_jobtoken");
    expect(evaluateDefault(`${$}{{github.repository}}/${$}{{ runner.temp }}`, ctx)).toBe(
      "lab/x//tmp/r",
    );
    expect(evaluateDefault(`${$}{{ 'it''s' }}`, ctx)).toBe("it's");
    expect(evaluateDefault("plain", ctx)).toBe("plain");
    expect(() => evaluateDefault(`${$}{{ secrets.X || 'y' }}`, ctx)).toThrow(/cannot evaluate/);
  });
});
