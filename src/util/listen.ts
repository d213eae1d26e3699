import type { Server } from "node:http";

/** Listen on 127.0.0.1 (port 0 = a free one); resolves with the bound port and its URL. */
export async function listenLoopback(server: Server, port = 0): Promise<{ port: number; url: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const bound = typeof address === "object" && address ? address.port : 0;
  return { port: bound, url: `http://127.0.0.1:${bound}` };
}
