import { z } from "zod";
import { type Attempt, AttemptSchema } from "../runs/schema.ts";

/**
 * Readings held back from the files to keep commits quiet (docs/design.md#delivery): a reading
 * identical to the file's last one that changes nothing else is kept here (the action stores it in
 * the Actions cache) until the run's status or tokens change; then every held reading is written,
 * so a verified file still lists every reading. Losing this only costs another reading.
 */
export const HeldReadingsSchema = z.object({
  version: z.literal(1),
  runs: z.record(z.string(), z.array(AttemptSchema)),
});

/** Run id (`framework/run_id`) → readings not yet in its file, oldest first. */
export type HeldReadings = Map<string, Attempt[]>;

export function parseHeld(json: unknown): HeldReadings | undefined {
  const parsed = HeldReadingsSchema.safeParse(json);
  return parsed.success ? new Map(Object.entries(parsed.data.runs)) : undefined;
}

export function serializeHeld(held: HeldReadings): string {
  const runs = Object.fromEntries(
    [...held].filter(([, list]) => list.length > 0).sort(([a], [b]) => a.localeCompare(b)),
  );
  return JSON.stringify({ version: 1, runs });
}

export const heldCount = (held: HeldReadings): number =>
  [...held.values()].reduce((n, l) => n + l.length, 0);

/** Where held readings live between passes. A store that fails only costs readings, never data. */
export interface HeldStore {
  restore(): Promise<HeldReadings | undefined>;
  save(held: HeldReadings): Promise<void>;
}
