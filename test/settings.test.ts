import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/errors.ts";
import { parseKeyIds } from "../src/settings/parse.ts";
import { type Env, type RawSettings, resolveSettings } from "../src/settings/resolve.ts";

/** How the action names its inputs. */
const label = (name: string) => `input "${name}"`;

const resolve = (raw: RawSettings = {}, env: Env = {}) => resolveSettings(raw, env, label);

/** The ConfigError a call throws (fails the test if it throws nothing or something else). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("resolveSettings: defaults and fallbacks", () => {
  it("uses the SPEC §8 defaults", () => {
    const s = resolve();
    expect(s.pass).toEqual({
      runsDir: "runs",
      frameworks: [],
      runIds: [],
      apiKeyIds: {},
      mode: "reconcile",
      dryRun: false,
      force: false,
      minAgeMinutes: 30,
      verificationIntervalMinutes: 60,
      stableChecks: 2,
      giveUpAfterHours: 72,
      windowTailSeconds: 120,
      windowPaddingSeconds: 0,
      crossCheckCosts: false,
      costTolerancePercent: 1,
    });
    expect(s.apiBaseUrl).toBe("https://api.openai.com/v1");
    expect(s.adminKey).toBeUndefined();
    expect(s.pricingFile).toBeUndefined();
  });

  it("reads cost-tolerance as a percentage, with or without its sign, and rejects a negative one", () => {
    expect(resolve({ "cost-tolerance": "0.5%" }).pass.costTolerancePercent).toBe(0.5);
    expect(resolve({ "cost-tolerance": "2" }).pass.costTolerancePercent).toBe(2);
    expect(() => resolve({ "cost-tolerance": "-1" })).toThrow(
      /input "cost-tolerance": expected a percentage ≥ 0/,
    );
    expect(() => resolve({ "cost-tolerance": "lots" })).toThrow(/input "cost-tolerance"/);
  });

  it("treats empty and blank inputs as not given (the action passes '' for unset inputs)", () => {
    const s = resolve({
      "min-age-minutes": "",
      "stable-checks": "  ",
      "runs-dir": "",
      "admin-key": "",
    });
    expect(s.pass.minAgeMinutes).toBe(30);
    expect(s.pass.stableChecks).toBe(2);
    expect(s.pass.runsDir).toBe("runs");
    expect(s.adminKey).toBeUndefined();
  });

  it("takes given values, trimmed, and lists separated by commas, spaces or lines", () => {
    const s = resolve({
      "runs-dir": " experiments/runs ",
      frameworks: "baes, chatdev\nghspec",
      "run-ids": "r1 r2",
      mode: "list",
      "dry-run": "true",
      force: "yes",
      "min-age-minutes": "0",
      "verification-interval-minutes": " 15 ",
      "stable-checks": "3",
      "give-up-after-hours": "0.5",
      "window-tail-seconds": "0",
      "window-padding-seconds": "300",
      "api-base-url": "http://127.0.0.1:8080/v1/",
      "pricing-file": " prices.yaml ",
    });
    expect(s.pass).toMatchObject({
      runsDir: "experiments/runs",
      frameworks: ["baes", "chatdev", "ghspec"],
      runIds: ["r1", "r2"],
      mode: "list",
      dryRun: true,
      force: true,
      minAgeMinutes: 0,
      verificationIntervalMinutes: 15,
      stableChecks: 3,
      giveUpAfterHours: 0.5,
      windowTailSeconds: 0,
      windowPaddingSeconds: 300,
    });
    expect(s.apiBaseUrl).toBe("http://127.0.0.1:8080/v1");
    expect(s.pricingFile).toBe("prices.yaml");
  });

  it("falls back to the old script's environment variables", () => {
    const s = resolve(
      {},
      {
        RECONCILIATION_VERIFICATION_INTERVAL_MIN: "90",
        RECONCILIATION_MIN_STABLE_VERIFICATIONS: "4",
        OPENAI_API_KEY_BAES_ID: "key_baes01",
        OPENAI_API_KEY_CHATDEV_ID: " key_chat02 ",
        OPENAI_API_KEY_USAGE_TRACKING: "sk-admin-tracking",
      },
    );
    expect(s.pass.verificationIntervalMinutes).toBe(90);
    expect(s.pass.stableChecks).toBe(4);
    expect(s.pass.apiKeyIds).toEqual({ baes: "key_baes01", chatdev: "key_chat02" });
    expect(s.adminKey).toBe("sk-admin-tracking");
  });

  it("takes a Claude framework's key id from ANTHROPIC_API_KEY_{FW}_ID, and refuses one provider's id in the other's variable", () => {
    const s = resolve(
      { "api-key-ids": "baes=key_given" },
      {
        ANTHROPIC_API_KEY_CLAUDE_ID: "apikey_01ClaudeEnv",
        ANTHROPIC_API_KEY_BAES_ID: "apikey_01Ignored",
        OPENAI_API_KEY_GHSPEC_ID: "key_ghspecEnv",
      },
    );
    // the list wins over a variable; each variable fills in a framework the list leaves out
    expect(s.pass.apiKeyIds).toEqual({
      baes: "key_given",
      claude: "apikey_01ClaudeEnv",
      ghspec: "key_ghspecEnv",
    });
    expect(() => resolve({}, { OPENAI_API_KEY_CLAUDE_ID: "apikey_01Wrong" })).toThrow(
      /OPENAI_API_KEY_CLAUDE_ID.*key id of anthropic.*ANTHROPIC_API_KEY_CLAUDE_ID/,
    );
    // one framework in both providers' variables is two key ids for it, not a silent choice
    expect(() =>
      resolve({}, { OPENAI_API_KEY_X_ID: "key_x1", ANTHROPIC_API_KEY_X_ID: "apikey_01X" }),
    ).toThrow(/framework x is given two key ids/);
  });

  it("prefers given settings over the environment, and OPENAI_ADMIN_KEY over the old variable", () => {
    const env = {
      RECONCILIATION_VERIFICATION_INTERVAL_MIN: "90",
      OPENAI_API_KEY_BAES_ID: "key_fromEnv",
      OPENAI_API_KEY_GHSPEC_ID: "key_ghspecEnv",
      OPENAI_ADMIN_KEY: "sk-admin-new",
      OPENAI_API_KEY_USAGE_TRACKING: "sk-admin-old",
    };
    const s = resolve(
      { "verification-interval-minutes": "45", "api-key-ids": "baes=key_given" },
      env,
    );
    expect(s.pass.verificationIntervalMinutes).toBe(45);
    expect(s.pass.apiKeyIds).toEqual({ baes: "key_given", ghspec: "key_ghspecEnv" });
    expect(s.adminKey).toBe("sk-admin-new");
    // each provider's access comes from the rows it names: the admin key given is OpenAI's
    expect(s.access.openai).toEqual({
      adminKey: "sk-admin-new",
      baseUrl: "https://api.openai.com/v1",
    });
    expect(s.access.anthropic?.adminKey).toBeUndefined();
    expect(resolve({ "admin-key": "sk-admin-input" }, env).adminKey).toBe("sk-admin-input");
    // empty variables are not values
    expect(
      resolve({}, { OPENAI_ADMIN_KEY: " ", OPENAI_API_KEY_USAGE_TRACKING: "sk-old" }).adminKey,
    ).toBe("sk-old");
    expect(resolve({}, { OPENAI_API_KEY_BAES_ID: "" }).pass.apiKeyIds).toEqual({});
  });
});

describe("parseKeyIds", () => {
  it("reads framework=key_… lines or comma-separated pairs, skipping blanks and comments", () => {
    expect(
      parseKeyIds("baes=key_a1\n\n# comment\nchatdev = key_b2 ,ghspec=key_c-3_x", "ids"),
    ).toEqual({
      baes: "key_a1",
      chatdev: "key_b2",
      ghspec: "key_c-3_x",
    });
    expect(parseKeyIds("", "ids")).toEqual({});
    // the same pair twice is harmless
    expect(parseKeyIds("baes=key_a1\nbaes=key_a1", "ids")).toEqual({ baes: "key_a1" });
  });
});

describe("resolveSettings: bad values are rejected before any request", () => {
  const cases: Array<[string, RawSettings, Env, RegExp[]]> = [
    [
      "a negative min-age",
      { "min-age-minutes": "-1" },
      {},
      [/input "min-age-minutes"/, /whole number ≥ 0/, /"-1"/],
    ],
    [
      "a non-numeric interval",
      { "verification-interval-minutes": "hourly" },
      {},
      [/input "verification-interval-minutes"/, /whole number ≥ 1/, /"hourly"/],
    ],
    [
      "a zero interval",
      { "verification-interval-minutes": "0" },
      {},
      [/input "verification-interval-minutes"/, /≥ 1/],
    ],
    [
      "a fractional interval",
      { "verification-interval-minutes": "1.5" },
      {},
      [/verification-interval-minutes/, /whole number/],
    ],
    ["zero stable checks", { "stable-checks": "0" }, {}, [/input "stable-checks"/, /≥ 1/]],
    [
      "a bad give-up-after-hours",
      { "give-up-after-hours": "0" },
      {},
      [/input "give-up-after-hours"/, /number > 0/],
    ],
    [
      "a non-numeric give-up-after-hours",
      { "give-up-after-hours": "soon" },
      {},
      [/give-up-after-hours/, /number > 0/, /"soon"/],
    ],
    [
      "a negative tail",
      { "window-tail-seconds": "-60" },
      {},
      [/input "window-tail-seconds"/, /whole number ≥ 0/],
    ],
    [
      "a non-numeric padding",
      { "window-padding-seconds": "5m" },
      {},
      [/input "window-padding-seconds"/, /whole number/],
    ],
    ["a bad boolean", { "dry-run": "maybe" }, {}, [/input "dry-run"/, /true or false/, /"maybe"/]],
    ["a bad mode", { mode: "sync" }, {}, [/input "mode"/, /reconcile or list/, /"sync"/]],
    [
      "a URL that is not one",
      { "api-base-url": "api.openai.com" },
      {},
      [/input "api-base-url"/, /http\(s\) URL/],
    ],
    [
      "a URL of another scheme",
      { "api-base-url": "ftp://api.openai.com/v1" },
      {},
      [/input "api-base-url"/, /http\(s\) URL/],
    ],
    [
      "a bad framework name",
      { frameworks: "baes ../etc" },
      {},
      [/input "frameworks"/, /"..\/etc" is not a framework directory name/],
    ],
    [
      "a key-id line without =",
      { "api-key-ids": "baes key_a" },
      {},
      [/input "api-key-ids"/, /framework=key_/],
    ],
    [
      "a malformed key id",
      { "api-key-ids": "baes=kee_a1" },
      {},
      [/input "api-key-ids"/, /"kee_a1" for baes is not an API key id/, /key_/],
    ],
    [
      "one key id for two frameworks",
      { "api-key-ids": "baes=key_same\nchatdev=key_same" },
      {},
      [/input "api-key-ids"/, /key id key_same is given for both baes and chatdev/],
    ],
    [
      "a framework given two key ids",
      { "api-key-ids": "baes=key_a\nbaes=key_b" },
      {},
      [/input "api-key-ids"/, /framework baes is given two key ids/],
    ],
    [
      "one key id for two frameworks across input and environment",
      { "api-key-ids": "baes=key_same" },
      { OPENAI_API_KEY_CHATDEV_ID: "key_same" },
      [
        /input "api-key-ids" \(from OPENAI_API_KEY_CHATDEV_ID\)/,
        /key_same is given for both baes and chatdev/,
      ],
    ],
    [
      "a malformed key id in the environment",
      {},
      { OPENAI_API_KEY_BAES_ID: "baes" },
      [/OPENAI_API_KEY_BAES_ID/, /not an API key id/],
    ],
    [
      "a bad interval from the environment",
      {},
      { RECONCILIATION_VERIFICATION_INTERVAL_MIN: "0" },
      [
        /RECONCILIATION_VERIFICATION_INTERVAL_MIN \(for input "verification-interval-minutes"\)/,
        /≥ 1/,
      ],
    ],
    [
      "bad stable checks from the environment",
      {},
      { RECONCILIATION_MIN_STABLE_VERIFICATIONS: "two" },
      [/RECONCILIATION_MIN_STABLE_VERIFICATIONS/, /whole number ≥ 1/, /"two"/],
    ],
  ];
  for (const [what, raw, env, messages] of cases) {
    it(`rejects ${what}`, () => {
      const error = configError(() => resolve(raw, env));
      for (const m of messages) expect(error.message).toMatch(m);
    });
  }

  it("names the input the way the caller does (CLI options)", () => {
    const error = configError(() => resolveSettings({ "stable-checks": "x" }, {}, (n) => `--${n}`));
    expect(error.message).toMatch(/^--stable-checks: expected a whole number ≥ 1, got "x"$/);
  });

  it("never echoes a secret key given where a key id belongs", () => {
    const secrets = [
      "sk-proj-AbCdEf0123456789abcdefGHIJ",
      "sk-admin-0123456789abcdefABCDEF",
      "sk-0123456789abcdefABCDEF0123",
    ];
    for (const secret of secrets) {
      const attempts: Array<() => unknown> = [
        () => resolve({ "api-key-ids": `baes=${secret}` }),
        () => resolve({ "api-key-ids": secret }),
        () => resolve({ "api-key-ids": `baes ${secret}` }),
        () => resolve({}, { OPENAI_API_KEY_BAES_ID: secret }),
        () => parseKeyIds(`chatdev=${secret}`, "--api-key-id"),
      ];
      for (const attempt of attempts) {
        const error = configError(attempt);
        expect(error.message).not.toContain(secret);
        expect(error.message).not.toContain(secret.slice(0, 12));
        // it still says what was wrong and what is expected
        expect(error.message).toMatch(/key_/);
      }
    }
  });
});
