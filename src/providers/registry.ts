import type { UsageProvider } from "../usage/provider.ts";
import { anthropic } from "./anthropic/provider.ts";
import { openai } from "./openai/provider.ts";

/**
 * The providers a pass can read, first the one named when no key says otherwise (a framework
 * without a key id). A new provider is one more line here (docs/design.md#providers).
 */
export const PROVIDERS: readonly UsageProvider[] = [openai, anthropic];

/** The provider that owns a key id, by its pattern; undefined when none does. */
export const providerOf = (
  keyId: string,
  providers: readonly UsageProvider[] = PROVIDERS,
): UsageProvider | undefined => providers.find((p) => p.keyIdPattern.test(keyId));

/** The provider of the keys when none is known (messages about a missing key id). */
export const DEFAULT_PROVIDER: UsageProvider = PROVIDERS[0]!;

/**
 * The provider to read a key from: its owner, or the first provider for a key none claims
 * (settings refuse such a key; a test may build one).
 */
export const providerFor = (
  keyId: string,
  providers: readonly UsageProvider[] = PROVIDERS,
): UsageProvider => providerOf(keyId, providers) ?? providers[0]!;

/** Items grouped by the provider of their key, in the providers' order. */
export function byProvider<T>(
  items: readonly T[],
  keyIdOf: (item: T) => string,
  providers: readonly UsageProvider[] = PROVIDERS,
): Array<[UsageProvider, T[]]> {
  const groups = new Map<UsageProvider, T[]>();
  for (const item of items) {
    const provider = providerFor(keyIdOf(item), providers);
    const group = groups.get(provider);
    if (group) group.push(item);
    else groups.set(provider, [item]);
  }
  return providers.filter((p) => groups.has(p)).map((p) => [p, groups.get(p)!]);
}
