import type { PassSettings } from "../../src/reconcile/settings.ts";
import { defaultPassSettings } from "../../src/settings/resolve.ts";
import { keyIdFor } from "./experiment.ts";

/**
 * A reconciling pass's settings with the settings table's defaults, for experiments made by
 * generateExperiment (each framework on keyIdFor(framework)).
 */
export function testSettings(
  runsDir: string,
  frameworks: readonly string[],
  overrides: Partial<PassSettings> = {},
): PassSettings {
  return {
    ...defaultPassSettings(),
    runsDir,
    apiKeyIds: Object.fromEntries(frameworks.map((f) => [f, keyIdFor(f)])),
    ...overrides,
  };
}
