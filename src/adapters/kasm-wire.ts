/**
 * Kasm's wire format for Workspace records, pure: decoding what `get_images` returns into our record type,
 * and encoding our owned fields the way `create_image`/`update_image` want them (configs as JSON strings,
 * categories newline-joined, memory in bytes), so the client holds no format knowledge of its own.
 */
import { KasmGitopsError } from "../core/errors.js";
import type { ImportConfigField, ImportRecord } from "../core/import/records.js";
import type { KasmServerReport, KasmZone } from "../core/kasm/agents.js";
import { canonicalJson } from "../core/kasm/desired.js";
import { namesRegistry } from "../core/kasm/registry-form.js";
import {
  type KasmGroup,
  type KasmImageList,
  type KasmMembership,
  type KasmRecord,
  managedBy,
  NULLABLE_TEXT,
  type UnreadableRecord,
} from "../core/kasm/types.js";
import type { JsonObject } from "../core/manifest/types.js";
import type { KasmImageCreate, KasmImageFields } from "../ports.js";
import {
  AVAILABLE_KEY,
  EMPTY_CLEARS_KEYS,
  FIELD_KEYS,
  GROUP_KEYS,
  GROUP_ROW_KEYS,
  IMAGE_ID,
  IMAGE_WRITE_KEYS,
  type ImageWriteKey,
  isWriteKey,
  JSON_TEXT_KEYS,
  NEWLINE_LIST_KEYS,
  NUMBER_KEYS,
  PLACEMENT_KEYS,
  SERVER_KEYS,
  TOKEN_KEY,
  ZONE_KEYS,
} from "./kasm-keys.js";

export type WireRecord = Record<string, unknown>;

type FieldName = keyof Omit<KasmImageFields, "dockerToken">;

/** Our fields in Kasm's keys and write encodings (configs as JSON text, categories newline-joined); absent fields stay absent. */
export function encodeFields(fields: KasmImageFields): WireRecord {
  const wire: WireRecord = {};
  for (const [name, key] of Object.entries(FIELD_KEYS) as [FieldName, ImageWriteKey][]) {
    const value = fields[name];
    if (value !== undefined) wire[key] = toWriteForm(key, value);
  }
  if (fields.dockerToken !== undefined) wire[TOKEN_KEY] = fields.dockerToken ?? "";
  for (const key of EMPTY_CLEARS_KEYS) if (wire[key] === null) wire[key] = "";
  return wire;
}

/** `target_image` of a create: only what we own; Kasm fills in the rest. */
export function createPayload(record: KasmImageCreate): WireRecord {
  return encodeFields(record);
}

/**
 * `target_image` of an update: of the record as just read, exactly the keys Kasm's write function takes
 * (anything else is an HTML 500), in write form, with our fields laid over it. Kasm resets some fields an
 * update does not carry, so every one read goes back, the masked token included (which keeps the stored
 * one). A null read is left out: absent, Kasm stores null (or its default) there anyway, and a null sent
 * where Kasm wants a number would fail.
 */
export function updatePayload(current: WireRecord, fields: KasmImageFields): WireRecord {
  const record: WireRecord = {};
  for (const key of IMAGE_WRITE_KEYS) {
    const value = current[key];
    if (value !== undefined && value !== null) record[key] = toWriteForm(key, value);
  }
  return { ...record, ...encodeFields(fields), [IMAGE_ID]: current[IMAGE_ID] };
}

/** The keys of a write payload outside Kasm's write set (none, for a payload built here). */
export const foreignKeys = (payload: WireRecord): string[] =>
  Object.keys(payload).filter((k) => !isWriteKey(k));

/** A value as read (or as ours), in the form a write wants: lists joined, objects as JSON text, numbers as numbers. */
function toWriteForm(key: ImageWriteKey, value: unknown): unknown {
  if (NEWLINE_LIST_KEYS.has(key) && Array.isArray(value)) return value.join("\n");
  if (JSON_TEXT_KEYS.has(key) && value !== null && typeof value === "object") return JSON.stringify(value);
  if (
    NUMBER_KEYS.has(key) &&
    typeof value === "string" &&
    value.trim() !== "" &&
    Number.isFinite(Number(value))
  )
    return Number(value);
  return value;
}

/**
 * How strict a decode is. `sync`: a config that is not a JSON object makes the record unreadable (the
 * planner holds it). `import`: such a config is read as {} and kept as text to quote, and the placement
 * Kasm holds is read too, so one odd record does not stop an import.
 */
export type DecodeMode = "sync" | "import";

/** A record of `get_images`/`create_image`/`update_image` as ours; a malformed one is an error naming the field. */
export function decodeImage(raw: unknown, fn: string): KasmRecord {
  return decodeRecord(raw, fn, "sync");
}

/** A record of `get_images` as import reads it: lenient configs, and where Kasm runs its sessions. */
export function decodeImportImage(raw: unknown, fn: string): ImportRecord {
  return decodeRecord(raw, fn, "import");
}

function decodeRecord(raw: unknown, fn: string, mode: "sync"): KasmRecord;
function decodeRecord(raw: unknown, fn: string, mode: "import"): ImportRecord;
function decodeRecord(raw: unknown, fn: string, mode: DecodeMode): KasmRecord | ImportRecord {
  const record = asObject(raw, fn, "an image record");
  const read = reader(record, fn, `image ${String(record[IMAGE_ID] ?? "(no image_id)")}`);
  const k = FIELD_KEYS;
  const invalidConfigs: { field: ImportConfigField; text: string }[] = [];
  const config = (field: ImportConfigField): JsonObject => {
    if (mode === "sync") return read.config(k[field]);
    const text = notAnObject(record[k[field]]);
    if (text === undefined) return read.config(k[field]);
    invalidConfigs.push({ field, text });
    return {};
  };
  const decoded: KasmRecord = {
    imageId: read.id(IMAGE_ID),
    name: read.string(k.name),
    friendlyName: read.string(k.friendlyName),
    description: read.string(k.description),
    thumbnail: read.string(k.thumbnail),
    categories: read.categories(k.categories),
    cores: read.number(k.cores),
    memory: read.number(k.memory),
    enabled: read.boolean(k.enabled),
    hidden: read.boolean(k.hidden),
    runConfig: config("runConfig"),
    execConfig: config("execConfig"),
    volumeMappings: config("volumeMappings"),
    dockerRegistry: read.nullableString(k.dockerRegistry),
    dockerUser: read.nullableString(k.dockerUser),
    dockerTokenSet: read.nullableString(TOKEN_KEY) !== null,
    notes: read.string(k.notes),
    available: read.boolean(AVAILABLE_KEY),
    xRes: read.number(k.xRes),
    yRes: read.number(k.yRes),
    gpuCount: read.number(k.gpuCount),
    persistentProfilePath: read.nullableString(k.persistentProfilePath),
    sessionTimeLimit: read.nullableNumber(k.sessionTimeLimit),
    launchConfig: read.config(k.launchConfig),
    restrictToNetwork: read.boolean(k.restrictToNetwork),
    restrictNetworkNames: read.strings(k.restrictNetworkNames),
    allowNetworkSelection: read.boolean(k.allowNetworkSelection),
    cpuAllocationMethod: read.string(k.cpuAllocationMethod),
    restrictToZone: read.boolean(k.restrictToZone),
    zoneId: read.nullableString(k.zoneId),
    restrictToServer: read.boolean(k.restrictToServer),
    serverId: read.nullableString(k.serverId),
    hash: read.nullableString(k.hash),
  };
  if (mode === "sync") return decoded;
  const P = PLACEMENT_KEYS;
  const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : null);
  return {
    ...decoded,
    ...(invalidConfigs.length > 0 ? { invalidConfigs } : {}),
    ...(typeof record[P.imageType] === "string" ? { imageType: record[P.imageType] as string } : {}),
    restrictedZone:
      record[P.restrictToZone] === true ? (text(record[P.zoneName]) ?? text(record[P.zoneId])) : null,
    restrictedServer: text(record[P.serverId]),
  };
}

/** A config value that is not a JSON object (nor empty), as text to quote; undefined when it is one. */
function notAnObject(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "object") return Array.isArray(value) ? JSON.stringify(value) : undefined;
  if (typeof value !== "string") return String(value);
  try {
    const parsed: unknown = JSON.parse(value);
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? undefined : value;
  } catch {
    return value;
  }
}

/** Every record of a `get_images` answer that decodes; the others kept aside with what is wrong and whose they are. */
export function decodeImages(list: readonly unknown[], fn: string): KasmImageList;
export function decodeImages(
  list: readonly unknown[],
  fn: string,
  mode: "import",
): { records: ImportRecord[]; unreadable: UnreadableRecord[] };
export function decodeImages(list: readonly unknown[], fn: string, mode: DecodeMode = "sync") {
  const records: KasmRecord[] = [];
  const unreadable: UnreadableRecord[] = [];
  for (const raw of list) {
    try {
      records.push(mode === "sync" ? decodeRecord(raw, fn, "sync") : decodeRecord(raw, fn, "import"));
    } catch (error) {
      unreadable.push(unreadableRecord(raw, error instanceof Error ? error.message : String(error)));
    }
  }
  return { records, unreadable };
}

/** What can still be told of a record that did not decode: its id and, when its notes are text, its owner. */
function unreadableRecord(raw: unknown, problem: string): UnreadableRecord {
  const record = raw !== null && typeof raw === "object" && !Array.isArray(raw) ? (raw as WireRecord) : {};
  const id = record[IMAGE_ID];
  const notes = record[FIELD_KEYS.notes];
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
    groupId: read.id(GROUP_KEYS.id),
    name: read.string(GROUP_KEYS.name),
    description: read.string(GROUP_KEYS.description),
    isSystem: read.boolean(GROUP_KEYS.isSystem),
  };
}

/** A get_servers entry: an agent with the image tags it last reported (docker_images: {<id>: {tags}}). */
export function decodeServer(raw: unknown, fn: string): KasmServerReport {
  const record = asObject(raw, fn, "a server");
  const K = SERVER_KEYS;
  const read = reader(record, fn, `server ${String(record[K.id] ?? "(no server_id)")}`);
  const images = record[K.images];
  const tags: string[] = [];
  const digests: string[] = [];
  const strings = (image: unknown, key: string) => {
    const listed = image !== null && typeof image === "object" ? (image as WireRecord)[key] : [];
    return Array.isArray(listed) ? listed.filter((t): t is string => typeof t === "string") : [];
  };
  if (images !== null && images !== undefined) {
    if (typeof images !== "object" || Array.isArray(images))
      throw malformed(fn, `server ${String(record[K.id])}: ${K.images} is not an object`);
    for (const image of Object.values(images as Record<string, unknown>)) {
      tags.push(...strings(image, K.imageTags));
      // An entry without repo digests proves no digest: the syncer then holds its switch.
      digests.push(...strings(image, K.imageDigests));
    }
  }
  return {
    serverId: read.id(K.id),
    hostname: read.string(K.hostname),
    serverType: read.string(K.type),
    enabled: read.boolean(K.enabled),
    operationalStatus: read.string(K.status),
    zoneId: read.nullableString(K.zoneId),
    zoneName: read.nullableString(K.zoneName),
    imageTags: tags,
    imageDigests: digests,
    lastReported: read.nullableString(K.lastReported),
  };
}

export function decodeZone(raw: unknown, fn: string): KasmZone {
  const read = reader(asObject(raw, fn, "a zone"), fn, "a zone");
  return { zoneId: read.id(ZONE_KEYS.id), zoneName: read.string(ZONE_KEYS.name) };
}

export function decodeGroupImage(raw: unknown, fn: string): KasmMembership {
  const read = reader(asObject(raw, fn, "a group image row"), fn, "a group image row");
  return {
    groupImageId: read.id(GROUP_ROW_KEYS.id),
    groupId: read.id(GROUP_ROW_KEYS.groupId),
    imageId: read.id(GROUP_ROW_KEYS.imageId),
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
  /** A number (Kasm may keep one as numeric text); null for null, absent or empty. */
  const number = (key: string): number | null => {
    const value = record[key];
    if (value === undefined || value === null || value === "") return null;
    const parsed = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof parsed !== "number" || !Number.isFinite(parsed)) throw wrong(key, "a number");
    return parsed;
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
    number: (key: string): number => number(key) ?? 0,
    nullableNumber: (key: string): number | null => number(key),
    strings: (key: string): string[] => {
      const value = record[key];
      if (value === undefined || value === null) return [];
      if (!Array.isArray(value) || !value.every((c) => typeof c === "string"))
        throw wrong(key, "a list of strings");
      return value;
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

/**
 * The fields of a write that Kasm's answer does not show as sent: a value Kasm ignored (an empty
 * description, 0 cores) or changed. A write is done only when the answer shows it, so these are a failure.
 */
export function fieldsNotTaken(sent: KasmImageFields, answer: KasmRecord): string[] {
  const missed: string[] = [];
  for (const name of Object.keys(FIELD_KEYS) as FieldName[]) {
    const want = sent[name];
    if (want === undefined) continue;
    const got = answer[name];
    const same =
      name === "dockerRegistry" && typeof want === "string" && typeof got === "string"
        ? namesRegistry(got, want)
        : canonicalJson(emptyAsNull(name, got)) === canonicalJson(emptyAsNull(name, want));
    if (!same) missed.push(name);
  }
  if (sent.dockerToken !== undefined && answer.dockerTokenSet !== Boolean(sent.dockerToken))
    missed.push("dockerToken");
  return missed;
}

const emptyAsNull = (name: FieldName, value: unknown) =>
  NULLABLE_TEXT.has(name) && (value === "" || value === undefined) ? null : value;
