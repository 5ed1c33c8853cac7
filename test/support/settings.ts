import type { PassSettings } from "../../src/reconcile/settings.ts";
import { keyIdFor } from "./experiment.ts";

/**
 * A reconciling pass's settings with the SPEC §8 defaults, for experiments made by
 * generateExperiment (each framework on keyIdFor(framework)).
 */
export function testSettings(
  runsDir: string,
  frameworks: readonly string[],
  overrides: Partial<PassSettings> = {},
): PassSettings {
  return {
    runsDir,
    frameworks: [],
    runIds: [],
    apiKeyIds: Object.fromEntries(frameworks.map((f) => [f, keyIdFor(f)])),
    mode: "reconcile",
    dryRun: false,
    force: false,
    minAgeMinutes: 30,
    verificationIntervalMinutes: 60,
    stableChecks: 2,
    giveUpAfterHours: 72,
    windowTailSeconds: 120,
    windowPaddingSeconds: 0,
    ...overrides,
  };
}
