import type { QueryWindow } from "../model.ts";
import type { Attempt } from "../runs/schema.ts";
import type { WindowSettings } from "../runs/window.ts";
import { formatIsoSeconds } from "../util/time.ts";
import type { RunUsage } from "./attribute.ts";

/**
 * A new reading in the old script's attempt shape, with our fields beside its keys: the key
 * queried, the per-model split, the usage shared with other runs, and the tool's version.
 */
export function makeAttempt(args: {
  now: number;
  usage: RunUsage;
  window: QueryWindow;
  settings: WindowSettings;
  keyId: string;
  tool: string;
}): Attempt {
  const { usage } = args;
  return {
    timestamp: formatIsoSeconds(args.now),
    total_tokens_in: usage.totals.tokensIn,
    total_tokens_out: usage.totals.tokensOut,
    total_api_calls: usage.totals.requests,
    total_cached_tokens: usage.totals.cachedTokens,
    query_window: {
      start: args.window.start,
      end: args.window.end,
      buffer_seconds: args.settings.windowPaddingSeconds,
      tail_seconds: args.settings.windowTailSeconds,
    },
    api_key_id: args.keyId,
    models: usage.models,
    ...(usage.shared
      ? {
          shared: {
            with_runs: usage.shared.withRuns,
            minutes: usage.shared.minutes,
            tokens_in: usage.shared.totals.tokensIn,
            tokens_out: usage.shared.totals.tokensOut,
            cached_tokens: usage.shared.totals.cachedTokens,
            api_calls: usage.shared.totals.requests,
          },
        }
      : {}),
    tool: args.tool,
  };
}
