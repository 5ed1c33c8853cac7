import { z } from "zod";

/** Verification statuses, in the order reports list them. */
export const STATUSES = [
  "verified",
  "pending",
  "data_not_available",
  "too_recent",
  "warning",
  "ambiguous",
  "no_usage",
  "error",
] as const;
export const StatusSchema = z.enum(STATUSES);
export type Status = z.infer<typeof StatusSchema>;

/** Statuses a pass records in `metrics.json`; the others describe this pass only. */
export const PERSISTED_STATUSES: ReadonlySet<Status> = new Set<Status>([
  "verified",
  "pending",
  "data_not_available",
  "warning",
  "ambiguous",
  "no_usage",
]);

/** Statuses that ask a person to do something. */
export const ATTENTION_STATUSES: ReadonlySet<Status> = new Set<Status>([
  "warning",
  "ambiguous",
  "no_usage",
  "error",
]);
