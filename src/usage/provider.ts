import type { Span } from "../model.ts";
import type { ModelUsage } from "../runs/schema.ts";
import type { TokenClass } from "../token-classes.ts";
import type { HttpApi } from "../transport/http.ts";
import type { RecordingKey } from "../transport/recording.ts";
import type { PageSource } from "../transport/source.ts";
import type { CountNames, SpanFetch } from "./rows.ts";

/**
 * What a usage provider must answer (docs/design.md#providers). A pass asks each provider only
 * about its own keys (`keyIdPattern`), plans its spans in the provider's pages, and gets back
 * provider-neutral rows: attribution, verification, pricing, editing and the report never know
 * which provider a number came from. Adding a provider is one folder under src/providers/ that
 * exports one of these, plus its prices, plus one line in src/providers/registry.ts.
 */
export interface UsageProvider {
  /** Short name: `openai`, `anthropic`. */
  id: string;
  /** Its usage report in messages: `Usage API` (OpenAI's name). */
  usageApi: string;
  /** The key ids it owns, as the user writes them: OpenAI's `key_…`, Anthropic's `apikey_…`. */
  keyIdPattern: RegExp;
  /** Minute buckets in one page: spans are planned in pages of this many minutes. */
  pageMinutes: number;
  /**
   * Error kinds (UsageApiError.kind) another request might not meet: a failed span of several
   * pages is then fetched again page by page, so one bad page costs only its own runs.
   */
  splittable: ReadonlySet<string>;
  /**
   * The usage of one span for the keys, in minute buckets (or day buckets, for the cost
   * cross-check), validated: a page that says two things, or counts that cannot be exact, throw
   * UsageApiError and are never read.
   */
  fetchUsage(
    source: PageSource,
    span: Span,
    keyIds: readonly string[],
    o?: { onPage?: () => void; bucketWidth?: "1m" | "1d" },
  ): Promise<SpanFetch>;
  /**
   * Whether its usage report counts model requests. Without (Anthropic), a reading's requests and
   * `API_CALLS` are null, never 0: no count is not zero requests.
   */
  countsRequests: boolean;
  /** The counts of a row as its API names them, for messages (sums past 2^53). */
  countNames: CountNames;
  /** How its HTTP API is called: URL, authentication headers, error statuses (transport/http.ts). */
  http: HttpApi;
  /** A request's identity in a `--record` directory (transport/recording.ts). */
  recordingKey: RecordingKey;
  /** The cost report, when the provider has one (`--cross-check-costs`). */
  costs?: CostsCapability;
  /** Why the cost cross-check cannot be made for its keys, when `costs` is absent. */
  costsUnavailable?: string;
  /** Words that tell the user what to set, naming this provider's inputs and variables. */
  hints: ProviderHints;
  /**
   * Its rows in the settings table (keys of SETTINGS in src/settings/table.ts): its admin key and
   * its API's base URL. The front ends make one source for each provider whose admin key is given.
   */
  settings: { adminKey: string; baseUrl: string };
}

export interface ProviderHints {
  /** No admin key for this provider's keys. */
  noAdminKey: string;
  /** Frameworks with runs but no key id: where to give one. */
  noKeyId(frameworks: readonly string[]): string;
}

/** A provider's cost report, per key and day, for the cost cross-check. */
export interface CostsCapability {
  /** Its name in messages: `Costs API`. */
  api: string;
  /** Seconds after a day ends before its costs are settled; younger days are never a mismatch. */
  settleSeconds: number;
  /** Every cost line of the span's days for the keys. */
  fetchCosts(
    source: PageSource,
    span: Span,
    keyIds: readonly string[],
  ): Promise<{ rows: CostRow[]; problems: CostProblem[] }>;
  /** Usage billed at other rates than the price table's standard ones (batch, a service tier). */
  otherRates(m: ModelUsage): boolean;
}

export interface CostRow {
  /** Start of the UTC day. */
  day: number;
  apiKeyId: string;
  lineItem: string;
  /** USD in 1e-12 units, exact. */
  amountPico: bigint;
  /** The model and token class the line bills, when it bills tokens; tokens when it says how many. */
  token?: { model: string; class: TokenClass; tokens: number | null };
}

/** A cost line whose amount is not a plain, finite number: that key's day cannot be checked. */
export interface CostProblem {
  day: number;
  apiKeyId: string;
  problem: string;
}
