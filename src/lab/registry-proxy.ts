/**
 * An in-process HTTP proxy in front of a lab registry, for tests and benchmarks: it records and counts
 * requests, measures concurrency, delays blobs, injects failures (429, 503…) and can demand Bearer
 * tokens, so client behaviour is asserted with counts at a real HTTP boundary instead of mocks.
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { type BearerSettings, TokenService } from "./registry-proxy-auth.js";
import {
  classify,
  type InjectRule,
  matches,
  type RequestFacts,
  type RequestKind,
  schemeOf,
} from "./registry-proxy-requests.js";
import { tagListPage } from "./registry-proxy-tags.js";

export type { InjectRule, RequestFacts, RequestKind } from "./registry-proxy-requests.js";

export type RecordedRequest = RequestFacts & {
  status: number;
  /** Epoch ms when the request arrived, and how long until its answer ended. */
  time: number;
  durationMs: number;
  /** Which scheme the client sent (never the credential). */
  authorization: "none" | "basic" | "bearer" | "other";
  /** The scopes a token request asked for. */
  scopes?: string[];
  injected: boolean;
};

export type ProxyBehaviour = {
  /** Pause before forwarding each blob GET. */
  delayMs?: number;
  /** Pause before forwarding each manifest request. */
  manifestDelayMs?: number;
  inject?: InjectRule[];
  /** Demand Bearer tokens from `/token` (checked against these credentials) instead of passing auth through. */
  bearer?: BearerSettings;
  /** Serve tag lists in pages (`n`, `last`, `Link`), as paginating registries do; the upstream answers whole. */
  paginateTags?: boolean;
};

export type ProxyStats = {
  total: number;
  byMethod: Record<string, number>;
  byKind: Partial<Record<RequestKind, number>>;
  byStatus: Record<string, number>;
  /** Most requests of a kind in flight at once, e.g. concurrent blob GETs during pulls. */
  maxInFlight: Partial<Record<RequestKind, number>>;
  /** Most distinct repositories with a blob GET in flight at once: concurrent pulls, one repository each. */
  maxRepositoriesInFlight: number;
  tokenRequests: number;
};

export type RegistryProxy = {
  url: string;
  host: string;
  requests: RecordedRequest[];
  stats(): ProxyStats;
  /** Forgets recorded requests and counters; behaviour stays. */
  reset(): void;
  /** Merges into the current behaviour; inject rules restart their counts. */
  setBehaviour(behaviour: ProxyBehaviour): void;
  /** In Bearer mode, makes every token issued so far invalid (a revocation the clients have not heard of). */
  revokeTokens(): void;
  close(): Promise<void>;
};

export type RegistryProxyOptions = {
  upstream: string;
  /** Basic credentials the proxy adds upstream; without them the client's Authorization passes through. */
  upstreamAuth?: { username: string; password: string };
  behaviour?: ProxyBehaviour;
};

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the proxy on a free loopback port; Docker Engines trust 127.0.0.1 registries over plain HTTP. */
export async function startRegistryProxy(options: RegistryProxyOptions): Promise<RegistryProxy> {
  const upstream = new URL(options.upstream);
  const agent = new Agent({ keepAlive: true });
  const requests: RecordedRequest[] = [];
  let inFlight: Partial<Record<RequestKind, number>> = {};
  let maxInFlight: Partial<Record<RequestKind, number>> = {};
  let pulling = new Map<string, number>();
  let maxRepositoriesInFlight = 0;
  let behaviour: ProxyBehaviour = {};
  let rules: { rule: InjectRule; left: number }[] = [];
  let tokens: TokenService | undefined;
  let url = "";

  const setBehaviour = (next: ProxyBehaviour) => {
    behaviour = { ...behaviour, ...next };
    if ("inject" in next) rules = (next.inject ?? []).map((rule) => ({ rule, left: rule.times }));
    if ("bearer" in next) tokens = next.bearer ? new TokenService(next.bearer, `${url}/token`) : undefined;
  };

  const rewriteLocation = (location: string): string => {
    const target = new URL(location, upstream);
    return target.origin === upstream.origin ? `${url}${target.pathname}${target.search}` : location;
  };

  const upstreamHeaders = (req: IncomingMessage) => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name) && name !== "host") headers[name] = value;
    }
    headers.host = upstream.host;
    if (tokens || options.upstreamAuth) delete headers.authorization;
    if (options.upstreamAuth) {
      const { username, password } = options.upstreamAuth;
      headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
    }
    return headers;
  };

  /** The whole tag list from upstream, served as the page the request asks for. */
  const paginate = (req: IncomingMessage, res: ServerResponse, done: (status: number) => void) => {
    const asked = new URL(req.url ?? "/", "http://proxy");
    const headers = upstreamHeaders(req);
    req.resume();
    const outgoing = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: "GET", path: asked.pathname, headers, agent },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
        incoming.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = incoming.statusCode ?? 502;
          if (status !== 200) {
            res.writeHead(status, { "content-type": "application/json" }).end(text);
            return done(status);
          }
          const whole = JSON.parse(text) as { name: string; tags: string[] | null };
          const page = tagListPage(whole.name, whole.tags ?? [], asked.searchParams, asked.pathname);
          res.writeHead(200, {
            "content-type": "application/json",
            ...(page.link ? { link: page.link } : {}),
          });
          res.end(page.body);
          done(200);
        });
      },
    );
    outgoing.on("error", (error) => {
      res.writeHead(502, { "content-type": "text/plain" }).end(`upstream error: ${error.message}`);
      done(502);
    });
    outgoing.end();
  };

  const forward = (req: IncomingMessage, res: ServerResponse, done: (status: number) => void) => {
    const headers = upstreamHeaders(req);
    const outgoing = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
      (incoming) => {
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(incoming.headers)) {
          if (value === undefined || HOP_BY_HOP.has(name)) continue;
          out[name] = name === "location" && typeof value === "string" ? rewriteLocation(value) : value;
        }
        res.writeHead(incoming.statusCode ?? 502, out);
        done(incoming.statusCode ?? 502);
        incoming.pipe(res);
      },
    );
    outgoing.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`upstream error: ${error.message}`);
      done(502);
    });
    // A client that goes away mid-answer cancels the upstream request; a finished one leaves the socket pooled.
    res.on("close", () => {
      if (!res.writableFinished) outgoing.destroy();
    });
    req.pipe(outgoing);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const time = Date.now();
    const requestUrl = new URL(req.url ?? "/", "http://proxy");
    const facts = classify(req.method ?? "GET", requestUrl.pathname);
    const record: RecordedRequest = {
      ...facts,
      status: 0,
      time,
      durationMs: 0,
      authorization: schemeOf(req.headers.authorization),
      injected: false,
      ...(facts.kind === "token" ? { scopes: requestUrl.searchParams.getAll("scope") } : {}),
    };
    requests.push(record);
    inFlight[facts.kind] = (inFlight[facts.kind] ?? 0) + 1;
    maxInFlight[facts.kind] = Math.max(maxInFlight[facts.kind] ?? 0, inFlight[facts.kind]!);
    const counters = inFlight;
    const repositories = pulling;
    const repository = facts.kind === "blob-get" ? facts.repository : undefined;
    if (repository !== undefined) {
      repositories.set(repository, (repositories.get(repository) ?? 0) + 1);
      maxRepositoriesInFlight = Math.max(maxRepositoriesInFlight, repositories.size);
    }
    res.on("close", () => {
      counters[facts.kind] = (counters[facts.kind] ?? 1) - 1;
      record.durationMs = Date.now() - time;
      const left = repository === undefined ? 0 : (repositories.get(repository) ?? 1) - 1;
      if (repository !== undefined && left === 0) repositories.delete(repository);
      else if (repository !== undefined) repositories.set(repository, left);
    });
    const finish = (status: number) => {
      record.status = status;
    };
    const answer = (status: number, headers: Record<string, string>, body: string) => {
      req.resume();
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(body);
      finish(status);
    };

    const active = rules.find((r) => r.left > 0 && matches(r.rule, facts));
    if (active) {
      active.left--;
      record.injected = true;
      const body =
        active.rule.body ??
        JSON.stringify({
          errors: [{ code: "INJECTED", message: `lab proxy answered ${active.rule.status}` }],
        });
      return answer(active.rule.status, active.rule.headers ?? {}, body);
    }
    if (tokens && facts.kind === "token") {
      req.resume();
      return finish(tokens.serveToken(req, res, requestUrl));
    }
    if (tokens && !tokens.allows(req.headers.authorization, facts.repository, facts.method)) {
      const body = JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] });
      const challenge = tokens.challenge(req.headers.authorization, facts.repository, facts.method);
      return answer(401, { "www-authenticate": challenge }, body);
    }
    if (facts.kind === "blob-get" && behaviour.delayMs) await sleep(behaviour.delayMs);
    if (facts.kind.startsWith("manifest-") && behaviour.manifestDelayMs) {
      await sleep(behaviour.manifestDelayMs);
    }
    if (res.destroyed) return;
    if (facts.kind === "tags" && req.method === "GET" && behaviour.paginateTags) paginate(req, res, finish);
    else forward(req, res, finish);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(`lab proxy error: ${error.message}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  url = `http://127.0.0.1:${port}`;
  if (options.behaviour) setBehaviour(options.behaviour);

  const stats = (): ProxyStats => {
    const byMethod: Record<string, number> = {};
    const byKind: Partial<Record<RequestKind, number>> = {};
    const byStatus: Record<string, number> = {};
    for (const r of requests) {
      byMethod[r.method] = (byMethod[r.method] ?? 0) + 1;
      byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
      byStatus[String(r.status)] = (byStatus[String(r.status)] ?? 0) + 1;
    }
    return {
      total: requests.length,
      byMethod,
      byKind,
      byStatus,
      maxInFlight: { ...maxInFlight },
      maxRepositoriesInFlight,
      tokenRequests: byKind.token ?? 0,
    };
  };

  return {
    url,
    host: `127.0.0.1:${port}`,
    requests,
    stats,
    reset() {
      requests.length = 0;
      inFlight = {};
      maxInFlight = {};
      pulling = new Map();
      maxRepositoriesInFlight = 0;
    },
    setBehaviour,
    revokeTokens: () => tokens?.revokeAll(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
