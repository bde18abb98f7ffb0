import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { describeError, KasmGitopsError } from "../core/errors.js";
import type { StatusView } from "../core/status/status-view.js";
import type { Metrics } from "../ports.js";
import { type ClientErrorTally, createClientErrorTally } from "./client-errors.js";
import { parseListen } from "./listen.js";
import { offeredToken, tokenMatches } from "./status-auth.js";
import { createEventStream } from "./status-events.js";
import { PAGE_SCRIPT, PAGE_STYLE, renderStatusPage } from "./status-page.js";
import { STATUS_PAGE_CSS, STATUS_PAGE_JS } from "./status-page-assets.js";
import { verifyWebhook, type WebhookSource } from "./webhook.js";

/** Push payloads are a few KB (GitHub lists at most 20 commits); a larger body is refused, not buffered. */
export const MAX_WEBHOOK_BODY = 1024 * 1024;

export type HttpLogger = Pick<Logger, "debug" | "info" | "warn" | "error">;

/** An authenticated push on the tracked branch: the daemon starts a cycle now. */
export type PushInfo = { source: WebhookSource; branch: string; revision?: string; event?: string };

export type StatusServerOptions = {
  /** `HOST:PORT`; port 0 takes any free port (see `port` on the result). */
  listen: string;
  /** JSON snapshot for `/status`, read on every request. */
  status: () => unknown;
  /** `/readyz` answers 200 once this is true (a revision in force was reconciled without a failure). */
  ready: () => boolean;
  metrics: Metrics;
  /** The status page's data: with it `GET /` and `GET /events` are served (the daemon's status). */
  page?: () => StatusView;
  /** Required (bearer or `?token=`) on `/`, `/status` and `/events` when set; the probes and metrics stay open. */
  token?: string;
  /** The page's clock (tests fix it). */
  now?: () => Date;
  /** Without it `POST /hooks/git` is 404; `branch` unset = any branch. */
  webhook?: { secret: string; onPush: (info: PushInfo) => void; branch?: string };
  logger?: HttpLogger;
};

export type StatusServer = { url: string; port: number; close(): Promise<void> };

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

const NOOP = () => {};
const SILENT: HttpLogger = { debug: NOOP, info: NOOP, warn: NOOP, error: NOOP };
/** Past this, a client still sending an oversized body is cut off instead of drained. */
const MAX_DRAIN = 16 * MAX_WEBHOOK_BODY;

function send(res: ServerResponse, status: number, body: string, contentType = "text/plain; charset=utf-8") {
  res.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, value: unknown) =>
  send(res, status, `${JSON.stringify(value, null, 2)}\n`, "application/json; charset=utf-8");

/** The page runs only its own script and style, sends no referrer (a `?token=` stays in the URL bar) and is never framed. */
const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

function sendPage(res: ServerResponse, body: string, contentType: string) {
  res.writeHead(200, { "content-type": contentType, "cache-control": "no-store", ...PAGE_HEADERS });
  res.end(body);
}

/** Answers 401 and returns false unless the request carries the token (when one is set). */
function authorized(req: IncomingMessage, res: ServerResponse, token: string | undefined): boolean {
  if (token === undefined || tokenMatches(token, offeredToken(req.headers, req.url))) return true;
  res.setHeader("www-authenticate", 'Bearer realm="kasm-gitops"');
  send(
    res,
    401,
    "unauthorized: this daemon requires its status token (Authorization: Bearer TOKEN, or ?token=TOKEN)\n",
  );
  return false;
}

/** `/`, `/events` and the page's own script and stylesheet. */
function pageRoutes(
  options: StatusServerOptions,
  page: () => StatusView,
): Record<string, Record<string, Handler>> {
  const now = options.now ?? (() => new Date());
  const events = createEventStream(page, now);
  return {
    "/": { GET: (_, res) => sendPage(res, renderStatusPage(page(), now()), "text/html; charset=utf-8") },
    "/events": { GET: (req, res) => events(req, res) },
    [PAGE_SCRIPT]: { GET: (_, res) => sendPage(res, STATUS_PAGE_JS, "text/javascript; charset=utf-8") },
    [PAGE_STYLE]: { GET: (_, res) => sendPage(res, STATUS_PAGE_CSS, "text/css; charset=utf-8") },
    // Browsers ask for it on every page; an answer without content keeps their consoles free of 404s.
    "/favicon.ico": { GET: (_, res) => void res.writeHead(204, { "cache-control": "max-age=86400" }).end() },
  };
}

/** The paths whose answers carry the fleet's state: behind the token when one is set. */
const TOKEN_PATHS = new Set(["/", "/status", "/events"]);

/** Reads the body up to `limit`; undefined after answering 413 when the client sends more, or when it went away. */
function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  onAbort: () => void,
): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    const refuse = () => {
      refused = true;
      res.setHeader("connection", "close");
      sendJson(res, 413, { status: "rejected", reason: `request body larger than ${limit} bytes` });
      resolve(undefined);
    };
    if (Number(req.headers["content-length"] ?? 0) > limit) refuse();
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      // Drain what follows a refusal so the client reads the 413, up to a bound.
      if (refused) return void (size > MAX_DRAIN && req.destroy());
      if (size > limit) return refuse();
      chunks.push(chunk);
    });
    req.on("end", () => resolve(refused ? undefined : Buffer.concat(chunks)));
    // A client that hangs up mid-upload is its own problem, not the daemon's: counted, not an error.
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (req.destroyed || error.code === "ECONNRESET" || error.message === "aborted") {
        onAbort();
        resolve(undefined);
      } else reject(error);
    });
  });
}

function webhookHandler(
  webhook: NonNullable<StatusServerOptions["webhook"]>,
  logger: HttpLogger,
  clientErrors: ClientErrorTally,
): Handler {
  return async (req, res) => {
    const body = await readBody(req, res, MAX_WEBHOOK_BODY, () =>
      clientErrors.add("aborted", { remote: req.socket.remoteAddress, path: "/hooks/git" }, req.socket),
    );
    if (body === undefined) return;
    const result = verifyWebhook({ headers: req.headers, body, secret: webhook.secret });
    if (!result.ok) {
      logger.warn({ remote: req.socket.remoteAddress, reason: result.reason }, "webhook rejected");
      return sendJson(res, 401, { status: "rejected", reason: result.reason });
    }
    const { source, event, branch, revision } = result;
    const tracked = branch !== undefined && (webhook.branch === undefined || branch === webhook.branch);
    if (!result.push || !tracked) {
      const reason = !result.push
        ? `${source} event ${event ?? "(none)"} is not a push`
        : branch === undefined
          ? "push to a tag, not a branch"
          : `push to branch ${branch}, tracking ${webhook.branch}`;
      logger.debug({ source, event, branch }, `webhook ignored: ${reason}`);
      return sendJson(res, 200, { status: "ignored", reason });
    }
    const info: PushInfo = { source, branch, ...(revision ? { revision } : {}), ...(event ? { event } : {}) };
    webhook.onPush(info);
    logger.info(info, "webhook push accepted: starting a cycle");
    sendJson(res, 202, { status: "accepted", ...info });
  };
}

function routes(
  options: StatusServerOptions,
  logger: HttpLogger,
  clientErrors: ClientErrorTally,
): Record<string, Record<string, Handler>> {
  const table: Record<string, Record<string, Handler>> = {
    "/healthz": { GET: (_, res) => send(res, 200, "ok\n") },
    "/readyz": {
      GET: (_, res) => (options.ready() ? send(res, 200, "ready\n") : send(res, 503, "not ready\n")),
    },
    "/metrics": {
      GET: async (_, res) => {
        const { contentType, body } = await options.metrics.render();
        send(res, 200, body, contentType);
      },
    },
    "/status": { GET: (_, res) => sendJson(res, 200, options.status()) },
    ...(options.page ? pageRoutes(options, options.page) : {}),
  };
  if (options.webhook) table["/hooks/git"] = { POST: webhookHandler(options.webhook, logger, clientErrors) };
  return table;
}

/** A URL a client on this host can use: the unspecified address is reached through loopback. */
function urlOf(address: AddressInfo): string {
  const host = { "0.0.0.0": "127.0.0.1", "::": "::1" }[address.address] ?? address.address;
  return `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
}

/**
 * The path of a request target in origin form (`/status?x`), or undefined for anything else (`//[`, `*`,
 * absolute URLs): routes are plain paths, so nothing is parsed as a URL and no input can throw here.
 */
export function requestPath(target: string | undefined): string | undefined {
  const path = (target ?? "").split(/[?#]/, 1)[0]!;
  return path.startsWith("/") && !path.startsWith("//") ? path : undefined;
}

/** Serves health, readiness, metrics, status and the Git webhook for the daemon on node:http. */
export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const { host, port } = parseListen(options.listen);
  const logger = options.logger ?? SILENT;
  const clientErrors = createClientErrorTally(logger, Date.now);
  const table = routes(options, logger, clientErrors);
  const server = createServer(async (req, res) => {
    const path = requestPath(req.url);
    const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");
    try {
      if (path === undefined) return send(res, 400, "bad request: the target must be a path\n");
      const methods = table[path];
      if (!methods) return send(res, 404, "not found\n");
      const handler = methods[method];
      if (!handler) {
        res.setHeader("allow", Object.keys(methods).join(", "));
        return send(res, 405, "method not allowed\n");
      }
      if (TOKEN_PATHS.has(path) && !authorized(req, res, options.token)) return;
      await handler(req, res);
    } catch (error) {
      logger.error({ path, err: describeError(error) }, "status server request failed");
      if (!res.headersSent) send(res, 500, "internal error\n");
      else res.destroy();
    }
  });
  // Unparseable requests get a 400 (as node would answer), counted like aborts instead of logged one by one.
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    const aborted = error.code === "ECONNRESET" || error.code === "HPE_INVALID_EOF_STATE";
    clientErrors.add(aborted ? "aborted" : "malformed", { code: error.code }, socket);
    if (socket.writable && !aborted)
      socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    else socket.destroy();
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new KasmGitopsError("listen-failed", `cannot listen on ${options.listen}: ${error.message}`, {
          listen: options.listen,
          code: error.code,
        }),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: urlOf(address),
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        clientErrors.flush();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
