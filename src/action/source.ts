import { DEFAULT_PROVIDER } from "../providers/registry.ts";
import type { ResolvedSettings } from "../settings/resolve.ts";
import { createHttpSource, duration, type HttpPageSource } from "../transport/http.ts";
import { cutMessage } from "../util/printable.ts";
import { redact } from "../util/redact.ts";
import { TOOL } from "../version.ts";

/**
 * The provider's usage API over HTTP for a reconciling pass with an admin key (none otherwise).
 * A long wait or a retry is said in the step's log.
 */
export function actionSource(
  resolved: ResolvedSettings,
  mode: "reconcile" | "list",
  o: { env: Record<string, string | undefined>; secrets: string[]; say: (line: string) => void },
): HttpPageSource | undefined {
  const adminKey = resolved.adminKey;
  if (mode !== "reconcile" || !adminKey) return undefined;
  const provider = DEFAULT_PROVIDER;
  return createHttpSource({
    api: provider.http,
    baseUrl: resolved.apiBaseUrl,
    adminKey,
    userAgent: TOOL,
    passDeadlineMs: resolved.passDeadlineMinutes * 60_000,
    proxyEnv: o.env,
    onWaiting: ({ what, waitedMs, limitMs }) =>
      o.say(
        `${provider.usageApi}: still waiting for the ${what}: ${duration(waitedMs)} so far, gives up at ${duration(limitMs)}`,
      ),
    onRetry: ({ attempt, delayMs, reason }) =>
      o.say(
        `${provider.usageApi}: ${redact(cutMessage(reason), o.secrets)}; retry ${attempt} in ${Math.round(delayMs)} ms`,
      ),
  });
}
