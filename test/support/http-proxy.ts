/**
 * A small HTTP proxy on 127.0.0.1, as a corporate runner would have: plain forwarding for
 * `http://` targets (`GET http://host:port/path`) and CONNECT tunnels for `https://` ones. It
 * records what went through it, so a test knows the client really used it.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";

export interface ProxiedRequest {
  method: string;
  /** The absolute URL asked for (forwarding), or `host:port` (CONNECT). */
  target: string;
  /** Whether the client sent an Authorization header (forwarding only). */
  authorization: boolean;
}

export interface TestProxy {
  /** e.g. "http://127.0.0.1:41234" */
  url: string;
  requests: ProxiedRequest[];
  close(): Promise<void>;
}

export async function startTestProxy(): Promise<TestProxy> {
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    let target: URL;
    try {
      target = new URL(req.url ?? "");
    } catch {
      res.writeHead(400).end("a proxy needs an absolute URL");
      return;
    }
    requests.push({
      method: req.method ?? "GET",
      target: target.href,
      authorization: req.headers.authorization !== undefined,
    });
    const headers = { ...req.headers };
    delete headers["proxy-connection"];
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: req.method,
        headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  };

  const server = createServer(forward);
  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    requests.push({ method: "CONNECT", target: req.url ?? "", authorization: false });
    const [host, port] = (req.url ?? "").split(":");
    const upstream = connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
