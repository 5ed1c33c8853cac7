import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local HTTP server that answers like the GitHub Actions cache, in either protocol @actions/cache
 * speaks:
 *
 * - v2, what GitHub.com runs (ACTIONS_CACHE_SERVICE_V2 and ACTIONS_RESULTS_URL set): Twirp JSON
 *   calls to the results service (`GetCacheEntryDownloadURL`, `CreateCacheEntry`,
 *   `FinalizeCacheEntryUpload`, bodies in protobuf field names), the archive itself going to and
 *   from a signed blob URL the way Azure Blob Storage takes it. @actions/cache uploads with the
 *   Azure SDK's BlockBlobClient.uploadFile, which sends one Put Blob (PUT, `x-ms-blob-type:
 *   BlockBlob`) for archives up to 128 MiB and staged blocks only above that; held readings are a
 *   few kilobytes, so block uploads are refused here, loudly, rather than half-emulated. A download
 *   from a host that is not *.blob.core.windows.net is a plain GET.
 * - v1, the retired REST protocol (ACTIONS_CACHE_URL): look up by keys, reserve, upload in chunks,
 *   commit, download.
 *
 * Entries are immutable, keyed by key and version; a lookup tries each key in order, an exact
 * match first, then the newest entry the key is a prefix of, as on GitHub.
 */

export type CacheProtocol = "v1" | "v2";

interface Entry {
  id: number;
  key: string;
  version: string;
  chunks: Array<{ start: number; data: Buffer }>;
  /** v2: the blob as uploaded, before finalize. */
  blob?: Buffer;
  archive?: Buffer;
  createdAt: number;
}

export interface FakeCacheService {
  protocol: CacheProtocol;
  /** The environment @actions/cache needs to use this service (with the runtime token). */
  env: Record<string, string>;
  /** Base URL (ends with a slash): ACTIONS_CACHE_URL for v1, ACTIONS_RESULTS_URL for v2. */
  url: string;
  /** Committed entries' keys, oldest first. */
  keys(): string[];
  /** Every request: method, path, and for blob requests the headers that tell how it uploaded. */
  requests: Array<{ method: string; path: string; query: string; blobType?: string }>;
  /** Forget everything (a cache eviction). */
  clear(): void;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

const TWIRP = "/twirp/github.actions.results.api.v1.CacheService/";
const RUNTIME_TOKEN = "runtime-token";

export async function startFakeCacheService(
  options: { protocol?: CacheProtocol } = {},
): Promise<FakeCacheService> {
  const protocol = options.protocol ?? "v1";
  const entries: Entry[] = [];
  const requests: FakeCacheService["requests"] = [];
  // the signature a signed blob URL carries; a blob request without it is refused, as on Azure
  const signature = randomBytes(8).toString("hex");
  let nextId = 1;
  let clock = 0;

  const json = (res: ServerResponse, status: number, value?: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(value === undefined ? undefined : JSON.stringify(value));
  };
  /** A Twirp error: the HTTP status its code maps to, and `{code, msg}`. */
  const twirpError = (res: ServerResponse, status: number, code: string, msg: string) =>
    json(res, status, { code, msg });
  const committed = () => entries.filter((e) => e.archive);
  /** The entry restoring `keys` gets: for each key in turn, exact, then the newest by prefix. */
  const lookup = (keys: string[], version: string): Entry | undefined => {
    for (const key of keys) {
      const candidates = committed().filter((e) => e.version === version);
      const exact = candidates.filter((e) => e.key === key).at(-1);
      const prefix = candidates
        .filter((e) => e.key.startsWith(key))
        .sort((a, b) => a.createdAt - b.createdAt)
        .at(-1);
      const hit = exact ?? prefix;
      if (hit) return hit;
    }
    return undefined;
  };
  const reserve = (key: string, version: string): Entry | undefined => {
    if (entries.some((e) => e.key === key && e.version === version)) return undefined;
    const entry: Entry = { id: nextId++, key, version, chunks: [], createdAt: clock++ };
    entries.push(entry);
    return entry;
  };

  async function v2(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    data: Buffer,
    base: string,
  ) {
    if (url.pathname.startsWith(TWIRP)) {
      if (req.headers.authorization !== `Bearer ${RUNTIME_TOKEN}`)
        return twirpError(res, 401, "unauthenticated", "no runtime token");
      if (req.method !== "POST" || !req.headers["content-type"]?.startsWith("application/json"))
        return twirpError(res, 400, "malformed", "Twirp JSON calls are POSTs of application/json");
      const call = JSON.parse(data.toString()) as Record<string, unknown>;
      const field = <T>(proto: string, json: string): T | undefined =>
        (call[proto] ?? call[json]) as T | undefined;
      const key = field<string>("key", "key") ?? "";
      const version = field<string>("version", "version") ?? "";
      if (!key || !version) return twirpError(res, 400, "invalid_argument", "key and version");
      const method = url.pathname.slice(TWIRP.length);
      if (method === "GetCacheEntryDownloadURL") {
        const restoreKeys = field<string[]>("restore_keys", "restoreKeys") ?? [];
        const hit = lookup([key, ...restoreKeys], version);
        if (!hit) return json(res, 200, { ok: false });
        return json(res, 200, {
          ok: true,
          signed_download_url: `${base}devstoreaccount1/actions-cache/${hit.id}?sig=${signature}`,
          matched_key: hit.key,
        });
      }
      if (method === "CreateCacheEntry") {
        const entry = reserve(key, version);
        if (!entry)
          return twirpError(res, 409, "already_exists", `cache entry ${key} already exists`);
        return json(res, 200, {
          ok: true,
          signed_upload_url: `${base}devstoreaccount1/actions-cache/${entry.id}?sig=${signature}`,
        });
      }
      if (method === "FinalizeCacheEntryUpload") {
        const entry = entries.find((e) => e.key === key && e.version === version && !e.archive);
        if (!entry?.blob)
          return json(res, 200, { ok: false, message: `nothing uploaded for ${key}` });
        const size = Number(field<string>("size_bytes", "sizeBytes"));
        if (size !== entry.blob.length)
          return json(res, 200, {
            ok: false,
            message: `size ${size} does not match the ${entry.blob.length} bytes uploaded`,
          });
        entry.archive = entry.blob;
        return json(res, 200, { ok: true, entry_id: String(entry.id) });
      }
      return twirpError(res, 404, "bad_route", `no method ${method}`);
    }
    const blob = /^\/devstoreaccount1\/actions-cache\/(\d+)$/.exec(url.pathname);
    if (blob) {
      if (url.searchParams.get("sig") !== signature)
        return json(res, 403, { message: "AuthenticationFailed: the URL is not signed" });
      const entry = entries.find((e) => e.id === Number(blob[1]));
      if (!entry) return json(res, 404, { message: "BlobNotFound" });
      if (req.method === "PUT") {
        if (url.searchParams.has("comp"))
          return json(res, 501, {
            message: `comp=${url.searchParams.get("comp")}: block uploads (archives over 128 MiB) are not emulated`,
          });
        if (req.headers["x-ms-blob-type"] !== "BlockBlob")
          return json(res, 400, { message: "x-ms-blob-type: BlockBlob required" });
        if (entry.archive) return json(res, 409, { message: "the entry is finalized" });
        entry.blob = data;
        res.writeHead(201, {
          etag: `"0x${entry.id.toString(16)}"`,
          "last-modified": new Date().toUTCString(),
          "x-ms-request-id": randomBytes(8).toString("hex"),
          "x-ms-version": String(req.headers["x-ms-version"] ?? "2025-01-05"),
          "x-ms-request-server-encrypted": "true",
        });
        return res.end();
      }
      if (req.method === "GET" && entry.archive) {
        res.writeHead(200, {
          "content-type": "application/octet-stream",
          "content-length": entry.archive.length,
          "x-ms-blob-type": "BlockBlob",
        });
        return res.end(entry.archive);
      }
    }
    return json(res, 404, { message: `no route ${req.method} ${url.pathname}` });
  }

  function v1(req: IncomingMessage, res: ServerResponse, url: URL, data: Buffer, base: string) {
    // the API wants the runtime token; archive downloads are pre-signed URLs, as on Azure
    if (url.pathname.startsWith("/_apis/") && !req.headers.authorization?.startsWith("Bearer ")) {
      return json(res, 401, { message: "no runtime token" });
    }
    if (req.method === "GET" && url.pathname === "/_apis/artifactcache/cache") {
      // @actions/cache encodes the comma-separated keys once more than the query string does
      const keys = decodeURIComponent(url.searchParams.get("keys") ?? "").split(",");
      const hit = lookup(keys, url.searchParams.get("version") ?? "");
      if (!hit) return json(res, 204);
      return json(res, 200, {
        cacheKey: hit.key,
        scope: "refs/heads/main",
        archiveLocation: `${base}download/${hit.id}`,
      });
    }
    if (req.method === "POST" && url.pathname === "/_apis/artifactcache/caches") {
      const { key, version } = JSON.parse(data.toString()) as { key: string; version: string };
      const entry = reserve(key, version);
      if (!entry) return json(res, 409, { message: `Cache already exists: ${key}` });
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
    const hit = d ? committed().find((e) => e.id === Number(d[1])) : undefined;
    if (req.method === "GET" && hit?.archive) {
      res.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": hit.archive.length,
      });
      return res.end(hit.archive);
    }
    return json(res, 404, { message: `no route ${req.method} ${url.pathname}` });
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const blobType = req.headers["x-ms-blob-type"];
    requests.push({
      method: req.method ?? "",
      path: url.pathname,
      query: url.search,
      ...(typeof blobType === "string" ? { blobType } : {}),
    });
    const data = await body(req);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    if (protocol === "v2") await v2(req, res, url, data, base);
    else v1(req, res, url, data, base);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    protocol,
    url,
    env:
      protocol === "v2"
        ? {
            ACTIONS_CACHE_SERVICE_V2: "true",
            ACTIONS_RESULTS_URL: url,
            ACTIONS_RUNTIME_TOKEN: RUNTIME_TOKEN,
          }
        : { ACTIONS_CACHE_URL: url, ACTIONS_RUNTIME_TOKEN: RUNTIME_TOKEN },
    keys: () => committed().map((e) => e.key),
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
