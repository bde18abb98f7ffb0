/**
 * The Kasm Web App's view of a Workspace record, in our own camelCase shape. The adapter maps Kasm's wire
 * format (snake_case, JSON strings, newline-joined categories) to these types and back.
 */

import type { JsonObject, KasmPulls, KasmRemoved } from "../manifest/types.js";
import type { KasmAgentsObservation } from "./agents.js";

export type { KasmPulls, KasmRemoved };

/**
 * Record fields Git owns only when the manifest names them (absent: kept as Kasm has it, never compared),
 * one per Kasm key so each is written, read back and compared on its own.
 */
export type KasmOptionalFields = {
  xRes: number;
  yRes: number;
  gpuCount: number;
  /** null: no persistent profile. */
  persistentProfilePath: string | null;
  /** Seconds; null: no limit. */
  sessionTimeLimit: number | null;
  launchConfig: JsonObject;
  restrictToNetwork: boolean;
  restrictNetworkNames: string[];
  allowNetworkSelection: boolean;
  cpuAllocationMethod: string;
  /** Placement: where Kasm may launch the record (from the agents the workspace selects). */
  restrictToZone: boolean;
  zoneId: string | null;
  restrictToServer: boolean;
  serverId: string | null;
  /** The digest Kasm requires an agent's RepoDigests to carry (read and kept; Git does not set it yet). */
  hash: string | null;
};

/** The optional fields in a fixed order: how changes are listed. */
export const OPTIONAL_FIELDS: readonly (keyof KasmOptionalFields)[] = [
  "xRes",
  "yRes",
  "gpuCount",
  "persistentProfilePath",
  "sessionTimeLimit",
  "launchConfig",
  "restrictToNetwork",
  "restrictNetworkNames",
  "allowNetworkSelection",
  "cpuAllocationMethod",
  "restrictToZone",
  "zoneId",
  "restrictToServer",
  "serverId",
  "hash",
];

/** The fields kasm-gitops owns on a record; every other field is kept as Kasm has it. */
export type KasmOwnedFields = Partial<KasmOptionalFields> & {
  /** The image as written in the manifest. */
  name: string;
  friendlyName: string;
  description: string;
  /** Kasm's `image_src`. */
  thumbnail: string;
  categories: string[];
  cores: number;
  /** Bytes. */
  memory: number;
  enabled: boolean;
  hidden: boolean;
  runConfig: JsonObject;
  execConfig: JsonObject;
  volumeMappings: JsonObject;
  dockerRegistry: string | null;
  dockerUser: string | null;
  notes: string | null;
};

/**
 * A record as read from Kasm; the stored registry token is never read back, only whether one is set. The
 * optional fields are always decoded from Kasm's answer (records built by hand may leave them out).
 */
export type KasmRecord = KasmOwnedFields & {
  imageId: string;
  dockerTokenSet: boolean;
  /** Kasm's own view: whether an agent can launch it (read-only). */
  available?: boolean;
};

export type KasmGroup = { groupId: string; name: string; description?: string; isSystem?: boolean };
/** One row of a group's image list; Kasm may hold the same pair twice. */
export type KasmMembership = { groupId: string; imageId: string; groupImageId?: string };

/**
 * A `get_images` entry that could not be decoded. One bad record must not blind the whole sync, but the
 * record it may be must not be created twice either: `owner` is its marker when the notes could be read.
 */
export type UnreadableRecord = {
  imageId?: string;
  /** Whether the notes could be read, so `owner` (absent = unmanaged) can be trusted. */
  ownerKnown: boolean;
  owner?: string;
  problem: string;
};

/** The records `get_images` returned, split into those decoded and those that could not be. */
export type KasmImageList = { records: KasmRecord[]; unreadable: UnreadableRecord[] };

/** What the shell saw in Kasm this cycle. */
export type KasmObservation =
  | {
      reachable: true;
      records: KasmRecord[];
      groups: KasmGroup[];
      memberships: KasmMembership[];
      /** Records Kasm returned that could not be decoded (absent = none). */
      unreadable?: UnreadableRecord[];
      /** Kasm's agents and zones, read when an Agent names its Kasm agent (absent: not read). */
      agents?: KasmAgentsObservation;
    }
  | {
      reachable: false;
      error: string;
      /** `kasm-config`: Kasm was not asked, since the KasmServer cannot be used as configured (a secret). */
      reason?: "kasm-config";
    };

/** Fields where an empty text and null mean the same to Kasm. */
export const NULLABLE_TEXT: ReadonlySet<keyof KasmOwnedFields> = new Set([
  "dockerRegistry",
  "dockerUser",
  "persistentProfilePath",
  "zoneId",
  "serverId",
  "hash",
]);

/** The prefix of the notes line that marks a record as managed. */
export const MARKER_PREFIX = "managed-by: kasm-gitops/";

/** The marker line for a workspace. */
export const markerFor = (workspace: string) => `${MARKER_PREFIX}${workspace}`;

/** The workspace a record's notes name, or undefined when the record is not managed. */
export function managedBy(notes: string | null): string | undefined {
  for (const line of (notes ?? "").split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed.startsWith(MARKER_PREFIX)) return trimmed.slice(MARKER_PREFIX.length).trim() || undefined;
  }
  return undefined;
}

/** Notes with exactly one marker line for `workspace`, every other line kept. */
export function withMarker(notes: string | null, workspace: string): string {
  const others = (notes ?? "")
    .split(/\r?\n/)
    .filter((line) => !line.trim().startsWith(MARKER_PREFIX) && line.trim() !== "");
  return [...others, markerFor(workspace)].join("\n");
}

/**
 * Values Kasm 1.15 ignores on update (the stored value stays): an empty text (description, notes, thumbnail…)
 * cannot clear the stored one, and 0 cores or memory keeps the stored number. Writing one never takes.
 */
export const KASM_IGNORES: Partial<Record<keyof KasmOwnedFields, unknown>> = {
  xRes: 0,
  yRes: 0,
  cpuAllocationMethod: "",
  zoneId: "",
  name: "",
  friendlyName: "",
  description: "",
  thumbnail: "",
  notes: "",
  cores: 0,
  memory: 0,
};

/** Where in Kasm's admin UI a person changes a field kasm-gitops cannot. */
export const KASM_UI_FIELD: Partial<Record<keyof KasmOwnedFields, string>> = {
  friendlyName: "Admin → Workspaces → Edit → Friendly Name",
  description: "Admin → Workspaces → Edit → Description",
  thumbnail: "Admin → Workspaces → Edit → Thumbnail URL",
  notes: "Admin → Workspaces → Edit → Notes",
  cores: "Admin → Workspaces → Edit → Cores",
  memory: "Admin → Workspaces → Edit → Memory",
};

/** Kasm's own defaults for a new record's resources when the manifest leaves them out. */
export const KASM_DEFAULTS = { cores: 2, memory: 2_768_000_000 } as const;
