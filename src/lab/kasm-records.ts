/**
 * The Kasm Web App stand-in's state machine, pure: a call (function name, JSON body, headers) and the state
 * in, the next state and the reply out, ids injected. It answers as Kasm 1.15's handlers do, statuses and
 * texts included, so the product's client can never lean on a lenient stand-in.
 */
import { randomUUID } from "node:crypto";
import {
  listedImage,
  prepareTarget,
  type ReadContext,
  readImage,
  type StoredImage,
  storedImage,
  UNHANDLED_BODY,
  type WriteFailure,
  writeFields,
} from "./kasm-image-fields.js";
import {
  type DigestsOf,
  destroyKasm,
  getKasmStatus,
  getKasms,
  getUser,
  type KasmPermission,
  type KasmSession,
  type KasmUser,
  requestKasm,
  SESSION_NEEDS,
  type SessionReply,
} from "./kasm-sessions.js";

export type KasmGroup = {
  group_id: string;
  name: string;
  description: string;
  priority: number;
  is_system: boolean;
};
export type KasmGroupImage = { group_image_id: string; group_id: string; image_id: string };
export type KasmZone = { zone_id: string; zone_name: string };
/** A Kasm agent (a server of type host) as get_servers lists it, with the images it last reported. */
export type KasmServerRow = {
  server_id: string;
  server_type: string;
  hostname: string;
  enabled: boolean;
  operational_status: string;
  zone_id: string | null;
  docker_images: Record<string, { tags: string[] }>;
  docker_info: Record<string, unknown>;
  last_reported: string | null;
  cores: number;
  memory: number;
  gpus: number;
  agent_version: string;
};
/**
 * A seeded agent: by hostname (a seed with the same hostname replaces it), its zone by name. `engine`
 * (lab only, never in an answer): the Docker endpoint of the lab engine standing in for this agent, where
 * its image reports come from and its sessions' containers run.
 */
export type KasmServerSeed = Partial<Omit<KasmServerRow, "zone_id">> & {
  hostname: string;
  zone_name?: string;
  engine?: string;
};

/** Kasm's global settings the stand-in models. */
export type KasmSettings = {
  /** A new image joins All Users on create; Kasm's shipped default is on (docs/kasm-stand-in.md). */
  add_images_to_default_group: boolean;
};
export const KASM_DEFAULT_SETTINGS: KasmSettings = { add_images_to_default_group: true };

export type KasmState = {
  images: StoredImage[];
  groups: KasmGroup[];
  groupImages: KasmGroupImage[];
  zones: KasmZone[];
  /** Kasm's agents and what each last reported. */
  servers: KasmServerRow[];
  /** Lab only: server_id → the Docker endpoint of the lab engine standing in for that agent. */
  engines: Record<string, string>;
  /** Running sessions per image id set by hand (a count); delete_image is refused while one is above 0. */
  sessions: Record<string, number>;
  /** Kasm's users (the smoke user among them) and their sessions (kasm-sessions.ts). */
  users: KasmUser[];
  kasms: KasmSession[];
  /** Lab only: image ids whose sessions stay starting (the agent never reports their containers). */
  held: string[];
  settings: KasmSettings;
};

export type KasmAuth = {
  apiKey: string;
  apiKeySecret: string;
  expired: boolean;
  readOnly?: boolean;
  /** The permissions the key holds for the session functions (absent: every one). */
  permissions?: readonly KasmPermission[];
};
/** `digestsOf`: what each agent's lab engine holds of an image, learned before a request_kasm. */
export type KasmDeps = { newId(): string; now(): Date; digestsOf?: DigestsOf };

export type KasmReply =
  | { status: number; type: "json"; body: Record<string, unknown> }
  | { status: number; type: "html"; body: string };

export const KASM_FUNCTIONS = [
  "get_images",
  "create_image",
  "update_image",
  "delete_image",
  "get_groups",
  "get_images_group",
  "add_images_group",
  "remove_images_group",
  "get_servers",
  "get_zones",
  "get_user",
  "request_kasm",
  "get_kasm_status",
  "destroy_kasm",
  "get_kasms",
] as const;
export type KasmFunction = (typeof KASM_FUNCTIONS)[number];
export const KASM_WRITE_FUNCTIONS: readonly KasmFunction[] = [
  "create_image",
  "update_image",
  "delete_image",
  "add_images_group",
  "remove_images_group",
];

export const ALL_USERS = "All Users";
export const ADMINISTRATORS = "Administrators";

/** What a test may preload: groups by name, images in stored form, group rows by group id or name, zones. */
export type KasmSeed = {
  groups?: (Partial<KasmGroup> & { name: string })[];
  images?: (Partial<StoredImage> & { name?: string | null; sessions?: number })[];
  groupImages?: { image_id: string; group_id?: string; group_name?: string }[];
  zones?: { zone_id?: string; zone_name: string }[];
  servers?: KasmServerSeed[];
  /** Kasm users by username (a seed with a known username keeps that user). */
  users?: { username: string; user_id?: string }[];
};

/** A random dashless lower-case hex id, like Python's uuid4().hex. */
export function hexId(): string {
  return randomUUID().replaceAll("-", "");
}

/** The two system groups and the default zone every Kasm server has, then the seed laid on top. */
export function initialState(
  deps: KasmDeps,
  seed: KasmSeed = {},
  settings: KasmSettings = KASM_DEFAULT_SETTINGS,
): KasmState {
  const state: KasmState = {
    images: [],
    groups: [],
    groupImages: [],
    zones: [{ zone_id: deps.newId(), zone_name: "default" }],
    servers: [],
    engines: {},
    sessions: {},
    users: [],
    kasms: [],
    held: [],
    settings: { ...settings },
  };
  for (const [name, priority] of [
    [ALL_USERS, 1000],
    [ADMINISTRATORS, 1],
  ] as const) {
    const description = `${name} (system group)`;
    state.groups.push({ group_id: deps.newId(), name, description, priority, is_system: true });
  }
  return applySeed(state, seed, deps);
}

/** Adds the seed's zones, groups, images and rows to a copy of the state (seeded images join no group). */
export function applySeed(current: KasmState, seed: KasmSeed, deps: KasmDeps): KasmState {
  const state = structuredClone(current);
  for (const zone of seed.zones ?? []) {
    if (state.zones.some((z) => z.zone_name === zone.zone_name)) continue;
    state.zones.push({ zone_id: zone.zone_id ?? deps.newId(), zone_name: zone.zone_name });
  }
  for (const { zone_name, engine, ...server } of seed.servers ?? []) {
    const zone = state.zones.find((z) => z.zone_name === (zone_name ?? "default"));
    if (!zone) throw new Error(`seed: no zone ${zone_name} for server ${server.hostname}`);
    const old = state.servers.find((s) => s.hostname === server.hostname);
    state.servers = state.servers.filter((s) => s !== old);
    const serverId = server.server_id ?? old?.server_id ?? deps.newId();
    if (engine) state.engines[serverId] = engine;
    state.servers.push({
      server_id: serverId,
      server_type: "host",
      enabled: true,
      operational_status: "running",
      docker_images: {},
      docker_info: {},
      last_reported: deps.now().toISOString(),
      cores: 4,
      memory: 8_000_000_000,
      gpus: 0,
      agent_version: "1.15.0",
      ...server,
      zone_id: zone.zone_id,
    });
  }
  for (const user of seed.users ?? []) {
    if (state.users.some((u) => u.username === user.username)) continue;
    state.users.push({ user_id: user.user_id ?? deps.newId(), username: user.username });
  }
  for (const group of seed.groups ?? []) {
    if (state.groups.some((g) => g.name === group.name)) continue;
    // Kasm keeps group names and priorities unique; a seeded group without one takes the next free number.
    const priority =
      Math.max(99, ...state.groups.filter((g) => g.priority < 1000).map((g) => g.priority)) + 1;
    state.groups.push({ group_id: deps.newId(), description: "", priority, is_system: false, ...group });
  }
  for (const { sessions, ...image } of seed.images ?? []) {
    const record = storedImage(image.image_id ?? deps.newId(), image);
    state.images = state.images.filter((i) => i.image_id !== record.image_id).concat(record);
    if (sessions) state.sessions[record.image_id] = sessions;
  }
  for (const row of seed.groupImages ?? []) {
    const group = state.groups.find((g) => g.group_id === row.group_id || g.name === row.group_name);
    if (!group) throw new Error(`seed: no group ${row.group_id ?? row.group_name} for image ${row.image_id}`);
    state.groupImages.push({
      group_image_id: deps.newId(),
      group_id: group.group_id,
      image_id: row.image_id,
    });
  }
  return state;
}

/** A state saved by this or an older stand-in, brought to the current shape (missing keys at defaults). */
export function upgradeState(saved: KasmState, deps: KasmDeps): KasmState {
  const state = structuredClone(saved);
  state.images = state.images.map((i) => storedImage(i.image_id, i as unknown as Record<string, unknown>));
  state.zones ??= [{ zone_id: deps.newId(), zone_name: "default" }];
  state.settings = { ...KASM_DEFAULT_SETTINGS, ...state.settings };
  state.sessions ??= {};
  state.servers ??= [];
  state.engines ??= {};
  state.users ??= [];
  state.kasms ??= [];
  state.held ??= [];
  return state;
}

/** A JSON answer. */
export const json = (status: number, body: Record<string, unknown>): KasmReply => ({
  status,
  type: "json",
  body,
});
/** Kasm's validation failure: HTTP 200 with an error_message, which a client must not take for success. */
const failure = (message: string): KasmReply => json(200, { error_message: message });
/** Kasm's answer to any unhandled exception in a handler. */
export const unhandled = (): KasmReply => ({ status: 500, type: "html", body: UNHANDLED_BODY });
/** An HTML error page from the web server in front of the handlers (unknown path, bad request, a proxy). */
export const html = (status: number, title: string, detail: string): KasmReply => ({
  status,
  type: "html",
  body: `<html><head><title>${status} ${title}</title></head><body><h2>${status} ${title}</h2><p>${detail}</p></body></html>\n`,
});

export function isKasmFunction(name: string): name is KasmFunction {
  return (KASM_FUNCTIONS as readonly string[]).includes(name);
}

/** Header names are case-insensitive; Node gives them lower-cased. */
export type KasmHeaders = Record<string, string | string[] | undefined>;

/**
 * The key pair from the body, else from the `api-key`/`api-key-secret` headers; a pair missing a half is
 * Kasm's 400, a wrong one 403, an expired one 401, a read-only key on a write 401.
 */
function authenticate(
  auth: KasmAuth,
  fn: KasmFunction,
  body: Record<string, unknown>,
  headers: KasmHeaders,
): KasmReply | undefined {
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const pair =
    body.api_key !== undefined && body.api_key_secret !== undefined
      ? [body.api_key, body.api_key_secret]
      : header("api-key") !== undefined && header("api-key-secret") !== undefined
        ? [header("api-key"), header("api-key-secret")]
        : undefined;
  if (!pair) return json(400, { error_message: "Invalid Request" });
  if (pair[0] !== auth.apiKey || pair[1] !== auth.apiKeySecret) {
    return json(403, { error_message: "Access Denied" });
  }
  if (auth.expired) return json(401, { error_message: "Access has expired" });
  if (auth.readOnly && KASM_WRITE_FUNCTIONS.includes(fn)) return json(401, { error_message: "Unauthorized" });
  const needs = SESSION_NEEDS[fn] ?? [];
  if (auth.permissions && needs.some((p) => !auth.permissions!.includes(p)))
    return json(401, { error_message: "Unauthorized" });
  return undefined;
}

/** Handles one `POST /api/public/<fn>` call: the reply and the state after it (unchanged on any failure). */
export function handleCall(
  state: KasmState,
  auth: KasmAuth,
  fn: string,
  body: unknown,
  deps: KasmDeps,
  headers: KasmHeaders = {},
): { state: KasmState; reply: KasmReply } {
  const same = (reply: KasmReply) => ({ state, reply });
  if (!isKasmFunction(fn)) return same(html(404, "Not Found", "The path you requested was not found."));
  const request = isObject(body) ? body : {};
  const refused = authenticate(auth, fn, request, headers);
  if (refused) return same(refused);
  const next = structuredClone(state);
  const reply = FUNCTIONS[fn](next, request, deps);
  const ok = reply.type === "json" && reply.status === 200 && !("error_message" in reply.body);
  return ok ? { state: next, reply } : same(reply);
}

type Handler = (state: KasmState, request: Record<string, unknown>, deps: KasmDeps) => KasmReply;

const FUNCTIONS: Record<KasmFunction, Handler> = {
  get_images: (state) => json(200, { images: state.images.map((i) => listedImage(i, context(state))) }),
  get_groups: (state) => json(200, { groups: structuredClone(state.groups) }),
  get_servers: (state) =>
    json(200, {
      servers: state.servers.map((s) => ({
        ...structuredClone(s),
        zone_name: state.zones.find((z) => z.zone_id === s.zone_id)?.zone_name ?? null,
      })),
    }),
  get_zones: (state) => json(200, { zones: structuredClone(state.zones) }),
  get_user: (state, request) => sessionReply(getUser(state, request)),
  request_kasm: (state, request, deps) => sessionReply(requestKasm(state, request, deps)),
  get_kasm_status: (state, request, deps) => sessionReply(getKasmStatus(state, request, deps)),
  destroy_kasm: (state, request) => sessionReply(destroyKasm(state, request)),
  get_kasms: (state) => sessionReply(getKasms(state)),
  create_image: (state, request, deps) => writeImage(state, request, deps, "create"),
  update_image: (state, request, deps) => writeImage(state, request, deps, "update"),
  delete_image: (state, request) => {
    const target = request.target_image;
    if (!isObject(target) || !("image_id" in target)) {
      return failure("Invalid Request: Missing required parameters");
    }
    const found = state.images.find((i) => i.image_id === target.image_id);
    if (!found) return failure(`Image(${String(target.image_id)}) Does not Exist`);
    const sessions =
      (state.sessions[found.image_id] ?? 0) + state.kasms.filter((k) => k.image_id === found.image_id).length;
    if (sessions > 0) {
      return failure(
        `Image (${found.friendly_name ?? "None"}): ID (${found.image_id}) currently has (${sessions}) associated Kasm(s) and cannot be deleted`,
      );
    }
    state.images = state.images.filter((i) => i !== found);
    state.groupImages = state.groupImages.filter((r) => r.image_id !== found.image_id);
    delete state.sessions[found.image_id];
    return json(200, {});
  },
  get_images_group: (state, request) => {
    const target = request.target_group;
    if (!isObject(target) || !("group_id" in target) || target.group_id === "") {
      return failure("Invalid Request: Missing group id");
    }
    const group = state.groups.find((g) => g.group_id === target.group_id);
    if (!group) return failure("Request group does not exist");
    const images = state.groupImages
      .filter((r) => r.group_id === group.group_id)
      .map((r) => {
        const image = state.images.find((i) => i.image_id === r.image_id);
        return {
          group_image_id: r.group_image_id,
          group_id: r.group_id,
          image_id: r.image_id,
          image_name: image?.name ?? null,
          group_name: group.name,
          image_friendly_name: image?.friendly_name ?? null,
          image_src: image?.image_src ?? null,
        };
      });
    return json(200, { images });
  },
  add_images_group: (state, request, deps) => {
    const pair = groupAndImage(state, request);
    if (typeof pair === "string") return failure(pair);
    // Kasm looks neither up before inserting: an unknown id fails in the database, unhandled.
    if (!pair.group || !pair.image) return unhandled();
    // Not idempotent, like Kasm: a repeat adds a second row for the same pair.
    state.groupImages.push({
      group_image_id: deps.newId(),
      group_id: pair.group.group_id,
      image_id: pair.image.image_id,
    });
    return json(200, {});
  },
  remove_images_group: (state, request) => {
    const pair = groupAndImage(state, request);
    if (typeof pair === "string") return failure(pair);
    const { group, image } = pair;
    if (!group || !image) return failure("Group or image does not exist");
    const index = state.groupImages.findIndex(
      (r) => r.group_id === group.group_id && r.image_id === image.image_id,
    );
    if (index >= 0) state.groupImages.splice(index, 1);
    return json(200, {});
  },
};

const sessionReply = (reply: SessionReply): KasmReply =>
  "error" in reply ? failure(reply.error) : json(200, reply.ok);

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function context(state: KasmState): ReadContext {
  return {
    zoneName: (zoneId) => state.zones.find((z) => z.zone_id === zoneId)?.zone_name ?? null,
  };
}

/** The group and image a group call names (either may be unknown), or Kasm's text when an id is missing. */
function groupAndImage(
  state: KasmState,
  request: Record<string, unknown>,
): { group?: KasmGroup; image?: StoredImage } | string {
  const { target_group: group, target_image: image } = request;
  if (!isObject(group) || !("group_id" in group) || !isObject(image) || !("image_id" in image)) {
    return "Invalid request, missing group or image id";
  }
  return {
    group: state.groups.find((g) => g.group_id === group.group_id),
    image: state.images.find((i) => i.image_id === image.image_id),
  };
}

const failed = (f: WriteFailure): KasmReply => (f.kind === "invalid" ? failure(f.message) : unhandled());

/**
 * create_image and update_image: the handler prepares target_image (JSON fields, categories) and passes it
 * as keyword arguments to one write function, which updates the image named by image_id or makes a new one.
 */
function writeImage(
  state: KasmState,
  request: Record<string, unknown>,
  deps: KasmDeps,
  mode: "create" | "update",
): KasmReply {
  const target = request.target_image;
  if (!isObject(target)) return failure("Invalid Request: Missing required parameters");
  if (mode === "update" && !target.image_id) return failure("Invalid Request: Missing required parameters");
  const prepared = prepareTarget(target);
  if (!("ok" in prepared)) return failed(prepared);
  const imageId = prepared.ok.image_id;
  const existing = imageId ? state.images.find((i) => i.image_id === imageId) : undefined;
  // The write function reads the image by id and sets fields on it unchecked: an unknown id crashes.
  if (imageId && !existing) return unhandled();
  const written = writeFields(existing ?? storedImage(deps.newId(), {}), prepared.ok);
  if (!("ok" in written)) return failed(written);
  const record = written.ok;
  if (existing) {
    state.images = state.images.map((i) => (i === existing ? record : i));
  } else {
    state.images.push(record);
    const allUsers = state.groups.find((g) => g.name === ALL_USERS);
    if (allUsers && state.settings.add_images_to_default_group) {
      state.groupImages.push({
        group_image_id: deps.newId(),
        group_id: allUsers.group_id,
        image_id: record.image_id,
      });
    }
  }
  return json(200, { image: readImage(record, context(state)) });
}
