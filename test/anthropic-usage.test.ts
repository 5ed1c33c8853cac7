import { describe, expect, it } from "vitest";
import { builtinAnthropicSource } from "../src/pricing/prices.ts";
import { TokenClassUsageSchema } from "../src/pricing/usage.ts";
import {
  type ClassifiedUsage,
  classifyResult,
  costOfClassified,
  mergeClassified,
  UsageResultError,
} from "../src/providers/anthropic/classes.ts";
import {
  CostReportPageSchema,
  ErrorBodySchema,
  UsageReportPageSchema,
  type UsageResult,
  unixSeconds,
} from "../src/providers/anthropic/schema.ts";

const CLAUDE = [builtinAnthropicSource()];
/** 2026-08-03T10:00:00Z. */
const AT = Date.parse("2026-08-03T10:00:00Z") / 1000;

/** A result as the usage report sends one when grouped by key, model, tier, band and region. */
function result(overrides: Record<string, unknown> = {}): UsageResult {
  return {
    api_key_id: "apikey_01TestKey",
    model: "claude-sonnet-4-5-20250929",
    service_tier: "standard",
    context_window: "0-200k",
    inference_geo: "not_available",
    workspace_id: null,
    uncached_input_tokens: 1200,
    cache_read_input_tokens: 5000,
    cache_creation: { ephemeral_5m_input_tokens: 300, ephemeral_1h_input_tokens: 40 },
    output_tokens: 700,
    server_tool_use: { web_search_requests: 0 },
    ...overrides,
  } as UsageResult;
}

function page(results: unknown[], extra: Record<string, unknown> = {}) {
  return {
    data: [
      { starting_at: "2026-08-03T10:00:00Z", ending_at: "2026-08-03T10:01:00Z", results },
      { starting_at: "2026-08-03T10:01:00Z", ending_at: "2026-08-03T10:02:00Z", results: [] },
    ],
    has_more: false,
    next_page: null,
    ...extra,
  };
}

describe("the usage report page schema", () => {
  it("reads a page and tolerates fields and dimensions it does not know", () => {
    const parsed = UsageReportPageSchema.parse(
      page([result({ speed: "standard", region_tag: "new-dimension", future_tokens: 3 })], {
        organization_id: "org_1",
      }),
    );
    expect(parsed.data).toHaveLength(2);
    expect(parsed.data[0]!.results[0]).toMatchObject({
      uncached_input_tokens: 1200,
      cache_creation: { ephemeral_5m_input_tokens: 300, ephemeral_1h_input_tokens: 40 },
      region_tag: "new-dimension",
    });
    expect(unixSeconds(parsed.data[1]!.starting_at)).toBe(AT + 60);
    // grouping dimensions left out come back null or absent; a bucket may carry no results
    expect(
      UsageReportPageSchema.safeParse(page([result({ api_key_id: undefined, model: null })]))
        .success,
    ).toBe(true);
  });

  it.each([
    ["a negative count", { output_tokens: -1 }],
    ["a fractional count", { uncached_input_tokens: 1.5 }],
    ["a count past 2^53", { cache_read_input_tokens: 2 ** 53 }],
    ["a count sent as a string", { output_tokens: "700" }],
    ["no cache_creation", { cache_creation: undefined }],
    ["no 1-hour cache writes", { cache_creation: { ephemeral_5m_input_tokens: 1 } }],
    ["no uncached input", { uncached_input_tokens: undefined }],
  ])("refuses a page with %s", (_, overrides) => {
    expect(UsageReportPageSchema.safeParse(page([result(overrides)])).success).toBe(false);
  });

  it("refuses buckets without RFC 3339 times and pages without has_more", () => {
    const bad = page([]);
    bad.data[0]!.starting_at = "2026-08-03 10:00";
    expect(UsageReportPageSchema.safeParse(bad).success).toBe(false);
    const epoch = page([]);
    (epoch.data[0] as Record<string, unknown>).starting_at = AT;
    expect(UsageReportPageSchema.safeParse(epoch).success).toBe(false);
    const { has_more: _, ...noMore } = page([]);
    expect(UsageReportPageSchema.safeParse(noMore).success).toBe(false);
  });
});

describe("the cost report page schema", () => {
  const cost = (amount: unknown) => ({
    data: [
      {
        starting_at: "2026-08-03T00:00:00Z",
        ending_at: "2026-08-04T00:00:00Z",
        results: [
          {
            amount,
            currency: "USD",
            description: "Claude Sonnet 4.5 Usage - Input Tokens",
            cost_type: "tokens",
            token_type: "uncached_input_tokens",
            model: "claude-sonnet-4-5-20250929",
            service_tier: "standard",
            context_window: "0-200k",
            inference_geo: null,
            workspace_id: null,
          },
        ],
      },
    ],
    has_more: false,
    next_page: null,
  });

  it("reads amounts as plain decimal strings of cents", () => {
    for (const amount of ["123.45", "0", "1250", "0.000001", "-3.5"])
      expect(CostReportPageSchema.safeParse(cost(amount)).success, amount).toBe(true);
  });

  it.each([123.45, "1e3", "12,5", " 12", ".5", "5.", "NaN", "Infinity", "9".repeat(65)])(
    "refuses the amount %j",
    (amount) => {
      expect(CostReportPageSchema.safeParse(cost(amount)).success).toBe(false);
    },
  );
});

describe("the error body schema", () => {
  it("reads the API's error shape and refuses others", () => {
    const body = {
      type: "error",
      error: {
        type: "rate_limit_error",
        message: "Number of requests has exceeded your rate limit",
      },
      request_id: "req_011Test",
    };
    expect(ErrorBodySchema.parse(body).error.type).toBe("rate_limit_error");
    expect(ErrorBodySchema.safeParse({ error: "a bare string" }).success).toBe(false);
    expect(
      ErrorBodySchema.safeParse({ type: "error", error: { message: "no type" } }).success,
    ).toBe(false);
  });
});

describe("classifyResult", () => {
  it("splits a result into the disjoint classes pricing reads, with SPEC §13's totals", () => {
    const c = classifyResult(result(), AT);
    expect(c).toEqual({
      usage: {
        model: "claude-sonnet-4-5-20250929",
        batch: false,
        service_tier: null,
        tokens: {
          uncached_text_input: 1200,
          cached_input: 5000,
          cache_write_input: 300,
          cache_write_1h_input: 40,
          text_output: 700,
        },
      },
      // TOK_IN = uncached + cache reads + cache writes; CACHED_TOKENS = cache reads; no requests
      totals: {
        tokensIn: 6540,
        tokensOut: 700,
        cachedTokens: 5000,
        apiCalls: null,
        webSearchRequests: 0,
      },
    });
    // exactly the pricing module's shape: its schema is strict about class names
    expect(TokenClassUsageSchema.strict().parse(c.usage)).toEqual(c.usage);
  });

  it("reads the batch tier as batch rates", () => {
    const c = classifyResult(result({ service_tier: "batch" }), AT);
    expect(c.usage).toMatchObject({ batch: true, service_tier: null });
    expect(c.unpriced).toBeUndefined();
  });

  it.each([
    [{ service_tier: "priority" }, /service tier priority is billed apart/],
    [{ service_tier: "flex_discount" }, /service tier flex_discount/],
    [{ service_tier: null }, /group by service_tier/],
    [{ context_window: undefined }, /group by context_window/],
    [{ context_window: "200k-1M" }, /long-context rates/],
    [{ inference_geo: null }, /group by inference_geo/],
    [{ inference_geo: "us" }, /1\.1 times/],
    [{ speed: "fast" }, /fast mode is billed at premium rates/],
    [{ server_tool_use: { web_search_requests: 3 } }, /3 web searches are billed per search/],
  ])("leaves %j unpriced, saying why", (overrides, why) => {
    const c = classifyResult(result(overrides), AT);
    expect(c.unpriced).toMatch(why);
    // the tokens are still read: a reading does not depend on prices
    expect(c.totals.tokensIn).toBe(6540);
  });

  it("prices the 200k-1M band at standard rates only for models billed so at that time", () => {
    const long = (model: string, at: number) =>
      classifyResult(result({ model, context_window: "200k-1M" }), at).unpriced;
    expect(long("claude-opus-4-8", AT)).toBeUndefined();
    expect(long("claude-sonnet-5", AT)).toBeUndefined();
    expect(long("claude-opus-4-6", AT)).toBeUndefined();
    // before March 2026, Opus 4.6 over 200k input was billed at premium rates
    expect(long("claude-opus-4-6", Date.parse("2026-02-20T12:00:00Z") / 1000)).toMatch(/long/);
    expect(long("claude-sonnet-4-5-20250929", AT)).toMatch(/long/);
    expect(long("claude-opus-4-60", AT)).toMatch(/long/);
  });

  it("refuses a result without a model, or whose input adds up past 2^53", () => {
    expect(() => classifyResult(result({ model: null }), AT)).toThrow(UsageResultError);
    const huge = result({ uncached_input_tokens: 2 ** 52, cache_read_input_tokens: 2 ** 52 });
    expect(() => classifyResult(huge, AT)).toThrow(/past 2\^53/);
  });
});

describe("mergeClassified and costOfClassified", () => {
  it("sums a run's minutes per model and tier, and prices them from the built-in table", () => {
    const minutes: ClassifiedUsage[] = [
      classifyResult(result(), AT),
      classifyResult(result({ output_tokens: 300 }), AT + 60),
      classifyResult(result({ model: "claude-haiku-4-5-20251001", service_tier: "batch" }), AT),
    ];
    const merged = mergeClassified(minutes);
    expect(merged.map((m) => [m.usage.model, m.usage.batch, m.totals.tokensOut])).toEqual([
      ["claude-sonnet-4-5-20250929", false, 1000],
      ["claude-haiku-4-5-20251001", true, 700],
    ]);
    expect(merged[0]!.usage.tokens).toEqual({
      uncached_text_input: 2400,
      cached_input: 10_000,
      cache_write_input: 600,
      cache_write_1h_input: 80,
      text_output: 1000,
    });
    expect(merged[0]!.totals).toMatchObject({ tokensIn: 13_080, cachedTokens: 10_000 });
    // the input is never mutated
    expect(minutes[0]!.totals.tokensOut).toBe(700);

    const cost = costOfClassified(merged, CLAUDE);
    // Sonnet 4.5: 2400×3 + 10000×0.3 + 600×3.75 + 80×6 + 1000×15 = 27 930 per 1M tokens
    // Haiku 4.5 batch: 1200×0.5 + 5000×0.05 + 300×0.625 + 40×1 + 700×2.5 = 2 827.5 per 1M tokens
    expect(cost.total).toBeCloseTo(0.0307575, 12);
    expect(cost.unknown).toEqual([]);
  });

  it("keeps unpriced usage apart and makes the total unknown, naming each reason once", () => {
    const items = mergeClassified([
      classifyResult(result(), AT),
      classifyResult(result({ inference_geo: "us" }), AT),
      classifyResult(result({ inference_geo: "us" }), AT + 60),
    ]);
    expect(items).toHaveLength(2);
    const cost = costOfClassified(items, CLAUDE);
    expect(cost.total).toBeNull();
    expect(cost.models.map((m) => m.model)).toEqual(["claude-sonnet-4-5-20250929"]);
    expect(cost.unknown).toEqual([
      {
        model: "claude-sonnet-4-5-20250929",
        reason: "US-only inference (inference_geo us) costs 1.1 times the listed rates",
      },
    ]);
  });

  it("refuses sums past 2^53", () => {
    const big = classifyResult(result({ output_tokens: 2 ** 52 }), AT);
    expect(() => mergeClassified([big, big])).toThrow(/past 2\^53/);
  });
});
