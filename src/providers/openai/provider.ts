import type { UsageProvider } from "../../usage/provider.ts";
import { fetchCosts } from "./costs.ts";
import { openaiHttp } from "./http.ts";
import { COUNT_NAMES, fetchSpan } from "./pages.ts";
import { MAX_MINUTE_BUCKETS, recordingKey } from "./query.ts";

/** OpenAI: the organization Usage API (completions) and Costs API, read with an admin key. */
export const openai: UsageProvider = {
  id: "openai",
  usageApi: "Usage API",
  keyIdPattern: /^key_[A-Za-z0-9_-]+$/,
  pageMinutes: MAX_MINUTE_BUCKETS,
  // an auth or quota error would only repeat
  splittable: new Set(["malformed", "protocol", "server", "network", "timeout", "rate_limited"]),
  fetchUsage: (source, span, keyIds, o) =>
    fetchSpan(source, span, keyIds, o?.onPage, o?.bucketWidth),
  countsRequests: true,
  countNames: COUNT_NAMES,
  http: openaiHttp,
  recordingKey,
  costs: {
    api: "Costs API",
    // OpenAI settles a day's costs about two days after it ends
    settleSeconds: 48 * 3600,
    fetchCosts: (source, span, keyIds) => fetchCosts(source, span, keyIds),
    otherRates: (m) =>
      Boolean(m.batch) || m.service_tier === "flex" || m.service_tier === "priority",
  },
  settings: { adminKey: "adminKey", baseUrl: "apiBaseUrl" },
  hints: {
    noAdminKey:
      "no admin key to read the Usage API with: set OPENAI_ADMIN_KEY (action input admin-key)",
    noKeyId: (frameworks) =>
      `no API key id for framework(s) ${frameworks.join(", ")}, which have runs to reconcile: give ${frameworks[0]}=key_… (action input api-key-ids, CLI --api-key-id) or set OPENAI_API_KEY_${frameworks[0]!.toUpperCase()}_ID`,
  },
};
