/**
 * Reads a whole Kasm deployment for `import`: every record, decoded leniently (a config that is not a
 * JSON object is kept as text to quote, a record that cannot be decoded at all is set aside with why),
 * the groups, and the group rows.
 */
import type { ImportInput } from "../core/import/manifests.js";
import type { ImportConfigField, ImportMembership, ImportRecord } from "../core/import/records.js";
import type { KasmImportSource } from "../ports.js";
import { FIELD_KEYS, PLACEMENT_KEYS } from "./kasm-keys.js";
import { decodeImage, type WireRecord } from "./kasm-wire.js";

const CONFIGS: [string, ImportConfigField][] = (["runConfig", "execConfig", "volumeMappings"] as const).map(
  (field) => [FIELD_KEYS[field], field],
);
const P = PLACEMENT_KEYS;

/** A config value that is a JSON object (or nothing); anything else is kept as text for the comment. */
function badConfig(value: unknown): string | undefined {
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

const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : null);

/** One record of get_images as import sees it, or why it cannot be read at all. */
export function decodeImportRecord(
  raw: unknown,
): { record: ImportRecord } | { unreadable: { imageId: string; reason: string } } {
  const wire = (raw !== null && typeof raw === "object" ? raw : {}) as WireRecord;
  const copy: WireRecord = { ...wire };
  const invalidConfigs: ImportRecord["invalidConfigs"] = [];
  for (const [key, field] of CONFIGS) {
    const bad = badConfig(wire[key]);
    if (bad === undefined) continue;
    invalidConfigs.push({ field, text: bad });
    copy[key] = null;
  }
  let decoded: ReturnType<typeof decodeImage>;
  try {
    decoded = decodeImage(copy, "get_images");
  } catch (error) {
    return {
      unreadable: { imageId: String(wire.image_id ?? "(no image_id)"), reason: (error as Error).message },
    };
  }
  const record: ImportRecord = {
    ...decoded,
    imageId: decoded.imageId,
    name: decoded.name,
    friendlyName: decoded.friendlyName,
    description: decoded.description,
    thumbnail: decoded.thumbnail,
    categories: decoded.categories,
    cores: decoded.cores,
    memory: decoded.memory,
    enabled: decoded.enabled,
    hidden: decoded.hidden,
    runConfig: decoded.runConfig,
    execConfig: decoded.execConfig,
    volumeMappings: decoded.volumeMappings,
    dockerRegistry: decoded.dockerRegistry,
    dockerUser: decoded.dockerUser,
    dockerTokenSet: decoded.dockerTokenSet,
    notes: decoded.notes,
    ...(invalidConfigs.length > 0 ? { invalidConfigs } : {}),
    ...(typeof wire[P.imageType] === "string" ? { imageType: wire[P.imageType] as string } : {}),
    restrictedZone: wire[P.restrictToZone] === true ? (text(wire[P.zoneName]) ?? text(wire[P.zoneId])) : null,
    restrictedServer: text(wire[P.serverId]),
  };
  return { record };
}

/** Everything import needs from Kasm, read before anything is written. */
export async function readKasmDeployment(
  source: KasmImportSource,
  signal?: AbortSignal,
): Promise<Omit<ImportInput, "url" | "caFile">> {
  const raw = await source.listImageRecords(signal);
  const groups = await source.listGroups(signal);
  const memberships: ImportMembership[] = [];
  for (const group of groups) {
    for (const row of await source.listGroupImages(group.groupId, signal))
      memberships.push({ groupId: row.groupId, imageId: row.imageId });
  }
  const records: ImportRecord[] = [];
  const unreadable: { imageId: string; reason: string }[] = [];
  for (const item of raw) {
    const decoded = decodeImportRecord(item);
    if ("record" in decoded) records.push(decoded.record);
    else unreadable.push(decoded.unreadable);
  }
  return {
    records,
    groups: groups.map((g) => ({ groupId: g.groupId, name: g.name })),
    memberships,
    unreadable,
  };
}
