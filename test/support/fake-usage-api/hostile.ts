/**
 * Hostile answers of the fake Usage API: what a broken proxy or a misbehaving server really sends
 * (a body dripping one byte at a time, a body without end, a connection cut mid-body, a page that
 * says one thing twice). Each writes to a real socket; nothing here is a mock of the client.
 */
import type { ServerResponse } from "node:http";
import type { CostsPage, CostsResult } from "./costs.ts";
import type { Bucket, CompletionsResult, UsagePage } from "./store.ts";
import type { RecordedRequest } from "./types.ts";

/** 200 headers now (chunked: no Content-Length), then `body` one byte every `intervalMs`. */
export function drip(
  res: ServerResponse,
  record: RecordedRequest,
  body: string,
  intervalMs: number,
  timers: Set<NodeJS.Timeout>,
): void {
  const bytes = Buffer.from(body, "utf8");
  record.status = 200;
  record.bytesSent = 0;
  res.writeHead(200, {
    "Content-Type": "application/json",
    "X-Request-Id": `req_fake_${record.index}`,
  });
  res.flushHeaders();
  const timer = setInterval(() => {
    if (res.destroyed || record.bytesSent! >= bytes.length) {
      clearInterval(timer);
      timers.delete(timer);
      if (!res.destroyed) res.end();
      return;
    }
    res.write(bytes.subarray(record.bytesSent!, record.bytesSent! + 1));
    record.bytesSent!++;
  }, intervalMs);
  timers.add(timer);
  res.on("close", () => {
    clearInterval(timer);
    timers.delete(timer);
  });
}

const CHUNK = Buffer.alloc(64 * 1024, "x");

/**
 * `{"padding":"xxx…"}` of `total` bytes, chunked without Content-Length, written as fast as the
 * client takes it (never buffered ahead): the bytes the client read are what `bytesSent` says.
 */
export function hugeBody(
  res: ServerResponse,
  record: RecordedRequest,
  total: number,
  status: number,
): void {
  const head = Buffer.from('{"padding":"');
  const tail = Buffer.from('"}');
  record.status = status;
  record.bytesSent = 0;
  res.writeHead(status, {
    "Content-Type": "application/json",
    "X-Request-Id": `req_fake_${record.index}`,
  });
  let left = Math.max(0, total - head.length - tail.length);
  const send = (chunk: Buffer): boolean => {
    record.bytesSent! += chunk.length;
    return res.write(chunk);
  };
  const pump = () => {
    while (!res.destroyed) {
      if (left === 0) {
        record.bytesSent! += tail.length;
        res.end(tail);
        return;
      }
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!send(CHUNK.subarray(0, n))) {
        res.once("drain", pump);
        return;
      }
    }
  };
  send(head);
  pump();
}

/** Headers with the full Content-Length, half the body, then the socket destroyed. */
export function resetMidBody(res: ServerResponse, record: RecordedRequest, body: string): void {
  const bytes = Buffer.from(body, "utf8");
  record.status = 200;
  res.writeHead(200, {
    "Content-Type": "application/json",
    "Content-Length": String(bytes.length),
    "X-Request-Id": `req_fake_${record.index}`,
  });
  res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.destroy());
}

/** The page with the first result of its first non-empty bucket repeated (the same group twice). */
export function duplicateFirstRow(page: UsagePage | CostsPage): UsagePage | CostsPage {
  const buckets: Array<Bucket<CompletionsResult | CostsResult>> = page.data;
  const index = buckets.findIndex((b) => b.results.length > 0);
  if (index < 0) return page;
  const data = buckets.map((b, i) =>
    i === index ? { ...b, results: [b.results[0]!, ...b.results] } : b,
  );
  return { ...page, data } as UsagePage | CostsPage;
}
