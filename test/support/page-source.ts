import { createHttpPageSource } from "../../src/providers/openai/http.ts";
import {
  type FakeUsageApi,
  type FakeUsageApiOptions,
  startFakeUsageApi,
} from "./fake-usage-api.ts";

/**
 * The fake Usage API and a page source that calls it with the admin key (retries without waiting),
 * both closed by `cleanups` when the test ends.
 */
export async function fakeApiWithSource(
  options: FakeUsageApiOptions & { adminKey: string },
  cleanups: Array<() => Promise<void>>,
): Promise<{ api: FakeUsageApi; source: ReturnType<typeof createHttpPageSource> }> {
  const api = await startFakeUsageApi(options);
  const source = createHttpPageSource({
    baseUrl: api.baseUrl,
    adminKey: options.adminKey,
    sleep: async () => {},
  });
  cleanups.push(async () => {
    await source.close();
    await api.close();
  });
  return { api, source };
}
