import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ReplayError, UsageApiError } from "../errors.ts";
import { parseJson } from "../util/json-read.ts";
import type { PageRequest, PageSource } from "./source.ts";

/**
 * `--record DIR` / `--replay DIR`: every raw page of a pass saved as JSON, keyed by its exact
 * query, and answered back from those files without a network. Nothing secret is saved: the
 * files hold the query string and the response body only. The provider says what a request's
 * key is (its query as sent, in its recordingKey), so recording knows no provider.
 */

/** A request's identity in a recording. */
export type RecordingKey = (req: PageRequest) => string;

const fileName = (req: PageRequest, recordingKey: RecordingKey): string => {
  const hash = createHash("sha256").update(recordingKey(req)).digest("hex").slice(0, 12);
  const prefix = (req.endpoint ?? "usage") === "usage" ? "page" : req.endpoint;
  return `${prefix}-${req.startTime}-${req.endTime}-${hash}.json`;
};

export function recordingSource(
  inner: PageSource,
  dir: string,
  recordingKey: RecordingKey,
): PageSource {
  let ready: Promise<unknown> | undefined;
  return {
    async fetchPage(req) {
      const value = await inner.fetchPage(req);
      ready ??= mkdir(dir, { recursive: true });
      await ready;
      const body = { query: recordingKey(req), response: value };
      await writeFile(join(dir, fileName(req, recordingKey)), `${JSON.stringify(body, null, 2)}\n`);
      return value;
    },
  };
}

export async function replaySource(dir: string, recordingKey: RecordingKey): Promise<PageSource> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".json")).sort();
  } catch {
    throw new ReplayError(`replay directory ${dir} cannot be read`);
  }
  const pages = new Map<string, unknown>();
  for (const name of names) {
    const saved = parseJson(await readFile(join(dir, name), "utf8")) as {
      query?: unknown;
      response?: unknown;
    };
    if (typeof saved.query !== "string" || saved.response === undefined) {
      throw new ReplayError(
        `${join(dir, name)} is not a recorded page (expected {query, response})`,
      );
    }
    pages.set(saved.query, saved.response);
  }
  return {
    async fetchPage(req) {
      const query = recordingKey(req);
      if (!pages.has(query)) {
        throw new UsageApiError(
          "replay",
          `no recorded page in ${dir} for ${query}; record it with --record against the same runs, settings and --now`,
        );
      }
      return structuredClone(pages.get(query));
    },
  };
}
