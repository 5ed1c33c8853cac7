import type { ResolvedSettings } from "../settings/resolve.ts";
import { createHttpSource, duration, type HttpPageSource } from "../transport/http.ts";
import { cutMessage } from "../util/printable.ts";
import { redact } from "../util/redact.ts";
import { TOOL } from "../version.ts";

/**
 * Each provider's usage API over HTTP, by provider id, for a reconciling pass: one for every
 * provider whose admin key is given (none in list mode). A long wait or a retry is said in the
 * step's log.
 */
export function actionSources(
  resolved: ResolvedSettings,
  mode: "reconcile" | "list",
  o: { env: Record<string, string | undefined>; secrets: string[]; say: (line: string) => void },
): Map<string, HttpPageSource> {
  if (mode !== "reconcile") return new Map();
  return new Map(
    resolved.providers.map(({ provider, adminKey, baseUrl }) => [
      provider.id,
      createHttpSource({
        api: provider.http,
        baseUrl,
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
      }),
    ]),
  );
}
