/**
 * The Kasm Web App API stand-in's HTTP side: `POST /api/public/<function>` answered by the pure state
 * machine in kasm-records.ts, a call log, and loopback-only `/__lab/` admin endpoints so a test driving
 * the CLI in another process can seed, count calls and flip sessions or key expiry.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { AddressInfo } from "node:net";
import { type KasmAnswer, type KasmControls, route } from "./kasm-lab-admin.js";
import {
  applySeed,
  handleCall,
  hexId,
  html,
  initialState,
  json,
  KASM_DEFAULT_SETTINGS,
  KASM_WRITE_FUNCTIONS,
  type KasmDeps,
  type KasmHeaders,
  type KasmSeed,
  type KasmSettings,
  type KasmState,
  upgradeState,
} from "./kasm-records.js";
import { startAgentReports } from "./kasm-reports.js";
import { startSessionRunner } from "./kasm-session-runner.js";
import type { KasmPermission } from "./kasm-sessions.js";

export type { KasmSeed, KasmSettings, KasmState } from "./kasm-records.js";

/**
 * A failure to inject: the next `count` (default 1) calls to `fn` (any when absent) wait `delayMs`, then
 * answer `status` with an HTML page as a proxy in front of Kasm would; or, with `lose`, are carried out
 * (their change kept) and the connection is then dropped with no answer. Neither: answered after the delay.
 */
export type KasmFault = { fn?: string; status?: number; delayMs?: number; count?: number; lose?: boolean };

/**
 * One API call as the stand-in saw it; the body has api_key and api_key_secret removed. `lost`: the
 * call was carried out but its answer (with `status`) never sent.
 */
export type KasmCall = { fn: string; status: number; at: string; body: unknown; lost?: boolean };

export type KasmStandInOptions = {
  host?: string;
  port?: number;
  apiKey?: string;
  apiKeySecret?: string;
  seed?: KasmSeed;
  /** Kasm's `add_images_to_default_group` setting: new images join All Users (default: on, as Kasm ships). */
  addImagesToDefaultGroup?: boolean;
  /** Keeps keys and records in this JSON file across restarts (the lab's detached server uses it). */
  stateFile?: string;
  /** The session permissions the key holds (default: every one). */
  permissions?: KasmPermission[];
  /** How often agents seeded with a lab `engine` report that engine's images (default 1000 ms). */
  reportIntervalMs?: number;
};

export type KasmStandIn = {
  url: string;
  apiKey: string;
  apiKeySecret: string;
  calls(): KasmCall[];
  /** Calls to create/update/delete_image and add/remove_images_group, answered or refused. */
  writes(): KasmCall[];
  clearCalls(): void;
  /** A deep copy of images (stored form, token in clear), groups, group rows and sessions. */
  state(): KasmState;
  seed(seed: KasmSeed): void;
  /** Running sessions of an image: delete_image is refused while this is above 0. */
  setSessions(imageId: string, count: number): void;
  /** Every later call answers 401, as an expired key does. */
  expireKey(expired?: boolean): void;
  /** A read-only key: later write calls answer 401 (a missing permission). */
  setReadOnly(readOnly: boolean): void;
  /** Kasm's `add_images_to_default_group` setting from now on (reset restores the start option). */
  setAddImagesToDefaultGroup(on: boolean): void;
  /** The session permissions the key holds from now on; undefined: every one. */
  setPermissions(permissions: KasmPermission[] | undefined): void;
  /** Sessions of the image stay starting (a session stuck in starting) while held. */
  holdSessions(imageId: string, held: boolean): void;
  /** Makes the next matching calls slow, fail (502/503/504…) or lose their answer. */
  addFault(fault: KasmFault): void;
  /** No more injected faults, and every agent's reports thawed. */
  clearFaults(): void;
  /** Freezes (or thaws) the reports of the agent with this hostname: its last_reported ages from now. */
  freezeReports(hostname: string, frozen?: boolean): void;
  /** Engine-backed agents report every `ms` from now on. */
  setReportInterval(ms: number): void;
  /** The report period and the agents whose reports are frozen. */
  reports(): { intervalMs: number; frozen: string[] };
  /** One round of agent reports now. */
  refreshReports(): Promise<void>;
  /** Back to the two system groups and the start options' seed, no faults; the call log is kept. */
  reset(): void;
  close(): Promise<void>;
};

type Persisted = {
  apiKey: string;
  apiKeySecret: string;
  expired: boolean;
  readOnly: boolean;
  permissions?: KasmPermission[];
  state: KasmState;
};

const MAX_BODY = 1 << 20;
const deps: KasmDeps = { newId: hexId, now: () => new Date() };

function loadPersisted(file: string | undefined): Partial<Persisted> {
  if (!file || !existsSync(file)) return {};
  return JSON.parse(readFileSync(file, "utf8")) as Partial<Persisted>;
}

/** Starts the stand-in on loopback (a free port unless given) and resolves once it listens. */
export async function startKasmStandIn(options: KasmStandInOptions = {}): Promise<KasmStandIn> {
  const saved = loadPersisted(options.stateFile);
  const settings: KasmSettings = {
    ...KASM_DEFAULT_SETTINGS,
    ...(options.addImagesToDefaultGroup === undefined
      ? {}
      : { add_images_to_default_group: options.addImagesToDefaultGroup }),
  };
  const fresh = () => initialState(deps, options.seed, settings);
  const current: Persisted = {
    apiKey: options.apiKey ?? saved.apiKey ?? hexId().slice(0, 12),
    apiKeySecret: options.apiKeySecret ?? saved.apiKeySecret ?? hexId(),
    expired: saved.expired ?? false,
    readOnly: saved.readOnly ?? false,
    ...(options.permissions || saved.permissions
      ? { permissions: options.permissions ?? saved.permissions }
      : {}),
    state: saved.state ? upgradeState(saved.state, deps) : fresh(),
  };
  const log: KasmCall[] = [];
  // Not persisted: a report is refreshed within a period, and a restart reports again.
  const agentReports = startAgentReports(
    {
      get: () => current.state,
      set: (next) => {
        current.state = next;
      },
    },
    options.reportIntervalMs,
  );
  const persist = () => {
    if (!options.stateFile) return;
    writeFileSync(`${options.stateFile}.tmp`, JSON.stringify(current, null, 2));
    renameSync(`${options.stateFile}.tmp`, options.stateFile);
  };
  persist();
  const runner = startSessionRunner(
    () => current.state,
    (edit) => {
      const next = structuredClone(current.state);
      edit(next);
      current.state = next;
      persist();
    },
    createHash("sha256").update(current.apiKey).digest("hex").slice(0, 12),
  );

  const faults: (KasmFault & { count: number })[] = [];
  const takeFault = (fn: string) => {
    const fault = faults.find((f) => f.fn === undefined || f.fn === fn);
    if (fault && --fault.count <= 0) faults.splice(faults.indexOf(fault), 1);
    return fault;
  };

  const api = async (fn: string, raw: string, headers: KasmHeaders): Promise<KasmAnswer> => {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const fault = takeFault(fn);
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.status || body === undefined) {
      const reply = fault?.status
        ? html(fault.status, STATUS_CODES[fault.status] ?? "Error", "Injected by the lab.")
        : html(400, "Bad Request", "The request body is not valid JSON.");
      log.push({ fn, status: reply.status, at: new Date().toISOString(), body: withoutKeys(body ?? null) });
      return reply;
    }
    const result = handleCall(current.state, current, fn, body, await sessionDeps(fn, body), headers);
    if (result.state !== current.state) {
      current.state = result.state;
      persist();
    }
    const call: KasmCall = {
      fn,
      status: result.reply.status,
      at: new Date().toISOString(),
      body: withoutKeys(body),
    };
    log.push(fault?.lose ? { ...call, lost: true } : call);
    return fault?.lose ? { type: "lost" } : result.reply;
  };

  /** A request_kasm of a record with a hash is placed by what the agents' engines really hold of it. */
  const sessionDeps = async (fn: string, body: unknown): Promise<KasmDeps> => {
    const imageId = (body as { image_id?: unknown } | null)?.image_id;
    const image =
      fn === "request_kasm" ? current.state.images.find((i) => i.image_id === imageId) : undefined;
    if (!image?.hash || !image.name) return deps;
    return { ...deps, digestsOf: await runner.digestsOf(current.state, image.name) };
  };

  const handle: KasmControls = {
    calls: () => structuredClone(log),
    writes: () =>
      structuredClone(log.filter((c) => (KASM_WRITE_FUNCTIONS as readonly string[]).includes(c.fn))),
    clearCalls: () => {
      log.length = 0;
    },
    state: () => structuredClone(current.state),
    seed: (seed) => {
      current.state = applySeed(current.state, seed, deps);
      persist();
    },
    setSessions: (imageId, count) => {
      current.state = structuredClone(current.state);
      current.state.sessions[imageId] = count;
      persist();
    },
    expireKey: (expired = true) => {
      current.expired = expired;
      persist();
    },
    setReadOnly: (readOnly) => {
      current.readOnly = readOnly;
      persist();
    },
    setAddImagesToDefaultGroup: (on) => {
      current.state = {
        ...current.state,
        settings: { ...current.state.settings, add_images_to_default_group: on },
      };
      persist();
    },
    setPermissions: (permissions) => {
      if (permissions) current.permissions = permissions;
      else delete current.permissions;
      persist();
    },
    holdSessions: (imageId, held) => {
      current.state = structuredClone(current.state);
      current.state.held = current.state.held.filter((id) => id !== imageId).concat(held ? [imageId] : []);
      persist();
    },
    addFault: (fault) => {
      faults.push({ ...fault, count: fault.count ?? 1 });
    },
    clearFaults: () => {
      faults.length = 0;
      for (const hostname of agentReports.frozen()) agentReports.freeze(hostname, false);
    },
    freezeReports: (hostname, frozen = true) => agentReports.freeze(hostname, frozen),
    setReportInterval: (ms) => agentReports.setInterval(ms),
    reports: () => ({ intervalMs: agentReports.intervalMs(), frozen: agentReports.frozen() }),
    refreshReports: () => agentReports.refresh(),
    reset: () => {
      faults.length = 0;
      for (const hostname of agentReports.frozen()) agentReports.freeze(hostname, false);
      current.state = fresh();
      current.expired = false;
      current.readOnly = false;
      if (options.permissions) current.permissions = options.permissions;
      else delete current.permissions;
      persist();
    },
  };

  const server = createServer((req, res) => {
    readBody(req)
      .then((raw) => route(req, raw, api, handle))
      .catch((error: Error & { status?: number }) =>
        error.status
          ? html(error.status, "Request Entity Too Large", error.message)
          : json(400, { error: error.message }),
      )
      .then((reply) => send(res, reply));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    apiKey: current.apiKey,
    apiKeySecret: current.apiKeySecret,
    ...handle,
    close: async () => {
      agentReports.close();
      await runner.close();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

function withoutKeys(body: unknown): unknown {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return body;
  const { api_key: _key, api_key_secret: _secret, ...rest } = body as Record<string, unknown>;
  return rest;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error("body larger than 1 MiB"), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, reply: KasmAnswer): void {
  if (reply.type === "lost") {
    // The work is done; the client sees its connection close with no answer, as after a proxy or server crash.
    res.socket?.destroy();
    return;
  }
  const text = reply.type === "json" ? JSON.stringify(reply.body) : reply.body;
  res.writeHead(reply.status, {
    "content-type": reply.type === "json" ? "application/json" : "text/html;charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
