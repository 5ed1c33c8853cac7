import { ConfigError } from "../errors.ts";
import { parseIsoSeconds } from "../util/time.ts";
import {
  bool,
  frameworkList,
  httpUrl,
  keyIds,
  list,
  oneOf,
  optionalText,
  type Parser,
  percent,
  positiveNumber,
  strictBool,
  text,
  wholeNumber,
} from "./parse.ts";

/**
 * Every setting of the tool, one row each: its action input, its CLI spelling, the variables it
 * falls back to, its default, how its text is read, what it means, and which front ends take it.
 * The action reads its inputs from this table and the CLI builds its options and `--help` from it;
 * action.yml, the README's tables and the tests' default settings are checked against or made from
 * it (test/docs.test.ts, scripts/docs.ts). A default lives here and nowhere else.
 */

/** The CLI's commands: a pass (the root command) and `export`. */
export type CliCommand = "pass" | "export";

export type CliSpelling =
  | {
      /** Commander's flags, e.g. `--runs-dir <dir>`; the first word names the setting in messages. */
      flag: string;
      /** `--help`'s line; `{default}` stands for the default. */
      help: string;
      /** The README's line when it says more than `--help`; `{default}` as in `help`. */
      readme?: string;
      /** For a switch: the setting's text when the switch is given (`--list` → `list`). */
      value?: string;
      /** The option may be given several times; the values are joined by line breaks. */
      repeatable?: boolean;
      /** The values commander accepts (it refuses any other itself). */
      choices?: readonly string[];
      /** Options it cannot be given with. */
      conflicts?: readonly string[];
      /** Commands that take it; default the pass only. */
      commands?: readonly CliCommand[];
    }
  | {
      /** A positional argument, e.g. `[framework]`. */
      argument: string;
      help: string;
    };

export interface Setting<T = unknown> {
  /** The action input's name, and the setting's name everywhere else (messages, the README). */
  name: string;
  /** What it means: action.yml's description and the README's inputs table. */
  description: string;
  /** The text taken when neither the setting nor a variable gives one ("" for none). */
  default: string;
  /** action.yml's default when it is not the code's (the workflow's own token). */
  actionDefault?: string;
  /** Variables read, in order, when the setting is not given (the old script's names, the key). */
  env?: readonly string[];
  /** Whether the action takes it as an input. */
  action: boolean;
  /** How the CLI takes it; absent when it does not (it may still read `env`). */
  cli?: CliSpelling;
  /** Its value must never be printed. */
  secret?: boolean;
  parse: Parser<T>;
}

const setting = <T>(row: Setting<T>): Setting<T> => row;

const clock: Parser<number | undefined> = (t, { label }) => {
  if (t.trim() === "") return undefined;
  const parsed = parseIsoSeconds(t);
  if (parsed === undefined)
    throw new ConfigError(
      `${label}: expected an ISO-8601 time such as 2025-11-01T12:00:00Z, got "${t}"`,
    );
  return parsed;
};

const BOTH: readonly CliCommand[] = ["pass", "export"];

/**
 * The rows, in the order they are read (the first bad one is reported) and listed (action.yml,
 * `--help`, the README).
 */
export const SETTINGS = {
  adminKey: setting({
    name: "admin-key",
    description:
      "OpenAI admin key with the api.usage.read scope (pass a secret). Without it the action only lists statuses from the files (fork pull requests get no secrets). Falls back to the OPENAI_ADMIN_KEY and OPENAI_API_KEY_USAGE_TRACKING environment variables.",
    default: "",
    env: ["OPENAI_ADMIN_KEY", "OPENAI_API_KEY_USAGE_TRACKING"],
    action: true,
    secret: true,
    parse: optionalText,
  }),
  anthropicAdminKey: setting({
    name: "anthropic-admin-key",
    description:
      "Anthropic Admin API key (sk-ant-admin…; pass a secret), for frameworks whose key ids are apikey_…. Falls back to the ANTHROPIC_ADMIN_KEY environment variable.",
    default: "",
    env: ["ANTHROPIC_ADMIN_KEY"],
    action: true,
    secret: true,
    parse: optionalText,
  }),
  apiKeyIds: setting({
    name: "api-key-ids",
    description:
      "One line per framework, framework=key_… (OpenAI) or framework=apikey_… (Anthropic): the id of the API key each framework's runs used (not the secret key). Falls back to OPENAI_API_KEY_{FRAMEWORK}_ID and ANTHROPIC_API_KEY_{FRAMEWORK}_ID environment variables.",
    default: "",
    action: true,
    cli: {
      flag: "--api-key-id <framework=key_id>",
      help: "API key id a framework's runs used (repeatable); falls back to OPENAI_API_KEY_{FRAMEWORK}_ID / ANTHROPIC_API_KEY_{FRAMEWORK}_ID",
      readme:
        "key id per framework, repeatable; falls back to `OPENAI_API_KEY_{FRAMEWORK}_ID` / `ANTHROPIC_API_KEY_{FRAMEWORK}_ID` variables",
      repeatable: true,
      commands: BOTH,
    },
    parse: keyIds,
  }),
  runsDir: setting({
    name: "runs-dir",
    description: "Directory (relative to the workspace) holding {framework}/{run_id}/metrics.json.",
    default: "runs",
    action: true,
    cli: {
      flag: "--runs-dir <dir>",
      help: "directory holding {framework}/{run_id}/metrics.json (default: {default})",
      readme: "directory holding `{framework}/{run_id}/metrics.json` (default `{default}`)",
      commands: BOTH,
    },
    parse: text,
  }),
  frameworks: setting({
    name: "frameworks",
    description: "Frameworks to reconcile, separated by spaces, commas or lines; empty for all.",
    default: "",
    action: true,
    cli: { argument: "[framework]", help: "only this framework's runs" },
    parse: frameworkList,
  }),
  runIds: setting({
    name: "run-ids",
    description: "Run ids to reconcile, separated by spaces, commas or lines; empty for all.",
    default: "",
    action: true,
    cli: { argument: "[run-id]", help: "only this run (a unique prefix of its id will do)" },
    parse: list,
  }),
  mode: setting({
    name: "mode",
    description:
      "reconcile (query the Usage API and write results) or list (report statuses from the files, no API calls).",
    default: "reconcile",
    action: true,
    cli: {
      flag: "--list",
      help: "list runs and their status without calling the API",
      value: "list",
    },
    parse: (t, { label }): "reconcile" | "list" => {
      const mode = t.trim();
      if (mode !== "reconcile" && mode !== "list")
        throw new ConfigError(`${label}: expected reconcile or list, got "${mode}"`);
      return mode;
    },
  }),
  minAgeMinutes: setting({
    name: "min-age-minutes",
    description: "Read a run only this many minutes after it ended (the Usage API reports late).",
    default: "30",
    action: true,
    cli: {
      flag: "--min-age-minutes <n>",
      help: "read a run only this long after it ended (default: {default})",
      commands: BOTH,
    },
    parse: wholeNumber(0),
  }),
  verificationIntervalMinutes: setting({
    name: "verification-interval-minutes",
    description:
      "Least time between two readings of a run; identical readings closer than this do not count as a stable check.",
    default: "60",
    env: ["RECONCILIATION_VERIFICATION_INTERVAL_MIN"],
    action: true,
    cli: {
      flag: "--verification-interval-minutes <n>",
      help: "least time between two readings of a run (default: {default}; env RECONCILIATION_VERIFICATION_INTERVAL_MIN)",
      commands: BOTH,
    },
    parse: wholeNumber(1),
  }),
  stableChecks: setting({
    name: "stable-checks",
    description: "Stable pairs of identical readings needed to verify a run.",
    default: "2",
    env: ["RECONCILIATION_MIN_STABLE_VERIFICATIONS"],
    action: true,
    cli: {
      flag: "--stable-checks <n>",
      help: "stable pairs of identical readings that verify a run (default: {default}; env RECONCILIATION_MIN_STABLE_VERIFICATIONS)",
      commands: BOTH,
    },
    parse: wholeNumber(1),
  }),
  giveUpAfterHours: setting({
    name: "give-up-after-hours",
    description:
      "A run with still no usage this many hours after it ended is no_usage (likely a wrong key id).",
    default: "72",
    action: true,
    cli: {
      flag: "--give-up-after-hours <n>",
      help: "no usage this long after a run ended means no_usage (default: {default})",
      commands: BOTH,
    },
    parse: positiveNumber,
  }),
  windowTailSeconds: setting({
    name: "window-tail-seconds",
    description:
      "Seconds after a run's last minute still attributed to it (usage can land in the minute after a request completed).",
    default: "120",
    action: true,
    cli: {
      flag: "--window-tail-seconds <n>",
      help: "seconds after a run's last minute still attributed to it (default: {default})",
      commands: BOTH,
    },
    parse: wholeNumber(0),
  }),
  windowPaddingSeconds: setting({
    name: "window-padding-seconds",
    description:
      "Widen both ends of every run window by this many seconds (the old script used 300; padding makes neighbouring runs ambiguous).",
    default: "0",
    action: true,
    cli: {
      flag: "--window-padding-seconds <n>",
      help: "widen both ends of every window; the old script used 300 (default: {default})",
      commands: BOTH,
    },
    parse: wholeNumber(0),
  }),
  pricingFile: setting({
    name: "pricing-file",
    description:
      "YAML or JSON prices (pricing.models.<model>.input_price / cached_price / output_price, USD per 1M tokens), overriding the experiment's config.yaml and the built-in table.",
    default: "",
    action: true,
    cli: {
      flag: "--pricing-file <file>",
      help: "YAML or JSON prices (pricing.models.<model>.input_price/cached_price/output_price, USD per 1M tokens) overriding config.yaml and the built-in table",
      commands: BOTH,
    },
    parse: optionalText,
  }),
  apiBaseUrl: setting({
    name: "api-base-url",
    description: "Base URL of the OpenAI API.",
    default: "https://api.openai.com/v1",
    action: true,
    cli: {
      flag: "--api-base-url <url>",
      help: "Usage API base URL (default: {default})",
    },
    parse: httpUrl,
  }),
  anthropicApiBaseUrl: setting({
    name: "anthropic-api-base-url",
    description: "Base URL of the Anthropic API (its Admin API usage and cost reports).",
    default: "https://api.anthropic.com/v1",
    action: true,
    cli: {
      flag: "--anthropic-api-base-url <url>",
      help: "Anthropic Admin API base URL (default: {default})",
      commands: BOTH,
    },
    parse: httpUrl,
  }),
  commit: setting({
    name: "commit",
    description:
      "How changes leave the runner: git (commit and push with the checkout's credentials), api (signed commit through the GitHub API), pull-request (signed commits on the branch reconcile-usage/<branch> and one pull request that every pass updates, for protected branches), or none (write files in the workspace only).",
    default: "git",
    action: true,
    parse: oneOf(["git", "api", "pull-request", "none"] as const),
  }),
  commitMessage: setting({
    name: "commit-message",
    description:
      "Commit message; {summary} is replaced by the counts of what changed. Empty for the default message.",
    default: "",
    action: true,
    parse: text,
  }),
  dryRun: setting({
    name: "dry-run",
    description: "Do everything but write files, commit or comment changes.",
    default: "false",
    action: true,
    cli: { flag: "--dry-run", help: "do everything but write files", value: "true" },
    parse: bool,
  }),
  force: setting({
    name: "force",
    description: "Read runs again even when verified, no_usage or read recently.",
    default: "false",
    action: true,
    cli: {
      flag: "--force",
      help: "read runs again even when verified, no_usage or read recently",
      readme: "read runs again even when verified, `no_usage` or read recently",
      value: "true",
    },
    parse: bool,
  }),
  crossCheckCosts: setting({
    name: "cross-check-costs",
    description:
      "Compare our cost of each UTC day's usage, per key, with the Costs API's amount (days younger than 48 h are not yet settled); a difference over cost-tolerance is a warning.",
    default: "false",
    action: true,
    cli: {
      flag: "--cross-check-costs",
      help: "compare our cost of each day's usage, per key, with the Costs API",
      readme: "compare our cost of each day's usage, per key, with the Costs API (see below)",
      value: "true",
    },
    parse: bool,
  }),
  costTolerance: setting({
    name: "cost-tolerance",
    description:
      "Largest difference between our cost and the Costs API's, in percent of theirs, before a day is flagged.",
    default: "1",
    action: true,
    cli: {
      flag: "--cost-tolerance <percent>",
      help: "difference from the Costs API flagged as a warning (default: {default}%)",
    },
    parse: percent,
  }),
  passDeadlineMinutes: setting({
    name: "pass-deadline-minutes",
    description:
      "Longest time a pass spends reading the Usage and Costs APIs (each request also gives up after 60 s, headers and body together). Runs not read by then are error for this pass and are read again by the next one.",
    default: "10",
    action: true,
    cli: {
      flag: "--pass-deadline-minutes <n>",
      help: "longest time the pass reads the API; runs not read by then are error (default: {default})",
      readme:
        "longest time the pass reads the Usage and Costs APIs (default {default}; fractions allowed); runs not read by then are `error` for this pass and read again by the next",
    },
    parse: positiveNumber,
  }),
  comment: setting({
    name: "comment",
    description:
      "Sticky pull-request comment with the status of the runs a pull request adds or changes: auto (on pull_request events), always, or never.",
    default: "auto",
    action: true,
    parse: oneOf(["auto", "always", "never"] as const),
  }),
  githubToken: setting({
    name: "github-token",
    description:
      "Token for pull-request comments, commit: api and commit: pull-request, and for reading a pull request's run files on pull_request_target.",
    default: "",
    // the workflow's own token, as a workflow expression (not a template string)
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, kept literally
    actionDefault: "${{ github.token }}",
    action: true,
    secret: true,
    parse: optionalText,
  }),
  failOnError: setting({
    name: "fail-on-error",
    description:
      "Fail the step when a run or file errored (after everything else was written and committed); false turns it into a warning.",
    default: "true",
    action: true,
    parse: strictBool,
  }),
  holdIdenticalReadings: setting({
    name: "hold-identical-readings",
    description:
      "Keep readings that only repeat a file's last reading in the Actions cache instead of committing them, until the run's status or tokens change.",
    default: "true",
    action: true,
    parse: strictBool,
  }),
  reportPath: setting({
    name: "report-path",
    description: "Where to write the JSON report of the pass; empty for a file under RUNNER_TEMP.",
    default: "",
    action: true,
    parse: optionalText,
  }),
  now: setting({
    name: "now",
    description:
      "The pass's clock, for reproducible passes; refused when a pass would read the real Usage API.",
    default: "",
    action: false,
    cli: {
      flag: "--now <iso-time>",
      help: "the pass's clock, for reproducible passes (default: the current time); refused when a pass would read the real Usage API: use it with --replay or --list",
      readme:
        "the pass's clock, for reproducible passes; refused (exit 2) when a pass would read the real Usage API (`api.openai.com`), which answers with what it holds now, so readings under another clock could verify a run too early: use it with `--replay`, `--list`, `export` or another `--api-base-url`",
      commands: BOTH,
    },
    parse: clock,
  }),
  verbose: setting({
    name: "verbose",
    description: "Full run ids, messages and every reading.",
    default: "false",
    action: false,
    cli: {
      flag: "--verbose",
      help: "with --list (or a pass): full run ids, messages and every reading",
      value: "true",
    },
    parse: bool,
  }),
  record: setting({
    name: "record",
    description: "Save every raw Usage API page of the pass in this directory.",
    default: "",
    action: false,
    cli: {
      flag: "--record <dir>",
      help: "save every raw Usage API page of the pass in this directory",
    },
    parse: optionalText,
  }),
  replay: setting({
    name: "replay",
    description: "Answer from pages saved by --record instead of the network.",
    default: "",
    action: false,
    cli: {
      flag: "--replay <dir>",
      help: "answer from pages saved by --record instead of the network (no admin key needed)",
      readme:
        "answer from pages saved by `--record` instead of the network (offline audits, the demo; no admin key needed)",
      conflicts: ["record"],
    },
    parse: optionalText,
  }),
  json: setting({
    name: "json",
    description: "Print the pass's JSON report instead of tables.",
    default: "false",
    action: false,
    cli: {
      flag: "--json",
      help: "print the pass's JSON report instead of tables",
      value: "true",
    },
    parse: bool,
  }),
  debug: setting({
    name: "debug",
    description: "On an unexpected error, also print where it happened.",
    default: "false",
    action: false,
    cli: {
      flag: "--debug",
      help: "on an unexpected error, also print where it happened (or RECONCILE_USAGE_DEBUG=1)",
      readme: "on an unexpected error, also print where it happened (or `RECONCILE_USAGE_DEBUG=1`)",
      value: "true",
      commands: BOTH,
    },
    parse: bool,
  }),
  format: setting({
    name: "format",
    description: "The export's format: csv, md, json or tex (LaTeX, booktabs).",
    default: "md",
    action: false,
    cli: {
      flag: "--format <format>",
      help: "output format (tex: LaTeX tables with booktabs rules)",
      choices: ["csv", "md", "json", "tex"],
      commands: ["export"],
    },
    parse: oneOf(["csv", "md", "json", "tex"] as const),
  }),
  table: setting({
    name: "table",
    description:
      "Which of the export's tables: runs (one row per run), frameworks (statistics of verified runs), or both.",
    default: "both",
    action: false,
    cli: {
      flag: "--table <table>",
      help: "runs, frameworks or both; csv on standard output holds one table, runs unless frameworks is asked for",
      choices: ["both", "runs", "frameworks"],
      commands: ["export"],
    },
    parse: oneOf(["both", "runs", "frameworks"] as const),
  }),
  output: setting({
    name: "output",
    description: "Write the export to this file instead of standard output.",
    default: "",
    action: false,
    cli: {
      flag: "--output <file>",
      help: "write to this file instead of standard output (csv with both tables: the per-framework one goes to <file>.frameworks.csv)",
      commands: ["export"],
    },
    parse: optionalText,
  }),
};

export type SettingKey = keyof typeof SETTINGS;
type ValueOf<S> = S extends Setting<infer T> ? T : never;
/** Every setting's value, read and checked. */
export type SettingValues = { [K in SettingKey]: ValueOf<(typeof SETTINGS)[K]> };

export const SETTING_ROWS: ReadonlyArray<Setting> = Object.values(SETTINGS);

/** How the CLI names a setting in messages: its option, its argument, or the variable it comes from. */
export function cliLabel(row: Setting): string {
  if (row.cli && "flag" in row.cli) return row.cli.flag.split(/[\s,]/)[0]!;
  if (row.cli && "argument" in row.cli) return `<${row.cli.argument.replace(/^[[<]|[\]>]$/g, "")}>`;
  return row.env?.[0] ?? `--${row.name}`;
}

/** A CLI line's text with `{default}` filled in. */
export const withDefault = (line: string, row: Setting): string =>
  line.replaceAll("{default}", row.default);
