export const id = 986;
export const ids = [986];
export const modules = {

/***/ 3986:
/***/ ((__webpack_module__, __webpack_exports__, __webpack_require__) => {

__webpack_require__.a(__webpack_module__, async (__webpack_handle_async_dependencies__, __webpack_async_result__) => { try {
__webpack_require__.r(__webpack_exports__);
/* harmony import */ var _cli_main_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7429);

// A closed pipe (`reconcile-usage --list | head`) is not an error worth a stack trace.
process.stdout.on("error", (error) => {
    if (error.code === "EPIPE")
        process.exit(process.exitCode ?? 0);
    throw error;
});
process.exitCode = await (0,_cli_main_js__WEBPACK_IMPORTED_MODULE_0__/* .main */ .i)(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    interactive: Boolean(process.stderr.isTTY),
});

__webpack_async_result__();
} catch(e) { __webpack_async_result__(e); } }, 1);

/***/ }),

/***/ 7429:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  i: () => (/* binding */ main_main)
});

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(1455);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: external "node:util"
var external_node_util_ = __webpack_require__(7975);
// EXTERNAL MODULE: ./node_modules/commander/index.js + 6 modules
var commander = __webpack_require__(7375);
;// CONCATENATED MODULE: ./build/config/errors.js
/** Bad usage or configuration: reported before any request, exit code 2. */
class ConfigError extends Error {
    constructor(message) {
        super(message);
        this.name = "ConfigError";
    }
}

;// CONCATENATED MODULE: ./build/util/redact.js
/**
 * Shapes of secrets that may come back in text we print: OpenAI keys (the API echoes a masked key
 * in some errors), GitHub tokens, and credentials inside URLs.
 */
const SECRET_PATTERNS = [
    [/sk-[A-Za-z0-9_*-]{4,}/g, "sk-***"],
    [/\bgh[pousr]_[A-Za-z0-9]{16,}/g, "gh*_***"],
    [/\bgithub_pat_[A-Za-z0-9_]{16,}/g, "github_pat_***"],
    [/(\/\/)[^/\s:@]+:[^/\s@]+@/g, "$1***@"],
];
/**
 * Removes secrets from text that may reach a log, a summary or an error message: the given
 * values wherever they appear, and anything shaped like a key or token.
 */
function redact(text, secrets = []) {
    let out = text;
    for (const s of secrets) {
        if (s && s.length >= 4)
            out = out.split(s).join("***");
    }
    for (const [pattern, replacement] of SECRET_PATTERNS)
        out = out.replace(pattern, replacement);
    return out;
}

;// CONCATENATED MODULE: ./build/config/settings.js


const DEFAULTS = {
    "runs-dir": "runs",
    mode: "reconcile",
    "min-age-minutes": "30",
    "verification-interval-minutes": "60",
    "stable-checks": "2",
    "give-up-after-hours": "72",
    "window-tail-seconds": "120",
    "window-padding-seconds": "0",
    "api-base-url": "https://api.openai.com/v1",
    "dry-run": "false",
    force: "false",
    "cross-check-costs": "false",
    "cost-tolerance": "1",
};
/** Old script's environment variables, read when the setting is not given. */
const ENV_FALLBACKS = {
    "verification-interval-minutes": "RECONCILIATION_VERIFICATION_INTERVAL_MIN",
    "stable-checks": "RECONCILIATION_MIN_STABLE_VERIFICATIONS",
};
const KEY_ID_PATTERN = /^key_[A-Za-z0-9_-]+$/;
const FRAMEWORK_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const KEY_ENV = /^OPENAI_API_KEY_(.+)_ID$/;
function wholeNumber(label, text, min) {
    if (!/^\d+$/.test(text.trim()) || Number(text) < min) {
        throw new ConfigError(`${label}: expected a whole number ≥ ${min}, got "${text}"`);
    }
    return Number(text);
}
function positiveNumber(label, text) {
    const n = Number(text.trim());
    if (text.trim() === "" || !Number.isFinite(n) || n <= 0)
        throw new ConfigError(`${label}: expected a number > 0, got "${text}"`);
    return n;
}
/** A percentage, with or without its `%` sign. */
function percent(label, text) {
    const t = text.trim().replace(/%$/, "");
    const n = Number(t);
    if (t === "" || !Number.isFinite(n) || n < 0)
        throw new ConfigError(`${label}: expected a percentage ≥ 0 such as 1 or 0.5%, got "${text}"`);
    return n;
}
function bool(label, text) {
    const t = text.trim().toLowerCase();
    if (["true", "1", "yes"].includes(t))
        return true;
    if (["false", "0", "no", ""].includes(t))
        return false;
    throw new ConfigError(`${label}: expected true or false, got "${text}"`);
}
/** Comma, space or newline separated names. */
function parseList(text) {
    return (text ?? "").split(/[\s,]+/).filter(Boolean);
}
/** `framework=key_…` lines (or comma separated); a framework twice or a key for two frameworks is an error. */
function parseKeyIds(text, label) {
    const map = {};
    const owner = new Map();
    for (const item of text
        .split(/[\n,]+/)
        .map((s) => s.trim())
        .filter((s) => s && !s.startsWith("#"))) {
        const m = /^([^=\s]+)\s*=\s*(\S+)$/.exec(item);
        // a secret key pasted here must not reach a log: echo what was given only once masked
        if (!m)
            throw new ConfigError(`${label}: expected framework=key_… , got "${redact(item)}"`);
        const [, framework, keyId] = m;
        addKeyId(map, owner, framework, keyId, label);
    }
    return map;
}
function addKeyId(map, owner, framework, keyId, label) {
    if (!FRAMEWORK_PATTERN.test(framework))
        throw new ConfigError(`${label}: "${redact(framework)}" is not a framework directory name`);
    if (!KEY_ID_PATTERN.test(keyId)) {
        throw new ConfigError(`${label}: "${redact(keyId)}" for ${framework} is not an API key id; expected key_ followed by letters and digits (the id shown in the OpenAI dashboard, not the secret sk-… key)`);
    }
    if (map[framework] !== undefined && map[framework] !== keyId) {
        throw new ConfigError(`${label}: framework ${framework} is given two key ids (${map[framework]} and ${keyId})`);
    }
    const other = owner.get(keyId);
    if (other !== undefined && other !== framework) {
        throw new ConfigError(`${label}: key id ${keyId} is given for both ${other} and ${framework}; each framework needs its own key, or its usage cannot be told apart`);
    }
    map[framework] = keyId;
    owner.set(keyId, framework);
}
/** `OPENAI_API_KEY_{FW}_ID` variables, for frameworks the explicit setting leaves out. */
function keyIdsFromEnv(env, explicit, label) {
    const map = { ...explicit };
    const owner = new Map(Object.entries(map).map(([f, k]) => [k, f]));
    for (const [name, value] of Object.entries(env).sort()) {
        const m = KEY_ENV.exec(name);
        if (!m || !value?.trim())
            continue;
        const framework = m[1].toLowerCase();
        if (map[framework] !== undefined)
            continue;
        addKeyId(map, owner, framework, value.trim(), `${label} (from ${name})`);
    }
    return map;
}
function resolveSettings(raw, env, label) {
    const get = (name) => {
        const given = raw[name];
        if (given !== undefined && given.trim() !== "")
            return given;
        const fallback = ENV_FALLBACKS[name];
        const fromEnv = fallback ? env[fallback] : undefined;
        if (fromEnv !== undefined && fromEnv.trim() !== "")
            return fromEnv;
        return DEFAULTS[name] ?? "";
    };
    const labelOf = (name) => {
        const fallback = ENV_FALLBACKS[name];
        const fromEnv = (raw[name] === undefined || raw[name]?.trim() === "") && fallback && env[fallback]?.trim();
        return fromEnv ? `${fallback} (for ${label(name)})` : label(name);
    };
    const mode = get("mode").trim();
    if (mode !== "reconcile" && mode !== "list")
        throw new ConfigError(`${label("mode")}: expected reconcile or list, got "${mode}"`);
    const apiBaseUrl = get("api-base-url").trim();
    let url;
    try {
        url = new URL(apiBaseUrl);
    }
    catch {
        throw new ConfigError(`${label("api-base-url")}: expected an http(s) URL, got "${apiBaseUrl}"`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
        throw new ConfigError(`${label("api-base-url")}: expected an http(s) URL, got "${apiBaseUrl}"`);
    }
    const frameworks = parseList(raw.frameworks);
    for (const f of frameworks)
        if (!FRAMEWORK_PATTERN.test(f))
            throw new ConfigError(`${label("frameworks")}: "${f}" is not a framework directory name`);
    const explicitKeys = parseKeyIds(raw["api-key-ids"] ?? "", label("api-key-ids"));
    const adminKey = raw["admin-key"]?.trim() ||
        env.OPENAI_ADMIN_KEY?.trim() ||
        env.OPENAI_API_KEY_USAGE_TRACKING?.trim() ||
        undefined;
    const pricingFile = raw["pricing-file"]?.trim() || undefined;
    return {
        pass: {
            runsDir: get("runs-dir").trim(),
            frameworks,
            runIds: parseList(raw["run-ids"]),
            apiKeyIds: keyIdsFromEnv(env, explicitKeys, label("api-key-ids")),
            mode,
            dryRun: bool(labelOf("dry-run"), get("dry-run")),
            force: bool(labelOf("force"), get("force")),
            crossCheckCosts: bool(labelOf("cross-check-costs"), get("cross-check-costs")),
            costTolerancePercent: percent(labelOf("cost-tolerance"), get("cost-tolerance")),
            minAgeMinutes: wholeNumber(labelOf("min-age-minutes"), get("min-age-minutes"), 0),
            verificationIntervalMinutes: wholeNumber(labelOf("verification-interval-minutes"), get("verification-interval-minutes"), 1),
            stableChecks: wholeNumber(labelOf("stable-checks"), get("stable-checks"), 1),
            giveUpAfterHours: positiveNumber(labelOf("give-up-after-hours"), get("give-up-after-hours")),
            windowTailSeconds: wholeNumber(labelOf("window-tail-seconds"), get("window-tail-seconds"), 0),
            windowPaddingSeconds: wholeNumber(labelOf("window-padding-seconds"), get("window-padding-seconds"), 0),
        },
        adminKey,
        apiBaseUrl: apiBaseUrl.replace(/\/+$/, ""),
        pricingFile,
    };
}

// EXTERNAL MODULE: ./node_modules/zod/v4/classic/schemas.js + 17 modules
var schemas = __webpack_require__(8816);
;// CONCATENATED MODULE: ./build/report/stats.js
/** Descriptive statistics for the reports: sample standard deviation (n − 1), middle-value median. */
function mean(values) {
    return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}
function sd(values) {
    const m = mean(values);
    if (m === null)
        return null;
    if (values.length === 1)
        return 0;
    return Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1));
}
function median(values) {
    if (values.length === 0)
        return null;
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

;// CONCATENATED MODULE: ./build/verify/status.js

/** Verification statuses, in the order reports list them. */
const STATUSES = [
    "verified",
    "pending",
    "data_not_available",
    "too_recent",
    "warning",
    "ambiguous",
    "no_usage",
    "error",
];
const StatusSchema = schemas/* enum */.k5n(STATUSES);
/** Statuses a pass records in `metrics.json`; the others describe this pass only. */
const PERSISTED_STATUSES = new Set([
    "verified",
    "pending",
    "data_not_available",
    "warning",
    "ambiguous",
    "no_usage",
]);
/** Statuses that ask a person to do something. */
const ATTENTION_STATUSES = new Set([
    "warning",
    "ambiguous",
    "no_usage",
    "error",
]);

;// CONCATENATED MODULE: ./build/export/export.js



/**
 * `reconcile-usage export`: paper-ready tables. One row per run, and per framework the statistics
 * of VERIFIED runs only; every other run is counted by status and excluded, never mixed in.
 * The zod schemas document the JSON format.
 */
const stat = schemas/* object */.Ikc({
    mean: schemas/* number */.aig().nullable(),
    sd: schemas/* number */.aig().nullable(),
    median: schemas/* number */.aig().nullable(),
});
const ExportRunSchema = schemas/* object */.Ikc({
    framework: schemas/* string */.YjP(),
    run_id: schemas/* string */.YjP(),
    window_start: schemas/* string */.YjP().nullable(),
    window_end: schemas/* string */.YjP().nullable(),
    status: StatusSchema,
    tokens_in: schemas/* number */.aig().nullable(),
    tokens_out: schemas/* number */.aig().nullable(),
    cached_tokens: schemas/* number */.aig().nullable(),
    requests: schemas/* number */.aig().nullable(),
    cost_usd: schemas/* number */.aig().nullable(),
    stable_checks: schemas/* number */.aig(),
    verified_at: schemas/* string */.YjP().nullable(),
});
const ExportFrameworkSchema = schemas/* object */.Ikc({
    framework: schemas/* string */.YjP(),
    /** Verified runs: the only ones in the statistics. */
    n: schemas/* number */.aig(),
    tokens_in: stat,
    tokens_out: stat,
    cached_tokens: stat,
    requests: stat,
    /** Over verified runs with a known cost; `cost_n` says how many. */
    cost_usd: stat,
    cost_n: schemas/* number */.aig(),
    /** Runs left out of the statistics, by status. */
    excluded: schemas/* record */.g1P(schemas/* string */.YjP(), schemas/* number */.aig()),
});
const ExportSchema = schemas/* object */.Ikc({
    generated_at: schemas/* string */.YjP(),
    version: schemas/* string */.YjP(),
    runs: schemas/* array */.YOg(ExportRunSchema),
    frameworks: schemas/* array */.YOg(ExportFrameworkSchema),
});
const statOf = (values) => ({
    mean: mean(values),
    sd: sd(values),
    median: median(values),
});
function buildExport(report) {
    const runs = report.runs.map((r) => ({
        framework: r.framework,
        run_id: r.run_id,
        window_start: r.window?.start ?? null,
        window_end: r.window?.end ?? null,
        status: r.status,
        tokens_in: r.tokens_in,
        tokens_out: r.tokens_out,
        cached_tokens: r.cached_tokens,
        requests: r.api_calls,
        cost_usd: r.cost_usd,
        stable_checks: r.stable_checks,
        verified_at: r.verified_at,
    }));
    const names = [...new Set(runs.map((r) => r.framework).filter(Boolean))].sort();
    const frameworks = names.map((framework) => {
        const mine = runs.filter((r) => r.framework === framework);
        const verified = mine.filter((r) => r.status === "verified");
        const pick = (f) => verified.flatMap((r) => (f(r) === null ? [] : [f(r)]));
        const costs = pick((r) => r.cost_usd);
        const excluded = {};
        for (const s of STATUSES) {
            const n = mine.filter((r) => r.status === s && s !== "verified").length;
            if (n > 0)
                excluded[s] = n;
        }
        return {
            framework,
            n: verified.length,
            tokens_in: statOf(pick((r) => r.tokens_in)),
            tokens_out: statOf(pick((r) => r.tokens_out)),
            cached_tokens: statOf(pick((r) => r.cached_tokens)),
            requests: statOf(pick((r) => r.requests)),
            cost_usd: statOf(costs),
            cost_n: costs.length,
            excluded,
        };
    });
    return { generated_at: report.now, version: report.version, runs, frameworks };
}
// ---- CSV ----
/** RFC 4180 quoting, and a leading quote on text a spreadsheet would run as a formula. */
function csvCell(value) {
    if (value === null)
        return "";
    if (typeof value === "number")
        return String(value);
    const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
    return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
const csvLines = (header, rows) => [header.join(","), ...rows.map((r) => r.map(csvCell).join(","))].join("\n");
function runsCsv(data) {
    const header = Object.keys(ExportRunSchema.shape);
    return `${csvLines(header, data.runs.map((r) => header.map((k) => r[k])))}\n`;
}
function frameworksCsv(data) {
    const metrics = ["tokens_in", "tokens_out", "cached_tokens", "requests", "cost_usd"];
    const header = [
        "framework",
        "n",
        ...metrics.flatMap((m) => [`${m}_mean`, `${m}_sd`, `${m}_median`]),
        "cost_n",
        ...STATUSES.filter((s) => s !== "verified").map((s) => `excluded_${s}`),
    ];
    const rows = data.frameworks.map((f) => [
        f.framework,
        f.n,
        ...metrics.flatMap((m) => [f[m].mean, f[m].sd, f[m].median]),
        f.cost_n,
        ...STATUSES.filter((s) => s !== "verified").map((s) => f.excluded[s] ?? 0),
    ]);
    return `${csvLines(header, rows)}\n`;
}
// ---- Markdown ----
const md = (v) => (v ?? "–").replace(/\|/g, "\\|").replace(/[\r\n]+/g, " ");
const num = (v, digits = 0) => v === null
    ? "–"
    : v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const money = (v) => (v === null ? "–" : `$${v.toFixed(4)}`);
function toMarkdown(data) {
    const runRows = data.runs.map((r) => [
        md(r.framework),
        md(r.run_id),
        md(r.window_start),
        md(r.window_end),
        r.status,
        num(r.tokens_in),
        num(r.tokens_out),
        num(r.cached_tokens),
        num(r.requests),
        money(r.cost_usd),
        String(r.stable_checks),
        md(r.verified_at),
    ].join(" | "));
    const cell = (s, f) => (s.mean === null ? "–" : `${f(s.mean)} ± ${f(s.sd)} (median ${f(s.median)})`);
    const fwRows = data.frameworks.map((f) => {
        const excluded = Object.entries(f.excluded)
            .map(([s, n]) => `${n} ${s}`)
            .join(", ") || "none";
        return [
            md(f.framework),
            String(f.n),
            cell(f.tokens_in, (v) => num(v)),
            cell(f.tokens_out, (v) => num(v)),
            cell(f.cost_usd, money),
            excluded,
        ].join(" | ");
    });
    return [
        `## Runs (${data.runs.length})`,
        "",
        "| framework | run | window start | window end | status | tokens in | tokens out | cached | requests | cost (USD) | stable checks | verified at |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---|",
        ...runRows.map((r) => `| ${r} |`),
        "",
        "## Verified runs per framework",
        "",
        "Mean ± sample standard deviation (median) over verified runs only; other runs are counted and excluded.",
        "",
        "| framework | n | tokens in | tokens out | cost (USD) | excluded (not verified) |",
        "|---|---:|---:|---:|---:|---|",
        ...fwRows.map((r) => `| ${r} |`),
        "",
        `<sub>reconcile-usage ${data.version}, ${data.generated_at}</sub>`,
        "",
    ].join("\n");
}
function toJson(data) {
    return `${JSON.stringify(ExportSchema.parse(data), null, 2)}\n`;
}

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
;// CONCATENATED MODULE: ./build/fs/node.js



/** Writes to a temporary file beside the target, flushes it, then renames it over the target. */
async function writeAtomic(path, text) {
    const temp = (0,external_node_path_.join)((0,external_node_path_.dirname)(path), `.${(0,external_node_path_.basename)(path)}.${(0,external_node_crypto_.randomBytes)(6).toString("hex")}.tmp`);
    let mode;
    try {
        mode = (await (0,promises_.stat)(path)).mode & 0o777;
    }
    catch {
        mode = undefined;
    }
    const handle = await (0,promises_.open)(temp, "wx", mode ?? 0o644);
    try {
        await handle.writeFile(text, "utf8");
        await handle.sync();
    }
    finally {
        await handle.close();
    }
    try {
        await (0,promises_.rename)(temp, path);
    }
    catch (error) {
        await (0,promises_.unlink)(temp).catch(() => undefined);
        throw error;
    }
}
const nodeFiles = {
    async list(dir) {
        const entries = await (0,promises_.readdir)(dir, { withFileTypes: true });
        return entries.map((e) => ({
            name: e.name,
            kind: e.isSymbolicLink()
                ? "symlink"
                : e.isDirectory()
                    ? "dir"
                    : e.isFile()
                        ? "file"
                        : "other",
        }));
    },
    read: (path) => (0,promises_.readFile)(path),
    writeAtomic,
    async exists(path) {
        try {
            await (0,promises_.lstat)(path);
            return true;
        }
        catch {
            return false;
        }
    },
};

// EXTERNAL MODULE: ./node_modules/yaml/dist/index.js
var dist = __webpack_require__(8815);
;// CONCATENATED MODULE: ./build/util/time.js
/** Time helpers. All times inside the core are Unix seconds (numbers); minutes are aligned to 60 s. */
const time_MINUTE = 60;
const floorMinute = (t) => Math.floor(t / time_MINUTE) * time_MINUTE;
const ceilMinute = (t) => Math.ceil(t / time_MINUTE) * time_MINUTE;
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;
/**
 * Parses an ISO-8601 timestamp to Unix seconds (with fraction). A timestamp without an offset is
 * UTC: the experiments' Python code wrote naive UTC times, and reading them as local time would
 * shift every window by the runner's offset.
 */
function parseIsoSeconds(text) {
    const m = ISO.exec(text.trim());
    if (!m)
        return undefined;
    const [, y, mo, d, h, mi, s, frac, zone] = m;
    const base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
    if (Number.isNaN(base))
        return undefined;
    const check = new Date(base);
    if (check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1)
        return undefined;
    let seconds = base / 1000 + (frac ? Number(`0${frac}`) : 0);
    if (zone && zone !== "Z") {
        const sign = zone.startsWith("-") ? -1 : 1;
        const digits = zone.slice(1).replace(":", "");
        seconds -= sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2)) * 60);
    }
    return seconds;
}
/**
 * Formats a time the way the old Python script wrote attempt timestamps
 * (`2025-10-30T11:42:05.259428+00:00`), so old and new attempts read alike.
 */
function formatIsoSeconds(seconds) {
    // whole microseconds first, so 36.9999995 s becomes 37.000000, not 36 s and 1,000,000 µs
    const micros = Math.round(seconds * 1e6);
    const wholeSeconds = Math.floor(micros / 1e6);
    const fraction = String(micros - wholeSeconds * 1e6).padStart(6, "0");
    return `${new Date(wholeSeconds * 1000).toISOString().slice(0, 19)}.${fraction}+00:00`;
}
/** `2025-10-30 11:42 UTC`, for tables and messages. */
function formatMinute(seconds) {
    return `${new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

;// CONCATENATED MODULE: ./build/runs/schema.js


/**
 * Shapes of `metrics.json`, as the experiment frameworks and the old reconciliation script wrote
 * them (both the current format and legacy v1). Objects are loose: experiment-specific keys are
 * kept untouched, and we only constrain what we read.
 */
/** Token and request counts: whole, non-negative and exact in a double (no silent rounding). */
const count = schemas/* int */.Whr().nonnegative();
const isoTimestamp = schemas/* string */.YjP()
    .refine((s) => parseIsoSeconds(s) !== undefined, { message: "expected an ISO-8601 timestamp" });
/** Step times are integer Unix seconds; one legacy step has them null. */
const stepTime = schemas/* number */.aig().nonnegative().nullable().optional();
const LEGACY_STEP_TOKEN_FIELDS = [
    "tokens_in",
    "tokens_out",
    "api_calls",
    "cached_tokens",
];
const StepSchema = schemas/* looseObject */._H3({
    step: schemas/* number */.aig().int().optional(),
    step_number: schemas/* number */.aig().int().optional(),
    start_timestamp: stepTime,
    end_timestamp: stepTime,
    tokens_in: count.optional(),
    tokens_out: count.optional(),
    api_calls: count.optional(),
    cached_tokens: count.optional(),
});
/** Usage of one model (and batch / service tier) inside a reading. */
const ModelUsageSchema = schemas/* looseObject */._H3({
    model: schemas/* string */.YjP(),
    batch: schemas/* boolean */.zMY().nullable().optional(),
    service_tier: schemas/* string */.YjP().nullable().optional(),
    tokens_in: count,
    tokens_out: count,
    cached_tokens: count,
    api_calls: count,
});
/** Usage in minutes this run shares with other runs on its key: reported, never added. */
const SharedUsageSchema = schemas/* looseObject */._H3({
    with_runs: schemas/* array */.YOg(schemas/* string */.YjP()),
    minutes: count,
    tokens_in: count,
    tokens_out: count,
    cached_tokens: count,
    api_calls: count,
});
const QueryWindowSchema = schemas/* looseObject */._H3({
    start: schemas/* number */.aig(),
    end: schemas/* number */.aig(),
    buffer_seconds: schemas/* number */.aig().optional(),
    tail_seconds: schemas/* number */.aig().optional(),
});
/**
 * One reading of the Usage API for a run. The first six keys are the old script's; the rest are
 * ours, added beside them. Legacy attempts also carry per-step breakdowns, which we keep as is.
 */
const AttemptSchema = schemas/* looseObject */._H3({
    timestamp: isoTimestamp,
    total_tokens_in: count,
    total_tokens_out: count,
    total_api_calls: count,
    total_cached_tokens: count,
    query_window: QueryWindowSchema.optional(),
    api_key_id: schemas/* string */.YjP().optional(),
    models: schemas/* array */.YOg(ModelUsageSchema).optional(),
    shared: SharedUsageSchema.optional(),
    tool: schemas/* string */.YjP().optional(),
});
const ReconciliationSchema = schemas/* looseObject */._H3({
    verification_status: schemas/* string */.YjP().optional(),
    verification_message: schemas/* string */.YjP().nullable().optional(),
    verified_at: schemas/* string */.YjP().nullable().optional(),
    attempts: schemas/* array */.YOg(AttemptSchema).optional(),
});
const AggregateMetricsSchema = schemas/* looseObject */._H3({
    TOK_IN: count.optional(),
    TOK_OUT: count.optional(),
    API_CALLS: count.optional(),
    CACHED_TOKENS: count.optional(),
    COST_USD: schemas/* number */.aig().nonnegative().nullable().optional(),
});
const MetricsFileSchema = schemas/* looseObject */._H3({
    run_id: schemas/* string */.YjP().min(1),
    model: schemas/* string */.YjP().optional(),
    start_timestamp: isoTimestamp.nullable().optional(),
    end_timestamp: isoTimestamp.nullable().optional(),
    steps: schemas/* array */.YOg(StepSchema).optional(),
    aggregate_metrics: AggregateMetricsSchema.optional(),
    cost_breakdown: schemas/* looseObject */._H3({}).optional(),
    verification_status: schemas/* string */.YjP().optional(),
    usage_api_reconciliation: ReconciliationSchema.optional(),
});
const ManifestEntrySchema = schemas/* looseObject */._H3({
    run_id: schemas/* string */.YjP(),
    framework: schemas/* string */.YjP().optional(),
    path: schemas/* string */.YjP().optional(),
    start_time: isoTimestamp.nullable().optional(),
    end_time: isoTimestamp.nullable().optional(),
    verification_status: schemas/* string */.YjP().optional(),
    total_tokens_in: count.optional(),
    total_tokens_out: count.optional(),
});
const ManifestSchema = schemas/* looseObject */._H3({
    runs: schemas/* array */.YOg(ManifestEntrySchema),
});
/** Turns zod issues into one line that names the field: `steps[2].end_timestamp: expected number`. */
function describeIssues(error) {
    return error.issues
        .slice(0, 5)
        .map((issue) => {
        const path = issue.path
            .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
            .join("");
        return `${path || "(root)"}: ${issue.message}`;
    })
        .join("; ")
        .concat(error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : "");
}

;// CONCATENATED MODULE: ./build/pricing/builtin-prices.js
const BUILTIN_PRICES = {
    as_of: "2025-09",
    source: "LiteLLM model_prices_and_context_window.json (tokencost e7f7c19, 2025-09; litellm 00035b6), USD per token x 1e6; corrections and reasons in scripts/price-notes.json",
    models: {
        "chatgpt-4o-latest": {
            input: 5,
            output: 15,
        },
        "codex-mini-latest": {
            input: 1.5,
            cached_input: 0.375,
            output: 6,
        },
        "ft:gpt-3.5-turbo": {
            input: 3,
            output: 6,
            batch_input: 1.5,
            batch_output: 3,
        },
        "ft:gpt-3.5-turbo-0125": {
            input: 3,
            output: 6,
        },
        "ft:gpt-3.5-turbo-0613": {
            input: 3,
            output: 6,
        },
        "ft:gpt-3.5-turbo-1106": {
            input: 3,
            output: 6,
        },
        "ft:gpt-4-0613": {
            input: 30,
            output: 60,
        },
        "ft:gpt-4o-2024-08-06": {
            input: 3.75,
            output: 15,
            batch_input: 1.875,
            batch_output: 7.5,
        },
        "ft:gpt-4o-2024-11-20": {
            input: 3.75,
            output: 15,
            corrected: "The reference's cache_creation_input_token_cost here (1.875, half the input rate) is a cached-input rate filed under the wrong name, not a price of cache writes; left unknown rather than guessed.",
        },
        "ft:gpt-4o-mini-2024-07-18": {
            input: 0.3,
            cached_input: 0.15,
            output: 1.2,
            batch_input: 0.15,
            batch_output: 0.6,
        },
        "gpt-3.5-turbo": {
            input: 0.5,
            output: 1.5,
            corrected: "The reference prices the alias like the old 0613 snapshot (1.5 / 2); gpt-3.5-turbo points to gpt-3.5-turbo-0125, which the reference itself prices at 0.5 / 1.5.",
        },
        "gpt-3.5-turbo-0125": {
            input: 0.5,
            output: 1.5,
        },
        "gpt-3.5-turbo-0301": {
            input: 1.5,
            output: 2,
            differs_from_base: "An older snapshot at its own price (1.5 / 2); the gpt-3.5-turbo alias points to gpt-3.5-turbo-0125 (0.5 / 1.5).",
        },
        "gpt-3.5-turbo-0613": {
            input: 1.5,
            output: 2,
            differs_from_base: "An older snapshot at its own price (1.5 / 2); the gpt-3.5-turbo alias points to gpt-3.5-turbo-0125 (0.5 / 1.5).",
        },
        "gpt-3.5-turbo-1106": {
            input: 1,
            output: 2,
            differs_from_base: "An older snapshot at its own price (1 / 2); the gpt-3.5-turbo alias points to gpt-3.5-turbo-0125 (0.5 / 1.5).",
        },
        "gpt-3.5-turbo-16k": {
            input: 3,
            output: 4,
        },
        "gpt-3.5-turbo-16k-0613": {
            input: 3,
            output: 4,
        },
        "gpt-4": {
            input: 30,
            output: 60,
        },
        "gpt-4-0125-preview": {
            input: 10,
            output: 30,
        },
        "gpt-4-0314": {
            input: 30,
            output: 60,
        },
        "gpt-4-0613": {
            input: 30,
            output: 60,
        },
        "gpt-4-1106-preview": {
            input: 10,
            output: 30,
        },
        "gpt-4-1106-vision-preview": {
            input: 10,
            output: 30,
        },
        "gpt-4-32k": {
            input: 60,
            output: 120,
        },
        "gpt-4-32k-0314": {
            input: 60,
            output: 120,
        },
        "gpt-4-32k-0613": {
            input: 60,
            output: 120,
        },
        "gpt-4-turbo": {
            input: 10,
            output: 30,
        },
        "gpt-4-turbo-2024-04-09": {
            input: 10,
            output: 30,
        },
        "gpt-4-turbo-preview": {
            input: 10,
            output: 30,
        },
        "gpt-4-vision-preview": {
            input: 10,
            output: 30,
        },
        "gpt-4.1": {
            input: 2,
            cached_input: 0.5,
            output: 8,
            batch_input: 1,
            batch_output: 4,
        },
        "gpt-4.1-2025-04-14": {
            input: 2,
            cached_input: 0.5,
            output: 8,
            batch_input: 1,
            batch_output: 4,
        },
        "gpt-4.1-mini": {
            input: 0.4,
            cached_input: 0.1,
            output: 1.6,
            batch_input: 0.2,
            batch_output: 0.8,
        },
        "gpt-4.1-mini-2025-04-14": {
            input: 0.4,
            cached_input: 0.1,
            output: 1.6,
            batch_input: 0.2,
            batch_output: 0.8,
        },
        "gpt-4.1-nano": {
            input: 0.1,
            cached_input: 0.025,
            output: 0.4,
            batch_input: 0.05,
            batch_output: 0.2,
        },
        "gpt-4.1-nano-2025-04-14": {
            input: 0.1,
            cached_input: 0.025,
            output: 0.4,
            batch_input: 0.05,
            batch_output: 0.2,
        },
        "gpt-4.5-preview": {
            input: 75,
            cached_input: 37.5,
            output: 150,
            batch_input: 37.5,
            batch_output: 75,
        },
        "gpt-4.5-preview-2025-02-27": {
            input: 75,
            cached_input: 37.5,
            output: 150,
            batch_input: 37.5,
            batch_output: 75,
        },
        "gpt-4o": {
            input: 2.5,
            cached_input: 1.25,
            output: 10,
            batch_input: 1.25,
            batch_output: 5,
            priority_input: 4.25,
            priority_cached_input: 2.125,
            priority_output: 17,
        },
        "gpt-4o-2024-05-13": {
            input: 5,
            output: 15,
            batch_input: 2.5,
            batch_output: 7.5,
            differs_from_base: "The first gpt-4o snapshot kept its launch price (5 / 15, batch 2.5 / 7.5, no cached-input rate); the gpt-4o alias moved on to cheaper snapshots (2024-08-06, then 2024-11-20).",
        },
        "gpt-4o-2024-08-06": {
            input: 2.5,
            cached_input: 1.25,
            output: 10,
            batch_input: 1.25,
            batch_output: 5,
        },
        "gpt-4o-2024-11-20": {
            input: 2.5,
            cached_input: 1.25,
            output: 10,
            batch_input: 1.25,
            batch_output: 5,
        },
        "gpt-4o-audio-preview": {
            input: 2.5,
            input_audio: 40,
            output: 10,
            output_audio: 80,
            corrected: "The reference gives the alias the 2024-10-01 snapshot's launch audio prices (100 / 200); the alias points to the later snapshots, which the reference prices at 40 / 80 audio, as OpenAI lists it.",
        },
        "gpt-4o-audio-preview-2024-10-01": {
            input: 2.5,
            input_audio: 100,
            output: 10,
            output_audio: 200,
            differs_from_base: "The first audio-preview snapshot kept its launch audio prices (100 / 200); the alias and the later snapshots cost 40 / 80 audio.",
        },
        "gpt-4o-audio-preview-2024-12-17": {
            input: 2.5,
            input_audio: 40,
            output: 10,
            output_audio: 80,
        },
        "gpt-4o-audio-preview-2025-06-03": {
            input: 2.5,
            input_audio: 40,
            output: 10,
            output_audio: 80,
        },
        "gpt-4o-mini": {
            input: 0.15,
            cached_input: 0.075,
            output: 0.6,
            batch_input: 0.075,
            batch_output: 0.3,
            priority_input: 0.25,
            priority_cached_input: 0.125,
            priority_output: 1,
        },
        "gpt-4o-mini-2024-07-18": {
            input: 0.15,
            cached_input: 0.075,
            output: 0.6,
            batch_input: 0.075,
            batch_output: 0.3,
        },
        "gpt-4o-mini-audio-preview": {
            input: 0.15,
            input_audio: 10,
            output: 0.6,
            output_audio: 20,
        },
        "gpt-4o-mini-audio-preview-2024-12-17": {
            input: 0.15,
            input_audio: 10,
            output: 0.6,
            output_audio: 20,
        },
        "gpt-4o-mini-realtime-preview": {
            input: 0.6,
            cached_input: 0.3,
            input_audio: 10,
            output: 2.4,
            output_audio: 20,
        },
        "gpt-4o-mini-realtime-preview-2024-12-17": {
            input: 0.6,
            cached_input: 0.3,
            input_audio: 10,
            output: 2.4,
            output_audio: 20,
        },
        "gpt-4o-mini-search-preview": {
            input: 0.15,
            cached_input: 0.075,
            output: 0.6,
            batch_input: 0.075,
            batch_output: 0.3,
        },
        "gpt-4o-mini-search-preview-2025-03-11": {
            input: 0.15,
            cached_input: 0.075,
            output: 0.6,
            batch_input: 0.075,
            batch_output: 0.3,
        },
        "gpt-4o-realtime-preview": {
            input: 5,
            cached_input: 2.5,
            input_audio: 40,
            output: 20,
            output_audio: 80,
        },
        "gpt-4o-realtime-preview-2024-10-01": {
            input: 5,
            input_audio: 100,
            output: 20,
            output_audio: 200,
            corrected: "Cached audio input costs 20 per 1M here (the reference's cache_creation_input_audio_token_cost), cached text 2.5; readings do not tell the two apart yet, so cached input stays unknown rather than priced at the text rate.",
            differs_from_base: "The first realtime snapshot kept its launch audio prices (100 / 200); the alias and the later snapshots cost 40 / 80 audio.",
        },
        "gpt-4o-realtime-preview-2024-12-17": {
            input: 5,
            cached_input: 2.5,
            input_audio: 40,
            output: 20,
            output_audio: 80,
        },
        "gpt-4o-realtime-preview-2025-06-03": {
            input: 5,
            cached_input: 2.5,
            input_audio: 40,
            output: 20,
            output_audio: 80,
        },
        "gpt-4o-search-preview": {
            input: 2.5,
            cached_input: 1.25,
            output: 10,
            batch_input: 1.25,
            batch_output: 5,
        },
        "gpt-4o-search-preview-2025-03-11": {
            input: 2.5,
            cached_input: 1.25,
            output: 10,
            batch_input: 1.25,
            batch_output: 5,
        },
        "gpt-5": {
            input: 1.25,
            cached_input: 0.125,
            output: 10,
            flex_input: 0.625,
            flex_cached_input: 0.0625,
            flex_output: 5,
            priority_input: 2.5,
            priority_cached_input: 0.25,
            priority_output: 20,
        },
        "gpt-5-2025-08-07": {
            input: 1.25,
            cached_input: 0.125,
            output: 10,
        },
        "gpt-5-chat": {
            input: 1.25,
            cached_input: 0.125,
            output: 10,
        },
        "gpt-5-chat-latest": {
            input: 1.25,
            cached_input: 0.125,
            output: 10,
        },
        "gpt-5-mini": {
            input: 0.25,
            cached_input: 0.025,
            output: 2,
            flex_input: 0.125,
            flex_cached_input: 0.0125,
            flex_output: 1,
            priority_input: 0.45,
            priority_cached_input: 0.045,
            priority_output: 3.6,
        },
        "gpt-5-mini-2025-08-07": {
            input: 0.25,
            cached_input: 0.025,
            output: 2,
        },
        "gpt-5-nano": {
            input: 0.05,
            cached_input: 0.005,
            output: 0.4,
        },
        "gpt-5-nano-2025-08-07": {
            input: 0.05,
            cached_input: 0.005,
            output: 0.4,
        },
        "gpt-5.5": {
            input: 5,
            cached_input: 0.5,
            output: 30,
            batch_input: 2.5,
            batch_output: 15,
        },
        "gpt-5.6": {
            input: 5,
            cached_input: 0.5,
            cache_write_input: 6.25,
            output: 30,
            batch_input: 2.5,
            batch_output: 15,
        },
        "gpt-realtime": {
            input: 4,
            cached_input: 0.4,
            input_audio: 32,
            output: 16,
            output_audio: 64,
            input_image: 5,
            corrected: "The reference files OpenAI's image input price, 5 USD per 1M image tokens, as input_cost_per_image = 5e-06, a per-image key; it is the per-token rate.",
        },
        "gpt-realtime-2025-08-28": {
            input: 4,
            cached_input: 0.4,
            input_audio: 32,
            output: 16,
            output_audio: 64,
            input_image: 5,
            corrected: "As for gpt-realtime: input_cost_per_image = 5e-06 is the per-token image input rate, 5 USD per 1M image tokens.",
        },
        o1: {
            input: 15,
            cached_input: 7.5,
            output: 60,
        },
        "o1-2024-12-17": {
            input: 15,
            cached_input: 7.5,
            output: 60,
        },
        "o1-mini": {
            input: 1.1,
            cached_input: 0.55,
            output: 4.4,
        },
        "o1-mini-2024-09-12": {
            input: 1.1,
            cached_input: 0.55,
            output: 4.4,
            corrected: "The reference keeps o1-mini's launch price (3 / 1.5 / 12) for this, its only snapshot; OpenAI lowered o1-mini to 1.1 / 0.55 / 4.4, the reference's own o1-mini entry, and o1-mini is an alias of this snapshot.",
        },
        "o1-preview": {
            input: 15,
            cached_input: 7.5,
            output: 60,
        },
        "o1-preview-2024-09-12": {
            input: 15,
            cached_input: 7.5,
            output: 60,
        },
        "o1-pro": {
            input: 150,
            output: 600,
            batch_input: 75,
            batch_output: 300,
        },
        "o1-pro-2025-03-19": {
            input: 150,
            output: 600,
            batch_input: 75,
            batch_output: 300,
        },
        o3: {
            input: 2,
            cached_input: 0.5,
            output: 8,
            flex_input: 1,
            flex_cached_input: 0.25,
            flex_output: 4,
            priority_input: 3.5,
            priority_cached_input: 0.875,
            priority_output: 14,
        },
        "o3-2025-04-16": {
            input: 2,
            cached_input: 0.5,
            output: 8,
        },
        "o3-deep-research": {
            input: 10,
            cached_input: 2.5,
            output: 40,
            batch_input: 5,
            batch_output: 20,
        },
        "o3-deep-research-2025-06-26": {
            input: 10,
            cached_input: 2.5,
            output: 40,
            batch_input: 5,
            batch_output: 20,
        },
        "o3-mini": {
            input: 1.1,
            cached_input: 0.55,
            output: 4.4,
        },
        "o3-mini-2025-01-31": {
            input: 1.1,
            cached_input: 0.55,
            output: 4.4,
        },
        "o3-pro": {
            input: 20,
            output: 80,
            batch_input: 10,
            batch_output: 40,
        },
        "o3-pro-2025-06-10": {
            input: 20,
            output: 80,
            batch_input: 10,
            batch_output: 40,
        },
        "o4-mini": {
            input: 1.1,
            cached_input: 0.275,
            output: 4.4,
        },
        "o4-mini-2025-04-16": {
            input: 1.1,
            cached_input: 0.275,
            output: 4.4,
        },
        "o4-mini-deep-research": {
            input: 2,
            cached_input: 0.5,
            output: 8,
            batch_input: 1,
            batch_output: 4,
        },
        "o4-mini-deep-research-2025-06-26": {
            input: 2,
            cached_input: 0.5,
            output: 8,
            batch_input: 1,
            batch_output: 4,
        },
    },
};

;// CONCATENATED MODULE: ./build/pricing/schema.js

/** Rates apart from standard ones: batch, and the flex and priority service tiers. */
const TIERS = ["standard", "batch", "flex", "priority"];
/**
 * The disjoint token classes a reading is priced by (SPEC §12). For each: `rate`, its key in a
 * model's price entry (with a `batch_`, `flex_` or `priority_` prefix for those rates); `config`,
 * its USD-per-1M key in config.yaml and pricing files (same prefixes); `label`, how a warning
 * names it. The first three are today's classes, named as the old script named them.
 */
const TOKEN_CLASSES = {
    uncached_text_input: { rate: "input", config: "input_price", label: "input" },
    cached_input: { rate: "cached_input", config: "cached_price", label: "cached input" },
    cache_write_input: {
        rate: "cache_write_input",
        config: "cache_write_price",
        label: "cache-write input",
    },
    cache_write_1h_input: {
        rate: "cache_write_1h_input",
        config: "cache_write_1h_price",
        label: "1-hour cache-write input",
    },
    audio_input: { rate: "input_audio", config: "input_audio_price", label: "audio input" },
    image_input: { rate: "input_image", config: "input_image_price", label: "image input" },
    text_output: { rate: "output", config: "output_price", label: "output" },
    audio_output: { rate: "output_audio", config: "output_audio_price", label: "audio output" },
    image_output: { rate: "output_image", config: "output_image_price", label: "image output" },
};
const TOKEN_CLASS_NAMES = Object.keys(TOKEN_CLASSES);
const prefix = (tier) => (tier === "standard" ? "" : `${tier}_`);
const rateKey = (cls, tier) => `${prefix(tier)}${TOKEN_CLASSES[cls].rate}`;
const configPriceKey = (cls, tier) => `${prefix(tier)}${TOKEN_CLASSES[cls].config}`;
/** Every rate key a price entry may hold, paired with its config.yaml key. */
const PRICE_KEYS = TIERS.flatMap((tier) => TOKEN_CLASS_NAMES.map((cls) => ({
    rate: rateKey(cls, tier),
    config: configPriceKey(cls, tier),
})));
const RATE_KEYS = PRICE_KEYS.map((k) => k.rate);
/** USD per 1M tokens: finite (zod numbers are) and not negative. */
const rate = schemas/* number */.aig().nonnegative();
const optionalRates = (keys) => Object.fromEntries(keys.map((k) => [k, rate.optional()]));
/**
 * Prices of one model in USD per 1M tokens, one rate per token class and tier. Text input and
 * output are always known; any other absent rate is unknown, never zero.
 */
const ModelPriceSchema = schemas/* object */.Ikc({
    ...optionalRates(RATE_KEYS.filter((k) => k !== "input" && k !== "output")),
    input: rate,
    output: rate,
});
/** A built-in table entry: prices plus the recorded reasons that explain them. */
const BuiltinModelPriceSchema = ModelPriceSchema.extend({
    /** Why this dated snapshot is priced unlike its base name (a test requires one when it is). */
    differs_from_base: schemas/* string */.YjP().min(1).optional(),
    /** Why this entry's figures differ from the reference data it is derived from. */
    corrected: schemas/* string */.YjP().min(1).optional(),
});
const PriceTableSchema = schemas/* object */.Ikc({
    as_of: schemas/* string */.YjP(),
    source: schemas/* string */.YjP(),
    models: schemas/* record */.g1P(schemas/* string */.YjP(), BuiltinModelPriceSchema),
});
const CONFIG_KEYS = PRICE_KEYS.map((k) => k.config);
const knownConfigKeys = new Set(CONFIG_KEYS);
/**
 * One model in an experiment's `config.yaml` pricing section (and the `pricing-file` input), USD
 * per 1M tokens. Other keys are allowed (experiments note things beside prices), except a
 * `…_price` key we do not know: a misspelt price would otherwise be dropped without a word.
 */
const ConfigModelPriceSchema = schemas/* looseObject */._H3({
    ...optionalRates(CONFIG_KEYS.filter((k) => k !== "input_price" && k !== "output_price")),
    input_price: rate,
    output_price: rate,
})
    .superRefine((entry, ctx) => {
    for (const key of Object.keys(entry)) {
        if (key.endsWith("_price") && !knownConfigKeys.has(key))
            ctx.addIssue({
                code: "custom",
                path: [key],
                message: `unknown price key (the class keys are ${TOKEN_CLASS_NAMES.map((c) => TOKEN_CLASSES[c].config).join(", ")}, each also with a batch_, flex_ or priority_ prefix)`,
            });
    }
});
const ExperimentPricingSchema = schemas/* object */.Ikc({
    models: schemas/* record */.g1P(schemas/* string */.YjP(), ConfigModelPriceSchema),
});
/** The internal price entry of a config.yaml / pricing-file model. */
function fromConfigPrices(entry) {
    const price = {};
    for (const k of PRICE_KEYS) {
        const v = entry[k.config];
        if (typeof v === "number")
            price[k.rate] = v;
    }
    return price;
}
/** The rates of a price entry, without the notes a built-in entry carries. */
function ratesOf(price) {
    const rates = {};
    for (const k of RATE_KEYS)
        if (price[k] !== undefined)
            rates[k] = price[k];
    return rates;
}

;// CONCATENATED MODULE: ./build/pricing/prices.js


const builtinSource = (table = BUILTIN_PRICES) => ({
    name: `built-in price table (${table.as_of})`,
    as_of: table.as_of,
    models: table.models,
});
const DATED_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{4})$/;
/**
 * Names to look a model up by, most specific first. Dated snapshots fall back to their base name;
 * a fine-tuned model (`ft:base:org::id`) to its base's fine-tuning price, never to the base model.
 */
function candidateNames(model) {
    const names = [model];
    const base = model.startsWith("ft:") ? `ft:${model.split(":")[1] ?? ""}` : model;
    if (base !== model)
        names.push(base);
    const undated = base.replace(DATED_SUFFIX, "");
    if (undated !== base)
        names.push(undated);
    return names;
}
/** The rates two entries both state and price differently. */
function disagreements(a, b) {
    return PRICE_KEYS.filter((k) => a[k.rate] !== undefined && b[k.rate] !== undefined && a[k.rate] !== b[k.rate]).map((key) => ({ key, a: a[key.rate], b: b[key.rate] }));
}
/** Same figure for every rate both state: the two entries price the same thing. */
const agree = (a, b) => disagreements(a, b).length === 0;
/**
 * Looks a model up in every source (SPEC §12): the most specific name wins across all sources,
 * and among sources with that name, the first in precedence. A higher-precedence source's entry
 * under a less specific name (a config.yaml alias `gpt-4o` for `gpt-4o-2024-05-13`) only loses its
 * say: when it agrees with the winner it is the one credited (the user's own prices, same figure),
 * when it disagrees it is named in a warning.
 */
function resolvePrice(model, sources) {
    const entries = [];
    for (const name of candidateNames(model))
        sources.forEach((source, rank) => {
            // own keys only: a model named `constructor` is not priced by Object.prototype
            const price = Object.hasOwn(source.models, name) ? source.models[name] : undefined;
            if (price)
                entries.push({
                    price,
                    pricedAs: name,
                    source: source.name,
                    ...(source.as_of !== undefined ? { as_of: source.as_of } : {}),
                    rank,
                });
        });
    const best = entries[0];
    if (!best)
        return undefined;
    const warnings = [];
    let chosen;
    // what each higher-precedence source would have priced the model as, on its own
    for (let rank = 0; rank < best.rank; rank++) {
        const own = entries.find((e) => e.rank === rank);
        if (!own)
            continue;
        const differ = disagreements(own.price, best.price);
        if (differ.length === 0)
            chosen ??= own;
        else
            warnings.push(`${model} is priced as ${best.pricedAs} from the ${best.source}, not as ${own.pricedAs} from the ${own.source}, which differs (${differ
                .map((d) => `${d.key.config} ${d.a} there, ${d.b} here`)
                .join("; ")}); list ${model} in the ${own.source} to price it otherwise`);
    }
    const picked = chosen ?? best;
    const strip = ({ rank: _, ...e }) => e;
    const agreeing = entries
        .filter((e) => e !== picked && agree(e.price, best.price) && agree(e.price, picked.price))
        .map(strip);
    return { ...strip(picked), agreeing, warnings };
}

;// CONCATENATED MODULE: ./build/pricing/load.js





class PricingFileError extends Error {
    constructor(path, reason) {
        super(`${path}: ${reason}`);
        this.name = "PricingFileError";
    }
}
/**
 * Reads experiment prices (`pricing.models.<name>.{input_price,cached_price,output_price,…}`, USD
 * per 1M tokens, one key per token class) from a YAML or JSON file: the experiment's config.yaml or
 * a pricing file. A pricing
 * file may also hold the `models` map at its top level. Returns undefined when the file has no
 * pricing section and `required` is false.
 */
async function loadPricingFile(files, path, name, required) {
    let doc;
    try {
        doc = (0,dist/* parse */.qg)(new TextDecoder().decode(await files.read(path)));
    }
    catch (error) {
        throw new PricingFileError(path, `cannot be read as YAML or JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    const record = (v) => v && typeof v === "object" && !Array.isArray(v) ? v : undefined;
    const section = record(record(doc)?.pricing) ?? (required ? record(doc) : undefined);
    if (!section) {
        if (required)
            throw new PricingFileError(path, "expected a mapping with pricing.models or models");
        return undefined;
    }
    const parsed = ExperimentPricingSchema.safeParse(section);
    if (!parsed.success)
        throw new PricingFileError(path, `pricing: ${describeIssues(parsed.error)}`);
    const models = {};
    for (const [model, p] of Object.entries(parsed.data.models))
        models[model] = fromConfigPrices(p);
    return { name, models };
}
/**
 * Price sources in order of precedence (SPEC §5, §12): the `pricing-file` input, the experiment's
 * own `config.yaml` (beside the runs directory), then the built-in dated table. Precedence decides
 * between entries under the same name; a more specific name wins whatever its source.
 */
async function loadPriceSources(files, runsDir, pricingFile) {
    const sources = [];
    if (pricingFile) {
        if (!(await files.exists(pricingFile)))
            throw new PricingFileError(pricingFile, "pricing file not found");
        // Named without the directory: the name is written into metrics.json, which must not depend
        // on where the repository is checked out.
        sources.push((await loadPricingFile(files, pricingFile, `pricing file ${(0,external_node_path_.basename)(pricingFile)}`, true)));
    }
    const configYaml = (0,external_node_path_.join)((0,external_node_path_.dirname)((0,external_node_path_.resolve)(runsDir)), "config.yaml");
    if (await files.exists(configYaml)) {
        const fromConfig = await loadPricingFile(files, configYaml, "experiment config.yaml", false);
        if (fromConfig)
            sources.push(fromConfig);
    }
    sources.push(builtinSource());
    return sources;
}

;// CONCATENATED MODULE: ./build/runs/discover.js


const MANIFEST_NAMES = ["manifest.json", "runs_manifest.json"];
// ignoreBOM keeps a byte-order mark in the text, so it is reported below instead of silently
// dropped (which would also drop it from the file on the next write).
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** Decodes and parses a JSON file, naming what is wrong with it. */
function parseJsonText(bytes) {
    let text;
    try {
        text = utf8.decode(bytes);
    }
    catch {
        return { error: "not valid UTF-8" };
    }
    if (text.charCodeAt(0) === 0xfeff)
        return { error: "starts with a byte-order mark; expected plain UTF-8 JSON" };
    let value;
    try {
        value = JSON.parse(text);
    }
    catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        return { error: `not valid JSON (${detail})${text.length === 0 ? ": the file is empty" : ""}` };
    }
    // The minimal-diff editor parses recursively: a file nested thousands of levels deep would
    // overflow the stack and stop the whole pass, so it is reported here like any broken file.
    if (nestedDeeperThan(text, MAX_NESTING))
        return { error: `nested more than ${MAX_NESTING} levels deep; not a metrics file` };
    return { text, value };
}
const MAX_NESTING = 1000;
/** Whether arrays and objects in valid JSON text nest deeper than `limit` (strings skipped). */
function nestedDeeperThan(text, limit) {
    let depth = 0;
    let inString = false;
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (inString) {
            if (c === 0x5c)
                i++;
            else if (c === 0x22)
                inString = false;
        }
        else if (c === 0x22)
            inString = true;
        else if (c === 0x5b || c === 0x7b) {
            if (++depth > limit)
                return true;
        }
        else if (c === 0x5d || c === 0x7d)
            depth--;
    }
    return false;
}
async function loadManifest(files, runsDir, top, problems) {
    for (const name of MANIFEST_NAMES) {
        const path = (0,external_node_path_.join)(runsDir, name);
        // a symbolic link is reported with the other links under the runs dir, and not followed
        if (top.find((e) => e.name === name)?.kind !== "file")
            continue;
        const parsed = parseJsonText(await files.read(path));
        if ("error" in parsed) {
            problems.push({ path, reason: parsed.error });
            return undefined;
        }
        const manifest = ManifestSchema.safeParse(parsed.value);
        if (!manifest.success) {
            problems.push({ path, reason: describeIssues(manifest.error) });
            return undefined;
        }
        return { path, text: parsed.text, entries: manifest.data.runs };
    }
    return undefined;
}
async function loadRun(files, framework, runDir, runId) {
    const path = (0,external_node_path_.join)(runDir, "metrics.json");
    const entries = await files.list(runDir);
    const entry = entries.find((e) => e.name === "metrics.json");
    if (!entry)
        return { path, framework, runId, reason: "no metrics.json in the run directory" };
    if (entry.kind !== "file") {
        return {
            path,
            framework,
            runId,
            reason: `is a ${entry.kind === "symlink" ? "symbolic link (not followed: it may leave the repository)" : entry.kind}, not a regular file`,
        };
    }
    const parsed = parseJsonText(await files.read(path));
    if ("error" in parsed)
        return { path, framework, runId, reason: parsed.error };
    const file = MetricsFileSchema.safeParse(parsed.value);
    if (!file.success)
        return { path, framework, runId, reason: describeIssues(file.error) };
    if (file.data.run_id !== runId) {
        return {
            path,
            framework,
            runId,
            reason: `run_id "${file.data.run_id}" does not match its directory name "${runId}"`,
        };
    }
    return { framework, runId, path, text: parsed.text, file: file.data };
}
/**
 * Finds every `{runsDir}/{framework}/{run_id}/metrics.json` (SPEC §2). Broken files become
 * problems and the rest goes on. Symbolic links are never followed, so nothing outside the runs
 * directory is read. `frameworks` narrows the search (all when empty).
 */
async function discover_discoverRuns(files, runsDir, frameworks = []) {
    const problems = [];
    const top = await files.list(runsDir);
    const found = top
        .filter((e) => e.kind === "dir" && !e.name.startsWith("."))
        .map((e) => e.name)
        .sort();
    for (const e of top) {
        if (e.kind === "symlink")
            problems.push({
                path: (0,external_node_path_.join)(runsDir, e.name),
                reason: "symbolic link under the runs directory, not followed",
            });
    }
    const manifest = await loadManifest(files, runsDir, top, problems);
    const selected = frameworks.length > 0 ? found.filter((f) => frameworks.includes(f)) : found;
    const runs = [];
    for (const framework of selected) {
        const dir = (0,external_node_path_.join)(runsDir, framework);
        const entries = (await files.list(dir)).sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
        for (const e of entries) {
            if (e.name.startsWith("."))
                continue;
            if (e.kind === "symlink") {
                problems.push({
                    path: (0,external_node_path_.join)(dir, e.name),
                    framework,
                    runId: e.name,
                    reason: "symbolic link, not followed: it may leave the repository",
                });
                continue;
            }
            if (e.kind !== "dir")
                continue;
            const result = await loadRun(files, framework, (0,external_node_path_.join)(dir, e.name), e.name);
            if ("reason" in result)
                problems.push(result);
            else
                runs.push(result);
        }
    }
    flagDuplicateRunIds(runs, problems);
    return {
        runs: runs.filter((r) => !problems.some((p) => p.path === r.path)),
        problems,
        manifest,
        frameworks: found,
    };
}
/** The same run id under two frameworks cannot be told apart in the manifest or in reports. */
function flagDuplicateRunIds(runs, problems) {
    const byId = new Map();
    for (const r of runs)
        byId.set(r.runId, [...(byId.get(r.runId) ?? []), r]);
    for (const [runId, same] of byId) {
        if (same.length < 2)
            continue;
        for (const r of same) {
            const others = same.filter((o) => o !== r).map((o) => o.framework);
            problems.push({
                path: r.path,
                framework: r.framework,
                runId,
                reason: `run id "${runId}" also appears under ${others.join(", ")}`,
            });
        }
    }
}

;// CONCATENATED MODULE: ./build/verify/reading.js

const totalsOf = (a) => ({
    tokensIn: a.total_tokens_in,
    tokensOut: a.total_tokens_out,
    cachedTokens: a.total_cached_tokens,
    requests: a.total_api_calls,
});
const isZero = (t) => t.tokensIn === 0 && t.tokensOut === 0 && t.cachedTokens === 0 && t.requests === 0;
const sameTotals = (a, b) => a.tokensIn === b.tokensIn &&
    a.tokensOut === b.tokensOut &&
    a.cachedTokens === b.cachedTokens &&
    a.requests === b.requests;
const modelKey = (m) => `${m.model}\u0000${m.batch ?? ""}\u0000${m.service_tier ?? ""}`;
function sameModels(a, b) {
    // Old attempts carry no per-model split; their totals are all there is to compare.
    if (!a || !b)
        return true;
    if (a.length !== b.length)
        return false;
    const byKey = new Map(a.map((m) => [modelKey(m), m]));
    return b.every((m) => {
        const other = byKey.get(modelKey(m));
        return (other !== undefined &&
            other.tokens_in === m.tokens_in &&
            other.tokens_out === m.tokens_out &&
            other.cached_tokens === m.cached_tokens &&
            other.api_calls === m.api_calls);
    });
}
/** Two readings agree when their totals, and their per-model splits where both have one, match. */
const sameReading = (a, b) => sameTotals(totalsOf(a), totalsOf(b)) && sameModels(a.models, b.models);
const attemptTime = (a) => parseIsoSeconds(a.timestamp) ?? 0;
/** Attempts oldest first. Stable for equal timestamps, so file order breaks ties. */
const chronological = (attempts) => attempts
    .map((a, i) => ({ a, i, t: attemptTime(a) }))
    .sort((x, y) => x.t - y.t || x.i - y.i)
    .map((x) => x.a);
/** The first count that went down from `before` to `after`, if any. */
function firstDecrease(before, after) {
    const fields = [
        ["TOK_IN", "tokensIn"],
        ["TOK_OUT", "tokensOut"],
        ["CACHED_TOKENS", "cachedTokens"],
        ["API_CALLS", "requests"],
    ];
    for (const [field, key] of fields) {
        if (after[key] < before[key])
            return { field, from: before[key], to: after[key] };
    }
    return undefined;
}

;// CONCATENATED MODULE: ./build/verify/walk.js

/**
 * The verification walk (SPEC §4): from the newest reading back, each pair of consecutive
 * identical readings at least `intervalSeconds` apart is a stable pair; an identical pair closer
 * than that is passed over; a differing pair ends the walk. `untrusted` marks readings that must
 * not vouch for the current value (taken over a window that overlapped another run): reaching one
 * ends the walk like a differing reading.
 */
function walkReadings(attemptsOldestFirst, intervalSeconds, untrusted = () => false) {
    let stablePairs = 0;
    let passedOver = 0;
    for (let i = attemptsOldestFirst.length - 1; i >= 1; i--) {
        const newer = attemptsOldestFirst[i];
        const older = attemptsOldestFirst[i - 1];
        if (untrusted(newer) || untrusted(older))
            return { stablePairs, passedOver, stoppedBy: "untrusted" };
        if (!sameReading(newer, older))
            return { stablePairs, passedOver, stoppedBy: "differs" };
        if (attemptTime(newer) - attemptTime(older) >= intervalSeconds)
            stablePairs++;
        else
            passedOver++;
    }
    return { stablePairs, passedOver };
}

;// CONCATENATED MODULE: ./build/verify/evaluate.js



const fmt = (n) => n.toLocaleString("en-US");
const describe = (t) => `${fmt(t.tokensIn)} in, ${fmt(t.tokensOut)} out, ${fmt(t.requests)} requests`;
/** A `no_usage` run is read again this long after its last reading (SPEC §11). */
const NO_USAGE_RECHECK_SECONDS = 24 * 3600;
/**
 * Decides a run's verification status from its readings (SPEC §4). Pure: the same facts always
 * give the same answer, so a pass can be re-applied on top of another writer's changes.
 */
function evaluateRun(facts, settings) {
    const { now, attempts } = facts;
    const interval = settings.verificationIntervalMinutes * 60;
    const endedAgo = now - facts.endedAt;
    const latest = attempts.at(-1);
    const intervalElapsed = latest === undefined || now - attemptTime(latest) >= interval;
    // A reading taken with another key than the one configured now (a swapped or mistyped key id,
    // fixed since) vouches for nothing: every run of the framework is read again at once.
    const untrustedReason = (a) => facts.keyId !== undefined && a.api_key_id !== undefined && a.api_key_id !== facts.keyId
        ? `readings up to ${a.timestamp} were taken with key ${a.api_key_id}, but this framework is now configured with ${facts.keyId}; reading again with that key`
        : facts.untrusted?.(a);
    const vouches = (a) => untrustedReason(a) === undefined;
    const vouching = attempts.filter(vouches);
    // The newest reading was taken over another window or key: it says nothing of the run as it is
    // now, so the run is read again at once, whatever the interval.
    const lostCover = latest !== undefined && !vouches(latest);
    const walk = walkReadings(attempts, interval, (a) => !vouches(a));
    const stableChecks = walk.stablePairs;
    const settled = stableChecks >= settings.stableChecks;
    const nextReading = latest
        ? ` next reading after ${formatMinute(attemptTime(latest) + interval)}`
        : "";
    if (endedAgo < settings.minAgeMinutes * 60) {
        const minutes = Math.max(0, Math.floor(endedAgo / 60));
        return {
            status: "too_recent",
            message: `ended ${minutes} min ago; the Usage API is read ${settings.minAgeMinutes} min after a run ends`,
            stableChecks,
            due: false,
        };
    }
    // Only a reading that vouches for the run's current window gives it numbers.
    const basis = [...vouching].reverse().find((a) => !isZero(totalsOf(a)));
    if (facts.sharesWith.length > 0) {
        const shared = latest?.shared;
        const sharedText = shared
            ? `; ${fmt(shared.tokens_in)} in / ${fmt(shared.tokens_out)} out in ${shared.minutes} shared minute(s) are reported apart and counted for neither`
            : "";
        return {
            status: "ambiguous",
            message: `window shares minutes with ${facts.sharesWith.join(", ")} on the same key${sharedText}`,
            stableChecks,
            due: settings.force || (!settled && intervalElapsed),
        };
    }
    const current = vouching.at(-1);
    if (!latest || !current) {
        const why = latest ? untrustedReason(latest) : undefined;
        return {
            status: "pending",
            message: !why
                ? "no reading yet"
                : `${facts.wasVerified ? "no longer verified" : "no reading vouches for this run's window yet"}: ${why}`,
            stableChecks: 0,
            due: true,
        };
    }
    const readAgain = lostCover ? `; ${untrustedReason(latest)}` : "";
    const latestTotals = totalsOf(current);
    if (isZero(latestTotals)) {
        const earlier = basis;
        if (earlier) {
            return {
                status: "warning",
                message: `the Usage API reported no usage for a window that had ${describe(totalsOf(earlier))} at ${earlier.timestamp}; the earlier values are kept and verification starts over${readAgain}`,
                stableChecks,
                due: settings.force || intervalElapsed || lostCover,
                basis,
            };
        }
        return noUsageYet(facts, settings, vouching, { lostCover, readAgain, nextReading });
    }
    if (settled) {
        return {
            status: "verified",
            message: `verified after ${stableChecks} stable checks: ${describe(latestTotals)}`,
            stableChecks,
            due: settings.force,
            basis,
            verifiedAt: verifiedAt(attempts, interval, settings.stableChecks, (a) => !vouches(a)),
        };
    }
    const previous = vouching.at(-2);
    const decrease = previous && !isZero(totalsOf(previous))
        ? firstDecrease(totalsOf(previous), latestTotals)
        : undefined;
    if (decrease) {
        return {
            status: "warning",
            message: `${decrease.field} decreased from ${fmt(decrease.from)} to ${fmt(decrease.to)} since the previous reading; verification starts over${readAgain};${nextReading}`,
            stableChecks,
            due: settings.force || intervalElapsed || lostCover,
            basis,
        };
    }
    const reason = walk.stoppedBy === "untrusted" ? untrustedReasonBefore(attempts, untrustedReason) : undefined;
    return {
        status: "pending",
        message: `${stableChecks} of ${settings.stableChecks} stable checks (${describe(latestTotals)})${reason ? `; ${reason}` : ""};${lostCover ? " read again this pass" : nextReading}`,
        stableChecks,
        due: settings.force || intervalElapsed || lostCover,
        basis,
    };
}
/**
 * A run whose every vouching reading is zero (SPEC §11, "giving up is not for ever"): `no_usage`
 * only on two zero readings at least the interval apart, the newer taken give-up-after-hours after
 * the run ended, so one empty page cannot give up on a run; a `no_usage` run is read again once a
 * day, and at once when its key id changes (its readings then no longer vouch).
 */
function noUsageYet(facts, settings, zeros, ctx) {
    const interval = settings.verificationIntervalMinutes * 60;
    const first = zeros[0];
    const last = zeros.at(-1);
    const latest = facts.attempts.at(-1);
    const giveUpAt = facts.endedAt + settings.giveUpAfterHours * 3600;
    const key = last.api_key_id ?? facts.keyId ?? "(unknown)";
    const confirmed = attemptTime(last) - attemptTime(first) >= interval && attemptTime(last) >= giveUpAt;
    if (confirmed) {
        const recheck = ` next reading after ${formatMinute(attemptTime(latest) + NO_USAGE_RECHECK_SECONDS)}`;
        const readings = `zero readings from ${first.timestamp} to ${last.timestamp}`;
        const cause = facts.keyUsage === "elsewhere"
            ? `although other runs on key ${key} have usage: check this run's timestamps (a copied or corrected file?)`
            : `on key ${key}: check the key id configured for this framework`;
        return {
            status: "no_usage",
            message: `no usage in the window ${settings.giveUpAfterHours} h after the run ended (${readings}), ${cause}; read again once a day, and at once when the key id changes${ctx.readAgain};${recheck}`,
            stableChecks: 0,
            due: settings.force ||
                ctx.lostCover ||
                facts.now - attemptTime(latest) >= NO_USAGE_RECHECK_SECONDS,
        };
    }
    const keyText = facts.keyUsage === "none"
        ? `; key ${key} had no usage anywhere this pass read it: check the key id configured for this framework`
        : "";
    const waiting = facts.now >= giveUpAt
        ? `; no_usage only once zero readings at least ${settings.verificationIntervalMinutes} min apart, the later one taken ${settings.giveUpAfterHours} h or more after the run ended, agree`
        : "";
    return {
        status: "data_not_available",
        message: `the Usage API has no usage in the window yet${keyText}${waiting}${ctx.readAgain};${ctx.nextReading}`,
        stableChecks: 0,
        due: settings.force || ctx.lostCover || facts.now - attemptTime(latest) >= interval,
    };
}
function untrustedReasonBefore(attempts, reason) {
    for (let i = attempts.length - 1; i >= 0; i--) {
        const r = reason(attempts[i]);
        if (r)
            return r;
    }
    return undefined;
}
/** The reading at which the current run of identical readings first reached `needed` stable pairs. */
function verifiedAt(attempts, interval, needed, untrusted) {
    let first = attempts.length - 1;
    while (first > 0 && sameReading(attempts[first - 1], attempts[first]))
        first--;
    for (let k = first; k < attempts.length; k++) {
        if (walkReadings(attempts.slice(0, k + 1), interval, untrusted).stablePairs >= needed) {
            return attempts[k].timestamp;
        }
    }
    return attempts.at(-1)?.timestamp;
}

// EXTERNAL MODULE: ./node_modules/jsonc-parser/lib/umd/main.js
var main = __webpack_require__(9547);
;// CONCATENATED MODULE: ./build/edit/json-text.js

/** A number written the way Python writes floats (`0.0`, not `0`), for fields readers expect as floats. */
class PyFloat {
    value;
    constructor(value) {
        this.value = value;
    }
}
function detectStyle(text) {
    const eol = text.includes("\r\n") ? "\r\n" : "\n";
    const unit = /\n([ \t]+)\S/.exec(text)?.[1] ?? "  ";
    // Python's json.dump escapes non-ASCII unless told otherwise; follow whichever the file shows.
    const ascii = /\\u(00[89a-fA-F][0-9a-fA-F]|0[1-9a-fA-F][0-9a-fA-F]{2}|[1-9a-fA-F][0-9a-fA-F]{3})/.test(text) && !/[\u0080-\uffff]/.test(text);
    return { eol, unit, ascii };
}
const plain = (v) => {
    if (v instanceof PyFloat)
        return v.value;
    if (Array.isArray(v))
        return v.map(plain);
    if (v && typeof v === "object") {
        return Object.fromEntries(Object.entries(v)
            .filter(([, x]) => x !== undefined)
            .map(([k, x]) => [k, plain(x)]));
    }
    return v;
};
function deepEqual(a, b) {
    if (a === b)
        return true;
    if (typeof a !== typeof b || a === null || b === null || typeof a !== "object")
        return false;
    if (Array.isArray(a) !== Array.isArray(b))
        return false;
    if (Array.isArray(a)) {
        const bb = b;
        return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
    }
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return (ka.length === kb.length &&
        ka.every((k) => deepEqual(a[k], b[k])));
}
function quote(s, ascii) {
    const json = JSON.stringify(s);
    return ascii
        ? json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
        : json;
}
function render(v, base, style) {
    if (v instanceof PyFloat) {
        const s = String(v.value);
        return Number.isInteger(v.value) && !s.includes("e") ? `${s}.0` : s;
    }
    if (v === null || v === undefined)
        return "null";
    if (typeof v === "string")
        return quote(v, style.ascii);
    if (typeof v !== "object")
        return JSON.stringify(v);
    const inner = base + style.unit;
    if (Array.isArray(v)) {
        if (v.length === 0)
            return "[]";
        return `[${style.eol}${v.map((x) => inner + render(x, inner, style)).join(`,${style.eol}`)}${style.eol}${base}]`;
    }
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0)
        return "{}";
    return `{${style.eol}${entries.map(([k, x]) => `${inner}${quote(k, style.ascii)}: ${render(x, inner, style)}`).join(`,${style.eol}`)}${style.eol}${base}}`;
}
function lineIndent(text, offset) {
    const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
    return /^[ \t]*/.exec(text.slice(lineStart, offset))?.[0] ?? "";
}
function locate(root, path) {
    return (0,main.findNodeAtLocation)(root, path);
}
function removalEdits(object, removed) {
    const props = object.children ?? [];
    if (props.every((p) => removed.has(p)))
        return [{ offset: object.offset, length: object.length, content: "{}" }];
    const edits = [];
    for (let i = 0; i < props.length; i++) {
        if (!removed.has(props[i]))
            continue;
        let j = i;
        while (j + 1 < props.length && removed.has(props[j + 1]))
            j++;
        const next = props[j + 1];
        const prev = props[i - 1];
        const last = props[j];
        if (next)
            edits.push({ offset: props[i].offset, length: next.offset - props[i].offset, content: "" });
        else if (prev)
            edits.push({
                offset: prev.offset + prev.length,
                length: last.offset + last.length - (prev.offset + prev.length),
                content: "",
            });
        i = j;
    }
    return edits;
}
/** Applies the edits; returns the text unchanged (the same string) when no value differs. */
function editJsonText(text, edits) {
    const errors = [];
    const root = (0,main.parseTree)(text, errors, { allowTrailingComma: false, disallowComments: true });
    if (!root || errors.length > 0)
        throw new Error("cannot edit text that is not valid JSON");
    const style = detectStyle(text);
    const out = [];
    const inserts = new Map();
    for (const { path, value } of edits.set ?? []) {
        const node = locate(root, path);
        if (node) {
            if (!deepEqual((0,main.getNodeValue)(node), plain(value))) {
                out.push({
                    offset: node.offset,
                    length: node.length,
                    content: render(value, lineIndent(text, node.offset), style),
                });
            }
            continue;
        }
        const parent = locate(root, path.slice(0, -1));
        const key = path.at(-1);
        if (parent?.type !== "object" || typeof key !== "string") {
            throw new Error(`cannot set ${path.join(".")}: its parent is not an object in the file`);
        }
        inserts.set(parent, [...(inserts.get(parent) ?? []), [key, value]]);
    }
    for (const [object, entries] of inserts) {
        const props = object.children ?? [];
        const last = props.at(-1);
        if (!last) {
            out.push({
                offset: object.offset,
                length: object.length,
                content: render(Object.fromEntries(entries), lineIndent(text, object.offset), style),
            });
            continue;
        }
        const indent = lineIndent(text, last.offset);
        const content = entries
            .map(([k, v]) => `,${style.eol}${indent}${quote(k, style.ascii)}: ${render(v, indent, style)}`)
            .join("");
        out.push({ offset: last.offset + last.length, length: 0, content });
    }
    const removals = new Map();
    for (const path of edits.remove ?? []) {
        const property = locate(root, path)?.parent;
        if (property?.type !== "property" || !property.parent)
            continue;
        if (inserts.has(property.parent))
            throw new Error(`cannot add to and remove from ${path.slice(0, -1).join(".")} at once`);
        removals.set(property.parent, (removals.get(property.parent) ?? new Set()).add(property));
    }
    for (const [object, removed] of removals)
        out.push(...removalEdits(object, removed));
    for (const { path, values, at } of edits.append ?? []) {
        if (values.length === 0)
            continue;
        const array = locate(root, path);
        if (array?.type !== "array")
            throw new Error(`cannot append to ${path.join(".")}: not an array in the file`);
        const items = array.children ?? [];
        const before = at === undefined ? undefined : items[Math.max(0, at)];
        if (before) {
            // inserted before an element: after the one preceding it, or ahead of the first
            const indent = lineIndent(text, before.offset);
            const rendered = values.map((v) => render(v, indent, style));
            const previous = items[items.indexOf(before) - 1];
            out.push(previous
                ? {
                    offset: previous.offset + previous.length,
                    length: 0,
                    content: rendered.map((r) => `,${style.eol}${indent}${r}`).join(""),
                }
                : {
                    offset: before.offset,
                    length: 0,
                    content: rendered.map((r) => `${r},${style.eol}${indent}`).join(""),
                });
            continue;
        }
        const last = items.at(-1);
        if (!last) {
            out.push({
                offset: array.offset,
                length: array.length,
                content: render(values, lineIndent(text, array.offset), style),
            });
            continue;
        }
        const indent = lineIndent(text, last.offset);
        out.push({
            offset: last.offset + last.length,
            length: 0,
            content: values.map((v) => `,${style.eol}${indent}${render(v, indent, style)}`).join(""),
        });
    }
    if (out.length === 0)
        return text;
    out.sort((a, b) => a.offset - b.offset || a.length - b.length);
    for (let i = 1; i < out.length; i++) {
        const prev = out[i - 1];
        if (prev.offset + prev.length > out[i].offset)
            throw new Error("internal error: overlapping JSON edits");
    }
    // one pass over the text: a manifest of 10,000 runs gets 30,000 edits
    const pieces = [];
    let at = 0;
    for (const e of out) {
        pieces.push(text.slice(at, e.offset), e.content);
        at = e.offset + e.length;
    }
    pieces.push(text.slice(at));
    return pieces.join("");
}

;// CONCATENATED MODULE: ./build/edit/manifest.js

/** Keeps `runs/manifest.json` entries in step with the files (SPEC §6), with the same minimal diffs. */
function applyManifestUpdates(text, entries, updates) {
    // indexed once: a manifest lists every run, and a pass may update all of them
    const index = new Map();
    entries.forEach((e, i) => {
        const key = `${e.framework ?? ""}/${e.run_id}`;
        if (!index.has(key))
            index.set(key, i);
    });
    const set = [];
    for (const u of updates) {
        const i = index.get(`${u.framework}/${u.runId}`) ?? index.get(`/${u.runId}`);
        if (i === undefined)
            continue;
        set.push({ path: ["runs", i, "verification_status"], value: u.status });
        if (u.tokensIn !== undefined)
            set.push({ path: ["runs", i, "total_tokens_in"], value: u.tokensIn });
        if (u.tokensOut !== undefined)
            set.push({ path: ["runs", i, "total_tokens_out"], value: u.tokensOut });
    }
    return editJsonText(text, { set });
}

;// CONCATENATED MODULE: ./build/edit/metrics.js



const REC = "usage_api_reconciliation";
function costBreakdown(cost, declaredModel, hadUnpriced) {
    return {
        uncached_input_cost: new PyFloat(cost.uncachedInputCost),
        cached_input_cost: new PyFloat(cost.cachedInputCost),
        output_cost: new PyFloat(cost.outputCost),
        cache_savings: new PyFloat(cost.cacheSavings),
        model: cost.primaryModel ?? declaredModel ?? null,
        models: cost.models.map((m) => ({ ...m })),
        // once listed, the key stays (emptied) when every model has a price again: a stale list
        // beside a numeric COST_USD would contradict it
        ...(cost.unknown.length > 0 || hadUnpriced ? { unpriced_models: cost.unknown } : {}),
    };
}
/**
 * Where new readings go in the file's attempts: at the end, except a reading older than some already
 * there (a pass re-applied on the head another pass pushed first), which goes before the first
 * later one, so the file stays in time order.
 */
function inChronologicalPlaces(existing, added) {
    const byPlace = new Map();
    for (const a of added) {
        const i = existing.findIndex((e) => attemptTime(e) > attemptTime(a));
        const at = i < 0 ? undefined : i;
        byPlace.set(at, [...(byPlace.get(at) ?? []), a]);
    }
    return [...byPlace].map(([at, values]) => ({
        path: [REC, "attempts"],
        values,
        ...(at === undefined ? {} : { at }),
    }));
}
/**
 * Edits a metrics.json text to match the target (SPEC §6): the old script's keys are updated in
 * place, new keys are added beside them, legacy step-level token fields are dropped when the file
 * is rewritten anyway. Returns the same text when nothing would change.
 */
function applyMetricsTarget(text, file, target) {
    const set = [];
    const append = [];
    const rec = file[REC];
    set.push({ path: ["verification_status"], value: target.status });
    if (!rec) {
        set.push({
            path: [REC],
            value: {
                verification_status: target.status,
                verification_message: target.message,
                verified_at: target.verifiedAt,
                attempts: target.newAttempts,
            },
        });
    }
    else {
        // A pass that adds no reading and finds the status already recorded keeps the recorded
        // message and verified_at: they still hold, and rewording them (or moving verified_at to
        // where our walk would have put it) is churn in a committed file.
        const settled = target.newAttempts.length === 0 && rec.verification_status === target.status;
        set.push({ path: [REC, "verification_status"], value: target.status });
        if (!settled || typeof rec.verification_message !== "string")
            set.push({ path: [REC, "verification_message"], value: target.message });
        const keepVerifiedAt = settled && typeof rec.verified_at === "string" && target.verifiedAt !== null;
        if (!keepVerifiedAt && (target.verifiedAt !== null || rec.verified_at !== undefined))
            set.push({ path: [REC, "verified_at"], value: target.verifiedAt });
        if (rec.attempts)
            append.push(...inChronologicalPlaces(rec.attempts, target.newAttempts));
        else
            set.push({ path: [REC, "attempts"], value: target.newAttempts });
    }
    if (target.totals) {
        const t = target.totals;
        const aggregates = {
            TOK_IN: t.tokensIn,
            TOK_OUT: t.tokensOut,
            API_CALLS: t.requests,
            CACHED_TOKENS: t.cachedTokens,
        };
        if (target.cost)
            aggregates.COST_USD = target.cost.total === null ? null : new PyFloat(target.cost.total);
        if (file.aggregate_metrics)
            for (const [k, v] of Object.entries(aggregates))
                set.push({ path: ["aggregate_metrics", k], value: v });
        else
            set.push({ path: ["aggregate_metrics"], value: aggregates });
    }
    if (target.cost) {
        const breakdown = costBreakdown(target.cost, file.model, file.cost_breakdown?.unpriced_models !== undefined);
        if (file.cost_breakdown)
            for (const [k, v] of Object.entries(breakdown))
                set.push({ path: ["cost_breakdown", k], value: v });
        else
            set.push({ path: ["cost_breakdown"], value: breakdown });
    }
    const edited = editJsonText(text, { set, append });
    if (edited === text)
        return text;
    const remove = [];
    (file.steps ?? []).forEach((step, i) => {
        for (const field of LEGACY_STEP_TOKEN_FIELDS)
            if (field in step)
                remove.push(["steps", i, field]);
    });
    return remove.length > 0 ? editJsonText(text, { set, append, remove }) : edited;
}

;// CONCATENATED MODULE: ./build/pricing/usage.js


/** A token count: whole, non-negative and exact in a double. */
const usage_count = schemas/* int */.Whr().nonnegative();
/**
 * Tokens of one model per disjoint class (SPEC §12): every token is in exactly one class, so the
 * cost is the sum of each class times its own rate. An absent class holds no tokens. Strict: a
 * misspelt class would otherwise drop its tokens from the cost without a word.
 */
const ClassTokensSchema = schemas/* strictObject */.rej(Object.fromEntries(TOKEN_CLASS_NAMES.map((c) => [c, usage_count.optional()])));
/** Usage of one model (and batch / service tier) by token class: what a cost is computed from. */
const TokenClassUsageSchema = schemas/* object */.Ikc({
    model: schemas/* string */.YjP(),
    batch: schemas/* boolean */.zMY().nullable().optional(),
    service_tier: schemas/* string */.YjP().nullable().optional(),
    tokens: ClassTokensSchema,
});
/**
 * Today's per-model usage as classes: input includes the cached tokens, and nothing else is
 * known, so uncached text input is `tokens_in − cached_tokens`. Undefined when the counts
 * contradict that (more cached than input tokens): such a reading cannot be priced.
 */
function classesOfModelUsage(u) {
    if (u.cached_tokens > u.tokens_in)
        return undefined;
    return {
        model: u.model,
        batch: u.batch,
        service_tier: u.service_tier,
        tokens: {
            uncached_text_input: u.tokens_in - u.cached_tokens,
            cached_input: u.cached_tokens,
            text_output: u.tokens_out,
        },
    };
}
const tokensOf = (u, cls) => u.tokens[cls] ?? 0;

;// CONCATENATED MODULE: ./build/pricing/cost.js




/** Costs are kept to 1e-10 USD: enough for any sum of token prices, free of float noise. */
const roundUsd = (usd) => Math.round(usd * 1e10) / 1e10;
/**
 * No run costs a trillion dollars: a model's cost above this comes from a mistyped price (1e300),
 * and is unknown rather than written as Infinity or rounded into nonsense (sums of many such
 * costs, times 1e10 for rounding, stay finite).
 */
const MAX_MODEL_COST_USD = 1e12;
function tierOf(u) {
    if (u.batch)
        return "batch";
    if (u.service_tier === "flex" || u.service_tier === "priority")
        return u.service_tier;
    return "standard";
}
const missingRates = (entry, classes, tier) => classes.filter((c) => entry.price[rateKey(c, tier)] === undefined);
function pricesHash(rates) {
    const sorted = Object.fromEntries(Object.entries(rates).sort(([a], [b]) => (a < b ? -1 : 1)));
    return (0,external_node_crypto_.createHash)("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 12);
}
const INPUT_CLASSES_BUT_CACHED = [
    "uncached_text_input",
    "cache_write_input",
    "cache_write_1h_input",
    "audio_input",
    "image_input",
];
const OUTPUT_CLASSES = ["text_output", "audio_output", "image_output"];
function priceModel(u, sources) {
    const resolved = resolvePrice(u.model, sources);
    if (!resolved)
        return { unknown: "no price for this model", warnings: [] };
    const { warnings } = resolved;
    const tier = tierOf(u);
    const used = TOKEN_CLASS_NAMES.filter((c) => tokensOf(u, c) > 0);
    // the chosen entry may lack a rate that an entry agreeing with it has (the table lists
    // priority rates under `gpt-4o-mini`, the API reports `gpt-4o-mini-2024-07-18`)
    const entry = [resolved, ...resolved.agreeing].find((e) => missingRates(e, used, tier).length === 0);
    if (!entry) {
        const missing = missingRates(resolved, used, tier).map((c) => TOKEN_CLASSES[c].label);
        return {
            unknown: `no ${tier} ${missing.join(" / ")} rate for ${resolved.pricedAs} in ${resolved.source}`,
            warnings,
        };
    }
    const classes = {};
    const raw = {};
    const rates = {};
    for (const c of used) {
        const key = rateKey(c, tier);
        const usdPer1m = entry.price[key];
        raw[c] = (tokensOf(u, c) * usdPer1m) / 1e6;
        rates[key] = usdPer1m;
        classes[c] = { tokens: tokensOf(u, c), usd_per_1m: usdPer1m, cost: roundUsd(raw[c]) };
    }
    const sum = (cs) => cs.reduce((s, c) => s + (raw[c] ?? 0), 0);
    const uncachedCost = sum(INPUT_CLASSES_BUT_CACHED);
    const cachedCost = raw.cached_input ?? 0;
    const outputCost = sum(OUTPUT_CLASSES);
    const total = uncachedCost + cachedCost + outputCost;
    if (!(total <= MAX_MODEL_COST_USD))
        return {
            unknown: `the cost at ${entry.pricedAs}'s prices in ${entry.source} would exceed ${MAX_MODEL_COST_USD} USD (a mistyped price?)`,
            warnings,
        };
    const inputRate = entry.price[rateKey("uncached_text_input", tier)];
    const cachedRate = entry.price[rateKey("cached_input", tier)];
    const cached = tokensOf(u, "cached_input");
    const savings = cached > 0 && inputRate !== undefined
        ? (cached * (inputRate - (cachedRate ?? inputRate))) / 1e6
        : 0;
    return {
        cost: {
            model: u.model,
            ...(u.batch ? { batch: true } : {}),
            ...(u.service_tier && u.service_tier !== "default" ? { service_tier: u.service_tier } : {}),
            priced_as: entry.pricedAs,
            price_source: entry.source,
            uncached_input_cost: roundUsd(uncachedCost),
            cached_input_cost: roundUsd(cachedCost),
            output_cost: roundUsd(outputCost),
            cache_savings: roundUsd(savings),
            cost: roundUsd(total),
        },
        provenance: {
            model: u.model,
            tier,
            priced_as: entry.pricedAs,
            price_source: entry.source,
            ...(entry.as_of !== undefined ? { price_date: entry.as_of } : {}),
            classes,
            prices_sha256: pricesHash(rates),
        },
        warnings,
    };
}
/**
 * Cost of a reading's usage by token class (SPEC §12): per model, each class's tokens times that
 * class's rate, at batch or service-tier rates where the usage says so. A model, or a class with
 * tokens, whose price we do not know makes the total unknown and is listed, never priced at zero
 * or at another class's rate.
 */
function costOfClasses(usage, sources) {
    const models = [];
    const provenance = [];
    const unknown = [];
    const warnings = new Set();
    for (const u of usage) {
        const priced = priceModel(u, sources);
        for (const w of priced.warnings)
            warnings.add(w);
        if ("unknown" in priced)
            unknown.push({ model: u.model, reason: priced.unknown });
        else {
            models.push(priced.cost);
            provenance.push(priced.provenance);
        }
    }
    const sum = (f) => roundUsd(models.reduce((s, m) => s + f(m), 0));
    const size = (u) => TOKEN_CLASS_NAMES.reduce((s, c) => s + tokensOf(u, c), 0);
    const primary = [...usage].sort((a, b) => size(b) - size(a))[0];
    return {
        total: unknown.length > 0 ? null : sum((m) => m.cost),
        uncachedInputCost: sum((m) => m.uncached_input_cost),
        cachedInputCost: sum((m) => m.cached_input_cost),
        outputCost: sum((m) => m.output_cost),
        cacheSavings: sum((m) => m.cache_savings),
        primaryModel: primary?.model,
        models,
        provenance,
        unknown,
        warnings: [...warnings],
    };
}
/**
 * Cost of a reading's per-model split as readings record it today (input including cached,
 * output): `(input − cached) × input + cached × cached_input + output × output` per model.
 */
function costOf(usage, sources) {
    const classes = [];
    const contradictory = [];
    for (const u of usage) {
        const c = classesOfModelUsage(u);
        if (c)
            classes.push(c);
        else
            contradictory.push({
                model: u.model,
                reason: `${u.cached_tokens} cached tokens exceed the ${u.tokens_in} input tokens they are part of`,
            });
    }
    const result = costOfClasses(classes, sources);
    if (contradictory.length === 0)
        return result;
    const primary = [...usage].sort((a, b) => b.tokens_in + b.tokens_out - (a.tokens_in + a.tokens_out))[0];
    return {
        ...result,
        total: null,
        primaryModel: primary?.model,
        unknown: [...result.unknown, ...contradictory],
    };
}

;// CONCATENATED MODULE: ./build/runs/window.js

/** Later than 5138-11-16 in seconds: such a number is a millisecond timestamp. */
const MILLISECONDS_THRESHOLD = 1e11;
/** Clocks of the machine that ran the experiment may be a little ahead of the runner's. */
const FUTURE_TOLERANCE_SECONDS = 300;
/**
 * Real runs last minutes to hours. A longer span is a timestamp error (a step clock left at 0, a
 * wrong unit): its window would overlap every other run on its key, making them all ambiguous, and
 * take a request per day of it.
 */
const MAX_RUN_DAYS = 7;
function check(start, end, source, what, now) {
    if (start > MILLISECONDS_THRESHOLD || end > MILLISECONDS_THRESHOLD) {
        return { error: `${what} look like milliseconds (${start}…${end}); expected Unix seconds` };
    }
    if (end < start)
        return { error: `${what} end (${end}) before they start (${start})` };
    if (end - start > MAX_RUN_DAYS * 86_400) {
        return {
            error: `${what} span ${Math.floor((end - start) / 86_400)} days (${new Date(start * 1000).toISOString()} to ${new Date(end * 1000).toISOString()}); a run longer than ${MAX_RUN_DAYS} days is taken for a timestamp error`,
        };
    }
    if (end > now + FUTURE_TOLERANCE_SECONDS) {
        return { error: `${what} end in the future (${new Date(end * 1000).toISOString()})` };
    }
    return { ok: { start, end, source } };
}
/**
 * A run's activity window (SPEC §2): from the earliest step start to the latest step end; else
 * the top-level ISO timestamps; else the manifest entry.
 */
function activityWindow(file, manifest, now) {
    const steps = file.steps ?? [];
    const starts = steps.flatMap((s) => typeof s.start_timestamp === "number" ? [s.start_timestamp] : []);
    const ends = steps.flatMap((s) => (typeof s.end_timestamp === "number" ? [s.end_timestamp] : []));
    if (starts.length > 0 && ends.length > 0) {
        return check(Math.min(...starts), Math.max(...ends), "steps", "step timestamps", now);
    }
    const start = file.start_timestamp ? parseIsoSeconds(file.start_timestamp) : undefined;
    const end = file.end_timestamp ? parseIsoSeconds(file.end_timestamp) : undefined;
    if (start !== undefined && end !== undefined) {
        return check(start, end, "timestamps", "start_timestamp/end_timestamp", now);
    }
    const mStart = manifest?.start_time ? parseIsoSeconds(manifest.start_time) : undefined;
    const mEnd = manifest?.end_time ? parseIsoSeconds(manifest.end_time) : undefined;
    if (mStart !== undefined && mEnd !== undefined) {
        return check(mStart, mEnd, "manifest", "manifest start_time/end_time", now);
    }
    return {
        error: "no run window: no step has start_timestamp and end_timestamp, the top-level start_timestamp/end_timestamp are missing, and the manifest has no entry with start_time/end_time",
    };
}
/**
 * The whole minutes attributed to a run (SPEC §3): `[floor(start), floor(end) + 60 + tail)`,
 * widened by the padding at both ends and rounded outward to whole minutes.
 */
function queryWindow(activity, settings) {
    const pad = settings.windowPaddingSeconds;
    return {
        start: floorMinute(floorMinute(activity.start) - pad),
        end: ceilMinute(floorMinute(activity.end) + time_MINUTE + settings.windowTailSeconds + pad),
    };
}
const windowMinutes = (w) => (w.end - w.start) / MINUTE;
const overlaps = (a, b) => a.start < b.end && b.start < a.end;

;// CONCATENATED MODULE: ./build/usage/unattributed.js

/** Minutes of unattributed usage this close together are one cluster. */
const CLUSTER_GAP_SECONDS = 5 * time_MINUTE;
/** Clusters reported per key, the largest first; the totals count all of them. */
const MAX_CLUSTERS = 10;
const add = (t, u) => {
    t.tokensIn += u.tokensIn;
    t.tokensOut += u.tokensOut;
    t.cachedTokens += u.cachedTokens;
    t.requests += u.requests;
};
function nearestRun(first, last, runs) {
    let best;
    for (const r of runs) {
        const candidate = r.window.end <= first
            ? { id: r.id, gapMinutes: (first - r.window.end) / time_MINUTE, side: "after" }
            : {
                id: r.id,
                gapMinutes: Math.max(0, (r.window.start - (last + time_MINUTE)) / time_MINUTE),
                side: "before",
            };
        if (!best || candidate.gapMinutes < best.gapMinutes)
            best = candidate;
    }
    return best;
}
/**
 * Usage on a key in minutes no run owns (SPEC §3), grouped into clusters of nearby minutes, each
 * with the run it is closest to: usage just after a run's window is a lag longer than the tail;
 * usage far from every run is the key used outside the experiment, or a run not in the repository.
 */
function summarizeUnattributed(keyId, byMinute, runsOnKey) {
    const minutes = [...byMinute.keys()].sort((a, b) => a - b);
    const totals = { tokensIn: 0, tokensOut: 0, cachedTokens: 0, requests: 0 };
    const clusters = [];
    for (const m of minutes) {
        const t = byMinute.get(m);
        add(totals, t);
        const last = clusters.at(-1);
        if (last && m - last.lastMinute <= CLUSTER_GAP_SECONDS) {
            last.lastMinute = m;
            last.minutes++;
            add(last.totals, t);
        }
        else {
            clusters.push({ firstMinute: m, lastMinute: m, minutes: 1, totals: { ...t } });
        }
    }
    const size = (c) => c.totals.tokensIn + c.totals.tokensOut;
    const kept = [...clusters]
        .sort((a, b) => size(b) - size(a) || a.firstMinute - b.firstMinute)
        .slice(0, MAX_CLUSTERS);
    for (const c of kept)
        c.nearest = nearestRun(c.firstMinute, c.lastMinute, runsOnKey);
    return {
        keyId,
        totals,
        minutes: minutes.length,
        firstMinute: minutes[0] ?? 0,
        lastMinute: minutes.at(-1) ?? 0,
        clusters: kept,
    };
}

;// CONCATENATED MODULE: ./build/usage/attribute.js


const emptyTotals = () => ({ tokensIn: 0, tokensOut: 0, cachedTokens: 0, requests: 0 });
function addRow(t, r) {
    t.tokensIn += r.inputTokens;
    t.tokensOut += r.outputTokens;
    t.cachedTokens += r.cachedTokens;
    t.requests += r.requests;
}
/**
 * Runs on the same key whose windows share at least one minute (SPEC §3): their shared usage
 * cannot be told apart. A sweep over windows sorted by start, per key.
 */
function findSharing(runs) {
    const sharing = new Map();
    const byKey = new Map();
    for (const r of runs)
        byKey.set(r.keyId, [...(byKey.get(r.keyId) ?? []), r]);
    for (const list of byKey.values()) {
        list.sort((a, b) => a.window.start - b.window.start);
        let active = [];
        for (const r of list) {
            active = active.filter((a) => a.window.end > r.window.start);
            for (const a of active) {
                sharing.set(a.id, [...(sharing.get(a.id) ?? []), r.id]);
                sharing.set(r.id, [...(sharing.get(r.id) ?? []), a.id]);
            }
            active.push(r);
        }
    }
    return sharing;
}
/** Which runs own each minute, per key. */
function minuteOwners(runs) {
    const owners = new Map();
    for (const r of runs) {
        let byMinute = owners.get(r.keyId);
        if (!byMinute) {
            byMinute = new Map();
            owners.set(r.keyId, byMinute);
        }
        for (let m = r.window.start; m < r.window.end; m += time_MINUTE) {
            const list = byMinute.get(m);
            if (list)
                list.push(r.id);
            else
                byMinute.set(m, [r.id]);
        }
    }
    return owners;
}
const attribute_modelKey = (r) => `${r.model}\u0000${r.batch}\u0000${r.serviceTier}`;
/**
 * Attributes minute buckets to runs (SPEC §3). A minute owned by one run counts for it; a minute
 * owned by several runs on the same key counts for none of them and is reported as shared; a
 * minute owned by no run is unattributed usage on that key.
 */
function attribute(runs, targets, rows) {
    const owners = minuteOwners(runs);
    const perRun = new Map();
    const models = new Map();
    for (const id of targets) {
        perRun.set(id, { totals: emptyTotals(), models: [] });
        models.set(id, new Map());
    }
    for (const r of runs) {
        if (!targets.has(r.id))
            continue;
        const byMinute = owners.get(r.keyId);
        const others = new Set();
        let minutes = 0;
        for (let m = r.window.start; m < r.window.end; m += time_MINUTE) {
            const list = byMinute.get(m);
            if (list.length > 1) {
                minutes++;
                for (const o of list)
                    if (o !== r.id)
                        others.add(o);
            }
        }
        if (minutes > 0)
            perRun.get(r.id).shared = { withRuns: [...others].sort(), minutes, totals: emptyTotals() };
    }
    const unattributed = new Map();
    for (const row of rows) {
        const list = owners.get(row.apiKeyId)?.get(row.minute);
        if (!list) {
            let byMinute = unattributed.get(row.apiKeyId);
            if (!byMinute) {
                byMinute = new Map();
                unattributed.set(row.apiKeyId, byMinute);
            }
            let t = byMinute.get(row.minute);
            if (!t) {
                t = emptyTotals();
                byMinute.set(row.minute, t);
            }
            addRow(t, row);
            continue;
        }
        if (list.length > 1) {
            for (const id of list) {
                const shared = perRun.get(id)?.shared;
                if (shared)
                    addRow(shared.totals, row);
            }
            continue;
        }
        const id = list[0];
        const usage = perRun.get(id);
        if (!usage)
            continue;
        addRow(usage.totals, row);
        const byModel = models.get(id);
        const key = attribute_modelKey(row);
        let m = byModel.get(key);
        if (!m) {
            m = {
                model: row.model,
                batch: row.batch,
                service_tier: row.serviceTier,
                tokens_in: 0,
                tokens_out: 0,
                cached_tokens: 0,
                api_calls: 0,
            };
            byModel.set(key, m);
        }
        m.tokens_in += row.inputTokens;
        m.tokens_out += row.outputTokens;
        m.cached_tokens += row.cachedTokens;
        m.api_calls += row.requests;
    }
    for (const [id, usage] of perRun) {
        usage.models = [...models.get(id).values()].sort((a, b) => a.model < b.model
            ? -1
            : a.model > b.model
                ? 1
                : String(a.batch).localeCompare(String(b.batch)) ||
                    String(a.service_tier).localeCompare(String(b.service_tier)));
    }
    const runsByKey = new Map();
    for (const r of runs)
        runsByKey.set(r.keyId, [...(runsByKey.get(r.keyId) ?? []), r]);
    return {
        perRun,
        unattributed: [...unattributed]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([keyId, byMinute]) => summarizeUnattributed(keyId, byMinute, runsByKey.get(keyId) ?? [])),
    };
}

;// CONCATENATED MODULE: ./build/reconcile/state.js




const runKey = (framework, runId) => `${framework}/${runId}`;
function manifestIndex(discovery) {
    const index = new Map();
    for (const e of discovery.manifest?.entries ?? []) {
        if (e.framework)
            index.set(runKey(e.framework, e.run_id), e);
        if (!index.has(e.run_id))
            index.set(e.run_id, e);
    }
    return index;
}
/** The minutes a recorded reading actually covered, whatever its rounding. */
const recordedMinutes = (a) => a.query_window
    ? { start: floorMinute(a.query_window.start), end: ceilMinute(a.query_window.end) }
    : undefined;
/**
 * Builds each run's state: windows, key, ambiguity, and which recorded readings overlapped
 * another run on the same key (the old script's ±300 s padding did, in 12 of 300 real runs).
 */
function buildRunStates(discovery, settings, now) {
    const manifest = manifestIndex(discovery);
    const problems = [];
    const states = discovery.runs.map((run) => {
        const id = runKey(run.framework, run.runId);
        const manifestEntry = manifest.get(id) ?? manifest.get(run.runId);
        const activity = activityWindow(run.file, manifestEntry, now);
        const selected = settings.runIds.length === 0 || settings.runIds.includes(run.runId);
        const state = {
            id,
            run,
            selected,
            keyId: settings.apiKeyIds[run.framework],
            attempts: chronological(run.file.usage_api_reconciliation?.attempts ?? []),
            manifestEntry,
            sharesWith: [],
            untrusted: () => undefined,
        };
        if ("error" in activity) {
            state.windowError = activity.error;
            if (selected)
                problems.push({
                    path: run.path,
                    framework: run.framework,
                    runId: run.runId,
                    reason: activity.error,
                });
        }
        else {
            state.activity = activity.ok;
            state.window = queryWindow(activity.ok, settings);
        }
        return state;
    });
    // Each framework has its own key (two frameworks on one key id is a configuration error), so
    // runs are grouped by framework: ambiguity is known even in list mode, without key ids.
    const byFramework = states.flatMap((s) => s.window ? [{ id: s.id, keyId: s.run.framework, window: s.window }] : []);
    const sharing = findSharing(byFramework);
    const byId = new Map(states.map((s) => [s.id, s]));
    for (const s of states)
        s.sharesWith = (sharing.get(s.id) ?? []).map((id) => byId.get(id)?.run.runId ?? id);
    markUntrustedReadings(states);
    return { states, problems };
}
/**
 * Marks the readings that cannot vouch for a run as it is now (SPEC §4): a reading counts only
 * when it names a query window, that window covers the run's current window (for this tool's own
 * readings: is exactly that window), and it overlaps no other run's window on the same key.
 * Anything else was read over another window (steps corrected since, a run directory copied to a
 * new id) or took in a neighbour's minutes (the old script's ±300 s padding did, in 14 of 300 real
 * runs). Readings taken with another key are refused by evaluateRun, which knows the key
 * configured now.
 */
function markUntrustedReadings(states) {
    const byKey = new Map();
    for (const s of states)
        if (s.window)
            byKey.set(s.run.framework, [...(byKey.get(s.run.framework) ?? []), s]);
    for (const list of byKey.values()) {
        // Ambiguous runs overlap by definition and are never verified; the check is for the others.
        list.sort((a, b) => a.window.start - b.window.start);
        const starts = list.map((s) => s.window.start);
        const longest = Math.max(...list.map((s) => s.window.end - s.window.start));
        for (const s of list) {
            if (s.sharesWith.length > 0)
                continue;
            const own = s.window;
            const reasons = new Map();
            const overlapReason = (a, w) => {
                const cacheKey = `${w.start}-${w.end}`;
                if (reasons.has(cacheKey))
                    return reasons.get(cacheKey);
                let reason;
                // windows sorted by start: candidates start before w.end and no earlier than w.start - longest
                let i = upperBound(starts, w.end - 1);
                for (; i >= 0 && starts[i] >= w.start - longest; i--) {
                    const other = list[i];
                    if (other !== s && overlaps(w, other.window)) {
                        reason = `readings up to ${a.timestamp} were taken over ${formatMinute(w.start)} to ${formatMinute(w.end)}, which overlaps run ${other.run.runId}; re-verifying over the exact window`;
                        break;
                    }
                }
                reasons.set(cacheKey, reason);
                return reason;
            };
            s.untrusted = (a) => {
                const w = recordedMinutes(a);
                // A reading that does not say which minutes it summed cannot vouch for any of them.
                if (!w)
                    return `the reading of ${a.timestamp} does not record the window it was taken over, so it cannot vouch for ${formatMinute(own.start)} to ${formatMinute(own.end)}; reading again`;
                // This tool's readings (they record their tail) were taken over the run's exact window:
                // any other window means the run's window changed since, and a wider reading would count
                // minutes that are no longer the run's. The old script's (±buffer, no tail) were always
                // wider than the run; they vouch while they cover it.
                const exact = a.query_window?.tail_seconds !== undefined;
                const mismatch = exact
                    ? w.start !== own.start || w.end !== own.end
                    : w.start > own.start || w.end < own.end;
                if (mismatch)
                    return `readings up to ${a.timestamp} were taken over ${formatMinute(w.start)} to ${formatMinute(w.end)}, which is not the run's window now, ${formatMinute(own.start)} to ${formatMinute(own.end)} (its steps changed, the file was copied from another run, or the window settings changed); reading again over the current window`;
                return overlapReason(a, w);
            };
        }
    }
}
/** Index of the last element <= value, or -1. */
function upperBound(sorted, value) {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sorted[mid] <= value)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

;// CONCATENATED MODULE: ./build/reconcile/apply.js








/** Adds readings the file does not hold yet (a pass re-applied on another writer's head holds them). */
function withReadings(attempts, extra) {
    const added = [];
    for (const reading of extra) {
        const known = [...attempts, ...added].some((a) => a.timestamp === reading.timestamp && sameReading(a, reading));
        if (!known)
            added.push(reading);
    }
    return { attempts: chronological([...attempts, ...added]), added: chronological(added) };
}
/** A reading without a per-model split (the old script's) is priced as the run's declared model. */
function usageToPrice(basis, declaredModel) {
    if (basis.models)
        return basis.models;
    if (!declaredModel)
        return undefined;
    return [
        {
            model: declaredModel,
            batch: null,
            service_tier: null,
            tokens_in: basis.total_tokens_in,
            tokens_out: basis.total_tokens_out,
            cached_tokens: basis.total_cached_tokens,
            api_calls: basis.total_api_calls,
        },
    ];
}
function errorRow(p) {
    return {
        framework: p.framework ?? "",
        run_id: p.runId ?? "",
        path: p.path,
        status: "error",
        tokens_in: null,
        tokens_out: null,
        cached_tokens: null,
        api_calls: null,
        cost_usd: null,
        stable_checks: 0,
        verified_at: null,
        message: p.reason,
        changed: false,
        read: false,
        window: null,
        shared: null,
    };
}
/**
 * The pure half of a pass: from the files as they are now and this pass's readings, decide every
 * run's status, aggregates and cost, and produce the new file texts. Called again on a fresh
 * checkout when a push is rejected, so another writer's changes are kept.
 */
function apply_applyReadings(input) {
    const { discovery, settings, now, prices } = input;
    const { states, problems } = buildRunStates(discovery, settings, now);
    const runs = [];
    const changes = [];
    const manifestUpdates = [];
    const readings = new Map();
    const held = new Map(input.held ?? []);
    const unpriced = new Map();
    const priceWarnings = new Set();
    const reconcile = settings.mode === "reconcile";
    const inScope = (framework, runId) => (settings.runIds.length === 0 || (runId !== undefined && settings.runIds.includes(runId))) &&
        (settings.frameworks.length === 0 ||
            (framework !== undefined && settings.frameworks.includes(framework)));
    const otherProblems = [];
    for (const p of [...discovery.problems, ...problems]) {
        if (p.runId === undefined)
            otherProblems.push(p);
        else if (inScope(p.framework, p.runId))
            runs.push(errorRow(p));
    }
    // Every run's readings after this pass, first: whether other runs on a key have usage decides
    // what a run without any is told (SPEC §11).
    const merged = new Map();
    for (const state of states) {
        if (!state.selected || state.windowError || input.failures.has(state.id))
            continue;
        const fresh = input.readings.get(state.id);
        merged.set(state.id, {
            ...withReadings(state.attempts, [
                ...(input.held?.get(state.id) ?? []),
                ...(fresh ? [fresh] : []),
            ]),
            fresh,
        });
    }
    const keyUsageOf = keyUsage(states, merged, input.keyTotals);
    for (const state of states) {
        if (!state.selected || state.windowError)
            continue;
        const failure = input.failures.get(state.id);
        if (failure) {
            runs.push({
                ...errorRow({
                    path: state.run.path,
                    framework: state.run.framework,
                    runId: state.run.runId,
                    reason: failure,
                }),
                window: windowOf(state),
            });
            continue;
        }
        const { attempts, added, fresh } = merged.get(state.id);
        readings.set(state.id, attempts);
        held.delete(state.id);
        const evaluation = evaluateRun({
            now,
            endedAt: state.activity.end,
            attempts,
            keyId: state.keyId,
            sharesWith: state.sharesWith,
            untrusted: state.untrusted,
            wasVerified: state.run.file.usage_api_reconciliation?.verification_status === "verified",
            keyUsage: keyUsageOf(state, attempts),
        }, settings);
        const ambiguous = evaluation.status === "ambiguous";
        const basis = ambiguous ? undefined : evaluation.basis;
        let cost;
        if (basis) {
            const usage = usageToPrice(basis, state.run.file.model);
            cost = usage ? costOf(usage, prices) : undefined;
            if (!usage)
                unpriced.set("(no model)", {
                    reason: "readings have no per-model split and the file declares no model",
                    runs: (unpriced.get("(no model)")?.runs ?? 0) + 1,
                });
            for (const u of cost?.unknown ?? [])
                unpriced.set(u.model, { reason: u.reason, runs: (unpriced.get(u.model)?.runs ?? 0) + 1 });
            for (const w of cost?.warnings ?? [])
                priceWarnings.add(w);
        }
        let after = state.run.text;
        if (reconcile && PERSISTED_STATUSES.has(evaluation.status)) {
            const target = {
                newAttempts: added,
                status: evaluation.status,
                message: evaluation.message,
                verifiedAt: evaluation.verifiedAt ?? null,
                totals: basis ? totalsOf(basis) : undefined,
                cost,
            };
            after = applyMetricsTarget(state.run.text, state.run.file, target);
            if (input.holdIdentical && added.length > 0 && onlyRepeatsTheFile(state, target, added)) {
                after = state.run.text;
                held.set(state.id, added);
            }
            const agg = state.run.file.aggregate_metrics;
            manifestUpdates.push({
                framework: state.run.framework,
                runId: state.run.runId,
                status: evaluation.status,
                tokensIn: basis ? basis.total_tokens_in : agg?.TOK_IN,
                tokensOut: basis ? basis.total_tokens_out : agg?.TOK_OUT,
            });
        }
        if (after !== state.run.text)
            changes.push({ path: state.run.path, before: state.run.text, after });
        const shared = attempts.at(-1)?.shared;
        runs.push({
            framework: state.run.framework,
            run_id: state.run.runId,
            path: state.run.path,
            status: evaluation.status,
            tokens_in: basis?.total_tokens_in ?? null,
            tokens_out: basis?.total_tokens_out ?? null,
            cached_tokens: basis?.total_cached_tokens ?? null,
            api_calls: basis?.total_api_calls ?? null,
            cost_usd: cost?.total ?? null,
            stable_checks: evaluation.stableChecks,
            verified_at: verifiedAtOf(state, evaluation, added),
            message: evaluation.message,
            changed: after !== state.run.text,
            read: fresh !== undefined && added.includes(fresh),
            window: windowOf(state),
            shared: ambiguous && shared ? { ...shared } : null,
        });
    }
    const manifest = discovery.manifest;
    if (manifest && manifestUpdates.length > 0) {
        const after = applyManifestUpdates(manifest.text, manifest.entries, manifestUpdates);
        if (after !== manifest.text)
            changes.push({ path: manifest.path, before: manifest.text, after });
    }
    const warnings = [
        ...[...unpriced].map(([model, u]) => `no cost for ${u.runs} run(s) using ${model}: ${u.reason}; COST_USD is left null, not 0 (add the model to config.yaml pricing or a pricing file)`),
        ...priceWarnings,
        ...otherProblems.map((p) => `${p.path}: ${p.reason}`),
    ];
    return { runs: sortRuns(runs), changes, warnings, otherProblems, readings, held, states };
}
/**
 * What is known of a run's key beyond the run: `none` when this pass read the key and it had no
 * usage anywhere in the fetched minutes; `elsewhere` when another run of the same framework has a
 * non-zero reading taken with the key this run's newest reading used.
 */
function keyUsage(states, merged, keyTotals) {
    const withUsage = new Map();
    for (const s of states) {
        for (const a of merged.get(s.id)?.attempts ?? s.attempts) {
            const key = a.api_key_id ?? s.keyId;
            if (key === undefined || isZero(totalsOf(a)))
                continue;
            const id = `${s.run.framework}\u0000${key}`;
            withUsage.set(id, (withUsage.get(id) ?? new Set()).add(s.id));
        }
    }
    return (state, attempts) => {
        const key = attempts.at(-1)?.api_key_id ?? state.keyId;
        if (key === undefined)
            return undefined;
        const fetched = keyTotals?.get(key);
        if (fetched && isZero(fetched))
            return "none";
        const runs = withUsage.get(`${state.run.framework}\u0000${key}`);
        return runs && [...runs].some((id) => id !== state.id) ? "elsewhere" : undefined;
    };
}
/** verified_at as the file says it after this pass (a settled verification keeps its recorded time). */
function verifiedAtOf(state, evaluation, added) {
    if (evaluation.status !== "verified")
        return null;
    const rec = state.run.file.usage_api_reconciliation;
    const settled = added.length === 0 &&
        rec?.verification_status === "verified" &&
        typeof rec.verified_at === "string";
    return settled ? rec.verified_at : (evaluation.verifiedAt ?? null);
}
/**
 * Whether writing the new readings would only repeat the file's last reading: same totals, same
 * status, and nothing else (aggregates, cost) to change. Such readings can wait in the cache.
 */
function onlyRepeatsTheFile(state, target, added) {
    const last = state.attempts.at(-1);
    const file = state.run.file;
    if (!last ||
        !added.every((a) => sameReading(a, last)) ||
        file.verification_status !== target.status)
        return false;
    const rec = file.usage_api_reconciliation;
    const rest = applyMetricsTarget(state.run.text, file, {
        ...target,
        newAttempts: [],
        message: rec?.verification_message ?? target.message,
        verifiedAt: rec?.verified_at ?? target.verifiedAt,
    });
    return rest === state.run.text;
}
const windowOf = (s) => s.window
    ? { start: formatIsoSeconds(s.window.start), end: formatIsoSeconds(s.window.end) }
    : null;
const sortRuns = (runs) => runs.sort((a, b) => a.framework.localeCompare(b.framework) ||
    (a.window?.start ?? "").localeCompare(b.window?.start ?? "") ||
    a.run_id.localeCompare(b.run_id));

;// CONCATENATED MODULE: ./build/runs/attempt.js

/**
 * A new reading in the old script's attempt shape, with our fields beside its keys: the key
 * queried, the per-model split, the usage shared with other runs, and the tool's version.
 */
function makeAttempt(args) {
    const { usage } = args;
    return {
        timestamp: formatIsoSeconds(args.now),
        total_tokens_in: usage.totals.tokensIn,
        total_tokens_out: usage.totals.tokensOut,
        total_api_calls: usage.totals.requests,
        total_cached_tokens: usage.totals.cachedTokens,
        query_window: {
            start: args.window.start,
            end: args.window.end,
            buffer_seconds: args.settings.windowPaddingSeconds,
            tail_seconds: args.settings.windowTailSeconds,
        },
        api_key_id: args.keyId,
        models: usage.models,
        ...(usage.shared
            ? {
                shared: {
                    with_runs: usage.shared.withRuns,
                    minutes: usage.shared.minutes,
                    tokens_in: usage.shared.totals.tokensIn,
                    tokens_out: usage.shared.totals.tokensOut,
                    cached_tokens: usage.shared.totals.cachedTokens,
                    api_calls: usage.shared.totals.requests,
                },
            }
            : {}),
        tool: args.tool,
    };
}

;// CONCATENATED MODULE: ./build/usage/errors.js
class UsageApiError extends Error {
    kind;
    status;
    constructor(kind, message, status) {
        super(message);
        this.name = "UsageApiError";
        this.kind = kind;
        this.status = status;
    }
}
/** Errors that another try may cure. */
const isRetryable = (e) => e.kind === "rate_limited" ||
    e.kind === "server" ||
    e.kind === "network" ||
    e.kind === "timeout" ||
    e.kind === "malformed";

;// CONCATENATED MODULE: ./build/usage/query.js
const ENDPOINT_PATHS = {
    completions: "/organization/usage/completions",
    costs: "/organization/costs",
};
/** Grouping that lets us attribute by key and price by model, batch and service tier. */
const GROUP_BY = ["api_key_id", "model", "batch", "service_tier"];
/** The most 1-minute buckets the API returns in one page. */
const MAX_MINUTE_BUCKETS = 1440;
/** The most 1-day buckets the usage endpoint returns in one page. */
const MAX_DAY_BUCKETS = 31;
/** The most 1-day buckets the costs endpoint returns in one page. */
const MAX_COST_BUCKETS = 180;
const pathOf = (req) => ENDPOINT_PATHS[req.endpoint ?? "completions"];
/** Query string for a page request; arrays as repeated parameters. Order is fixed so recordings match. */
function toSearchParams(req) {
    const params = new URLSearchParams();
    params.set("start_time", String(req.startTime));
    params.set("end_time", String(req.endTime));
    params.set("bucket_width", req.bucketWidth);
    params.set("limit", String(req.limit));
    for (const g of req.groupBy)
        params.append("group_by", g);
    for (const k of [...req.apiKeyIds].sort())
        params.append("api_key_ids", k);
    if (req.page !== undefined)
        params.set("page", req.page);
    return params;
}
/**
 * A request's identity in a recording: the query string, prefixed by the endpoint for anything
 * but completions usage (so recordings made before the costs endpoint existed still match).
 */
function recordingKey(req) {
    const query = toSearchParams(req).toString();
    return (req.endpoint ?? "completions") === "completions" ? query : `${req.endpoint}:${query}`;
}

;// CONCATENATED MODULE: ./build/usage/schema.js

/**
 * Usage API responses (`GET /organization/usage/completions`), after the OpenAPI description in
 * the project's reference data. Loose objects: the API keeps adding fields, and a new field must
 * never break a pass. Only what attribution needs is required.
 */
const schema_count = schemas/* int */.Whr().nonnegative();
const CompletionsResultSchema = schemas/* looseObject */._H3({
    object: schemas/* string */.YjP().optional(),
    input_tokens: schema_count,
    output_tokens: schema_count,
    num_model_requests: schema_count,
    input_cached_tokens: schema_count.nullable().optional(),
    api_key_id: schemas/* string */.YjP().nullable().optional(),
    model: schemas/* string */.YjP().nullable().optional(),
    batch: schemas/* boolean */.zMY().nullable().optional(),
    service_tier: schemas/* string */.YjP().nullable().optional(),
    project_id: schemas/* string */.YjP().nullable().optional(),
});
const UsageBucketSchema = schemas/* looseObject */._H3({
    object: schemas/* string */.YjP().optional(),
    start_time: schemas/* int */.Whr(),
    end_time: schemas/* int */.Whr(),
    results: schemas/* array */.YOg(CompletionsResultSchema),
});
const UsagePageSchema = schemas/* looseObject */._H3({
    object: schemas/* string */.YjP().optional(),
    data: schemas/* array */.YOg(UsageBucketSchema),
    has_more: schemas/* boolean */.zMY(),
    next_page: schemas/* string */.YjP().nullable().optional(),
});
/** Both shapes of error body seen from the API: `{"error": {"message": …}}` and `{"error": "…"}`. */
const ApiErrorBodySchema = schemas/* looseObject */._H3({
    error: schemas/* union */.KCZ([
        schemas/* string */.YjP(),
        schemas/* looseObject */._H3({
            message: schemas/* string */.YjP().optional(),
            type: schemas/* string */.YjP().nullable().optional(),
            code: schemas/* string */.YjP().nullable().optional(),
        }),
    ]),
});

;// CONCATENATED MODULE: ./build/usage/pages.js





/** A body that does not match the schema is asked for again this many more times. */
const SCHEMA_RETRIES = 2;
const spanName = (span) => `${formatMinute(span.start)} – ${formatMinute(span.end)}`;
/**
 * Every page of one query, following `next_page` to the end: each page validated (asked for
 * again when it does not match the schema), buckets aligned to the width, inside the span and
 * never returned twice, cursors that move forward. Anything off throws, so a doubtful answer
 * never becomes a reading.
 */
async function* paginate(source, request, schema, what) {
    const width = request.bucketWidth === "1d" ? 86_400 : time_MINUTE;
    const span = { start: request.startTime, end: request.endTime };
    const seenCursors = new Set();
    const seenBuckets = new Set();
    const maxPages = Math.ceil((span.end - span.start) / width) + 2;
    let cursor;
    for (let pages = 0;; pages++) {
        if (pages >= maxPages) {
            throw new UsageApiError("protocol", `the ${what} returned more than ${maxPages} pages for ${spanName(span)}; stopped`);
        }
        const req = { ...request, page: cursor };
        let parsed = schema.safeParse(await source.fetchPage(req));
        for (let retry = 0; !parsed.success && retry < SCHEMA_RETRIES; retry++) {
            parsed = schema.safeParse(await source.fetchPage(req));
        }
        if (!parsed.success) {
            throw new UsageApiError("malformed", `a page for ${spanName(span)} does not match the ${what} schema: ${describeIssues(parsed.error)}`);
        }
        const page = parsed.data;
        for (const bucket of page.data) {
            const where = `bucket ${bucket.start_time} (${formatMinute(bucket.start_time)})`;
            if ((bucket.start_time - span.start) % width !== 0 ||
                bucket.end_time - bucket.start_time !== width) {
                throw new UsageApiError("protocol", `${where} is not a whole ${request.bucketWidth} bucket (start ${bucket.start_time}, end ${bucket.end_time})`);
            }
            if (bucket.start_time < span.start || bucket.start_time >= span.end) {
                throw new UsageApiError("protocol", `${where} lies outside the requested span ${spanName(span)}`);
            }
            if (seenBuckets.has(bucket.start_time))
                throw new UsageApiError("protocol", `${where} was returned twice`);
            seenBuckets.add(bucket.start_time);
        }
        yield parsed.data;
        if (!page.has_more)
            return;
        const next = page.next_page;
        if (!next)
            throw new UsageApiError("protocol", `a page for ${spanName(span)} has has_more but no next_page cursor`);
        if (seenCursors.has(next) || next === cursor) {
            throw new UsageApiError("protocol", `the ${what} repeated the page cursor "${next.slice(0, 40)}" for ${spanName(span)}; stopped instead of looping`);
        }
        seenCursors.add(next);
        cursor = next;
    }
}
/**
 * Fetches the usage of one span for the given keys, grouped by key, model, batch and service
 * tier, in minute buckets (attribution) or day buckets (cost cross-check).
 */
async function fetchSpan(source, span, apiKeyIds, onPage, bucketWidth = "1m") {
    const rows = [];
    let pages = 0;
    const request = {
        startTime: span.start,
        endTime: span.end,
        apiKeyIds,
        groupBy: GROUP_BY,
        bucketWidth,
        limit: bucketWidth === "1d" ? MAX_DAY_BUCKETS : MAX_MINUTE_BUCKETS,
    };
    for await (const page of paginate(source, request, UsagePageSchema, "Usage API")) {
        pages++;
        onPage?.();
        for (const bucket of page.data) {
            const where = `bucket ${bucket.start_time} (${formatMinute(bucket.start_time)})`;
            for (const r of bucket.results) {
                if (!r.api_key_id || !r.model) {
                    throw new UsageApiError("protocol", `${where} has a result without api_key_id or model although the query groups by them`);
                }
                const cached = r.input_cached_tokens ?? 0;
                if (cached > r.input_tokens) {
                    throw new UsageApiError("protocol", `${where} reports more cached tokens (${cached}) than input tokens (${r.input_tokens})`);
                }
                rows.push({
                    minute: bucket.start_time,
                    apiKeyId: r.api_key_id,
                    model: r.model,
                    batch: r.batch ?? null,
                    serviceTier: r.service_tier ?? null,
                    inputTokens: r.input_tokens,
                    cachedTokens: cached,
                    outputTokens: r.output_tokens,
                    requests: r.num_model_requests,
                });
            }
        }
    }
    return { rows, pages };
}

;// CONCATENATED MODULE: ./build/usage/plan.js


/** Sorted, disjoint union of the windows. */
function unionOf(windows) {
    const sorted = [...windows].sort((a, b) => a.start - b.start);
    const out = [];
    for (const w of sorted) {
        const last = out.at(-1);
        if (last && w.start <= last.end)
            last.end = Math.max(last.end, w.end);
        else
            out.push({ start: w.start, end: w.end });
    }
    return out;
}
/**
 * The fewest pages that cover every minute of the windows (SPEC §3). Covering points on a line
 * with fixed-length pages is solved exactly by the greedy rule: open a page at the first minute
 * not yet covered. Pages that follow a full page without a gap are merged into one span, which
 * the API then pages through with its cursor: same count, fewer queries to plan.
 */
function planSpans(windows, pageMinutes = MAX_MINUTE_BUCKETS, fillUntil) {
    const pageSeconds = pageMinutes * time_MINUTE;
    const union = unionOf(windows);
    const pages = [];
    let i = 0;
    let from = union[0]?.start ?? 0;
    while (i < union.length) {
        const start = Math.max(from, union[i].start);
        const limit = start + pageSeconds;
        let end = start;
        while (i < union.length && union[i].start < limit) {
            end = Math.min(union[i].end, limit);
            if (union[i].end <= limit)
                i++;
            else
                break;
        }
        pages.push({ start, end });
        from = end;
    }
    // A page costs one request however much of it is used: fill each to its full length (up to
    // `fillUntil`), so usage outside every window shows up (unattributed) at no cost. The next
    // page never starts before this one's full length, so filled pages do not overlap.
    if (fillUntil !== undefined) {
        for (const page of pages)
            page.end = Math.max(page.end, Math.min(page.start + pageSeconds, fillUntil));
    }
    const spans = [];
    for (const page of pages) {
        const last = spans.at(-1);
        if (last && last.end === page.start && (last.end - last.start) % pageSeconds === 0)
            last.end = page.end;
        else
            spans.push({ ...page });
    }
    return spans;
}
/** Requests a span needs at best: one per page of `pageMinutes` buckets. */
const pagesFor = (span, pageMinutes = MAX_MINUTE_BUCKETS) => Math.ceil((span.end - span.start) / time_MINUTE / pageMinutes);
/** `Σ ceil(span_minutes / 1440)` over the spans: the fewest requests that can fetch them. */
const requestLowerBound = (spans, pageMinutes = MAX_MINUTE_BUCKETS) => spans.reduce((n, s) => n + pagesFor(s, pageMinutes), 0);

;// CONCATENATED MODULE: ./build/reconcile/collect.js







async function mapLimit(items, limit, fn) {
    const results = new Array(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const i = next++;
            results[i] = await fn(items[i]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return results;
}
const messageOf = (error) => error instanceof UsageApiError
    ? error.message
    : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
/** Errors another request might not meet; an auth or quota error would only repeat. */
const SPLITTABLE = new Set([
    "malformed",
    "protocol",
    "server",
    "network",
    "timeout",
    "rate_limited",
]);
/**
 * Fetches a span; when it fails after its retries and spans several pages, fetches each
 * page-long piece on its own, so one bad page costs only the runs in its own minutes. Rows of a
 * piece that failed are never kept: no run is read from a partial window.
 */
async function fetchOrSplit(source, span, keyIds, onPage) {
    try {
        return { rows: (await fetchSpan(source, span, keyIds, onPage)).rows, failed: [] };
    }
    catch (error) {
        const page = MAX_MINUTE_BUCKETS * 60;
        const kind = error instanceof UsageApiError ? error.kind : "unexpected";
        if (span.end - span.start <= page || !SPLITTABLE.has(kind))
            return { rows: [], failed: [{ span, message: messageOf(error) }] };
        const rows = [];
        const failed = [];
        for (let start = span.start; start < span.end; start += page) {
            const piece = { start, end: Math.min(start + page, span.end) };
            try {
                rows.push(...(await fetchSpan(source, piece, keyIds, onPage)).rows);
            }
            catch (pieceError) {
                failed.push({ span: piece, message: messageOf(pieceError) });
            }
        }
        return { rows, failed };
    }
}
/**
 * Takes one reading for each due run (SPEC §3): plans the fewest spans covering every due window,
 * fetches each span once for all keys, and attributes minute buckets to runs locally. A span that
 * fails turns every run whose window touches it into a failure, never into a reading.
 */
async function collectReadings(args) {
    const { due, states, settings, source, now } = args;
    // minutes after `now - min-age` may belong to runs not committed yet: not worth reporting
    const spans = planSpans(due.map((s) => s.window), MAX_MINUTE_BUCKETS, floorMinute(now - settings.minAgeMinutes * 60));
    const keyIds = [...new Set(due.map((s) => s.keyId))].sort();
    const rows = [];
    const failedSpans = [];
    const progress = { spansDone: 0, spans: spans.length, pages: 0 };
    const onPage = () => {
        progress.pages++;
    };
    await mapLimit(spans, args.concurrency ?? 4, async (span) => {
        const outcome = await fetchOrSplit(source, span, keyIds, onPage);
        for (const r of outcome.rows)
            rows.push(r);
        failedSpans.push(...outcome.failed);
        progress.spansDone++;
        args.onProgress?.({ ...progress });
    });
    const failures = new Map();
    for (const s of due) {
        const failed = failedSpans.find((f) => f.span.start < s.window.end && s.window.start < f.span.end);
        if (failed)
            failures.set(s.id, `Usage API: ${failed.message}`);
    }
    // Only rows of spans that succeeded exist; a failed span's runs are failures, so no run is read
    // from a partial window.
    const onKeys = states.flatMap((s) => s.keyId && s.window ? [{ id: s.id, keyId: s.keyId, window: s.window }] : []);
    const targets = new Set(due.filter((s) => !failures.has(s.id)).map((s) => s.id));
    const { perRun, unattributed } = attribute(onKeys, targets, rows);
    const keyTotals = new Map(keyIds.map((k) => [k, { tokensIn: 0, tokensOut: 0, cachedTokens: 0, requests: 0 }]));
    for (const r of rows) {
        const t = keyTotals.get(r.apiKeyId);
        if (!t)
            continue;
        t.tokensIn += r.inputTokens;
        t.tokensOut += r.outputTokens;
        t.cachedTokens += r.cachedTokens;
        t.requests += r.requests;
    }
    const readings = new Map();
    for (const s of due) {
        const usage = perRun.get(s.id);
        if (!usage)
            continue;
        readings.set(s.id, makeAttempt({ now, usage, window: s.window, settings, keyId: s.keyId, tool: args.tool }));
    }
    return {
        readings,
        failures,
        unattributed,
        keyTotals,
        spans,
        pages: progress.pages,
        lowerBound: requestLowerBound(spans),
    };
}

;// CONCATENATED MODULE: ./build/util/decimal.js
/**
 * Money without float drift: amounts as integers of 1e-12 USD (BigInt). The Costs API sends
 * `amount.value` as a JSON number or, lately, a decimal string; both parse exactly here.
 */
const PICO = 12;
const SCALE = 10n ** BigInt(PICO);
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
/** Parses a decimal (string, or a number through its shortest representation) to 1e-12 units, rounding half away from zero. */
function parsePico(value) {
    const text = typeof value === "number" ? (Number.isFinite(value) ? String(value) : "") : value.trim();
    const m = DECIMAL.exec(text);
    if (!m || (m[2] === "" && (m[3] ?? "") === ""))
        return undefined;
    const [, sign, whole = "", fraction = "", exp = "0"] = m;
    const digits = `${whole}${fraction}`.replace(/^0+(?=\d)/, "") || "0";
    // value = digits × 10^(exp − fraction.length); in pico units: × 10^PICO
    const shift = Number(exp) - fraction.length + PICO;
    let units;
    if (shift >= 0)
        units = BigInt(digits) * 10n ** BigInt(shift);
    else {
        const divisor = 10n ** BigInt(-shift);
        const n = BigInt(digits);
        units = n / divisor;
        if ((n % divisor) * 2n >= divisor)
            units += 1n;
    }
    return sign === "-" ? -units : units;
}
/** Pico units to a number of USD, for display and comparison (exact to ~15 significant digits). */
const picoToUsd = (pico) => Number(pico) / Number(SCALE);

;// CONCATENATED MODULE: ./build/usage/costs.js






/**
 * `GET /organization/costs` (day buckets, grouped by key and line item), after the OpenAPI
 * description: loose objects, `amount.value` a number or a decimal string.
 */
const CostsResultSchema = schemas/* looseObject */._H3({
    object: schemas/* string */.YjP().optional(),
    amount: schemas/* looseObject */._H3({
        value: schemas/* union */.KCZ([schemas/* number */.aig(), schemas/* string */.YjP()]),
        currency: schemas/* string */.YjP().optional(),
    }),
    line_item: schemas/* string */.YjP().nullable().optional(),
    api_key_id: schemas/* string */.YjP().nullable().optional(),
    project_id: schemas/* string */.YjP().nullable().optional(),
});
const CostsPageSchema = schemas/* looseObject */._H3({
    object: schemas/* string */.YjP().optional(),
    data: schemas/* array */.YOg(schemas/* looseObject */._H3({
        object: schemas/* string */.YjP().optional(),
        start_time: schemas/* int */.Whr(),
        end_time: schemas/* int */.Whr(),
        results: schemas/* array */.YOg(CostsResultSchema),
    })),
    has_more: schemas/* boolean */.zMY(),
    next_page: schemas/* string */.YjP().nullable().optional(),
});
/** Every cost line of the span's days for the given keys. A non-USD amount or an unreadable value throws. */
async function fetchCosts(source, span, apiKeyIds, onPage) {
    const rows = [];
    const request = {
        endpoint: "costs",
        startTime: span.start,
        endTime: span.end,
        apiKeyIds,
        groupBy: ["api_key_id", "line_item"],
        bucketWidth: "1d",
        limit: MAX_COST_BUCKETS,
    };
    for await (const page of paginate(source, request, CostsPageSchema, "Costs API")) {
        onPage?.();
        for (const bucket of page.data) {
            for (const r of bucket.results) {
                const where = `cost bucket ${formatMinute(bucket.start_time)}`;
                const currency = (r.amount.currency ?? "usd").toLowerCase();
                if (currency !== "usd")
                    throw new UsageApiError("protocol", `${where} is in ${currency}, not USD`);
                const amountPico = parsePico(r.amount.value);
                if (amountPico === undefined)
                    throw new UsageApiError("malformed", `${where} has an amount that is not a number: ${JSON.stringify(r.amount.value).slice(0, 40)}`);
                if (!r.api_key_id)
                    throw new UsageApiError("protocol", `${where} has a result without api_key_id although the query groups by it`);
                rows.push({
                    day: bucket.start_time,
                    apiKeyId: r.api_key_id,
                    lineItem: r.line_item ?? "(no line item)",
                    amountPico,
                });
            }
        }
    }
    return rows;
}

;// CONCATENATED MODULE: ./build/reconcile/costcheck.js




const DAY = 86_400;
/** Costs are settled by OpenAI about two days after a day ends; younger days are not compared. */
const SETTLE_SECONDS = 48 * 3600;
const dayOf = (t) => Math.floor(t / DAY) * DAY;
const isoDay = (t) => new Date(t * 1000).toISOString().slice(0, 10);
const TOKEN_LINE = /, (input|cached input|output)$/i;
/** Contiguous ranges of whole days. */
function dayRanges(days) {
    const ranges = [];
    for (const d of [...days].sort((a, b) => a - b)) {
        const last = ranges.at(-1);
        if (last && last.end === d)
            last.end = d + DAY;
        else
            ranges.push({ start: d, end: d + DAY });
    }
    return ranges;
}
/**
 * The Costs API cross-check (SPEC §5): for every UTC day the runs touch and every configured key,
 * our cost of the day's usage (all of it: runs, shared and unattributed minutes), priced from the
 * Usage API's per-model split, against the Costs API's amount. Days younger than 48 h are not yet
 * settled and never a mismatch. A difference over the tolerance is flagged with its likely causes.
 */
async function crossCheckCosts(args) {
    const { source, now } = args;
    const selected = args.states.filter((s) => s.selected && s.window && s.keyId);
    const days = new Set();
    for (const s of selected)
        for (let d = dayOf(s.window.start); d < s.window.end; d += DAY)
            days.add(d);
    const keys = [...new Set(selected.map((s) => s.keyId))].sort();
    if (days.size === 0 || keys.length === 0)
        return [];
    const usage = new Map();
    const theirs = new Map();
    for (const range of dayRanges([...days])) {
        const [daily, costs] = await Promise.all([
            fetchSpan(source, range, keys, undefined, "1d"),
            fetchCosts(source, range, keys),
        ]);
        for (const r of daily.rows) {
            const key = `${r.apiKeyId}|${r.minute}`;
            const byModel = usage.get(key) ?? new Map();
            usage.set(key, byModel);
            const m = `${r.model}|${r.batch}|${r.serviceTier}`;
            const u = byModel.get(m) ?? {
                model: r.model,
                batch: r.batch,
                service_tier: r.serviceTier,
                tokens_in: 0,
                tokens_out: 0,
                cached_tokens: 0,
                api_calls: 0,
            };
            u.tokens_in += r.inputTokens;
            u.tokens_out += r.outputTokens;
            u.cached_tokens += r.cachedTokens;
            u.api_calls += r.requests;
            byModel.set(m, u);
        }
        for (const c of costs) {
            const key = `${c.apiKeyId}|${c.day}`;
            const t = theirs.get(key) ?? { pico: 0n, lines: new Set() };
            t.pico += c.amountPico;
            t.lines.add(c.lineItem);
            theirs.set(key, t);
        }
    }
    const frameworkOf = new Map(Object.entries(args.apiKeyIds).map(([f, k]) => [k, f]));
    const reportById = new Map(args.runs.map((r) => [`${r.framework}/${r.run_id}`, r]));
    const rows = [];
    for (const day of [...days].sort((a, b) => a - b)) {
        for (const keyId of keys) {
            const models = [...(usage.get(`${keyId}|${day}`)?.values() ?? [])];
            const cost = costOf(models, args.prices);
            const ours = cost.uncachedInputCost + cost.cachedInputCost + cost.outputCost;
            const them = theirs.get(`${keyId}|${day}`);
            const theirsUsd = them ? picoToUsd(them.pico) : null;
            const mine = selected.filter((s) => s.keyId === keyId && dayOf(s.window.start) === day);
            const runCost = mine.reduce((sum, s) => sum + (reportById.get(s.id)?.cost_usd ?? 0), 0);
            if (models.length === 0 && !them && mine.length === 0)
                continue;
            const difference = theirsUsd === null ? null : ours - theirsUsd;
            const differencePercent = difference === null
                ? null
                : theirsUsd
                    ? (difference / theirsUsd) * 100
                    : ours > 0
                        ? 100
                        : 0;
            const settled = day + DAY <= now - SETTLE_SECONDS;
            const coverage = ours > 0 ? Math.min(1, runCost / ours) : null;
            const causes = [];
            if (cost.unknown.length > 0)
                causes.push(`no price for ${[...new Set(cost.unknown.map((u) => u.model))].join(", ")}`);
            if (models.some((m) => m.batch || m.service_tier === "flex" || m.service_tier === "priority"))
                causes.push("batch or service-tier rates");
            if (coverage !== null && coverage < 0.99)
                causes.push(`usage outside the runs (runs account for ${(coverage * 100).toFixed(1)}% of the key's cost that day)`);
            const otherLines = [...(them?.lines ?? [])].filter((l) => !TOKEN_LINE.test(l));
            if (otherLines.length > 0)
                causes.push(`cost lines that are not token usage: ${otherLines.join(", ")}`);
            const off = differencePercent === null
                ? theirsUsd === null && ours > 0
                : Math.abs(differencePercent) > args.tolerancePercent;
            const flagged = settled && (off || cost.unknown.length > 0);
            if (flagged && causes.length === 0)
                causes.push("the price table differs from what was billed (check its date)");
            rows.push({
                date: isoDay(day),
                framework: frameworkOf.get(keyId) ?? null,
                apiKeyId: keyId,
                oursUsd: Math.round(ours * 1e10) / 1e10,
                theirsUsd,
                differenceUsd: difference === null ? null : Math.round(difference * 1e10) / 1e10,
                differencePercent: differencePercent === null ? null : Math.round(differencePercent * 1000) / 1000,
                coverage: coverage === null ? null : Math.round(coverage * 10000) / 10000,
                runs: mine.length,
                settled,
                flagged,
                causes: flagged ? causes : [],
            });
        }
    }
    return rows;
}

;// CONCATENATED MODULE: ./build/reconcile/keys.js

/**
 * A key whose usage outside every run, in the minutes a pass fetched, is more than this many
 * times its usage inside the runs is named in a warning (SPEC §11). Two frameworks' key ids
 * swapped read each other's minutes: almost nothing lands in the runs' windows and nearly all of
 * the key's usage lies outside them; a healthy key has next to nothing outside (a lag longer than
 * the tail, a run not pushed yet).
 */
const UNATTRIBUTED_FACTOR = 2;
/** …and at least this many tokens (in + out) outside the runs, so a few stray requests are not. */
const UNATTRIBUTED_FLOOR_TOKENS = 10_000;
const keys_fmt = (n) => n.toLocaleString("en-US");
const tokens = (t) => t.tokensIn + t.tokensOut;
/**
 * Warnings about the key list itself (SPEC §11, issue "swapped key ids"): frameworks in the list
 * with no runs, keys read this pass without any usage (a mistyped key id), and keys whose usage
 * lies mostly outside the runs (swapped key ids, or a key used outside the experiment).
 */
function keyWarnings(settings, discovery, collected) {
    const warnings = [];
    const frameworkOf = new Map(Object.entries(settings.apiKeyIds).map(([f, k]) => [k, f]));
    for (const [framework, key] of Object.entries(settings.apiKeyIds).sort(([a], [b]) => a.localeCompare(b))) {
        if (settings.frameworks.length > 0 && !settings.frameworks.includes(framework))
            continue;
        const runs = discovery.runs.filter((r) => r.framework === framework).length +
            discovery.problems.filter((p) => p.framework === framework).length;
        if (runs > 0)
            continue;
        const found = discovery.frameworks.join(", ") || "none";
        warnings.push(`key list: framework ${framework} (key ${key}) has no runs in the runs directory (frameworks found: ${found}); a misspelt framework name, or a key list meant for another experiment?`);
    }
    if (!collected)
        return warnings;
    const minutes = collected.spans.reduce((n, s) => n + (s.end - s.start) / 60, 0);
    const first = collected.spans[0];
    const last = collected.spans.at(-1);
    const read = first && last
        ? `${keys_fmt(minutes)} minute(s) read this pass, ${formatMinute(first.start)} to ${formatMinute(last.end)}`
        : "the minutes read this pass";
    for (const [key, fetched] of [...collected.keyTotals].sort(([a], [b]) => a.localeCompare(b))) {
        const name = `key ${key} (${frameworkOf.get(key) ?? "no framework"})`;
        if (tokens(fetched) === 0 && fetched.requests === 0) {
            warnings.push(`${name} had no usage at all in the ${read}: if its runs used the API, the key id is likely mistyped; check it against the key the framework's runs used`);
            continue;
        }
        const outside = collected.unattributed.find((u) => u.keyId === key)?.totals;
        if (!outside)
            continue;
        const inside = tokens(fetched) - tokens(outside);
        if (tokens(outside) >= UNATTRIBUTED_FLOOR_TOKENS &&
            tokens(outside) > UNATTRIBUTED_FACTOR * inside) {
            warnings.push(`${name}: ${keys_fmt(tokens(outside))} tokens on this key in the ${read} fall outside every run's window, against ${keys_fmt(inside)} inside them: the key ids of two frameworks may be swapped or mistyped (or the key is used outside the experiment); until that is checked, this framework's readings may be another framework's usage`);
        }
    }
    return warnings;
}

;// CONCATENATED MODULE: ./build/reconcile/pass.js











/**
 * One reconciliation pass: discover runs → plan queries → fetch usage → attribute → verify →
 * price → edit files → report. Configuration problems throw ConfigError before any request; a
 * broken run is reported and the pass goes on. Writes nothing itself: the caller writes
 * `changes` (or commits them), so a dry run and a commit share every step.
 */
async function runPass(settings, deps) {
    const { files, now } = deps;
    if (!(await files.exists(settings.runsDir)))
        throw new ConfigError(`runs directory ${settings.runsDir} does not exist (runs-dir)`);
    const discovery = await discover_discoverRuns(files, settings.runsDir, settings.frameworks);
    const missing = settings.frameworks.filter((f) => !discovery.frameworks.includes(f));
    if (missing.length > 0) {
        throw new ConfigError(`framework ${missing.join(", ")} not found under ${settings.runsDir} (found: ${discovery.frameworks.join(", ") || "none"})`);
    }
    const knownIds = new Set([
        ...discovery.runs.map((r) => r.runId),
        ...discovery.problems.flatMap((p) => (p.runId ? [p.runId] : [])),
    ]);
    const unknownIds = settings.runIds.filter((id) => !knownIds.has(id));
    if (unknownIds.length > 0)
        throw new ConfigError(`run id ${unknownIds.join(", ")} not found under ${settings.runsDir}`);
    let collected;
    if (settings.mode === "reconcile") {
        const { states } = buildRunStates(discovery, settings, now);
        const due = states.filter((s) => s.selected &&
            s.window &&
            evaluateRun({
                now,
                endedAt: s.activity.end,
                attempts: chronological([...s.attempts, ...(deps.held?.get(s.id) ?? [])]),
                keyId: s.keyId,
                sharesWith: s.sharesWith,
                untrusted: s.untrusted,
            }, settings).due);
        const keyless = [...new Set(due.filter((s) => !s.keyId).map((s) => s.run.framework))];
        if (keyless.length > 0) {
            throw new ConfigError(`no API key id for framework(s) ${keyless.join(", ")}, which have runs to reconcile: give ${keyless[0]}=key_… (action input api-key-ids, CLI --api-key-id) or set OPENAI_API_KEY_${keyless[0].toUpperCase()}_ID`);
        }
        if (due.length > 0) {
            if (!deps.source)
                throw new ConfigError("no admin key to read the Usage API with: set OPENAI_ADMIN_KEY (action input admin-key)");
            collected = await collectReadings({
                states,
                due,
                settings,
                source: deps.source,
                now,
                tool: deps.tool,
                concurrency: deps.concurrency,
                onProgress: deps.onProgress,
            });
        }
    }
    const applied = apply_applyReadings({
        discovery,
        settings,
        now,
        prices: deps.prices,
        readings: collected?.readings ?? new Map(),
        failures: collected?.failures ?? new Map(),
        held: deps.held,
        holdIdentical: deps.holdIdentical,
        keyTotals: collected?.keyTotals,
    });
    applied.warnings.push(...keyWarnings(settings, discovery, collected));
    const report = buildReport(settings, deps, applied, collected);
    if (settings.mode === "reconcile" && settings.crossCheckCosts) {
        await addCostCheck(report, settings, deps, applied.states);
    }
    return {
        report,
        changes: applied.changes,
        collected,
        readings: applied.readings,
        held: applied.held,
    };
}
function buildReport(settings, deps, applied, collected) {
    const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0]));
    let tokensIn = 0;
    let tokensOut = 0;
    let cached = 0;
    let calls = 0;
    let cost = 0;
    let costUnknown = 0;
    for (const r of applied.runs) {
        byStatus[r.status]++;
        tokensIn += r.tokens_in ?? 0;
        tokensOut += r.tokens_out ?? 0;
        cached += r.cached_tokens ?? 0;
        calls += r.api_calls ?? 0;
        if (r.cost_usd === null)
            costUnknown += r.tokens_in === null ? 0 : 1;
        else
            cost += r.cost_usd;
    }
    const keyToFramework = new Map(Object.entries(settings.apiKeyIds).map(([f, k]) => [k, f]));
    return {
        version: deps.version,
        now: formatIsoSeconds(deps.now),
        mode: settings.mode,
        dry_run: settings.dryRun,
        requests: deps.requestCount?.() ?? 0,
        pages: collected?.pages ?? 0,
        request_lower_bound: collected?.lowerBound ?? 0,
        spans: collected?.spans.length ?? 0,
        runs: applied.runs,
        totals: {
            runs: applied.runs.length,
            by_status: byStatus,
            tokens_in: tokensIn,
            tokens_out: tokensOut,
            cached_tokens: cached,
            api_calls: calls,
            cost_usd: Math.round(cost * 1e10) / 1e10,
            cost_unknown_runs: costUnknown,
        },
        cost_check: null,
        unattributed: (collected?.unattributed ?? []).map((u) => {
            const nearest = (n) => {
                if (!n)
                    return null;
                const [framework = "", ...rest] = n.id.split("/");
                return {
                    framework,
                    run_id: rest.join("/"),
                    gap_minutes: Math.round(n.gapMinutes),
                    side: n.side,
                };
            };
            return {
                api_key_id: u.keyId,
                framework: keyToFramework.get(u.keyId) ?? null,
                tokens_in: u.totals.tokensIn,
                tokens_out: u.totals.tokensOut,
                cached_tokens: u.totals.cachedTokens,
                api_calls: u.totals.requests,
                minutes: u.minutes,
                first_minute: formatIsoSeconds(u.firstMinute),
                last_minute: formatIsoSeconds(u.lastMinute),
                nearest_run: nearest(u.clusters[0]?.nearest),
                clusters: u.clusters.map((c) => ({
                    first_minute: formatIsoSeconds(c.firstMinute),
                    last_minute: formatIsoSeconds(c.lastMinute),
                    minutes: c.minutes,
                    tokens_in: c.totals.tokensIn,
                    tokens_out: c.totals.tokensOut,
                    cached_tokens: c.totals.cachedTokens,
                    api_calls: c.totals.requests,
                    nearest_run: nearest(c.nearest),
                })),
            };
        }),
        warnings: applied.warnings,
        changed_files: applied.changes.map((c) => c.path),
        errors: byStatus.error + applied.otherProblems.length,
    };
}
/** Runs the Costs API cross-check and puts it in the report; flagged days become warnings. */
async function addCostCheck(report, settings, deps, states) {
    const tolerance = settings.costTolerancePercent ?? 1;
    if (!deps.source) {
        report.warnings.push("cross-check-costs: no admin key to read the Costs API with; skipped");
        return;
    }
    try {
        const rows = await crossCheckCosts({
            source: deps.source,
            states,
            runs: report.runs,
            prices: deps.prices,
            now: deps.now,
            tolerancePercent: tolerance,
            apiKeyIds: settings.apiKeyIds,
        });
        report.cost_check = {
            tolerance_percent: tolerance,
            days: rows.map((r) => ({
                date: r.date,
                framework: r.framework,
                api_key_id: r.apiKeyId,
                ours_usd: r.oursUsd,
                theirs_usd: r.theirsUsd,
                difference_usd: r.differenceUsd,
                difference_percent: r.differencePercent,
                coverage: r.coverage,
                runs: r.runs,
                settled: r.settled,
                flagged: r.flagged,
                causes: r.causes,
            })),
        };
        for (const r of rows.filter((x) => x.flagged)) {
            report.warnings.push(`costs ${r.date} ${r.framework ?? r.apiKeyId}: ours $${r.oursUsd.toFixed(4)}, Costs API ${r.theirsUsd === null ? "nothing" : `$${r.theirsUsd.toFixed(4)}`} (${r.differencePercent === null ? "no amount" : `${r.differencePercent > 0 ? "+" : ""}${r.differencePercent.toFixed(2)}%`}, tolerance ${tolerance}%); likely: ${r.causes.join("; ")}`);
        }
    }
    catch (error) {
        report.warnings.push(`cross-check-costs failed: ${error instanceof Error ? error.message : String(error)}`);
        report.errors++;
    }
    report.requests = deps.requestCount?.() ?? report.requests;
}
/**
 * This pass's changes recomputed from the files as they are now: re-discovers the runs and applies
 * the same readings again. Used after a rejected push, on the new remote head, so that another
 * writer's changes to the same files are kept and ours are added on top.
 */
async function reapplyPass(settings, deps, collected) {
    const discovery = await discoverRuns(deps.files, settings.runsDir, settings.frameworks);
    return applyReadings({
        discovery,
        settings,
        now: deps.now,
        prices: deps.prices,
        readings: collected?.readings ?? new Map(),
        failures: collected?.failures ?? new Map(),
        held: deps.held,
        holdIdentical: deps.holdIdentical,
        keyTotals: collected?.keyTotals,
    });
}
/**
 * Writes the pass's changes, each atomically (several at a time: each write waits for its fsync).
 * A file that cannot be written is reported; the rest still are.
 */
async function writeChanges(files, changes, concurrency = 16) {
    const failed = [];
    const queue = [...changes];
    const worker = async () => {
        for (let c = queue.shift(); c; c = queue.shift()) {
            try {
                await files.writeAtomic(c.path, c.after);
            }
            catch (error) {
                failed.push({
                    path: c.path,
                    reason: error instanceof Error ? error.message : String(error),
                });
            }
        }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, changes.length) }, worker));
    return failed.sort((a, b) => a.path.localeCompare(b.path));
}

// EXTERNAL MODULE: ./node_modules/undici/index.js
var undici = __webpack_require__(4371);
;// CONCATENATED MODULE: ./build/usage/http.js





const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Seconds or an HTTP date, as RFC 9110 allows; undefined when absent or unreadable. */
function parseRetryAfter(value, nowMs) {
    const v = Array.isArray(value) ? value[0] : value;
    if (v === undefined || v.trim() === "")
        return undefined;
    if (/^\d+(\.\d+)?$/.test(v.trim()))
        return Number(v.trim()) * 1000;
    const date = Date.parse(v);
    return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
function apiMessage(text) {
    try {
        const body = ApiErrorBodySchema.safeParse(JSON.parse(text));
        if (body.success) {
            const e = body.data.error;
            if (typeof e === "string")
                return { message: e };
            return {
                message: e.message ?? e.type ?? "(no message)",
                code: e.code ?? e.type ?? undefined,
            };
        }
    }
    catch {
        // not JSON: fall through to the raw text
    }
    return { message: text.slice(0, 200) || "(empty body)" };
}
function classifyStatus(status, text) {
    const { message, code } = apiMessage(text);
    if (status === 401) {
        return new UsageApiError("auth", `401 Unauthorized: ${message} (is OPENAI_ADMIN_KEY an admin key with the api.usage.read scope?)`, status);
    }
    if (status === 403) {
        return new UsageApiError("forbidden", `403 Forbidden: ${message} (the admin key needs the api.usage.read scope)`, status);
    }
    if (status === 429 && (code === "insufficient_quota" || /insufficient_quota/.test(text))) {
        return new UsageApiError("quota", `429 insufficient_quota: ${message}`, status);
    }
    if (status === 429)
        return new UsageApiError("rate_limited", `429 Too Many Requests: ${message}`, status);
    if (status >= 500)
        return new UsageApiError("server", `${status} server error: ${message}`, status);
    return new UsageApiError("bad_request", `${status}: ${message}`, status);
}
function classifyThrown(error) {
    if (error instanceof UsageApiError)
        return error;
    if (error instanceof undici/* errors */.sO.HeadersTimeoutError ||
        error instanceof undici/* errors */.sO.BodyTimeoutError ||
        error instanceof undici/* errors */.sO.ConnectTimeoutError) {
        return new UsageApiError("timeout", `timed out: ${error.message}`);
    }
    const message = error instanceof Error
        ? `${error.message}${"code" in error && error.code ? ` (${String(error.code)})` : ""}`
        : String(error);
    return new UsageApiError("network", `network error: ${message}`);
}
/**
 * The Usage API over HTTP (undici), with timeouts and retries: exponential backoff with full
 * jitter on 429, 5xx, network errors, timeouts and unparsable bodies, never sooner than the
 * server's Retry-After. 401, 403, insufficient_quota and other 4xx are final. Messages are
 * redacted: the admin key never appears in an error.
 */
function createHttpPageSource(options) {
    const { adminKey, timeoutMs = 30_000, maxAttempts = 6, backoffBaseMs = 500, backoffMaxMs = 30_000, maxRetryAfterMs = 120_000, userAgent = "reconcile-usage", sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)), random = Math.random, } = options;
    const base = options.baseUrl.replace(/\/+$/, "");
    const dispatcher = new undici/* Agent */.g6({
        connections: 8,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        connectTimeout: timeoutMs,
    });
    const stats = { requests: 0, retries: 0 };
    async function once(req) {
        stats.requests++;
        try {
            const res = await (0,undici/* request */.Em)(`${base}${pathOf(req)}?${toSearchParams(req)}`, {
                method: "GET",
                dispatcher,
                headers: {
                    authorization: `Bearer ${adminKey}`,
                    accept: "application/json",
                    "user-agent": userAgent,
                },
            });
            const length = Number(res.headers["content-length"] ?? 0);
            if (length > MAX_BODY_BYTES) {
                res.body.destroy();
                return {
                    error: new UsageApiError("protocol", `response of ${length} bytes is larger than expected`),
                };
            }
            const text = await res.body.text();
            if (res.statusCode === 200) {
                try {
                    return { value: JSON.parse(text) };
                }
                catch {
                    return {
                        error: new UsageApiError("malformed", `response body is not valid JSON (${text.length} characters)`),
                    };
                }
            }
            return {
                error: classifyStatus(res.statusCode, text),
                retryAfterMs: parseRetryAfter(res.headers["retry-after"], Date.now()),
            };
        }
        catch (error) {
            return { error: classifyThrown(error) };
        }
    }
    async function fetchPage(req) {
        for (let attempt = 1;; attempt++) {
            const outcome = await once(req);
            if ("value" in outcome)
                return outcome.value;
            const { retryAfterMs } = outcome;
            // a fresh error carrying only the redacted text: nothing of the key survives in its stack
            const error = new UsageApiError(outcome.error.kind, redact(outcome.error.message, [adminKey]), outcome.error.status);
            if (!isRetryable(error) || attempt >= maxAttempts) {
                const gaveUp = attempt > 1 && isRetryable(error) ? ` (gave up after ${attempt} tries)` : "";
                throw new UsageApiError(error.kind, `${error.message}${gaveUp}`, error.status);
            }
            if (retryAfterMs !== undefined && retryAfterMs > maxRetryAfterMs) {
                throw new UsageApiError(error.kind, `${error.message} (the API asks to wait ${Math.round(retryAfterMs / 1000)} s, longer than the ${Math.round(maxRetryAfterMs / 1000)} s allowed)`, error.status);
            }
            const exponential = Math.min(backoffMaxMs, backoffBaseMs * 2 ** (attempt - 1));
            const delayMs = Math.max(retryAfterMs ?? 0, Math.round(random() * exponential));
            stats.retries++;
            options.onRetry?.({ attempt, delayMs, reason: error.message });
            await sleep(delayMs);
        }
    }
    return { fetchPage, stats, close: () => dispatcher.close() };
}

;// CONCATENATED MODULE: ./build/usage/recording.js





/**
 * `--record DIR` / `--replay DIR`: every raw page of a pass saved as JSON, keyed by its exact
 * query, and answered back from those files without a network. Nothing secret is saved: the
 * files hold the query string and the response body only.
 */
const fileName = (req) => {
    const hash = (0,external_node_crypto_.createHash)("sha256").update(recordingKey(req)).digest("hex").slice(0, 12);
    const prefix = (req.endpoint ?? "completions") === "completions" ? "page" : req.endpoint;
    return `${prefix}-${req.startTime}-${req.endTime}-${hash}.json`;
};
function recordingSource(inner, dir) {
    let ready;
    return {
        async fetchPage(req) {
            const value = await inner.fetchPage(req);
            ready ??= (0,promises_.mkdir)(dir, { recursive: true });
            await ready;
            const body = { query: recordingKey(req), response: value };
            await (0,promises_.writeFile)((0,external_node_path_.join)(dir, fileName(req)), `${JSON.stringify(body, null, 2)}\n`);
            return value;
        },
    };
}
async function replaySource(dir) {
    let names;
    try {
        names = (await (0,promises_.readdir)(dir)).filter((n) => n.endsWith(".json")).sort();
    }
    catch {
        throw new UsageApiError("replay", `replay directory ${dir} cannot be read`);
    }
    const pages = new Map();
    for (const name of names) {
        const saved = JSON.parse(await (0,promises_.readFile)((0,external_node_path_.join)(dir, name), "utf8"));
        if (typeof saved.query !== "string" || saved.response === undefined) {
            throw new UsageApiError("replay", `${(0,external_node_path_.join)(dir, name)} is not a recorded page (expected {query, response})`);
        }
        pages.set(saved.query, saved.response);
    }
    return {
        async fetchPage(req) {
            const query = recordingKey(req);
            if (!pages.has(query)) {
                throw new UsageApiError("replay", `no recorded page in ${dir} for ${query}; record it with --record against the same runs, settings and --now`);
            }
            return structuredClone(pages.get(query));
        },
    };
}

;// CONCATENATED MODULE: ./build/version.js
/** The tool's version, written into every reading it records. Kept in step with package.json by a test. */
const VERSION = "0.1.0";
const TOOL = `reconcile-usage@${VERSION}`;

;// CONCATENATED MODULE: ./build/report/format.js
/** Numbers as every report shows them: terminal tables, job summary, comment. */
const format_int = (n) => n === null || n === undefined ? "–" : Math.round(n).toLocaleString("en-US");
const usd = (n) => {
    if (n === null || n === undefined)
        return "–";
    return `$${n.toFixed(n !== 0 && Math.abs(n) < 0.01 ? 6 : 4)}`;
};
/** `+1.25%`, `-0.50%`, or `–`. */
const signedPercent = (p) => p === null ? "–" : `${p > 0 ? "+" : ""}${p.toFixed(2)}%`;
/** A share (0..1) as `88.8%`, or `–`. */
const share = (r) => (r === null ? "–" : `${(r * 100).toFixed(1)}%`);

;// CONCATENATED MODULE: ./build/cli/table.js


/** Plain-text tables for a terminal; no colours, so they read the same in a log file. */
function table(headers, rows, rightAligned) {
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
    const line = (cells) => cells
        .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
        .join("  ")
        .trimEnd();
    return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
const shortId = (id) => (id.length > 13 ? `${id.slice(0, 8)}…` : id);
const clip = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
function runTable(runs, verbose) {
    const headers = [
        "FRAMEWORK",
        "RUN",
        "STATUS",
        "TOK_IN",
        "TOK_OUT",
        "CACHED",
        "CALLS",
        "COST_USD",
        "CHECKS",
        "MESSAGE",
    ];
    const rows = runs.map((r) => [
        r.framework,
        verbose ? r.run_id : shortId(r.run_id),
        r.status,
        format_int(r.tokens_in),
        format_int(r.tokens_out),
        format_int(r.cached_tokens),
        format_int(r.api_calls),
        usd(r.cost_usd),
        String(r.stable_checks),
        verbose ? r.message : clip(r.message, 60),
    ]);
    return table(headers, rows, new Set([3, 4, 5, 6, 7, 8]));
}
/** `; nearest run 8cb0cb57… (5 min after its window)`, or nothing. */
function nearestText(n) {
    if (!n)
        return "";
    return `; nearest run ${shortId(n.run_id)} (${n.gap_minutes} min ${n.side} its window)`;
}
function summaryLines(report) {
    const t = report.totals;
    const counts = STATUSES.filter((s) => t.by_status[s] > 0)
        .map((s) => `${s} ${t.by_status[s]}`)
        .join(", ");
    const lines = [
        `${t.runs} run(s): ${counts || "none"}`,
        `reconciled tokens: ${format_int(t.tokens_in)} in, ${format_int(t.tokens_out)} out, ${format_int(t.cached_tokens)} cached, ${format_int(t.api_calls)} requests; cost ${usd(t.cost_usd)}${t.cost_unknown_runs > 0 ? ` (+ ${t.cost_unknown_runs} run(s) without a price)` : ""}`,
    ];
    if (report.mode === "reconcile") {
        lines.push(`Usage API: ${report.pages} page(s) of minute usage over ${report.spans} span(s), fewest possible ${report.request_lower_bound}; ${report.requests} HTTP request(s) in all`);
        const verb = report.dry_run ? "would change" : "changed";
        lines.push(`${verb} ${report.changed_files.length} file(s)${report.dry_run ? " (dry run: nothing written)" : ""}`);
    }
    for (const u of report.unattributed) {
        lines.push(`unattributed usage on ${u.api_key_id}${u.framework ? ` (${u.framework})` : ""}: ${format_int(u.tokens_in)} in, ${format_int(u.tokens_out)} out in ${u.minutes} minute(s), ${u.first_minute} – ${u.last_minute}${nearestText(u.nearest_run)}`);
    }
    if (report.cost_check) {
        const rows = report.cost_check.days;
        const headers = ["DAY", "FRAMEWORK", "OURS", "COSTS_API", "DIFF", "COVERAGE", "RUNS", "CHECK"];
        const body = rows.map((d) => [
            d.date,
            d.framework ?? d.api_key_id,
            usd(d.ours_usd),
            usd(d.theirs_usd),
            signedPercent(d.difference_percent),
            share(d.coverage),
            String(d.runs),
            !d.settled ? "not yet settled" : d.flagged ? "MISMATCH" : "ok",
        ]);
        lines.push("", `costs cross-check (tolerance ${report.cost_check.tolerance_percent}%):`, table(headers, body, new Set([2, 3, 4, 5, 6])));
    }
    for (const w of report.warnings)
        lines.push(`warning: ${w}`);
    return lines;
}

;// CONCATENATED MODULE: ./build/cli/main.js


















const collect = (value, previous) => [
    ...(previous ?? []),
    value,
];
/** Options that shape a pass, shared by the reconcile command and `export`. */
function withSettingsOptions(cmd) {
    return cmd
        .option("--runs-dir <dir>", `directory holding {framework}/{run_id}/metrics.json (default: ${DEFAULTS["runs-dir"]})`)
        .option("--api-key-id <framework=key_id>", "API key id a framework's runs used (repeatable); falls back to OPENAI_API_KEY_{FRAMEWORK}_ID", collect)
        .option("--min-age-minutes <n>", `read a run only this long after it ended (default: ${DEFAULTS["min-age-minutes"]})`)
        .option("--verification-interval-minutes <n>", `least time between two readings of a run (default: ${DEFAULTS["verification-interval-minutes"]}; env RECONCILIATION_VERIFICATION_INTERVAL_MIN)`)
        .option("--stable-checks <n>", `stable pairs of identical readings that verify a run (default: ${DEFAULTS["stable-checks"]}; env RECONCILIATION_MIN_STABLE_VERIFICATIONS)`)
        .option("--give-up-after-hours <n>", `no usage this long after a run ended means no_usage (default: ${DEFAULTS["give-up-after-hours"]})`)
        .option("--window-tail-seconds <n>", `seconds after a run's last minute still attributed to it (default: ${DEFAULTS["window-tail-seconds"]})`)
        .option("--window-padding-seconds <n>", `widen both ends of every window; the old script used 300 (default: ${DEFAULTS["window-padding-seconds"]})`)
        .option("--pricing-file <file>", "YAML or JSON prices (pricing.models.<model>.input_price/cached_price/output_price, USD per 1M tokens) overriding config.yaml and the built-in table")
        .option("--api-base-url <url>", `Usage API base URL (default: ${DEFAULTS["api-base-url"]})`)
        .option("--now <iso-time>", "the pass's clock, for reproducible passes (default: the current time); refused when a pass would read the real Usage API: use it with --replay or --list");
}
/** Options of a reconciling pass only. */
function withPassOptions(cmd) {
    return cmd
        .option("--cross-check-costs", "compare our cost of each day's usage, per key, with the Costs API")
        .option("--cost-tolerance <percent>", `difference from the Costs API flagged as a warning (default: ${DEFAULTS["cost-tolerance"]}%)`);
}
const ENVIRONMENT_HELP = `
Environment (a .env file in the working directory is read too; real variables win):
  OPENAI_ADMIN_KEY                admin key with the api.usage.read scope (fallback: OPENAI_API_KEY_USAGE_TRACKING)
  OPENAI_API_KEY_{FRAMEWORK}_ID   key id per framework, e.g. OPENAI_API_KEY_BAES_ID=key_…

Exit status: 0 when no run errored, 1 when any run errored, 2 for bad usage or configuration.`;
function program(onInvoke) {
    const root = withPassOptions(withSettingsOptions(new commander/* Command */.uB("reconcile-usage")
        .description("Reconcile LLM experiment runs (runs/{framework}/{run_id}/metrics.json) with the OpenAI Usage API: read exact token usage, verify it by repeated readings, price it, and write it back.")
        .version(VERSION, "-V, --version")
        // options after `export` belong to export, not to the reconcile command
        .enablePositionalOptions()
        .argument("[framework]", "reconcile only this framework's runs")
        .argument("[run-id]", "reconcile only this run")))
        .option("--list", "list runs and their status without calling the API")
        .option("--verbose", "with --list (or a pass): full run ids, messages and every reading")
        .option("--dry-run", "do everything but write files")
        .option("--force", "read runs again even when verified, no_usage or read recently")
        .option("--record <dir>", "save every raw Usage API page of the pass in this directory")
        .addOption(new commander/* Option */.c$("--replay <dir>", "answer from pages saved by --record instead of the network (no admin key needed)").conflicts("record"))
        .option("--json", "print the pass's JSON report instead of tables")
        .addHelpText("after", ENVIRONMENT_HELP)
        .action((framework, runId, opts) => onInvoke({ kind: "pass", framework, runId, opts }));
    withSettingsOptions(root
        .command("export")
        .description("Write paper-ready tables from the files (no API calls): one row per run, and per framework the mean ± sd and median of verified runs only; other runs are counted and excluded."))
        .addOption(new commander/* Option */.c$("--format <format>", "output format").choices(["csv", "md", "json"]).default("md"))
        .option("--output <file>", "write to this file instead of standard output (csv: the per-framework table goes to <file>.frameworks.csv)")
        .action((opts) => onInvoke({ kind: "export", opts }));
    return root;
}
function loadDotEnv(cwd, env) {
    let fromFile = {};
    try {
        fromFile = (0,external_node_util_.parseEnv)((0,external_node_fs_.readFileSync)((0,external_node_path_.resolve)(cwd, ".env"), "utf8"));
    }
    catch {
        fromFile = {};
    }
    return { ...fromFile, ...env };
}
/** How the CLI spells a setting in messages: its option, argument or variable. */
const CLI_NAMES = {
    "api-key-ids": "--api-key-id",
    frameworks: "<framework>",
    "run-ids": "<run-id>",
    mode: "--list",
    "admin-key": "OPENAI_ADMIN_KEY",
};
const cliName = (name) => CLI_NAMES[name] ?? `--${name}`;
function settingsFrom(opts, extra, env) {
    const text = (v) => (typeof v === "string" ? v : undefined);
    const raw = {
        "runs-dir": text(opts.runsDir),
        "api-key-ids": (opts.apiKeyId ?? []).join("\n"),
        "min-age-minutes": text(opts.minAgeMinutes),
        "verification-interval-minutes": text(opts.verificationIntervalMinutes),
        "stable-checks": text(opts.stableChecks),
        "give-up-after-hours": text(opts.giveUpAfterHours),
        "window-tail-seconds": text(opts.windowTailSeconds),
        "window-padding-seconds": text(opts.windowPaddingSeconds),
        "pricing-file": text(opts.pricingFile),
        "api-base-url": text(opts.apiBaseUrl),
        ...extra,
    };
    return resolveSettings(raw, env, cliName);
}
function clockFrom(opts) {
    if (typeof opts.now !== "string")
        return Date.now() / 1000;
    const parsed = parseIsoSeconds(opts.now);
    if (parsed === undefined)
        throw new ConfigError(`--now: expected an ISO-8601 time such as 2025-11-01T12:00:00Z, got "${opts.now}"`);
    return parsed;
}
/**
 * `--now` against the real Usage API is refused (SPEC §11): the API answers with what it holds
 * now, so a pass that pretends to be later would record readings seconds apart as hours apart
 * and verify numbers that were still growing. Replayed pages and listing (no request) are fine.
 */
function refuseClockAgainstRealApi(opts, mode, apiBaseUrl) {
    if (typeof opts.now !== "string" || mode !== "reconcile" || typeof opts.replay === "string")
        return;
    if (new URL(apiBaseUrl).hostname.toLowerCase() !== new URL(DEFAULTS["api-base-url"]).hostname)
        return;
    throw new ConfigError(`--now: refused against the real Usage API (${apiBaseUrl}): its answers are what it holds now, so readings taken under another clock would be recorded at the wrong time and could verify a run too early. Drop --now, or use it with --replay <dir> (pages saved by --record) or --list`);
}
/** Paths in reports relative to the working directory, as the user typed them. */
function relativize(report, cwd, secrets) {
    const relative = (p) => (p.startsWith(`${cwd}/`) ? p.slice(cwd.length + 1) : p);
    for (const r of report.runs)
        r.path = relative(r.path);
    report.changed_files = report.changed_files.map(relative);
    report.warnings = report.warnings.map((w) => redact(w.replaceAll(`${cwd}/`, ""), secrets));
}
/** Runs the CLI; returns the exit status. */
async function main_main(argv, io) {
    let invocation;
    const cmd = program((i) => {
        invocation = i;
    })
        .exitOverride()
        .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
    for (const sub of cmd.commands)
        sub.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
    try {
        cmd.parse([...argv], { from: "user" });
    }
    catch (error) {
        if (error instanceof commander/* CommanderError */.b7)
            return error.exitCode === 0 ? 0 : 2;
        throw error;
    }
    if (!invocation)
        return 2;
    const env = loadDotEnv(io.cwd, io.env);
    let adminKey;
    let http;
    try {
        if (invocation.kind === "export")
            return await exportTables(invocation.opts, io, env);
        const { opts, framework, runId } = invocation;
        const resolved = settingsFrom(opts, {
            frameworks: framework,
            "run-ids": runId,
            mode: opts.list ? "list" : "reconcile",
            "dry-run": opts.dryRun ? "true" : "false",
            force: opts.force ? "true" : "false",
            "cross-check-costs": opts.crossCheckCosts ? "true" : "false",
            "cost-tolerance": typeof opts.costTolerance === "string" ? opts.costTolerance : undefined,
        }, env);
        adminKey = resolved.adminKey;
        const settings = { ...resolved.pass, runsDir: (0,external_node_path_.resolve)(io.cwd, resolved.pass.runsDir) };
        const now = clockFrom(opts);
        refuseClockAgainstRealApi(opts, settings.mode, resolved.apiBaseUrl);
        const prices = await loadPriceSources(nodeFiles, settings.runsDir, resolved.pricingFile ? (0,external_node_path_.resolve)(io.cwd, resolved.pricingFile) : undefined);
        let source;
        if (settings.mode === "reconcile") {
            if (typeof opts.replay === "string")
                source = await replaySource((0,external_node_path_.resolve)(io.cwd, opts.replay));
            else if (adminKey) {
                http = createHttpPageSource({ baseUrl: resolved.apiBaseUrl, adminKey, userAgent: TOOL });
                source =
                    typeof opts.record === "string"
                        ? recordingSource(http, (0,external_node_path_.resolve)(io.cwd, opts.record))
                        : http;
            }
        }
        const showProgress = io.interactive && !opts.json;
        const outcome = await runPass(settings, {
            files: nodeFiles,
            now,
            prices,
            source,
            requestCount: () => http?.stats.requests ?? 0,
            tool: TOOL,
            version: VERSION,
            onProgress: showProgress
                ? (p) => p.spans > 1 &&
                    io.stderr(`\rreading usage: span ${p.spansDone}/${p.spans}, ${p.pages} page(s)${p.spansDone === p.spans ? "\n" : ""}`)
                : undefined,
        });
        const report = outcome.report;
        if (!settings.dryRun) {
            for (const f of await writeChanges(nodeFiles, outcome.changes)) {
                report.warnings.push(`${f.path}: could not be written (${f.reason})`);
                report.errors++;
            }
        }
        relativize(report, io.cwd, [adminKey]);
        if (opts.json)
            io.stdout(`${JSON.stringify(report, null, 2)}\n`);
        else {
            io.stdout(`${runTable(report.runs, Boolean(opts.verbose))}\n\n${summaryLines(report).join("\n")}\n`);
            if (opts.verbose)
                io.stdout(verboseReadings(outcome));
        }
        return report.errors > 0 ? 1 : 0;
    }
    catch (error) {
        if (error instanceof ConfigError ||
            error instanceof PricingFileError ||
            (error instanceof UsageApiError && error.kind === "replay")) {
            io.stderr(`reconcile-usage: ${redact(error.message, [adminKey])}\n`);
            return 2;
        }
        io.stderr(`reconcile-usage: unexpected error: ${redact(error instanceof Error ? (error.stack ?? error.message) : String(error), [adminKey])}\n`);
        return 1;
    }
    finally {
        await http?.close();
    }
}
/** `reconcile-usage export`: statuses from the files (no API), then the tables. */
async function exportTables(opts, io, env) {
    const resolved = settingsFrom(opts, { mode: "list" }, env);
    const settings = { ...resolved.pass, runsDir: (0,external_node_path_.resolve)(io.cwd, resolved.pass.runsDir) };
    const prices = await loadPriceSources(nodeFiles, settings.runsDir, resolved.pricingFile ? (0,external_node_path_.resolve)(io.cwd, resolved.pricingFile) : undefined);
    const { report } = await runPass(settings, {
        files: nodeFiles,
        now: clockFrom(opts),
        prices,
        tool: TOOL,
        version: VERSION,
    });
    relativize(report, io.cwd, [resolved.adminKey]);
    const data = buildExport(report);
    const format = opts.format;
    const output = typeof opts.output === "string" ? (0,external_node_path_.resolve)(io.cwd, opts.output) : undefined;
    if (format === "csv") {
        if (output) {
            await (0,promises_.writeFile)(output, runsCsv(data));
            await (0,promises_.writeFile)(output.replace(/(\.csv)?$/, ".frameworks.csv"), frameworksCsv(data));
        }
        else
            io.stdout(`${runsCsv(data)}\n${frameworksCsv(data)}`);
    }
    else {
        const text = format === "json" ? toJson(data) : toMarkdown(data);
        if (output)
            await (0,promises_.writeFile)(output, text);
        else
            io.stdout(text);
    }
    for (const w of report.warnings)
        io.stderr(`warning: ${w}\n`);
    return report.errors > 0 ? 1 : 0;
}
function verboseReadings(outcome) {
    const lines = [];
    for (const r of outcome.report.runs) {
        if (!r.window)
            continue;
        lines.push(`\n${r.framework}/${r.run_id}  window ${r.window.start} – ${r.window.end}`);
        const id = `${r.framework}/${r.run_id}`;
        const fresh = outcome.collected?.readings.get(id);
        const readings = outcome.readings.get(id) ?? [];
        if (readings.length === 0)
            lines.push("  no readings");
        for (const a of readings) {
            lines.push(`  ${a === fresh ? "new " : "    "}${a.timestamp}  ${a.total_tokens_in} in, ${a.total_tokens_out} out, ${a.total_api_calls} requests, ${a.total_cached_tokens} cached${a.models ? `  [${a.models.map((m) => m.model).join(", ")}]` : ""}`);
        }
    }
    return `${lines.join("\n")}\n`;
}


/***/ })

};
