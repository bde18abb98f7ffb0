import { mkdtemp } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { join } from "node:path";

/** A Docker host URL whose socket has nothing listening: an engine that is stopped. */
export async function stoppedEngine(): Promise<{ host: string; path: string }> {
  // Short: unix socket paths are limited to 108 bytes.
  const path = join(await mkdtemp("/tmp/kg-"), "d.sock");
  return { host: `unix://${path}`, path };
}

/** Starts the engine again at `path`: a socket that forwards every connection to a real lab engine. */
export async function startForwarding(path: string, engineHost: string): Promise<{ close(): Promise<void> }> {
  const target = engineHost.replace(/^unix:\/\//, "");
  const server: Server = createServer((client) => {
    const upstream = connect(target);
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, resolve);
  });
  return {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
