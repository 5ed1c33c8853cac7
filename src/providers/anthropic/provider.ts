import type { UsageProvider } from "../../usage/provider.ts";
import { anthropicHttp } from "./http.ts";
import { COUNT_NAMES, fetchSpan } from "./pages.ts";
import { MAX_MINUTE_BUCKETS, recordingKey } from "./query.ts";

/**
 * Anthropic: the Admin API's Messages usage report, read with an Admin API key. Its key ids are
 * `apikey_…`; its report has no request count, so `API_CALLS` is null for its runs.
 */
export const anthropic: UsageProvider = {
  id: "anthropic",
  usageApi: "Anthropic usage report",
  keyIdPattern: /^apikey_[A-Za-z0-9_-]+$/,
  pageMinutes: MAX_MINUTE_BUCKETS,
  // an auth, billing or spend-cap error would only repeat
  splittable: new Set(["malformed", "protocol", "server", "network", "timeout", "rate_limited"]),
  fetchUsage: (source, span, keyIds, o) =>
    fetchSpan(source, span, keyIds, o?.onPage, o?.bucketWidth),
  countsRequests: false,
  countNames: COUNT_NAMES,
  http: anthropicHttp,
  recordingKey,
  // The cost report can be grouped by workspace and description only, never by API key: a day's
  // amount there is the whole organisation's (or workspace's) Claude spend, other keys, the
  // Console and Claude Code included, so it cannot vouch for one framework's runs.
  costsUnavailable:
    "Anthropic's cost report has no API-key dimension (only workspace and description), so a framework's daily cost cannot be told apart from the rest of the organisation's",
  settings: { adminKey: "anthropicAdminKey", baseUrl: "anthropicApiBaseUrl" },
  hints: {
    noAdminKey:
      "no Anthropic admin key to read the usage report with: set ANTHROPIC_ADMIN_KEY (action input anthropic-admin-key)",
    noKeyId: (frameworks) =>
      `no API key id for framework(s) ${frameworks.join(", ")}, which have runs to reconcile: give ${frameworks[0]}=apikey_… (action input api-key-ids, CLI --api-key-id) or set ANTHROPIC_API_KEY_${frameworks[0]!.toUpperCase()}_ID`,
  },
};
