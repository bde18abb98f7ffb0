import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type Received = {
  path: string;
  body: Record<string, unknown>;
  /** 0 for a request never answered. */
  status: number;
  time: number;
  /** When the connection closed (a hanging request: when the client gave up). */
  closed?: number;
};

/**
 * A local HTTP endpoint standing in for a webhook receiver, Slack or Discord. Per path: `ok` answers
 * 200, `fail-once` answers 500 to its first request then 200, `hang` never answers.
 */
export async function startReceiver(behaviour: Record<string, "ok" | "fail-once" | "hang"> = {}) {
  const received: Received[] = [];
  const open: Socket[] = [];
  const failed = new Set<string>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "/";
      const mode = behaviour[path.split("/")[1] ?? ""] ?? "ok";
      let status = 200;
      if (mode === "fail-once" && !failed.has(path)) {
        failed.add(path);
        status = 500;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString() || "{}") as Record<string, unknown>;
      const entry: Received = { path, body, status: mode === "hang" ? 0 : status, time: Date.now() };
      received.push(entry);
      res.on("close", () => {
        entry.closed = Date.now();
      });
      if (mode === "hang") return;
      res.writeHead(status).end();
    });
  });
  server.on("connection", (socket) => open.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    /** Requests on a path that were answered 200 (delivered), by event name. */
    delivered: (prefix: string) => received.filter((r) => r.path.startsWith(prefix) && r.status === 200),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
