import { ConfigError } from "../errors.ts";
import { providerOf } from "../providers/registry.ts";
import { redact } from "../util/redact.ts";

/**
 * How a setting's text becomes its value. Each parser names the setting (`label`: the action
 * input, the CLI option or the variable it came from) and the form it should take, so a bad value
 * is reported before any request with everything needed to fix it.
 */

export type Env = Record<string, string | undefined>;

export interface ParseContext {
  /** How the setting is named where this value came from: `input min-age-minutes`, `--stable-checks`. */
  label: string;
  /** The environment, for settings that also gather variables (key ids per framework). */
  env: Env;
}

export type Parser<T> = (text: string, context: ParseContext) => T;

export const text: Parser<string> = (t) => t.trim();

/** A text whose absence means "not given" (undefined rather than ""). */
export const optionalText: Parser<string | undefined> = (t) => t.trim() || undefined;

export const wholeNumber =
  (min: number): Parser<number> =>
  (t, { label }) => {
    if (!/^\d+$/.test(t.trim()) || Number(t) < min)
      throw new ConfigError(`${label}: expected a whole number ≥ ${min}, got "${t}"`);
    return Number(t);
  };

export const positiveNumber: Parser<number> = (t, { label }) => {
  const n = Number(t.trim());
  if (t.trim() === "" || !Number.isFinite(n) || n <= 0)
    throw new ConfigError(`${label}: expected a number > 0, got "${t}"`);
  return n;
};

/** A percentage, with or without its `%` sign. */
export const percent: Parser<number> = (t, { label }) => {
  const s = t.trim().replace(/%$/, "");
  const n = Number(s);
  if (s === "" || !Number.isFinite(n) || n < 0)
    throw new ConfigError(`${label}: expected a percentage ≥ 0 such as 1 or 0.5%, got "${t}"`);
  return n;
};

/** true/1/yes or false/0/no (empty: false). */
export const bool: Parser<boolean> = (t, { label }) => {
  const s = t.trim().toLowerCase();
  if (["true", "1", "yes"].includes(s)) return true;
  if (["false", "0", "no", ""].includes(s)) return false;
  throw new ConfigError(`${label}: expected true or false, got "${t}"`);
};

/** Exactly true or false, as the action's own switches have always been read. */
export const strictBool: Parser<boolean> = (t, { label }) => {
  const s = t.trim().toLowerCase();
  if (s === "true") return true;
  if (s === "false") return false;
  throw new ConfigError(`${label}: expected true or false, got "${t}"`);
};

export const oneOf =
  <T extends string>(allowed: readonly T[]): Parser<T> =>
  (t, { label }) => {
    const s = t.trim();
    if (!(allowed as readonly string[]).includes(s))
      throw new ConfigError(`${label}: expected ${allowed.join(", ")}, got "${t}"`);
    return s as T;
  };

/** Comma, space or newline separated names. */
export function parseList(t: string | undefined): string[] {
  return (t ?? "").split(/[\s,]+/).filter(Boolean);
}

export const FRAMEWORK_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Framework directory names, comma, space or newline separated. */
export const frameworkList: Parser<string[]> = (t, { label }) => {
  const frameworks = parseList(t);
  for (const f of frameworks)
    if (!FRAMEWORK_PATTERN.test(f))
      throw new ConfigError(`${label}: "${f}" is not a framework directory name`);
  return frameworks;
};

export const list: Parser<string[]> = (t) => parseList(t);

/** An http(s) URL, without trailing slashes. */
export const httpUrl: Parser<string> = (t, { label }) => {
  const s = t.trim();
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new ConfigError(`${label}: expected an http(s) URL, got "${s}"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new ConfigError(`${label}: expected an http(s) URL, got "${s}"`);
  return s.replace(/\/+$/, "");
};

/** `OPENAI_API_KEY_{FW}_ID` (the old script's) and `ANTHROPIC_API_KEY_{FW}_ID`: a framework's key id. */
const KEY_ENV = /^(OPENAI|ANTHROPIC)_API_KEY_(.+)_ID$/;

/** `framework=key_…` lines (or comma separated); a framework twice or a key for two frameworks is an error. */
export function parseKeyIds(t: string, label: string): Record<string, string> {
  const map: Record<string, string> = {};
  const owner = new Map<string, string>();
  for (const item of t
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
  // a key id no provider owns (its pattern, in src/providers/) would be read from nowhere
  if (!providerOf(keyId)) {
    throw new ConfigError(
      `${label}: "${redact(keyId)}" for ${framework} is not an API key id; expected key_… (OpenAI) or apikey_… (Anthropic) followed by letters and digits (the id shown in the provider's console, not the secret sk-… key)`,
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

/**
 * The key ids given (`framework=key_…` lines), then `OPENAI_API_KEY_{FW}_ID` and
 * `ANTHROPIC_API_KEY_{FW}_ID` variables for the frameworks they leave out.
 */
export const keyIds: Parser<Record<string, string>> = (t, { label, env }) => {
  const map = parseKeyIds(t, label);
  const given = new Set(Object.keys(map));
  const owner = new Map(Object.entries(map).map(([f, k]) => [k, f]));
  for (const [name, value] of Object.entries(env).sort()) {
    const m = KEY_ENV.exec(name);
    if (!m || !value?.trim()) continue;
    const framework = m[2]!.toLowerCase();
    // a variable fills in what the key-id list leaves out; two variables for one framework
    // (one per provider) are told apart by addKeyId as two key ids
    if (given.has(framework)) continue;
    const keyId = value.trim();
    const provider = providerOf(keyId);
    if (provider && provider.id !== m[1]!.toLowerCase()) {
      throw new ConfigError(
        `${label} (from ${name}): ${redact(keyId)} is a key id of ${provider.id}, not of ${m[1]!.toLowerCase()}; set ${provider.id.toUpperCase()}_API_KEY_${m[2]}_ID instead`,
      );
    }
    addKeyId(map, owner, framework, keyId, `${label} (from ${name})`);
  }
  return map;
};
