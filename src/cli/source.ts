import { resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { DEFAULT_PROVIDER, PROVIDERS } from "../providers/registry.ts";
import type { ResolvedSettings } from "../settings/resolve.ts";
import { SETTINGS, type SettingKey } from "../settings/table.ts";
import { createHttpSource, duration, type HttpPageSource } from "../transport/http.ts";
import { recordingSource, replaySource } from "../transport/recording.ts";
import type { PageSource } from "../transport/source.ts";
import { redact } from "../util/redact.ts";
import { TOOL } from "../version.ts";
import type { CliIo } from "./output.ts";

/** Where a CLI pass reads usage from (by provider id), and what it has sent. */
export interface CliSource {
  sources: Map<string, PageSource>;
  requests(): number;
  close(): Promise<void>;
}

/**
 * `--now` against a real usage API is refused (docs/design.md#trust-rules): the API answers with
 * what it holds now, so a pass that pretends to be later would record readings seconds apart as
 * hours apart and verify numbers that were still growing. Replayed pages and listing (no
 * request) are fine. The providers checked are those the pass would read (the first when no
 * admin key is given: the pass then stops naming its key).
 */
function refuseClockAgainstRealApi(resolved: ResolvedSettings): void {
  const v = resolved.values;
  if (v.now === undefined || v.mode !== "reconcile" || v.replay !== undefined) return;
  const read =
    resolved.providers.length > 0 ? resolved.providers.map((p) => p.provider) : [DEFAULT_PROVIDER];
  for (const provider of read) {
    const key = provider.settings.baseUrl as SettingKey;
    const url = String(v[key]);
    const real = new URL(String(SETTINGS[key].default)).hostname;
    if (new URL(url).hostname.toLowerCase() !== real) continue;
    throw new ConfigError(
      `--now: refused against the real ${provider.usageApi} (${url}): its answers are what it holds now, so readings taken under another clock would be recorded at the wrong time and could verify a run too early. Drop --now, or use it with --replay <dir> (pages saved by --record) or --list`,
    );
  }
}

/**
 * The pages a reconciling pass reads, per provider: replayed from `--replay`, or fetched over
 * HTTP from every provider whose admin key is given (and saved with `--record`). A long wait or a
 * retry is said on stderr (one line each time, or over the progress line on a terminal).
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
    const dir = resolve(io.cwd, v.replay);
    const sources = new Map<string, PageSource>();
    for (const p of PROVIDERS) sources.set(p.id, await replaySource(dir, p.recordingKey));
    return { sources, requests: () => 0, close: async () => undefined };
  }
  if (resolved.providers.length === 0) return undefined;
  const http = new Map<string, HttpPageSource>();
  const sources = new Map<string, PageSource>();
  for (const { provider, adminKey, baseUrl } of resolved.providers) {
    const client = createHttpSource({
      api: provider.http,
      baseUrl,
      adminKey,
      userAgent: TOOL,
      passDeadlineMs: resolved.passDeadlineMinutes * 60_000,
      proxyEnv: env,
      onWaiting: ({ what, waitedMs, limitMs }) =>
        io.stderr(
          `${showProgress ? "\r\x1b[K" : ""}reconcile-usage: still waiting for the ${what}: ${duration(waitedMs)} so far, gives up at ${duration(limitMs)}${showProgress ? "" : "\n"}`,
        ),
      onRetry: showProgress
        ? ({ attempt, delayMs, reason }) =>
            io.stderr(
              `\r\x1b[Kreconcile-usage: ${redact(reason, [adminKey])}; retry ${attempt} in ${duration(delayMs)}\n`,
            )
        : undefined,
    });
    http.set(provider.id, client);
    sources.set(
      provider.id,
      v.record !== undefined
        ? recordingSource(client, resolve(io.cwd, v.record), provider.recordingKey)
        : client,
    );
  }
  return {
    sources,
    requests: () => [...http.values()].reduce((n, c) => n + c.stats.requests, 0),
    close: async () => {
      await Promise.all([...http.values()].map((c) => c.close()));
    },
  };
}
