/** Why a page could not be had. `retryable` errors were already retried as far as allowed. */
export type UsageErrorKind =
  | "auth"
  | "forbidden"
  | "quota"
  | "rate_limited"
  | "server"
  | "network"
  | "timeout"
  | "malformed"
  | "protocol"
  | "bad_request"
  | "replay";

export class UsageApiError extends Error {
  readonly kind: UsageErrorKind;
  readonly status: number | undefined;
  constructor(kind: UsageErrorKind, message: string, status?: number) {
    super(message);
    this.name = "UsageApiError";
    this.kind = kind;
    this.status = status;
  }
}

/** Errors that another try may cure. */
export const isRetryable = (e: UsageApiError): boolean =>
  e.kind === "rate_limited" ||
  e.kind === "server" ||
  e.kind === "network" ||
  e.kind === "timeout" ||
  e.kind === "malformed";
