import type { IncomingMessage, ServerResponse } from "node:http";
import type { StatusView } from "../core/status/status-view.js";
import { renderStatusMain } from "./status-page.js";

/** Server-sent events at most this often: a fleet's progress events become one page update a second. */
export const EVENTS_INTERVAL_MS = 1000;
/** A comment line this often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;
/** Open streams at once; more get a 503, so a crowd of tabs cannot hold the daemon's memory. */
export const MAX_EVENT_CLIENTS = 32;

/** One SSE message: every line of the data prefixed, so a multi-line page travels whole. */
export const sseMessage = (event: string, data: string) =>
  `event: ${event}\n${data
    .split("\n")
    .map((line) => `data: ${line}`)
    .join("\n")}\n\n`;

/**
 * `GET /events`: the page's `<main>` now and again each time the status changes (it is replaced, never
 * mutated, so a new object is a change). Rendered once per change, whatever the number of readers.
 */
export function createEventStream(page: () => StatusView, now: () => Date, intervalMs = EVENTS_INTERVAL_MS) {
  const clients = new Set<ServerResponse>();
  let rendered: { status: StatusView; text: string } | undefined;
  const message = (status: StatusView) => {
    if (rendered?.status !== status)
      rendered = { status, text: sseMessage("page", renderStatusMain(status, now()).text) };
    return rendered.text;
  };
  return (req: IncomingMessage, res: ServerResponse) => {
    if (clients.size >= MAX_EVENT_CLIENTS) {
      res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "retry-after": "30" });
      return void res.end(`too many event streams open (${MAX_EVENT_CLIENTS})\n`);
    }
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    });
    if (req.method === "HEAD") return void res.end();
    clients.add(res);
    let sent: StatusView | undefined;
    let quiet = 0;
    const tick = () => {
      const status = page();
      quiet += intervalMs;
      if (status !== sent) {
        sent = status;
        quiet = 0;
        res.write(message(status));
      } else if (quiet >= HEARTBEAT_MS) {
        quiet = 0;
        res.write(": still here\n\n");
      }
    };
    res.write("retry: 3000\n\n");
    tick();
    const timer = setInterval(tick, intervalMs);
    res.on("close", () => {
      clearInterval(timer);
      clients.delete(res);
    });
  };
}
