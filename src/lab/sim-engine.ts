/**
 * A simulated Docker Engine for scale benchmarks (like kwok for kubelets): an HTTP server on its own unix
 * socket answering the Engine API calls the reconciler makes, with dockerd 20.10's shapes and statuses.
 * Pulls really download from the registry (sim-pull.ts); images live in memory. Correctness tests use real
 * engines; this serves benchmarks, and a conformance test keeps its calls in step with a real engine's.
 */
import { rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { parseImageReference } from "../core/image/reference.js";
import { SimImageStore } from "./sim-images.js";
import { createDownloadSlots, type PullTiming, startPull } from "./sim-pull.js";
import { decodeRegistryAuth, SimPullError } from "./sim-registry.js";

export const SIM_API_VERSION = "1.41";
export const SIM_ENGINE_VERSION = "20.10.24+kasm-gitops-sim";

export type SimEngineOptions = { socket: string; timing: PullTiming };

export type SimEngineStats = {
  /** Calls by route, e.g. `POST /images/create`. */
  calls: Record<string, number>;
  pullsInFlight: number;
  /** Most `POST /images/create` streams open at once since the last reset. */
  maxPullsInFlight: number;
  pulls: number;
  /** How long each pull since the last reset took at this engine, ms (request to the stream's end). */
  pullMs: number[];
};

export type SimEngine = {
  socket: string;
  /** `unix://<socket>`, as an Agent manifest names it. */
  host: string;
  store: SimImageStore;
  stats(): SimEngineStats;
  reset(): void;
  close(): Promise<void>;
};

/** The route a request matched, with image names replaced, so calls count and compare across engines. */
export function routeOf(method: string, rawPath: string): { route: string; name?: string } {
  const path = rawPath.replace(/^\/v\d+\.\d+(?=\/)/, "");
  if (path === "/_ping") return { route: `${method} /_ping` };
  const inspect = /^\/images\/(.+)\/json$/.exec(path);
  if (inspect && method === "GET")
    return { route: "GET /images/{name}/json", name: decodeURIComponent(inspect[1]!) };
  const image = /^\/images\/(.+)$/.exec(path);
  if (image && method === "DELETE")
    return { route: "DELETE /images/{name}", name: decodeURIComponent(image[1]!) };
  return { route: `${method} ${path}` };
}

const flag = (value: string | null) => value !== null && value !== "" && value !== "0" && value !== "false";

/** The image a `POST /images/create` asks for: `fromImage` plus `tag`, which may be a digest. */
export function pullReference(fromImage: string, tag: string | null): string {
  if (!tag) return fromImage;
  return /^[a-z0-9]+:[a-f0-9]{32,}$/.test(tag) ? `${fromImage}@${tag}` : `${fromImage}:${tag}`;
}

export async function startSimEngine(options: SimEngineOptions): Promise<SimEngine> {
  const store = new SimImageStore();
  const slots = createDownloadSlots();
  let calls: Record<string, number> = {};
  let pullsInFlight = 0;
  let maxPullsInFlight = 0;
  let pulls = 0;
  let pullMs: number[] = [];

  const json = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "api-version": SIM_API_VERSION });
    res.end(`${text}\n`);
  };

  async function pull(req: IncomingMessage, res: ServerResponse, url: URL) {
    const fromImage = url.searchParams.get("fromImage") ?? "";
    let ref: ReturnType<typeof parseImageReference>;
    try {
      ref = parseImageReference(pullReference(fromImage, url.searchParams.get("tag")));
    } catch (error) {
      return json(res, 400, { message: `invalid reference format: ${(error as Error).message}` });
    }
    const auth = decodeRegistryAuth(req.headers["x-registry-auth"] as string | undefined);
    pulls++;
    pullsInFlight++;
    const started = performance.now();
    maxPullsInFlight = Math.max(maxPullsInFlight, pullsInFlight);
    try {
      const stream = await startPull(ref, auth, {
        store,
        timing: options.timing,
        slots,
      });
      res.writeHead(200, { "content-type": "application/json", "api-version": SIM_API_VERSION });
      await stream((line) => {
        if (!res.destroyed) res.write(`${JSON.stringify(line)}\r\n`);
      });
      res.end();
    } catch (error) {
      if (res.headersSent) return void res.end();
      const status = error instanceof SimPullError ? error.status : 500;
      json(res, status, { message: (error as Error).message });
    } finally {
      pullsInFlight--;
      pullMs.push(performance.now() - started);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://engine");
    const method = req.method ?? "GET";
    const { route, name } = routeOf(method, url.pathname);
    calls[route] = (calls[route] ?? 0) + 1;
    req.resume();
    switch (route) {
      case "GET /_ping":
      case "HEAD /_ping":
        res.writeHead(200, {
          "content-type": "text/plain; charset=utf-8",
          "api-version": SIM_API_VERSION,
          "docker-experimental": "false",
          ostype: "linux",
        });
        return void res.end(method === "HEAD" ? undefined : "OK");
      case "GET /version":
        return json(res, 200, {
          Version: SIM_ENGINE_VERSION,
          ApiVersion: SIM_API_VERSION,
          MinAPIVersion: "1.12",
          Os: "linux",
          Arch: "amd64",
          Components: [
            { Name: "Engine", Version: SIM_ENGINE_VERSION, Details: { ApiVersion: SIM_API_VERSION } },
          ],
        });
      case "GET /images/json":
        return json(res, 200, store.summaries());
      case "GET /images/{name}/json": {
        const answer = store.inspect(name!);
        return json(res, answer.status, answer.body);
      }
      case "DELETE /images/{name}": {
        const answer = flag(url.searchParams.get("force")) ? store.forceRemove(name!) : store.remove(name!);
        return json(res, answer.status, answer.body);
      }
      case "POST /images/create":
        return pull(req, res, url);
      case "GET /containers/json":
        return json(res, 200, store.containerList(flag(url.searchParams.get("all"))));
      case "GET /system/df":
        return json(res, 200, store.diskUsage());
      default:
        return json(res, 404, { message: "page not found" });
    }
  }

  await rm(options.socket, { force: true });
  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) json(res, 500, { message: error.message });
      else res.end();
    });
  });
  // Keep-alive sockets from an idle reconciler must not pin the process or a close().
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.socket, () => resolve());
  });
  return {
    socket: options.socket,
    host: `unix://${options.socket}`,
    store,
    stats: () => ({ calls: { ...calls }, pullsInFlight, maxPullsInFlight, pulls, pullMs: [...pullMs] }),
    reset() {
      calls = {};
      pullMs = [];
      maxPullsInFlight = pullsInFlight;
      pulls = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => rm(options.socket, { force: true })),
  };
}
