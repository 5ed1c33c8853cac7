import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type HeldStore, parseHeld, serializeHeld } from "../reconcile/held.ts";
import { parseJson } from "../util/json-read.ts";

export interface CacheStoreOptions {
  /** A directory of its own (under RUNNER_TEMP) that holds held.json. */
  dir: string;
  /** Separates the held readings of different runs directories in one repository. */
  runsDir: string;
  log: (line: string) => void;
}

/**
 * Held readings in the Actions cache (@actions/cache). Cache entries are immutable, so each pass
 * saves a new key under a common prefix and restores the newest by prefix. The cache library is
 * loaded only here, lazily: it is most of the bundle, and a pass without caching never pays for it.
 */
export function actionsCacheStore(options: CacheStoreOptions): HeldStore {
  const prefix = `reconcile-usage-held-v1-${createHash("sha256").update(options.runsDir).digest("hex").slice(0, 12)}-`;
  const file = join(options.dir, "held.json");
  const load = () => import("@actions/cache");
  return {
    async restore() {
      try {
        const cache = await load();
        if (!cache.isFeatureAvailable()) {
          options.log("Actions cache not available: identical readings are committed as they come");
          return undefined;
        }
        await mkdir(options.dir, { recursive: true });
        const hit = await cache.restoreCache([options.dir], `${prefix}${Date.now()}`, [prefix]);
        if (!hit) return undefined;
        const held = parseHeld(parseJson(await readFile(file, "utf8")));
        if (!held) options.log(`cache entry ${hit} is not in the expected shape; ignored`);
        return held;
      } catch (error) {
        options.log(
          `could not restore held readings (${error instanceof Error ? error.message : String(error)}); they will be read again`,
        );
        return undefined;
      }
    },
    async save(held) {
      try {
        const cache = await load();
        if (!cache.isFeatureAvailable()) return;
        await mkdir(options.dir, { recursive: true });
        await writeFile(file, serializeHeld(held));
        await cache.saveCache(
          [options.dir],
          `${prefix}${Date.now()}-${process.env.GITHUB_RUN_ID ?? "local"}-${process.env.GITHUB_RUN_ATTEMPT ?? "1"}`,
        );
      } catch (error) {
        options.log(
          `could not save held readings (${error instanceof Error ? error.message : String(error)}); the next pass reads them again`,
        );
      }
    },
  };
}
