import { ConfigError } from "../errors.ts";
import type { PassSettings } from "../reconcile/settings.ts";
import { redact } from "../util/redact.ts";

/**
 * Settings shared by the action and the CLI (SPEC §8). Both hand in raw strings keyed by the
 * action input name (`min-age-minutes`); the CLI's options carry the same names. Every value is
 * checked here, before any request, and a bad one is named with the form it should take.
 */

export type RawSettings = Record<string, string | undefined>;
export type Env = Record<string, string | undefined>;

export interface ResolvedSettings {
  pass: PassSettings;
  adminKey?: string;
  apiBaseUrl: string;
  pricingFile?: string;
  /** Time a pass may spend reading the Usage and Costs APIs, in minutes. */
  passDeadlineMinutes: number;
}

export const DEFAULTS = {
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
  "pass-deadline-minutes": "10",
} as const;

/** Old script's environment variables, read when the setting is not given. */
export const ENV_FALLBACKS: Record<string, string> = {
  "verification-interval-minutes": "RECONCILIATION_VERIFICATION_INTERVAL_MIN",
  "stable-checks": "RECONCILIATION_MIN_STABLE_VERIFICATIONS",
};

export const KEY_ID_PATTERN = /^key_[A-Za-z0-9_-]+$/;
const FRAMEWORK_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const KEY_ENV = /^OPENAI_API_KEY_(.+)_ID$/;

type Label = (name: string) => string;

function wholeNumber(label: string, text: string, min: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) {
    throw new ConfigError(`${label}: expected a whole number ≥ ${min}, got "${text}"`);
  }
  return Number(text);
}

function positiveNumber(label: string, text: string): number {
  const n = Number(text.trim());
  if (text.trim() === "" || !Number.isFinite(n) || n <= 0)
    throw new ConfigError(`${label}: expected a number > 0, got "${text}"`);
  return n;
}

/** A percentage, with or without its `%` sign. */
function percent(label: string, text: string): number {
  const t = text.trim().replace(/%$/, "");
  const n = Number(t);
  if (t === "" || !Number.isFinite(n) || n < 0)
    throw new ConfigError(`${label}: expected a percentage ≥ 0 such as 1 or 0.5%, got "${text}"`);
  return n;
}

function bool(label: string, text: string): boolean {
  const t = text.trim().toLowerCase();
  if (["true", "1", "yes"].includes(t)) return true;
  if (["false", "0", "no", ""].includes(t)) return false;
  throw new ConfigError(`${label}: expected true or false, got "${text}"`);
}

/** Comma, space or newline separated names. */
export function parseList(text: string | undefined): string[] {
  return (text ?? "").split(/[\s,]+/).filter(Boolean);
}

/** `framework=key_…` lines (or comma separated); a framework twice or a key for two frameworks is an error. */
export function parseKeyIds(text: string, label: string): Record<string, string> {
  const map: Record<string, string> = {};
  const owner = new Map<string, string>();
  for (const item of text
    .split(/[\n,]+/)
    .map((s) => s.trim())
    .filter((s) => s && !s.startsWith("#"))) {
    const m = /^([^=\s]+)\s*=\s*(\S+)$/.exec(item);
    // a secret key pasted here must not reach a log: echo what was given only once masked
    if (!m) throw new ConfigError(`${label}: expected framework=key_… , got "${redact(item)}"`);
    const [, framework, keyId] = m as unknown as [string, string, string];
    addKeyId(map, owner, framework, keyId, label);
  }
  return map;
}

function addKeyId(
  map: Record<string, string>,
  owner: Map<string, string>,
  framework: string,
  keyId: string,
  label: string,
): void {
  if (!FRAMEWORK_PATTERN.test(framework))
    throw new ConfigError(`${label}: "${redact(framework)}" is not a framework directory name`);
  if (!KEY_ID_PATTERN.test(keyId)) {
    throw new ConfigError(
      `${label}: "${redact(keyId)}" for ${framework} is not an API key id; expected key_ followed by letters and digits (the id shown in the OpenAI dashboard, not the secret sk-… key)`,
    );
  }
  if (map[framework] !== undefined && map[framework] !== keyId) {
    throw new ConfigError(
      `${label}: framework ${framework} is given two key ids (${map[framework]} and ${keyId})`,
    );
  }
  const other = owner.get(keyId);
  if (other !== undefined && other !== framework) {
    throw new ConfigError(
      `${label}: key id ${keyId} is given for both ${other} and ${framework}; each framework needs its own key, or its usage cannot be told apart`,
    );
  }
  map[framework] = keyId;
  owner.set(keyId, framework);
}

/** `OPENAI_API_KEY_{FW}_ID` variables, for frameworks the explicit setting leaves out. */
function keyIdsFromEnv(
  env: Env,
  explicit: Record<string, string>,
  label: string,
): Record<string, string> {
  const map = { ...explicit };
  const owner = new Map(Object.entries(map).map(([f, k]) => [k, f]));
  for (const [name, value] of Object.entries(env).sort()) {
    const m = KEY_ENV.exec(name);
    if (!m || !value?.trim()) continue;
    const framework = m[1]!.toLowerCase();
    if (map[framework] !== undefined) continue;
    addKeyId(map, owner, framework, value.trim(), `${label} (from ${name})`);
  }
  return map;
}

export function resolveSettings(raw: RawSettings, env: Env, label: Label): ResolvedSettings {
  const get = (name: keyof typeof DEFAULTS | string): string => {
    const given = raw[name];
    if (given !== undefined && given.trim() !== "") return given;
    const fallback = ENV_FALLBACKS[name];
    const fromEnv = fallback ? env[fallback] : undefined;
    if (fromEnv !== undefined && fromEnv.trim() !== "") return fromEnv;
    return (DEFAULTS as Record<string, string>)[name] ?? "";
  };
  const labelOf = (name: string) => {
    const fallback = ENV_FALLBACKS[name];
    const fromEnv =
      (raw[name] === undefined || raw[name]?.trim() === "") && fallback && env[fallback]?.trim();
    return fromEnv ? `${fallback} (for ${label(name)})` : label(name);
  };

  const mode = get("mode").trim();
  if (mode !== "reconcile" && mode !== "list")
    throw new ConfigError(`${label("mode")}: expected reconcile or list, got "${mode}"`);
  const apiBaseUrl = get("api-base-url").trim();
  let url: URL;
  try {
    url = new URL(apiBaseUrl);
  } catch {
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
  const adminKey =
    raw["admin-key"]?.trim() ||
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
      verificationIntervalMinutes: wholeNumber(
        labelOf("verification-interval-minutes"),
        get("verification-interval-minutes"),
        1,
      ),
      stableChecks: wholeNumber(labelOf("stable-checks"), get("stable-checks"), 1),
      giveUpAfterHours: positiveNumber(labelOf("give-up-after-hours"), get("give-up-after-hours")),
      windowTailSeconds: wholeNumber(labelOf("window-tail-seconds"), get("window-tail-seconds"), 0),
      windowPaddingSeconds: wholeNumber(
        labelOf("window-padding-seconds"),
        get("window-padding-seconds"),
        0,
      ),
    },
    adminKey,
    apiBaseUrl: apiBaseUrl.replace(/\/+$/, ""),
    pricingFile,
    passDeadlineMinutes: positiveNumber(
      labelOf("pass-deadline-minutes"),
      get("pass-deadline-minutes"),
    ),
  };
}
