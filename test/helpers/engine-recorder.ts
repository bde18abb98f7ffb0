import { rm } from "node:fs/promises";
import { createServer, request } from "node:http";
import { routeOf } from "../../src/lab/sim-engine.js";

/** One Engine API call as the reconciler made it: the route with image names replaced, its query keys, the status. */
export type EngineCall = string;

/**
 * An HTTP proxy on a unix socket in front of an engine's socket (real or simulated): every request is
 * forwarded unchanged, streams included, and recorded as `METHOD /route?keys → status`, so two engines' traffic compares.
 */
export async function startEngineRecorder(socket: string, upstreamHost: string) {
  const upstream = upstreamHost.replace(/^unix:\/\//, "");
  const calls: EngineCall[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://engine");
    const keys = [...new Set(url.searchParams.keys())].sort().join(",");
    const call = `${routeOf(req.method ?? "GET", url.pathname).route}${keys ? `?${keys}` : ""}`;
    const out = request(
      { socketPath: upstream, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        calls.push(`${call} → ${answer.statusCode}`);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(error.message);
    });
    req.pipe(out);
  });
  await rm(socket, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socket, resolve);
  });
  return {
    host: `unix://${socket}`,
    /** The calls recorded since the last take, and forgets them. */
    take: () => calls.splice(0, calls.length),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
