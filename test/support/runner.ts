/**
 * What the GitHub Actions runner does with the lines a step prints, after its source
 * (actions/runner: ActionCommandManager, ActionCommand, ExecutionContext.AddIssue, OutputManager):
 *
 * - Each line of stdout and of stderr (split at `\n`, `\r` or `\r\n`, as .NET's ReadLine does)
 *   that holds `::` or `##[` is tried as a workflow command: first `::name k=v,k=v::data` at the
 *   start of the line after leading white space, then the old `##[name k=v;k=v]data` anywhere in it.
 *   Only registered command names count (case-insensitive).
 * - `::stop-commands::TOKEN` turns commands off until a line `::TOKEN::`; `::echo::on|off`;
 *   `::add-mask::VALUE` hides VALUE in every later line and annotation;
 *   `::set-output`/`::save-state` (deprecated) still set values, with a warning annotation;
 *   `::set-env`/`::add-path` are refused with an error annotation.
 * - `::error`, `::warning` and `::notice` become annotations, but the runner keeps only 10 of each
 *   type per step (`_maxCountPerIssueType`); the rest are only log lines. Messages are masked, and
 *   cut at 4,096 characters.
 *
 * The two streams are read one after the other here (the runner interleaves them as they come).
 */

export type AnnotationLevel = "error" | "warning" | "notice";

export interface WorkflowCommand {
  stream: "stdout" | "stderr";
  /** 0-based line number in its stream. */
  line: number;
  /** Lower-cased command name (`error`, `add-mask`, `stop-commands`, a resume token…). */
  name: string;
  properties: Record<string, string>;
  data: string;
  syntax: "::" | "##[";
  raw: string;
}

export interface RunnerAnnotation {
  level: AnnotationLevel;
  message: string;
  title?: string;
  file?: string;
  properties: Record<string, string>;
}

export interface RunnerView {
  /** Every line the runner acted on as a command. */
  commands: WorkflowCommand[];
  /** The annotations the runner keeps and shows: at most 10 per level, in order. */
  annotations: RunnerAnnotation[];
  /** Every annotation the step asked for, the dropped ones included. */
  issues: RunnerAnnotation[];
  /** The step's log as the runner shows it: masked, commands replaced by what the runner writes. */
  log: string[];
  /** Values hidden by `::add-mask::` (and the secrets the runner knew from the start). */
  masks: string[];
  /** `::set-output` and `::save-state` values. */
  legacyOutputs: Record<string, string>;
  state: Record<string, string>;
  debug: string[];
}

export const MAX_ANNOTATIONS_PER_LEVEL = 10;
const MAX_ISSUE_MESSAGE = 4096;

const COMMANDS = new Set([
  "set-env",
  "set-output",
  "save-state",
  "add-mask",
  "add-path",
  "add-matcher",
  "remove-matcher",
  "debug",
  "warning",
  "error",
  "notice",
  "group",
  "endgroup",
  "echo",
  "stop-commands",
]);

// .NET's Char.IsWhiteSpace, which String.TrimStart() trims
const DOTNET_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

const unescapeData = (s: string) =>
  s.replaceAll("%0D", "\r").replaceAll("%0A", "\n").replaceAll("%25", "%");
const unescapeProperty = (s: string) =>
  s
    .replaceAll("%0D", "\r")
    .replaceAll("%0A", "\n")
    .replaceAll("%3A", ":")
    .replaceAll("%2C", ",")
    .replaceAll("%25", "%");
const unescapeV1 = (s: string) =>
  s
    .replaceAll("%3B", ";")
    .replaceAll("%0D", "\r")
    .replaceAll("%0A", "\n")
    .replaceAll("%5D", "]")
    .replaceAll("%25", "%");

type Parsed = Omit<WorkflowCommand, "stream" | "line" | "raw">;

function parseV2(line: string, registered: Set<string>): Parsed | undefined {
  const message = line.replace(DOTNET_SPACE, "");
  if (!message.startsWith("::")) return undefined;
  const end = message.indexOf("::", 2);
  if (end < 0) return undefined;
  const info = message.slice(2, end);
  const space = info.indexOf(" ");
  const name = (space < 0 ? info : info.slice(0, space)).toLowerCase();
  if (!registered.has(name)) return undefined;
  const properties: Record<string, string> = {};
  if (space > 0) {
    for (const p of info
      .slice(space + 1)
      .trim()
      .split(",")
      .filter(Boolean)) {
      const eq = p.indexOf("=");
      if (eq > 0 && eq < p.length - 1)
        properties[p.slice(0, eq).toLowerCase()] = unescapeProperty(p.slice(eq + 1));
    }
  }
  return { name, properties, data: unescapeData(message.slice(end + 2)), syntax: "::" };
}

function parseV1(line: string, registered: Set<string>): Parsed | undefined {
  const start = line.indexOf("##[");
  if (start < 0) return undefined;
  const close = line.indexOf("]", start);
  if (close < 0) return undefined;
  const info = line.slice(start + 3, close);
  const space = info.indexOf(" ");
  const name = (space < 0 ? info : info.slice(0, space)).toLowerCase();
  if (!registered.has(name)) return undefined;
  const properties: Record<string, string> = {};
  if (space > 0) {
    for (const p of info
      .slice(space + 1)
      .split(";")
      .filter(Boolean)) {
      const eq = p.indexOf("=");
      if (eq > 0 && eq < p.length - 1)
        properties[p.slice(0, eq).toLowerCase()] = unescapeV1(p.slice(eq + 1));
    }
  }
  return { name, properties, data: unescapeV1(line.slice(close + 1)), syntax: "##[" };
}

/** The lines of a stream as .NET's StreamReader.ReadLine yields them. */
export function readLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** Runs the runner's command processing over a step's stdout and stderr. */
export function emulateRunner(
  streams: { stdout: string; stderr: string },
  options: {
    secrets?: readonly string[];
    /** Warnings the runner itself raised before the step ran (e.g. unexpected inputs). */
    warnings?: readonly string[];
  } = {},
): RunnerView {
  const view: RunnerView = {
    commands: [],
    annotations: [],
    issues: [],
    log: [],
    masks: [...(options.secrets ?? []).filter((s) => s.length > 0)],
    legacyOutputs: {},
    state: {},
    debug: [],
  };
  const registered = new Set(COMMANDS);
  let stopToken: string | undefined;
  let echo = false;
  const kept: Record<AnnotationLevel, number> = { error: 0, warning: 0, notice: 0 };

  const mask = (text: string): string => {
    let out = text;
    for (const m of [...view.masks].sort((a, b) => b.length - a.length))
      out = out.split(m).join("***");
    return out;
  };
  const write = (line: string): void => {
    view.log.push(mask(line));
  };
  const issue = (level: AnnotationLevel, message: string, properties: Record<string, string>) => {
    const a: RunnerAnnotation = {
      level,
      message: mask(message).slice(0, MAX_ISSUE_MESSAGE),
      properties,
      ...(properties.title !== undefined ? { title: properties.title } : {}),
      ...(properties.file !== undefined ? { file: properties.file } : {}),
    };
    view.issues.push(a);
    if (kept[level] < MAX_ANNOTATIONS_PER_LEVEL) {
      kept[level]++;
      view.annotations.push(a);
    }
    write(`##[${level}]${a.message}`);
  };

  for (const w of options.warnings ?? []) issue("warning", w, {});
  for (const stream of ["stdout", "stderr"] as const) {
    for (const [line, raw] of readLines(streams[stream]).entries()) handle(stream, line, raw);
  }
  return view;

  function handle(stream: "stdout" | "stderr", line: number, raw: string) {
    const parsed =
      raw.includes("::") || raw.includes("##[")
        ? (parseV2(raw, registered) ?? parseV1(raw, registered))
        : undefined;
    if (!parsed) return write(raw);
    if (stopToken !== undefined) {
      if (parsed.name !== stopToken) return write(raw);
      view.commands.push({ ...parsed, stream, line, raw });
      registered.delete(stopToken);
      stopToken = undefined;
      return write(raw);
    }
    view.commands.push({ ...parsed, stream, line, raw });
    const { name, properties, data } = parsed;
    switch (name) {
      case "stop-commands": {
        const token = data.toLowerCase();
        if (token === "" || registered.has(token) || token === "pause-logging") {
          issue("error", `Unable to process command '${raw}' successfully.`, {});
          return;
        }
        stopToken = token;
        registered.add(token);
        if (data.length > 6) view.masks.push(data);
        return write(raw);
      }
      case "add-mask":
        if (data === "") write("##[warning]Can't add secret mask for empty string.");
        else
          view.masks.push(
            ...(data.includes("\n") || data.includes("\r")
              ? data
                  .split(/[\r\n]/)
                  .map((s) => s.trim())
                  .filter(Boolean)
              : [data]),
          );
        if (echo) write("::add-mask::***");
        return;
      case "echo":
        echo = data.trim().toLowerCase() === "on";
        return;
      case "debug":
        view.debug.push(data);
        return write(`##[debug]${data}`);
      case "error":
      case "warning":
      case "notice":
        return issue(name, data, properties);
      case "group":
        return write(`##[group]${data}`);
      case "endgroup":
        return write("##[endgroup]");
      case "set-output":
      case "save-state":
        issue(
          "warning",
          `The \`${name}\` command is deprecated and will be disabled soon. Please upgrade to using Environment Files.`,
          {},
        );
        if (properties.name)
          (name === "set-output" ? view.legacyOutputs : view.state)[properties.name] = data;
        if (echo) write(raw);
        return;
      case "set-env":
      case "add-path":
        issue("error", `Unable to process command '${raw}' successfully.`, {});
        return;
      default:
        if (echo) write(raw);
    }
  }
}

/** The contexts a default in action.yml may read, as far as this emulation knows them. */
export interface ExpressionContext {
  github: Record<string, string>;
  runner: Record<string, string>;
  env: Record<string, string>;
}

/**
 * Evaluates `${{ … }}` in an action.yml default the way the runner does for the expressions
 * this project uses: a context property (`github.token`, `runner.temp`, `env.NAME`) or a string
 * literal. Anything else is an error here, so a default the emulation cannot evaluate is never
 * silently empty.
 */
export function evaluateDefault(text: string, ctx: ExpressionContext): string {
  return text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expr: string) => {
    const literal = /^'((?:[^']|'')*)'$/.exec(expr);
    if (literal) return literal[1]!.replaceAll("''", "'");
    const path = /^(github|runner|env)\.([A-Za-z_][A-Za-z0-9_-]*)$/.exec(expr);
    if (path) return ctx[path[1] as keyof ExpressionContext][path[2]!] ?? "";
    throw new Error(`the runner emulation cannot evaluate \${{ ${expr} }}`);
  });
}
