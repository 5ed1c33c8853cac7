import { resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { connectProviders } from "../providers/connect.ts";
import { PROVIDERS } from "../providers/registry.ts";
import type { ResolvedSettings } from "../settings/resolve.ts";
import { SETTINGS, type SettingKey } from "../settings/table.ts";
import { duration, type HttpPageSource } from "../transport/http.ts";
import { recordingSource, replaySource } from "../transport/recording.ts";
import type { PageSource } from "../transport/source.ts";
import { redact } from "../util/redact.ts";
import type { CliIo } from "./output.ts";

/** Where a CLI pass reads usage from, and what it has sent. */
export interface CliSource {
  /** Each provider's pages, by provider id: only the providers with an admin key (or a replay). */
  sources: Map<string, PageSource>;
  /** HTTP requests sent, every provider's together. */
  requests(): number;
  close(): Promise<void>;
}

/**
 * `--now` against the real Usage API is refused (docs/design.md#trust-rules): the API answers
 * with what it holds now, so a pass that pretends to be later would record readings seconds
 * apart as hours apart and verify numbers that were still growing. Replayed pages and listing
 * (no request) are fine.
 */
function refuseClockAgainstRealApi(resolved: ResolvedSettings): void {
  const v = resolved.values;
  if (v.now === undefined || v.mode !== "reconcile" || v.replay !== undefined) return;
  // the first provider is checked even without its admin key (the pass then stops naming it),
  // the others when their admin key is given
  const read = PROVIDERS.filter((p, i) => i === 0 || resolved.access[p.id]?.adminKey);
  for (const provider of read) {
    const url = resolved.access[provider.id]!.baseUrl;
    const row = SETTINGS[provider.settings.baseUrl as SettingKey];
    if (new URL(url).hostname.toLowerCase() !== new URL(String(row.default)).hostname) continue;
    throw new ConfigError(
      `--now: refused against the real Usage API (${url}): its answers are what it holds now, so readings taken under another clock would be recorded at the wrong time and could verify a run too early. Drop --now, or use it with --replay <dir> (pages saved by --record) or --list`,
    );
  }
}

/**
 * The pages a reconciling pass reads: replayed from `--replay`, or fetched over HTTP with the
 * admin key (and saved with `--record`); none without a key. A long wait or a retry is said on
 * stderr (one line each time, or over the progress line on a terminal).
 */
export async function cliSource(
  resolved: ResolvedSettings,
  env: Record<string, string | undefined>,
  io: CliIo,
  showProgress: boolean,
): Promise<CliSource | undefined> {
  refuseClockAgainstRealApi(resolved);
  const v = resolved.values;
  if (v.mode !== "reconcile") return undefined;
  if (v.replay !== undefined) {
    const sources = new Map<string, PageSource>();
    // one directory holds every provider's pages, each under its own recording key
    for (const provider of PROVIDERS)
      sources.set(
        provider.id,
        await replaySource(resolve(io.cwd, v.replay), provider.recordingKey),
      );
    return { sources, requests: () => 0, close: async () => undefined };
  }
  const secrets = resolved.secrets;
  const sources = new Map<string, PageSource>();
  const clients: HttpPageSource[] = [];
  for (const { provider, http } of connectProviders(resolved, env, () => ({
    onWaiting: ({ what, waitedMs, limitMs }) =>
      io.stderr(
        `${showProgress ? "\r\x1b[K" : ""}reconcile-usage: still waiting for the ${what}: ${duration(waitedMs)} so far, gives up at ${duration(limitMs)}${showProgress ? "" : "\n"}`,
      ),
    onRetry: showProgress
      ? ({ attempt, delayMs, reason }) =>
          io.stderr(
            `\r\x1b[Kreconcile-usage: ${redact(reason, secrets)}; retry ${attempt} in ${duration(delayMs)}\n`,
          )
      : undefined,
  }))) {
    clients.push(http);
    sources.set(
      provider.id,
      v.record !== undefined
        ? recordingSource(http, resolve(io.cwd, v.record), provider.recordingKey)
        : http,
    );
  }
  if (clients.length === 0) return undefined;
  return {
    sources,
    requests: () => clients.reduce((n, c) => n + c.stats.requests, 0),
    close: async () => {
      for (const c of clients) await c.close();
    },
  };
}
