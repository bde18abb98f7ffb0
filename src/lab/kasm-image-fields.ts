/**
 * The Kasm 1.15 image record as the stand-in stores, writes and reads it: the write function's 40 keyword
 * parameters, what each does when given, empty or absent, and the read form with its derived keys, so
 * create, update and get_images agree with Kasm (docs/kasm-stand-in.md names the source of each rule).
 */

/** The keyword parameters of Kasm's create/update function: any other key in target_image is a crash. */
export const WRITE_KEYS = [
  "image_id",
  "image_name",
  "cores",
  "description",
  "docker_registry",
  "docker_token",
  "docker_user",
  "enabled",
  "friendly_name",
  "hash",
  "memory",
  "name",
  "x_res",
  "y_res",
  "run_config",
  "restrict_to_network",
  "restrict_network_names",
  "restrict_to_server",
  "server_id",
  "persistent_profile_path",
  "volume_mappings",
  "image_src",
  "exec_config",
  "restrict_to_zone",
  "zone_id",
  "filter_policy_id",
  "filter_policy_force_disabled",
  "session_time_limit",
  "categories",
  "allow_network_selection",
  "require_gpu",
  "gpu_count",
  "hidden",
  "notes",
  "image_type",
  "server_pool_id",
  "link_url",
  "cpu_allocation_method",
  "uncompressed_size_mb",
  "launch_config",
] as const;

/** The keys of a get_images record, in Kasm's order; `server` and `server_pool` are added by get_images. */
export const READ_KEYS = [
  "image_id",
  "cores",
  "description",
  "docker_registry",
  "docker_token",
  "docker_user",
  "enabled",
  "friendly_name",
  "hash",
  "memory",
  "name",
  "x_res",
  "y_res",
  "imageAttributes",
  "restrict_to_network",
  "restrict_network_names",
  "restrict_to_server",
  "server_id",
  "persistent_profile_config",
  "volume_mappings",
  "run_config",
  "image_src",
  "available",
  "exec_config",
  "restrict_to_zone",
  "zone_id",
  "zone_name",
  "persistent_profile_path",
  "filter_policy_id",
  "filter_policy_name",
  "filter_policy_force_disabled",
  "session_time_limit",
  "categories",
  "default_category",
  "allow_network_selection",
  "require_gpu",
  "gpu_count",
  "hidden",
  "notes",
  "image_type",
  "server_pool_id",
  "link_url",
  "cpu_allocation_method",
  "uncompressed_size_mb",
  "launch_config",
] as const;

/** Fields the write takes as JSON-encoded strings and stores (and reads back) as JSON values. */
export const JSON_STRING_KEYS = ["run_config", "exec_config", "volume_mappings", "launch_config"] as const;

/** The masked value reads show for a stored docker_token; sent back on a write it keeps the stored one. */
export const MASKED_TOKEN = "**********";

/** The body of every HTTP 500 Kasm's API server answers for an unhandled exception. */
export const UNHANDLED_BODY =
  "<html><body>An unhandled exception occurred check logs for details<body><html>";

/** The persistent profile mount Kasm derives from persistent_profile_path. */
const PROFILE_MOUNT = { mode: "rw", bind: "/home/kasm-user", required: true, gid: 1000, uid: 1000 };

/** An image as Kasm's database keeps it: the stored columns, the token in clear, JSON fields as values. */
export type StoredImage = {
  image_id: string;
  cores: number;
  description: string | null;
  docker_registry: string | null;
  docker_token: string | null;
  docker_user: string | null;
  enabled: boolean;
  friendly_name: string | null;
  hash: string | null;
  memory: number;
  name: string | null;
  x_res: number;
  y_res: number;
  imageAttributes: unknown[];
  restrict_to_network: boolean;
  restrict_network_names: unknown;
  restrict_to_server: boolean;
  server_id: string | null;
  volume_mappings: unknown;
  run_config: unknown;
  image_src: string | null;
  available: boolean;
  exec_config: unknown;
  restrict_to_zone: boolean;
  zone_id: string | null;
  persistent_profile_path: string | null;
  filter_policy_id: string | null;
  filter_policy_force_disabled: boolean;
  session_time_limit: number | null;
  categories: string[];
  allow_network_selection: boolean;
  require_gpu: boolean;
  gpu_count: number;
  hidden: boolean;
  notes: string | null;
  image_type: string;
  server_pool_id: string | null;
  link_url: string | null;
  cpu_allocation_method: string;
  uncompressed_size_mb: number;
  launch_config: unknown;
};

/** What Kasm stores for a new image before any field is written (its column defaults). */
export function newImage(imageId: string): StoredImage {
  return {
    image_id: imageId,
    cores: 1,
    description: null,
    docker_registry: null,
    docker_token: null,
    docker_user: null,
    enabled: true,
    friendly_name: null,
    hash: null,
    memory: 768_000_000,
    name: null,
    x_res: 800,
    y_res: 600,
    imageAttributes: [],
    restrict_to_network: false,
    restrict_network_names: [],
    restrict_to_server: false,
    server_id: null,
    volume_mappings: {},
    run_config: {},
    image_src: null,
    available: false,
    exec_config: {},
    restrict_to_zone: false,
    zone_id: null,
    persistent_profile_path: null,
    filter_policy_id: null,
    filter_policy_force_disabled: false,
    session_time_limit: null,
    categories: [],
    allow_network_selection: false,
    require_gpu: false,
    gpu_count: 0,
    hidden: false,
    notes: null,
    image_type: "Container",
    server_pool_id: null,
    link_url: null,
    cpu_allocation_method: "Inherit",
    uncompressed_size_mb: 0,
    launch_config: {},
  };
}

/**
 * A seeded or reloaded record in stored form: Kasm's defaults under it, keys Kasm does not store
 * dropped, and a JSON field given as a string decoded (one that is not JSON stays text, as a hand-edited database value would).
 */
export function storedImage(imageId: string, given: Record<string, unknown>): StoredImage {
  const record: Record<string, unknown> = newImage(imageId);
  // Only stored columns: an older state file's extra keys (created, image_attributes) are dropped.
  for (const [key, value] of Object.entries(given))
    if (key in record && key !== "image_id") record[key] = value;
  for (const key of JSON_STRING_KEYS) {
    const value = record[key];
    if (typeof value !== "string") continue;
    try {
      record[key] = value === "" ? {} : JSON.parse(value);
    } catch {
      // Kept as text: the stand-in then reads it back as the string it is.
    }
  }
  return record as StoredImage;
}

/** Names the stand-in resolves derived keys with. */
export type ReadContext = { zoneName(zoneId: string | null): string | null };

/** The record as Kasm serialises it (create/update answers): token masked, derived keys computed. */
export function readImage(image: StoredImage, context: ReadContext): Record<string, unknown> {
  const stored = structuredClone(image) as Record<string, unknown>;
  const derived: Record<string, unknown> = {
    docker_token: image.docker_token ? MASKED_TOKEN : image.docker_token,
    persistent_profile_config: image.persistent_profile_path
      ? { [image.persistent_profile_path]: { ...PROFILE_MOUNT } }
      : {},
    zone_name: context.zoneName(image.zone_id),
    filter_policy_name: null,
    default_category: image.categories.length > 0 ? image.categories[0] : "",
  };
  return Object.fromEntries(READ_KEYS.map((key) => [key, key in derived ? derived[key] : stored[key]]));
}

/** A get_images record: the serialised image plus `server` and `server_pool`, `{}` when there is none. */
export function listedImage(image: StoredImage, context: ReadContext): Record<string, unknown> {
  return { ...readImage(image, context), server: {}, server_pool: {} };
}

/** Why a write went wrong, the way Kasm answers it: a 200 error_message or an unhandled 500. */
export type WriteFailure = { kind: "invalid"; message: string } | { kind: "crash"; reason: string };
type Checked<T> = { ok: T } | WriteFailure;

/**
 * The handler's own preparation of target_image, before it calls the write function: JSON fields decoded
 * (`""` is `{}`; anything else that is not a JSON string is refused), categories split on newlines (not a
 * string: a crash), then the keyword call itself (a key the function does not take: a crash).
 */
export function prepareTarget(target: Record<string, unknown>): Checked<Record<string, unknown>> {
  const prepared = { ...target };
  for (const key of JSON_STRING_KEYS) {
    if (!(key in prepared)) continue;
    const value = prepared[key];
    if (value === "") {
      prepared[key] = {};
      continue;
    }
    try {
      if (typeof value !== "string") throw new TypeError(`${key} is not a string`);
      prepared[key] = JSON.parse(value);
    } catch {
      return { kind: "invalid", message: `Invalid json format for ${key}` };
    }
  }
  if ("categories" in prepared) {
    const categories = prepared.categories;
    if (typeof categories !== "string") return { kind: "crash", reason: "categories is not a string" };
    prepared.categories = categories
      .split("\n")
      .map((c) => c.trim())
      .filter((c) => c !== "");
  }
  const unknown = Object.keys(prepared).filter((k) => !(WRITE_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) return { kind: "crash", reason: `unexpected keyword ${unknown.join(", ")}` };
  return { ok: prepared };
}

/** Python's truth value, which decides whether the write function takes a value. */
export function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

const FLOAT = /^\s*[+-]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;
const INT = /^\s*[+-]?\d+(_\d+)*\s*$/;

/** Python's float() of a value, or a crash. */
function pyFloat(key: string, value: unknown): Checked<number> {
  if (typeof value === "boolean") return { ok: value ? 1 : 0 };
  if (typeof value === "number" && Number.isFinite(value)) return { ok: value };
  if (typeof value === "string" && FLOAT.test(value)) return { ok: Number(value.replaceAll("_", "")) };
  return { kind: "crash", reason: `float() of ${key}: ${JSON.stringify(value)}` };
}

/** Python's int() of a value, or a crash. */
function pyInt(key: string, value: unknown): Checked<number> {
  if (typeof value === "boolean") return { ok: value ? 1 : 0 };
  if (typeof value === "number" && Number.isFinite(value)) return { ok: Math.trunc(value) };
  if (typeof value === "string" && INT.test(value)) return { ok: Number(value.replaceAll("_", "")) };
  return { kind: "crash", reason: `int() of ${key}: ${JSON.stringify(value)}` };
}

const cut = (value: unknown, length: number): unknown =>
  typeof value === "string" ? value.slice(0, length) : value;
const isEmptyObject = (value: unknown) =>
  value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0;
const isEmptyList = (value: unknown) => Array.isArray(value) && value.length === 0;

/**
 * Kasm's write function applied to a record: each key set, kept or reset as its rule says. `given` is the
 * prepared target_image; an absent key is Python's None. Returns the new record or a crash.
 */
export function writeFields(record: StoredImage, given: Record<string, unknown>): Checked<StoredImage> {
  const r = structuredClone(record) as Record<string, unknown>;
  const g = (key: string) => (key in given ? given[key] : null);
  const none = (key: string) => g(key) === null || g(key) === undefined;
  // Always overwritten: absent is null.
  r.docker_registry = g("docker_registry");
  r.docker_user = g("docker_user");
  r.hash = truthy(g("hash")) ? cut(g("hash"), 255) : g("hash");
  r.server_id = truthy(g("server_id")) ? g("server_id") : null;
  r.gpu_count = none("gpu_count") ? 0 : g("gpu_count");
  r.hidden = truthy(g("hidden"));
  const profile = g("persistent_profile_path");
  r.persistent_profile_path =
    typeof profile === "string" && profile.startsWith("s3://") && !profile.endsWith("/")
      ? `${profile}/`
      : profile;
  r.filter_policy_id =
    none("filter_policy_id") || g("filter_policy_id") === "" ? null : g("filter_policy_id");
  // The token: the mask keeps the stored one, anything else (absent or empty included) replaces it.
  if (g("docker_token") !== MASKED_TOKEN) r.docker_token = cut(g("docker_token"), 8192);
  // Taken only when truthy: an empty or zero value cannot clear the stored one, absent keeps it.
  for (const [key, length] of [
    ["description", 0],
    ["notes", 0],
    ["friendly_name", 255],
    ["image_src", 255],
    ["zone_id", 0],
    ["server_pool_id", 0],
    ["image_type", 0],
    ["link_url", 0],
    ["cpu_allocation_method", 0],
  ] as const) {
    if (truthy(g(key))) r[key] = length ? cut(g(key), length) : g(key);
  }
  for (const [key, convert] of [
    ["cores", pyFloat],
    ["memory", pyInt],
    ["x_res", pyInt],
    ["y_res", pyInt],
  ] as const) {
    if (!truthy(g(key))) continue;
    const converted = convert(key, g(key));
    if (!("ok" in converted)) return converted;
    r[key] = converted.ok;
  }
  if (truthy(g("name"))) {
    const name = cut(g("name"), 255);
    // Kasm re-checks the agents for a new image name; the stand-in models no agent that holds it.
    if (name !== r.name) r.available = false;
    r.name = name;
  }
  // Booleans: true when truthy, false only for an explicit false (or 0), kept when absent.
  for (const key of ["enabled", "restrict_to_network", "restrict_to_server", "restrict_to_zone"]) {
    if (truthy(g(key))) r[key] = true;
    else if (g(key) === false || g(key) === 0) r[key] = false;
  }
  for (const key of JSON_STRING_KEYS) {
    if (truthy(g(key)) || isEmptyObject(g(key))) r[key] = g(key);
  }
  if (truthy(g("categories")) || isEmptyList(g("categories"))) r.categories = g("categories");
  if (truthy(g("restrict_network_names")) || isEmptyList(g("restrict_network_names"))) {
    r.restrict_network_names = g("restrict_network_names");
  }
  for (const key of ["filter_policy_force_disabled", "allow_network_selection", "uncompressed_size_mb"]) {
    if (!none(key)) r[key] = g(key);
  }
  if (!none("session_time_limit")) {
    r.session_time_limit = g("session_time_limit") === "" ? null : g("session_time_limit");
  }
  // image_name and require_gpu are accepted and never stored.
  return { ok: r as StoredImage };
}
