import { Command, CommanderError, Option } from "commander";
import type { RawSettings } from "../settings/resolve.ts";
import {
  type CliCommand,
  cliLabel,
  SETTING_ROWS,
  type Setting,
  withDefault,
} from "../settings/table.ts";
import { VERSION } from "../version.ts";

/**
 * The CLI's commander program, built from the settings table: every option, argument and help
 * line comes from a row, so the CLI takes exactly what the table says, with its defaults.
 */

export interface Invocation {
  command: CliCommand;
  /** The texts given, keyed by setting name, as resolveSettings takes them. */
  raw: RawSettings;
}

const ENVIRONMENT_HELP = `
Commands: list (the same as --list), export (see export --help), help. A framework named like
one of them is given after --, e.g. reconcile-usage -- list.

Environment (a .env file in the working directory is read too; real variables win):
  OPENAI_ADMIN_KEY                  admin key with the api.usage.read scope (fallback: OPENAI_API_KEY_USAGE_TRACKING)
  OPENAI_API_KEY_{FRAMEWORK}_ID     key id per framework, e.g. OPENAI_API_KEY_BAES_ID=key_…
  ANTHROPIC_ADMIN_KEY               Anthropic Admin API key, for frameworks whose key ids are apikey_…
  ANTHROPIC_API_KEY_{FRAMEWORK}_ID  key id of a framework on Claude, e.g. ANTHROPIC_API_KEY_CLAUDE_ID=apikey_…

Exit status: 0 when no run errored, 1 when any run errored, 2 for bad usage or configuration,
3 when another pass is writing to the same runs directory (nothing was done).`;

/** The rows a command takes as options or arguments. */
export const rowsOf = (command: CliCommand): Setting[] =>
  SETTING_ROWS.filter(
    (r) =>
      r.cli !== undefined &&
      // both commands take [framework] [run-id]: export one framework's runs as a pass reads them
      ("argument" in r.cli || (r.cli.commands ?? (["pass"] as const)).includes(command)),
  );

/** How the CLI names a setting in messages, by the setting's name. */
export function cliName(name: string): string {
  const row = SETTING_ROWS.find((r) => r.name === name);
  return row ? cliLabel(row) : `--${name}`;
}

function optionOf(row: Setting): Option {
  const cli = row.cli as Extract<Setting["cli"], { flag: string }>;
  const option = new Option(cli.flag, withDefault(cli.help, row));
  if (cli.choices) option.choices(cli.choices).default(row.default);
  if (cli.conflicts) option.conflicts([...cli.conflicts]);
  if (cli.repeatable)
    option.argParser((value: string, previous: string[] | undefined) => [
      ...(previous ?? []),
      value,
    ]);
  return option;
}

/** The texts a command was given, by setting name. */
function rawOf(command: Command, rows: readonly Setting[], args: readonly unknown[]): RawSettings {
  const opts = command.opts<Record<string, unknown>>();
  const raw: RawSettings = {};
  let position = 0;
  for (const row of rows) {
    const cli = row.cli!;
    if ("argument" in cli) {
      const value = args[position++];
      raw[row.name] = typeof value === "string" ? value : undefined;
      continue;
    }
    const value = opts[new Option(cli.flag).attributeName()];
    if (cli.value !== undefined) raw[row.name] = value ? cli.value : undefined;
    else if (Array.isArray(value)) raw[row.name] = value.join("\n");
    else raw[row.name] = typeof value === "string" ? value : undefined;
  }
  return raw;
}

function withRows(cmd: Command, command: CliCommand): Setting[] {
  const rows = rowsOf(command);
  for (const row of rows) {
    const cli = row.cli!;
    if ("argument" in cli) cmd.argument(cli.argument, cli.help);
    else cmd.addOption(optionOf(row));
  }
  return rows;
}

export function program(onInvoke: (i: Invocation) => void): Command {
  const root = new Command("reconcile-usage")
    .description(
      "Reconcile LLM experiment runs (runs/{framework}/{run_id}/metrics.json) with the OpenAI Usage API: read exact token usage, verify it by repeated readings, price it, and write it back.",
    )
    .version(VERSION, "-V, --version")
    // options after `export` belong to export, not to the reconcile command
    .enablePositionalOptions();
  const passRows = withRows(root, "pass");
  root
    .addHelpText("after", ENVIRONMENT_HELP)
    .action((...args: unknown[]) =>
      onInvoke({ command: "pass", raw: rawOf(root, passRows, args) }),
    );
  const exportCommand = root
    .command("export")
    .description(
      "Write paper-ready tables from the files (no API calls): one row per run, and per framework the mean ± sd and median of verified runs only; other runs are counted and excluded.",
    );
  const exportRows = withRows(exportCommand, "export");
  exportCommand.action((...args: unknown[]) =>
    // export reads the files only: a listing pass
    onInvoke({
      command: "export",
      raw: { ...rawOf(exportCommand, exportRows, args), mode: "list" },
    }),
  );
  return root;
}

/**
 * The invocation `argv` asks for; the exit status instead when commander answered it itself
 * (`--help`, `--version`: 0) or refused it (an unknown option, a missing value: 2).
 */
/** Options that take a value, so the word after them is not a positional argument. */
const VALUE_FLAGS = new Set(
  SETTING_ROWS.flatMap((r) =>
    r.cli && "flag" in r.cli && r.cli.flag.includes("<") ? [r.cli.flag.split(/[\s,]/)[0]!] : [],
  ),
);

/**
 * `reconcile-usage help [export]` and `reconcile-usage list [framework]` mean what a user expects,
 * `--help` and `--list`, instead of naming a framework called "help" or "list".
 */
export function withCommandWords(argv: readonly string[]): string[] {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    if (arg.startsWith("-")) {
      if (VALUE_FLAGS.has(arg)) i++;
      continue;
    }
    const rest = [...argv.slice(0, i), ...argv.slice(i + 1)];
    if (arg === "help") return argv[i + 1] === "export" ? ["export", "--help"] : ["--help"];
    if (arg === "list") return ["--list", ...rest];
    break;
  }
  return [...argv];
}

export function parseArgs(
  argv: readonly string[],
  out: { stdout: (t: string) => void; stderr: (t: string) => void },
): Invocation | number {
  let invocation: Invocation | undefined;
  const cmd = program((i) => {
    invocation = i;
  });
  for (const c of [cmd, ...cmd.commands])
    c.exitOverride().configureOutput({ writeOut: out.stdout, writeErr: out.stderr });
  try {
    cmd.parse(withCommandWords(argv), { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return invocation ?? 2;
}
