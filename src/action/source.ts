import { connectProviders } from "../providers/connect.ts";
import type { ResolvedSettings } from "../settings/resolve.ts";
import { duration, type HttpPageSource } from "../transport/http.ts";
import type { PageSource } from "../transport/source.ts";
import { cutMessage } from "../util/printable.ts";
import { redact } from "../util/redact.ts";

/** Each provider's API over HTTP, by provider id, and the clients to count and close. */
export interface ActionSources {
  sources: Map<string, PageSource>;
  clients: HttpPageSource[];
}

/**
 * Each provider's usage API over HTTP for a reconciling pass, for the providers with an admin key
 * (none otherwise). A long wait or a retry is said in the step's log.
 */
export function actionSources(
  resolved: ResolvedSettings,
  mode: "reconcile" | "list",
  o: { env: Record<string, string | undefined>; secrets: string[]; say: (line: string) => void },
): ActionSources {
  const out: ActionSources = { sources: new Map(), clients: [] };
  if (mode !== "reconcile") return out;
  const connected = connectProviders(resolved, o.env, (provider) => ({
    onWaiting: ({ what, waitedMs, limitMs }) =>
      o.say(
        `${provider.usageApi}: still waiting for the ${what}: ${duration(waitedMs)} so far, gives up at ${duration(limitMs)}`,
      ),
    onRetry: ({ attempt, delayMs, reason }) =>
      o.say(
        `${provider.usageApi}: ${redact(cutMessage(reason), o.secrets)}; retry ${attempt} in ${Math.round(delayMs)} ms`,
      ),
  }));
  for (const { provider, http } of connected) {
    out.sources.set(provider.id, http);
    out.clients.push(http);
  }
  return out;
}
