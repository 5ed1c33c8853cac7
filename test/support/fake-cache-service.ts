import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local HTTP server that answers like the Actions cache service (the v1 REST protocol that
 * @actions/cache speaks when ACTIONS_CACHE_URL is set): look up by keys and prefix, reserve,
 * upload in chunks, commit, download. Entries are immutable and the newest prefix match wins,
 * as on GitHub.
 */

interface Entry {
  id: number;
  key: string;
  version: string;
  chunks: Array<{ start: number; data: Buffer }>;
  archive?: Buffer;
  createdAt: number;
}

export interface FakeCacheService {
  /** Value for ACTIONS_CACHE_URL (ends with a slash). */
  url: string;
  /** Committed entries' keys, oldest first. */
  keys(): string[];
  requests: Array<{ method: string; path: string }>;
  /** Forget everything (a cache eviction). */
  clear(): void;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

export async function startFakeCacheService(): Promise<FakeCacheService> {
  const entries: Entry[] = [];
  const requests: FakeCacheService["requests"] = [];
  let nextId = 1;
  let clock = 0;
  const json = (res: ServerResponse, status: number, value?: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(value === undefined ? undefined : JSON.stringify(value));
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    requests.push({ method: req.method ?? "", path: url.pathname });
    const data = await body(req);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // the API wants the runtime token; archive downloads are pre-signed URLs, as on Azure
    if (url.pathname.startsWith("/_apis/") && !req.headers.authorization?.startsWith("Bearer ")) {
      return json(res, 401, { message: "no runtime token" });
    }
    const committed = entries.filter((e) => e.archive);
    if (req.method === "GET" && url.pathname === "/_apis/artifactcache/cache") {
      // @actions/cache encodes the comma-separated keys once more than the query string does
      const keys = decodeURIComponent(url.searchParams.get("keys") ?? "").split(",");
      const version = url.searchParams.get("version") ?? "";
      for (const key of keys) {
        const exact = committed.filter((e) => e.key === key && e.version === version).at(-1);
        const prefix = committed
          .filter((e) => e.key.startsWith(key) && e.version === version)
          .sort((a, b) => a.createdAt - b.createdAt)
          .at(-1);
        const hit = exact ?? prefix;
        if (hit)
          return json(res, 200, {
            cacheKey: hit.key,
            scope: "refs/heads/main",
            archiveLocation: `${base}/download/${hit.id}`,
          });
      }
      return json(res, 204);
    }
    if (req.method === "POST" && url.pathname === "/_apis/artifactcache/caches") {
      const { key, version } = JSON.parse(data.toString()) as { key: string; version: string };
      if (entries.some((e) => e.key === key && e.version === version))
        return json(res, 409, { message: `Cache already exists: ${key}` });
      const entry: Entry = { id: nextId++, key, version, chunks: [], createdAt: clock++ };
      entries.push(entry);
      return json(res, 201, { cacheId: entry.id });
    }
    const m = /^\/_apis\/artifactcache\/caches\/(\d+)$/.exec(url.pathname);
    const entry = m ? entries.find((e) => e.id === Number(m[1])) : undefined;
    if (m && !entry) return json(res, 404, { message: "no such cache" });
    if (req.method === "PATCH" && entry) {
      const range = /bytes (\d+)-(\d+)/.exec(req.headers["content-range"] ?? "");
      if (!range) return json(res, 400, { message: "Content-Range required" });
      entry.chunks.push({ start: Number(range[1]), data });
      return json(res, 204);
    }
    if (req.method === "POST" && entry) {
      const { size } = JSON.parse(data.toString()) as { size: number };
      const archive = Buffer.concat(
        entry.chunks.sort((a, b) => a.start - b.start).map((c) => c.data),
      );
      if (archive.length !== size)
        return json(res, 400, {
          message: `size ${size} does not match ${archive.length} uploaded`,
        });
      entry.archive = archive;
      return json(res, 204);
    }
    const d = /^\/download\/(\d+)$/.exec(url.pathname);
    const hit = d ? committed.find((e) => e.id === Number(d[1])) : undefined;
    if (req.method === "GET" && hit?.archive) {
      res.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": hit.archive.length,
      });
      return res.end(hit.archive);
    }
    return json(res, 404, { message: `no route ${req.method} ${url.pathname}` });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    keys: () => entries.filter((e) => e.archive).map((e) => e.key),
    requests,
    clear: () => {
      entries.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
