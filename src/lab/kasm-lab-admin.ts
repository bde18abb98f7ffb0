/**
 * Routing for the Kasm stand-in: the API under `/api/public/`, and the `/__lab/` admin side that lets a
 * test driving the CLI in another process seed records, read the call log and inject faults, answered
 * to loopback clients only.
 */
import type { IncomingMessage } from "node:http";
import { html, json, type KasmHeaders, type KasmReply, type KasmSeed } from "./kasm-records.js";
import type { KasmPermission } from "./kasm-sessions.js";
import type { KasmFault, KasmStandIn } from "./kasm-stand-in.js";

/** A reply to send, or `lost`: the call was carried out and the connection is dropped unanswered. */
export type KasmAnswer = KasmReply | { type: "lost" };

/** Everything a handle controls but its address, keys and close. */
export type KasmControls = Omit<KasmStandIn, "url" | "apiKey" | "apiKeySecret" | "close">;

export function isLoopback(address: string | undefined): boolean {
  return !!address && (address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127."));
}

/** Sends a request to the API (`api`) or the admin side; anything else is Kasm's HTML 404. */
export function route(
  req: IncomingMessage,
  raw: string,
  api: (fn: string, raw: string, headers: KasmHeaders) => Promise<KasmAnswer>,
  admin: KasmControls,
): KasmAnswer | Promise<KasmAnswer> {
  const path = new URL(req.url ?? "/", "http://stand-in").pathname;
  const apiMatch = /^\/api\/public\/([^/]+)$/.exec(path);
  if (apiMatch) {
    if (req.method !== "POST") return html(405, "Method Not Allowed", "Use POST.");
    return api(decodeURIComponent(apiMatch[1] ?? ""), raw, req.headers);
  }
  if (path.startsWith("/__lab/")) {
    if (!isLoopback(req.socket.remoteAddress))
      return json(403, { error: "lab endpoints answer loopback only" });
    return labRoute(`${req.method} ${path.slice("/__lab".length)}`, raw, admin);
  }
  return html(404, "Not Found", "The path you requested was not found.");
}

/** The admin side: `/__lab/...`, documented in docs/kasm-stand-in.md. */
function labRoute(request: string, raw: string, admin: KasmControls): KasmReply | Promise<KasmReply> {
  const body = (raw.trim() ? JSON.parse(raw) : {}) as Record<string, unknown>;
  switch (request) {
    case "GET /health":
      return json(200, { ok: true });
    case "GET /calls":
      return json(200, { calls: admin.calls() });
    case "GET /writes":
      return json(200, { calls: admin.writes() });
    case "POST /calls/clear":
      admin.clearCalls();
      return json(200, {});
    case "GET /state":
      return json(200, admin.state());
    case "POST /seed":
      admin.seed(body as KasmSeed);
      return json(200, admin.state());
    case "POST /reset":
      admin.reset();
      return json(200, admin.state());
    case "POST /sessions": {
      if (typeof body.image_id !== "string" || !Number.isInteger(body.count)) {
        return json(400, { error: "send {image_id: string, count: integer}" });
      }
      admin.setSessions(body.image_id, body.count as number);
      return json(200, {});
    }
    case "POST /expire-key":
      admin.expireKey(body.expired !== false);
      return json(200, {});
    case "POST /read-only":
      admin.setReadOnly(body.readOnly !== false);
      return json(200, {});
    case "GET /settings":
      return json(200, { ...admin.state().settings });
    case "POST /settings": {
      if (typeof body.add_images_to_default_group !== "boolean") {
        return json(400, { error: "send {add_images_to_default_group: boolean}" });
      }
      admin.setAddImagesToDefaultGroup(body.add_images_to_default_group);
      return json(200, { ...admin.state().settings });
    }
    case "POST /permissions": {
      const list = body.permissions;
      if (list !== null && !(Array.isArray(list) && list.every((p) => typeof p === "string"))) {
        return json(400, { error: "send {permissions: string[] | null}" });
      }
      admin.setPermissions(list === null ? undefined : (list as KasmPermission[]));
      return json(200, {});
    }
    case "POST /hold": {
      if (typeof body.image_id !== "string")
        return json(400, { error: "send {image_id: string, held?: boolean}" });
      admin.holdSessions(body.image_id, body.held !== false);
      return json(200, {});
    }
    case "POST /faults":
      admin.addFault(body as KasmFault);
      return json(200, {});
    case "POST /faults/clear":
      admin.clearFaults();
      return json(200, {});
    case "GET /reports":
      return json(200, admin.reports());
    case "POST /reports": {
      if (!Number.isInteger(body.intervalMs) || (body.intervalMs as number) < 50) {
        return json(400, { error: "send {intervalMs: integer of at least 50}" });
      }
      admin.setReportInterval(body.intervalMs as number);
      return json(200, admin.reports());
    }
    case "POST /reports/freeze": {
      if (typeof body.hostname !== "string") return json(400, { error: "send {hostname, frozen?: boolean}" });
      admin.freezeReports(body.hostname, body.frozen !== false);
      return json(200, admin.reports());
    }
    case "POST /reports/refresh":
      return admin.refreshReports().then(() => json(200, admin.reports()));
    default:
      return json(404, { error: `no lab endpoint ${request}` });
  }
}
