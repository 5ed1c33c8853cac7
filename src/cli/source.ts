import { resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { DEFAULT_PROVIDER } from "../providers/registry.ts";
import type { ResolvedSettings } from "../settings/resolve.ts";
import { SETTINGS } from "../settings/table.ts";
import { createHttpSource, duration } from "../transport/http.ts";
import { recordingSource, replaySource } from "../transport/recording.ts";
import type { PageSource } from "../transport/source.ts";
import { redact } from "../util/redact.ts";
import { TOOL } from "../version.ts";
import type { CliIo } from "./output.ts";

/** Where a CLI pass reads usage from, and what it has sent. */
export interface CliSource {
  pages: PageSource;
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
  const real = new URL(SETTINGS.apiBaseUrl.default).hostname;
  if (new URL(v.apiBaseUrl).hostname.toLowerCase() !== real) return;
  throw new ConfigError(
    `--now: refused against the real Usage API (${v.apiBaseUrl}): its answers are what it holds now, so readings taken under another clock would be recorded at the wrong time and could verify a run too early. Drop --now, or use it with --replay <dir> (pages saved by --record) or --list`,
  );
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
  const provider = DEFAULT_PROVIDER;
  if (v.replay !== undefined) {
    const pages = await replaySource(resolve(io.cwd, v.replay), provider.recordingKey);
    return { pages, requests: () => 0, close: async () => undefined };
  }
  const adminKey = resolved.adminKey;
  if (!adminKey) return undefined;
  const http = createHttpSource({
    api: provider.http,
    baseUrl: resolved.apiBaseUrl,
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
  return {
    pages:
      v.record !== undefined
        ? recordingSource(http, resolve(io.cwd, v.record), provider.recordingKey)
        : http,
    requests: () => http.stats.requests,
    close: () => http.close(),
  };
}
