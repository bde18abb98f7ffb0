/** What a Workspace's Kasm record should look like, and how a record read from Kasm differs from it. */
import { createHash } from "node:crypto";
import { parseMemoryQuantity } from "../manifest/quantity.js";
import type { WorkspaceManifest } from "../manifest/types.js";
import { optionalFields } from "./record-fields.js";
import { namesRegistry } from "./registry-form.js";
import {
  KASM_DEFAULTS,
  KASM_IGNORES,
  type KasmOwnedFields,
  type KasmPulls,
  type KasmRecord,
  managedBy,
  NULLABLE_TEXT,
  OPTIONAL_FIELDS,
  withMarker,
} from "./types.js";

/** A Registry as a record needs it: its host, and (with auth) the user and a fingerprint of the credentials. */
export type RegistryAuthInfo = { host: string; username?: string; fingerprint?: string };

/**
 * What kasm-gitops last wrote for a workspace: a hash of the owned fields from Git, the token's fingerprint,
 * and the pinned digest (`hash`), so a pin moved with the registry is told apart from one edited in Kasm.
 */
export type AppliedRecord = { fields?: string; token?: string; hash?: string };

/** One field of a record that differs: secrets are never in `from`/`to`. */
export type KasmChange = { field: keyof KasmOwnedFields | "dockerToken"; from: unknown; to: unknown };

export type DesiredRecord = {
  workspace: string;
  /** Owned fields as Git wants them (notes carries the marker only). */
  fields: KasmOwnedFields;
  /** Fields Git leaves to Kasm on an existing record (cores/memory not written in the manifest). */
  unowned: ReadonlySet<keyof KasmOwnedFields>;
  /** The Registry whose token the record carries, with `pulls: kasm` and auth. */
  token?: { registry: string; fingerprint: string };
  imageId?: string;
  groups: string[];
};

/** The record a workspace asks for; registry fields follow `pulls`. */
export function desiredRecord(
  w: WorkspaceManifest,
  pulls: KasmPulls,
  registries: ReadonlyMap<string, RegistryAuthInfo>,
): DesiredRecord {
  const kasm = w.spec.kasm ?? {};
  const name = w.metadata.name;
  const registry = pulls === "kasm" && w.spec.registry ? registries.get(w.spec.registry) : undefined;
  const unowned = new Set<keyof KasmOwnedFields>();
  if (kasm.cores === undefined) unowned.add("cores");
  if (kasm.memory === undefined) unowned.add("memory");
  const fields: KasmOwnedFields = {
    name: w.spec.image,
    friendlyName: w.spec.friendlyName ?? name,
    description: kasm.description ?? "",
    thumbnail: kasm.thumbnail ?? "",
    categories: kasm.categories ?? [],
    cores: kasm.cores ?? KASM_DEFAULTS.cores,
    memory:
      (kasm.memory !== undefined ? parseMemoryQuantity(kasm.memory) : undefined) ?? KASM_DEFAULTS.memory,
    enabled: w.spec.enabled !== false,
    hidden: kasm.hidden ?? false,
    runConfig: kasm.runConfig ?? {},
    execConfig: kasm.execConfig ?? {},
    volumeMappings: kasm.volumeMappings ?? {},
    dockerRegistry: registry?.host ?? null,
    dockerUser: registry?.username ?? null,
    notes: withMarker(null, name),
    ...optionalFields(kasm),
  };
  return {
    workspace: name,
    fields,
    unowned,
    ...(registry?.fingerprint
      ? { token: { registry: w.spec.registry!, fingerprint: registry.fingerprint } }
      : {}),
    ...(kasm.imageId ? { imageId: kasm.imageId } : {}),
    groups: [...new Set(w.spec.groups ?? [])],
  };
}

/** JSON with sorted keys: equal values give equal text, whatever the key order Kasm returns. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

const normal = (field: keyof KasmOwnedFields, value: unknown) =>
  NULLABLE_TEXT.has(field) && (value === "" || value === undefined) ? null : value;

/** Whether a record's field holds what Git wants; Kasm's forms of a registry (`https://index.docker.io/v1/`) name their host. */
function holds(field: keyof KasmOwnedFields, from: unknown, to: unknown): boolean {
  if (field === "dockerRegistry" && typeof from === "string" && typeof to === "string")
    return namesRegistry(from, to);
  return canonicalJson(normal(field, from)) === canonicalJson(to);
}

/** Whether Kasm would ignore writing `to` over `from` (an empty description over a stored one, 0 cores). */
const ignoredByKasm = (field: keyof KasmOwnedFields, to: unknown) =>
  field in KASM_IGNORES && canonicalJson(KASM_IGNORES[field]) === canonicalJson(to);

const COMPARED: (keyof KasmOwnedFields)[] = [
  "name",
  "friendlyName",
  "description",
  "thumbnail",
  "categories",
  "cores",
  "memory",
  "enabled",
  "hidden",
  "runConfig",
  "execConfig",
  "volumeMappings",
  "dockerRegistry",
  "dockerUser",
  ...OPTIONAL_FIELDS,
];

/** Placeholders that say what happens to the token without ever showing it. */
export const TOKEN = {
  set: "(set)",
  none: "(none)",
  from: (registry: string) => `(from Registry ${registry})`,
};

/** How a record differs from Git: the changes to write, and the differences Kasm would not let a write fix. */
export type RecordDiff = {
  changes: KasmChange[];
  kept: KasmChange[];
  /** Adopted with the token Kasm holds, which stands for Git's credentials from now on. */
  tokenKept: boolean;
};

/**
 * The owned fields of `record` that differ from Git, in a fixed order; the marker is added to the notes
 * (other lines kept). A difference Kasm ignores on write is `kept`, never a change: planning it would be a
 * write every cycle that never takes. The token is written when missing or when its credentials'
 * fingerprint changed; a record being adopted keeps the token Kasm holds (Kasm shows it masked, so it cannot
 * be compared) until Git's credentials change.
 */
export function recordChanges(
  record: KasmRecord,
  desired: DesiredRecord,
  applied: AppliedRecord | undefined,
  adopting = false,
): RecordDiff {
  const changes: KasmChange[] = [];
  const kept: KasmChange[] = [];
  for (const field of COMPARED) {
    const to = desired.fields[field];
    // A field the manifest does not name is Kasm's: never compared, never written.
    if (desired.unowned.has(field) || to === undefined) continue;
    const from = record[field];
    if (holds(field, from, to)) continue;
    (ignoredByKasm(field, to) ? kept : changes).push({ field, from: normal(field, from), to });
  }
  if (managedBy(record.notes) !== desired.workspace) {
    changes.push({ field: "notes", from: record.notes, to: withMarker(record.notes, desired.workspace) });
  }
  const from = record.dockerTokenSet ? TOKEN.set : TOKEN.none;
  const tokenKept =
    Boolean(desired.token) && adopting && record.dockerTokenSet && applied?.token === undefined;
  if (desired.token) {
    if (!tokenKept && (!record.dockerTokenSet || applied?.token !== desired.token.fingerprint)) {
      changes.push({ field: "dockerToken", from, to: TOKEN.from(desired.token.registry) });
    }
  } else if (record.dockerTokenSet) {
    changes.push({ field: "dockerToken", from, to: TOKEN.none });
  }
  return { changes, kept, tokenKept };
}

/** A short hash of what Git asks of a record: unchanged since the last write means a difference is drift. */
export function fieldsHash(desired: DesiredRecord): string {
  const owned = Object.fromEntries(
    Object.entries(desired.fields).filter(([k]) => !desired.unowned.has(k as never)),
  );
  return createHash("sha256").update(canonicalJson(owned)).digest("hex").slice(0, 16);
}
