/**
 * Kasm's wire format for Workspace records, pure: decoding what `get_images` returns into our record type,
 * and encoding our owned fields the way `create_image`/`update_image` want them (configs as JSON strings,
 * categories newline-joined, memory in bytes), so the client holds no format knowledge of its own.
 */
import { KasmGitopsError } from "../core/errors.js";
import {
  type KasmGroup,
  type KasmImageList,
  type KasmMembership,
  type KasmRecord,
  managedBy,
  type UnreadableRecord,
} from "../core/kasm-types.js";
import type { JsonObject } from "../core/manifest.js";
import type { KasmImageCreate, KasmImageFields } from "../ports.js";

export type WireRecord = Record<string, unknown>;

/** Keys Kasm derives and returns on read but rejects (HTML 500) on create and update. */
export const READ_ONLY_KEYS = ["available", "zone_name", "image_attributes", "created"] as const;
/** How Kasm shows a stored registry token; sent back unchanged, it keeps the token. */
export const MASKED_TOKEN = "**********";

type FieldName = keyof Omit<KasmImageFields, "dockerToken">;
type Codec = { wire: string; encode?: (value: never) => unknown };

const json = (value: JsonObject) => JSON.stringify(value);
/** Our field → Kasm's key, and how the value is written. */
const FIELDS: Record<FieldName, Codec> = {
  name: { wire: "name" },
  friendlyName: { wire: "friendly_name" },
  description: { wire: "description" },
  thumbnail: { wire: "image_src" },
  categories: { wire: "categories", encode: (list: string[]) => list.join("\n") },
  cores: { wire: "cores" },
  memory: { wire: "memory" },
  enabled: { wire: "enabled" },
  hidden: { wire: "hidden" },
  runConfig: { wire: "run_config", encode: json },
  execConfig: { wire: "exec_config", encode: json },
  volumeMappings: { wire: "volume_mappings", encode: json },
  dockerRegistry: { wire: "docker_registry" },
  dockerUser: { wire: "docker_user" },
  notes: { wire: "notes" },
};

/** Our fields in Kasm's keys and encodings; absent fields stay absent. */
export function encodeFields(fields: KasmImageFields): WireRecord {
  const wire: WireRecord = {};
  for (const [name, codec] of Object.entries(FIELDS) as [FieldName, Codec][]) {
    const value = fields[name];
    if (value === undefined) continue;
    wire[codec.wire] = codec.encode ? codec.encode(value as never) : value;
  }
  if (fields.dockerToken !== undefined) wire.docker_token = fields.dockerToken;
  return wire;
}

/** `target_image` of a create: only what we own; Kasm fills in the rest. */
export function createPayload(record: KasmImageCreate): WireRecord {
  return encodeFields(record);
}

/**
 * `target_image` of an update: the record as just read, read-only keys stripped, our fields laid over it.
 * Kasm resets every field an update does not carry, so the whole record goes back, the masked token
 * included (which keeps the stored one).
 */
export function updatePayload(current: WireRecord, fields: KasmImageFields): WireRecord {
  const record: WireRecord = {};
  for (const [key, value] of Object.entries(current))
    if (!(READ_ONLY_KEYS as readonly string[]).includes(key)) record[key] = toWriteForm(key, value);
  return { ...record, ...encodeFields(fields), image_id: current.image_id };
}

/** Keys whose value Kasm wants as a JSON string on write. */
const JSON_STRING_KEYS = new Set(["run_config", "exec_config", "volume_mappings", "launch_config"]);

/** A value as read, in the form a write wants: categories are a list on read but a newline-joined string on write. */
function toWriteForm(key: string, value: unknown): unknown {
  if (key === "categories" && Array.isArray(value)) return value.join("\n");
  if (JSON_STRING_KEYS.has(key) && value !== null && typeof value === "object") return JSON.stringify(value);
  return value;
}

/** A record of `get_images`/`create_image`/`update_image` as ours; a malformed one is an error naming the field. */
export function decodeImage(raw: unknown, fn: string): KasmRecord {
  const record = asObject(raw, fn, "an image record");
  const read = reader(record, fn, `image ${String(record.image_id ?? "(no image_id)")}`);
  return {
    imageId: read.id("image_id"),
    name: read.string("name"),
    friendlyName: read.string("friendly_name"),
    description: read.string("description"),
    thumbnail: read.string("image_src"),
    categories: read.categories("categories"),
    cores: read.number("cores"),
    memory: read.number("memory"),
    enabled: read.boolean("enabled"),
    hidden: read.boolean("hidden"),
    runConfig: read.config("run_config"),
    execConfig: read.config("exec_config"),
    volumeMappings: read.config("volume_mappings"),
    dockerRegistry: read.nullableString("docker_registry"),
    dockerUser: read.nullableString("docker_user"),
    dockerTokenSet: read.nullableString("docker_token") !== null,
    notes: read.string("notes"),
    available: read.boolean("available"),
  };
}

/** Every record of a `get_images` answer that decodes; the others kept aside with what is wrong and whose they are. */
export function decodeImages(list: readonly unknown[], fn: string): KasmImageList {
  const records: KasmRecord[] = [];
  const unreadable: UnreadableRecord[] = [];
  for (const raw of list) {
    try {
      records.push(decodeImage(raw, fn));
    } catch (error) {
      unreadable.push(unreadableRecord(raw, error instanceof Error ? error.message : String(error)));
    }
  }
  return { records, unreadable };
}

/** What can still be told of a record that did not decode: its id and, when its notes are text, its owner. */
function unreadableRecord(raw: unknown, problem: string): UnreadableRecord {
  const record = raw !== null && typeof raw === "object" && !Array.isArray(raw) ? (raw as WireRecord) : {};
  const id = record.image_id;
  const notes = record.notes;
  const ownerKnown = notes === undefined || notes === null || typeof notes === "string";
  const owner = typeof notes === "string" ? managedBy(notes) : undefined;
  return {
    ...(typeof id === "string" && id !== "" ? { imageId: id } : {}),
    ownerKnown,
    ...(owner ? { owner } : {}),
    problem,
  };
}

export function decodeGroup(raw: unknown, fn: string): KasmGroup {
  const read = reader(asObject(raw, fn, "a group"), fn, "a group");
  return {
    groupId: read.id("group_id"),
    name: read.string("name"),
    description: read.string("description"),
    isSystem: read.boolean("is_system"),
  };
}

export function decodeGroupImage(raw: unknown, fn: string): KasmMembership {
  const read = reader(asObject(raw, fn, "a group image row"), fn, "a group image row");
  return {
    groupImageId: read.id("group_image_id"),
    groupId: read.id("group_id"),
    imageId: read.id("image_id"),
  };
}

/** The list under `key` of an answer, e.g. `images` of get_images. */
export function listIn(body: WireRecord, key: string, fn: string): unknown[] {
  const list = body[key];
  if (!Array.isArray(list)) throw malformed(fn, `the answer has no list "${key}"`);
  return list;
}

/** The object under `key` of an answer, e.g. `image` of create_image. */
export function objectIn(body: WireRecord, key: string, fn: string): WireRecord {
  return asObject(body[key], fn, `"${key}"`);
}

function asObject(raw: unknown, fn: string, what: string): WireRecord {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    throw malformed(fn, `expected ${what} to be an object`);
  return raw as WireRecord;
}

const malformed = (fn: string, detail: string) =>
  new KasmGitopsError("kasm-error", `Kasm answered ${fn} in an unexpected form: ${detail}`, { fn });

/** Typed field readers: null and absent read as the empty value, a wrong type is an error naming the field. */
function reader(record: WireRecord, fn: string, what: string) {
  const wrong = (key: string, expected: string) =>
    malformed(fn, `${what}: ${key} is ${JSON.stringify(record[key])?.slice(0, 60)}, expected ${expected}`);
  const string = (key: string): string => {
    const value = record[key];
    if (value === undefined || value === null) return "";
    if (typeof value !== "string") throw wrong(key, "a string");
    return value;
  };
  return {
    string,
    id: (key: string): string => {
      const value = record[key];
      if (typeof value !== "string" || value === "") throw wrong(key, "an id");
      return value;
    },
    nullableString: (key: string): string | null => {
      const value = record[key];
      return value === undefined || value === null || value === "" ? null : string(key);
    },
    number: (key: string): number => {
      const value = record[key];
      if (value === undefined || value === null) return 0;
      const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
      if (typeof number !== "number" || !Number.isFinite(number)) throw wrong(key, "a number");
      return number;
    },
    boolean: (key: string): boolean => {
      const value = record[key];
      if (value === undefined || value === null) return false;
      if (typeof value !== "boolean") throw wrong(key, "true or false");
      return value;
    },
    categories: (key: string): string[] => {
      const value = record[key];
      if (value === undefined || value === null) return [];
      // A list on read; a newline-joined string is what was written, so accept it too.
      const list = typeof value === "string" ? value.split("\n") : value;
      if (!Array.isArray(list) || !list.every((c) => typeof c === "string"))
        throw wrong(key, "a list of strings");
      return list.map((c) => c.trim()).filter((c) => c !== "");
    },
    config: (key: string): JsonObject => {
      const value = record[key];
      if (value === undefined || value === null || value === "") return {};
      if (typeof value === "object" && !Array.isArray(value)) return value as JsonObject;
      if (typeof value !== "string") throw wrong(key, "a JSON object string");
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        throw wrong(key, "a JSON object string");
      }
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
        throw wrong(key, "a JSON object string");
      return parsed as JsonObject;
    },
  };
}
