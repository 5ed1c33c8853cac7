import type { Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * Starts a fake server on 127.0.0.1 at a free port, and its close: the timers it keeps (slow
 * answers, drips) are cleared and every open socket is destroyed, so a test that leaves a request
 * hanging still ends. Closing twice gives the same promise.
 */
export async function listenOnLoopback(
  server: Server,
  timers: Set<NodeJS.Timeout>,
): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    port,
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
