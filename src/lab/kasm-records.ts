/**
 * The Kasm Web App stand-in's state machine, pure: a call (function name and JSON body) and the state in,
 * the next state and the reply out, ids and clock injected. Every pitfall a real Kasm server shows a
 * client is reproduced here so the product's client can never lean on a lenient stand-in.
 */
import { randomUUID } from "node:crypto";
import {
  defaultImage,
  fieldProblem,
  MASKED_TOKEN,
  readImage,
  type StoredImage,
  storedValue,
  WRITABLE_FIELDS,
  type WritableKey,
} from "./kasm-image-fields.js";

export type KasmGroup = {
  group_id: string;
  name: string;
  description: string;
  priority: number;
  is_system: boolean;
};
export type KasmGroupImage = { group_image_id: string; group_id: string; image_id: string };

export type KasmState = {
  images: StoredImage[];
  groups: KasmGroup[];
  groupImages: KasmGroupImage[];
  /** Running sessions per image id; delete_image is refused while one is above 0. */
  sessions: Record<string, number>;
};

export type KasmAuth = { apiKey: string; apiKeySecret: string; expired: boolean; readOnly?: boolean };
export type KasmDeps = { newId(): string; now(): Date };

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

/** What a test may preload: groups by name, images in stored form, group rows by group id or name. */
export type KasmSeed = {
  groups?: (Partial<KasmGroup> & { name: string })[];
  images?: (Partial<StoredImage> & { name: string; sessions?: number })[];
  groupImages?: { image_id: string; group_id?: string; group_name?: string }[];
};

/** A random dashless lower-case hex id, like Python's uuid4().hex. */
export function hexId(): string {
  return randomUUID().replaceAll("-", "");
}

/** The two system groups every Kasm server has, then the seed laid on top. */
export function initialState(deps: KasmDeps, seed: KasmSeed = {}): KasmState {
  const state: KasmState = { images: [], groups: [], groupImages: [], sessions: {} };
  for (const [name, priority] of [
    [ALL_USERS, 1000],
    [ADMINISTRATORS, 1],
  ] as const) {
    const description = `${name} (system group)`;
    state.groups.push({ group_id: deps.newId(), name, description, priority, is_system: true });
  }
  return applySeed(state, seed, deps);
}

/** Adds the seed's groups, images and rows to a copy of the state (seeded images join no group on their own). */
export function applySeed(current: KasmState, seed: KasmSeed, deps: KasmDeps): KasmState {
  const state = structuredClone(current);
  for (const group of seed.groups ?? []) {
    if (state.groups.some((g) => g.name === group.name)) continue;
    // Kasm keeps group names and priorities unique; a seeded group without one takes the next free number.
    const priority =
      Math.max(99, ...state.groups.filter((g) => g.priority < 1000).map((g) => g.priority)) + 1;
    state.groups.push({ group_id: deps.newId(), description: "", priority, is_system: false, ...group });
  }
  for (const { sessions, ...image } of seed.images ?? []) {
    const record = { ...defaultImage(image.image_id ?? deps.newId(), deps.now().toISOString()), ...image };
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

/** A JSON answer. */
export const json = (status: number, body: Record<string, unknown>): KasmReply => ({
  status,
  type: "json",
  body,
});
/** Kasm's validation failure: HTTP 200 with an error_message, which a client must not take for success. */
const failure = (message: string): KasmReply => json(200, { error_message: message });
/** An HTML error page, the way Kasm's web server answers a crash, an unknown path or a bad request. */
export const html = (status: number, title: string, detail: string): KasmReply => ({
  status,
  type: "html",
  body: `<html><head><title>${status} ${title}</title></head><body><h2>${status} ${title}</h2><p>${detail}</p></body></html>\n`,
});

export function isKasmFunction(name: string): name is KasmFunction {
  return (KASM_FUNCTIONS as readonly string[]).includes(name);
}

/** Handles one `POST /api/public/<fn>` call: the reply and the state after it (unchanged on any failure). */
export function handleCall(
  state: KasmState,
  auth: KasmAuth,
  fn: string,
  body: unknown,
  deps: KasmDeps,
): { state: KasmState; reply: KasmReply } {
  const same = (reply: KasmReply) => ({ state, reply });
  if (!isKasmFunction(fn)) return same(html(404, "Not Found", "The path you requested was not found."));
  const request = isObject(body) ? body : {};
  if (request.api_key !== auth.apiKey || request.api_key_secret !== auth.apiKeySecret) {
    return same(json(403, { error_message: "Access denied: invalid API key or secret" }));
  }
  if (auth.expired) return same(json(401, { error_message: "Unauthorized: the API key has expired" }));
  if (auth.readOnly && KASM_WRITE_FUNCTIONS.includes(fn)) {
    return same(json(401, { error_message: "Unauthorized: the API key lacks permission for this action" }));
  }
  const next = structuredClone(state);
  const reply = FUNCTIONS[fn](next, request, deps);
  const ok = reply.type === "json" && reply.status === 200 && !("error_message" in reply.body);
  return ok ? { state: next, reply } : same(reply);
}

type Handler = (state: KasmState, request: Record<string, unknown>, deps: KasmDeps) => KasmReply;

const FUNCTIONS: Record<KasmFunction, Handler> = {
  get_images: (state) => json(200, { images: state.images.map((i) => readImage(i, zoneName(i))) }),
  get_groups: (state) => json(200, { groups: structuredClone(state.groups) }),
  create_image: (state, request, deps) => writeImage(state, request, deps, "create"),
  update_image: (state, request, deps) => writeImage(state, request, deps, "update"),
  delete_image: (state, request) => {
    const found = findImage(state, request);
    if (typeof found === "string") return failure(found);
    const sessions = state.sessions[found.image_id] ?? 0;
    if (sessions > 0) {
      return failure(`Image ${found.friendly_name || found.name} is in use by ${sessions} session(s)`);
    }
    state.images = state.images.filter((i) => i !== found);
    state.groupImages = state.groupImages.filter((r) => r.image_id !== found.image_id);
    delete state.sessions[found.image_id];
    return json(200, {});
  },
  get_images_group: (state, request) => {
    const group = findGroup(state, request);
    if (typeof group === "string") return failure(group);
    const images = state.groupImages
      .filter((r) => r.group_id === group.group_id)
      .map((r) => {
        const image = state.images.find((i) => i.image_id === r.image_id);
        return { ...r, image_name: image?.name ?? null, image_friendly_name: image?.friendly_name ?? null };
      });
    return json(200, { images });
  },
  add_images_group: (state, request, deps) => {
    const group = findGroup(state, request);
    if (typeof group === "string") return failure(group);
    const image = findImage(state, request);
    if (typeof image === "string") return failure(image);
    // Not idempotent, like Kasm: a repeat adds a second row for the same pair.
    state.groupImages.push({
      group_image_id: deps.newId(),
      group_id: group.group_id,
      image_id: image.image_id,
    });
    return json(200, {});
  },
  remove_images_group: (state, request) => {
    const group = findGroup(state, request);
    if (typeof group === "string") return failure(group);
    const image = findImage(state, request);
    if (typeof image === "string") return failure(image);
    const pair = (r: KasmGroupImage) => r.group_id === group.group_id && r.image_id === image.image_id;
    if (!state.groupImages.some(pair)) return failure(`Image is not assigned to group ${group.name}`);
    state.groupImages = state.groupImages.filter((r) => !pair(r));
    return json(200, {});
  },
};

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function zoneName(_image: StoredImage): string | null {
  return null;
}

function findImage(state: KasmState, request: Record<string, unknown>): StoredImage | string {
  const target = request.target_image;
  if (!isObject(target) || typeof target.image_id !== "string") return "target_image.image_id is required";
  return state.images.find((i) => i.image_id === target.image_id) ?? `Image ${target.image_id} not found`;
}

function findGroup(state: KasmState, request: Record<string, unknown>): KasmGroup | string {
  const target = request.target_group;
  if (!isObject(target) || typeof target.group_id !== "string") return "target_group.group_id is required";
  return state.groups.find((g) => g.group_id === target.group_id) ?? `Group ${target.group_id} not found`;
}

/**
 * create_image and update_image: an unknown key (derived read-only ones included) is an HTML 500, a bad
 * value an error_message, and every writable key not given is reset to its default.
 */
function writeImage(
  state: KasmState,
  request: Record<string, unknown>,
  deps: KasmDeps,
  mode: "create" | "update",
): KasmReply {
  const target = request.target_image;
  if (!isObject(target)) return failure("target_image is required");
  const unknown = Object.keys(target).filter((k) => k !== "image_id" && !(k in WRITABLE_FIELDS));
  if (unknown.length > 0) {
    return html(
      500,
      "Internal Server Error",
      "The server encountered an unexpected condition which prevented it from fulfilling the request.",
    );
  }
  let existing: StoredImage | undefined;
  if (mode === "update") {
    const found = findImage(state, request);
    if (typeof found === "string") return failure(found);
    existing = found;
  }
  if (typeof target.name !== "string" || target.name.trim() === "") {
    return failure("target_image.name (the Docker image) is required");
  }
  const problems = (Object.keys(WRITABLE_FIELDS) as WritableKey[])
    .filter((key) => key in target)
    .map((key) => fieldProblem(key, target[key]))
    .filter((p): p is string => p !== undefined);
  if (problems.length > 0) return failure(problems.join("; "));
  const record = defaultImage(
    existing?.image_id ?? deps.newId(),
    existing?.created ?? deps.now().toISOString(),
  );
  for (const key of Object.keys(WRITABLE_FIELDS) as WritableKey[]) {
    if (!(key in target)) continue;
    const value =
      key === "docker_token" && target[key] === MASKED_TOKEN && existing
        ? existing.docker_token
        : storedValue(key, target[key]);
    (record as Record<string, unknown>)[key] = value;
  }
  if (existing) {
    state.images = state.images.map((i) => (i === existing ? record : i));
  } else {
    state.images.push(record);
    const allUsers = state.groups.find((g) => g.name === ALL_USERS);
    if (allUsers) {
      state.groupImages.push({
        group_image_id: deps.newId(),
        group_id: allUsers.group_id,
        image_id: record.image_id,
      });
    }
  }
  return json(200, { image: readImage(record, zoneName(record)) });
}
