import {
  createHttpSource,
  type HttpPageSource,
  type HttpSourceOptions,
} from "../transport/http.ts";
import type { UsageProvider } from "../usage/provider.ts";
import { TOOL } from "../version.ts";
import { PROVIDERS } from "./registry.ts";

/** What a front end says while a provider's request waits or is retried. */
export type ConnectHooks = (
  provider: UsageProvider,
) => Pick<HttpSourceOptions, "onWaiting" | "onRetry">;

/**
 * One HTTP client per provider that has an admin key, with the pass's deadline and the proxy
 * settings: the part of reading usage both front ends share. Providers without a key get none
 * (their runs are then told that no admin key was given).
 */
export function connectProviders(
  resolved: {
    /** Each provider's admin key (if given) and base URL, by provider id. */
    access: Readonly<Record<string, { adminKey?: string; baseUrl: string } | undefined>>;
    passDeadlineMinutes: number;
  },
  env: Record<string, string | undefined>,
  hooks: ConnectHooks,
): Array<{ provider: UsageProvider; http: HttpPageSource }> {
  return PROVIDERS.flatMap((provider) => {
    const access = resolved.access[provider.id];
    if (!access?.adminKey) return [];
    const http = createHttpSource({
      api: provider.http,
      baseUrl: access.baseUrl,
      adminKey: access.adminKey,
      userAgent: TOOL,
      passDeadlineMs: resolved.passDeadlineMinutes * 60_000,
      proxyEnv: env,
      ...hooks(provider),
    });
    return [{ provider, http }];
  });
}
