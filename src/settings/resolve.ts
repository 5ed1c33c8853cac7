import { PROVIDERS } from "../providers/registry.ts";
import type { PassSettings } from "../reconcile/settings.ts";
import type { Env } from "./parse.ts";
import { SETTINGS, type Setting, type SettingKey, type SettingValues } from "./table.ts";

/**
 * Reading the settings table (table.ts): each front end hands in the raw texts it was given, keyed
 * by setting name (the action input's name), and how it names a setting in messages; every value
 * is checked here, before any request.
 */

export type RawSettings = Record<string, string | undefined>;
export type { Env } from "./parse.ts";

/** How a front end names a setting in messages (`input min-age-minutes`, `--min-age-minutes`). */
export type Label = (name: string) => string;

const given = (t: string | undefined): t is string => t !== undefined && t.trim() !== "";

/** The text a setting takes, and how the message about it names where it came from. */
function textOf(row: Setting, raw: RawSettings, env: Env, label: Label) {
  const text = raw[row.name];
  if (given(text)) return { text, label: label(row.name) };
  for (const name of row.env ?? []) {
    const fromEnv = env[name];
    if (given(fromEnv)) return { text: fromEnv, label: `${name} (for ${label(row.name)})` };
  }
  return { text: row.default, label: label(row.name) };
}

/** Every setting's value, in the table's order: the first bad one throws a ConfigError. */
export function readSettings(raw: RawSettings, env: Env, label: Label): SettingValues {
  const values: Record<string, unknown> = {};
  for (const [key, row] of Object.entries(SETTINGS) as Array<[SettingKey, Setting]>) {
    const { text, label: named } = textOf(row, raw, env, label);
    values[key] = row.parse(text, { label: named, env });
  }
  return values as SettingValues;
}

/** What a pass needs of the settings (the runs directory as given: the front end resolves it). */
export function passSettingsOf(v: SettingValues): PassSettings {
  return {
    runsDir: v.runsDir,
    frameworks: v.frameworks,
    runIds: v.runIds,
    apiKeyIds: v.apiKeyIds,
    mode: v.mode,
    dryRun: v.dryRun,
    force: v.force,
    crossCheckCosts: v.crossCheckCosts,
    costTolerancePercent: v.costTolerance,
    minAgeMinutes: v.minAgeMinutes,
    verificationIntervalMinutes: v.verificationIntervalMinutes,
    stableChecks: v.stableChecks,
    giveUpAfterHours: v.giveUpAfterHours,
    windowTailSeconds: v.windowTailSeconds,
    windowPaddingSeconds: v.windowPaddingSeconds,
  };
}

/** How to reach one provider's API: its admin key (none given: undefined) and base URL. */
export interface ProviderAccess {
  adminKey?: string;
  baseUrl: string;
}

export interface ResolvedSettings {
  pass: PassSettings;
  /** OpenAI's admin key (`admin-key`). */
  adminKey?: string;
  apiBaseUrl: string;
  /** Each provider's admin key and base URL, by provider id (`openai`, `anthropic`). */
  access: Record<string, ProviderAccess>;
  /** Every secret setting's value given (admin keys, the GitHub token): never printed. */
  secrets: string[];
  pricingFile?: string;
  /** Time a pass may spend reading the Usage and Costs APIs, in minutes. */
  passDeadlineMinutes: number;
  /** Every setting's value (the front ends' own ones too). */
  values: SettingValues;
}

/** A provider's admin key (undefined when none is given) and base URL, by their rows' keys. */
function accessOf(values: SettingValues, adminKey: string, baseUrl: string): ProviderAccess {
  const row = values as Record<string, unknown>;
  const key = row[adminKey];
  return {
    adminKey: typeof key === "string" && key !== "" ? key : undefined,
    baseUrl: String(row[baseUrl]),
  };
}

/** The settings a pass and its front end need, from what the front end was given. */
export function resolveSettings(raw: RawSettings, env: Env, label: Label): ResolvedSettings {
  const values = readSettings(raw, env, label);
  return {
    pass: passSettingsOf(values),
    adminKey: values.adminKey,
    apiBaseUrl: values.apiBaseUrl,
    // each provider names its own rows of the table (UsageProvider.settings)
    access: Object.fromEntries(
      PROVIDERS.map((p) => [p.id, accessOf(values, p.settings.adminKey, p.settings.baseUrl)]),
    ),
    secrets: (Object.entries(SETTINGS) as Array<[SettingKey, Setting]>).flatMap(([key, row]) => {
      const value = values[key];
      return row.secret && typeof value === "string" && value !== "" ? [value] : [];
    }),
    pricingFile: values.pricingFile,
    passDeadlineMinutes: values.passDeadlineMinutes,
    values,
  };
}

/** A pass's settings with every default: the starting point of the tests' settings. */
export const defaultPassSettings = (): PassSettings =>
  passSettingsOf(readSettings({}, {}, (name) => name));
