/**
 * HTTPS in front of a local HTTP server, for tests of the client over TLS (through a proxy's
 * CONNECT tunnel, as against the real API): TLS is ended here and the bytes are relayed to the
 * HTTP port. The certificate in ./tls is a self-signed one made for these tests only (127.0.0.1
 * and localhost, valid until 2126); a client trusts it through NODE_EXTRA_CA_CERTS=TEST_CA.
 */
import { readFileSync } from "node:fs";
import { type AddressInfo, connect, type Socket } from "node:net";
import { join } from "node:path";
import { createServer } from "node:tls";

export const TEST_CA = join(import.meta.dirname, "tls", "test-server.crt");
const KEY = join(import.meta.dirname, "tls", "test-server.key");

export interface TlsRelay {
  /** e.g. "https://127.0.0.1:43210" */
  origin: string;
  close(): Promise<void>;
}

export async function startTlsRelay(targetPort: number): Promise<TlsRelay> {
  const sockets = new Set<Socket>();
  const server = createServer({ key: readFileSync(KEY), cert: readFileSync(TEST_CA) }, (secure) => {
    const plain = connect(targetPort, "127.0.0.1");
    secure.pipe(plain).pipe(secure);
    plain.on("error", () => secure.destroy());
    secure.on("error", () => plain.destroy());
    for (const s of [secure, plain]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
