import type { WindowSettings } from "../runs/window.ts";
import type { VerifySettings } from "../verify/evaluate.ts";

/** Everything a pass needs to know, already validated (see settings/). */
export interface PassSettings extends VerifySettings, WindowSettings {
  runsDir: string;
  /** Frameworks to reconcile; all when empty. */
  frameworks: string[];
  /** Run ids to reconcile; all when empty. */
  runIds: string[];
  /** framework → API key id. */
  apiKeyIds: Record<string, string>;
  mode: "reconcile" | "list";
  dryRun: boolean;
  /** Compare our cost of each day's usage with the Costs API (docs/design.md#cost). */
  crossCheckCosts: boolean;
  /** A difference over this many percent of the Costs API's amount is flagged. */
  costTolerancePercent: number;
}
