/**
 * The Kasm Web App's view of a Workspace record, in our own camelCase shape. The adapter maps Kasm's wire
 * format (snake_case, JSON strings, newline-joined categories) to these types and back.
 */

/** JSON-like object of a record's run, exec and volume configuration. */
export type KasmConfig = Record<string, unknown>;

/** The fields kasm-gitops owns on a record; every other field is kept as Kasm has it. */
export type KasmOwnedFields = {
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
  runConfig: KasmConfig;
  execConfig: KasmConfig;
  volumeMappings: KasmConfig;
  dockerRegistry: string | null;
  dockerUser: string | null;
  notes: string | null;
};

/** A record as read from Kasm; the stored registry token is never read back, only whether one is set. */
export type KasmRecord = KasmOwnedFields & { imageId: string; hasDockerToken: boolean };

export type KasmGroup = { groupId: string; name: string };
/** One row of a group's image list; Kasm may hold the same pair twice. */
export type KasmMembership = { groupId: string; imageId: string };

/** What the shell saw in Kasm this cycle. */
export type KasmObservation =
  | { reachable: true; records: KasmRecord[]; groups: KasmGroup[]; memberships: KasmMembership[] }
  | { reachable: false; error: string };

export type KasmPulls = "kasm-gitops" | "kasm";
export type KasmRemoved = "disable" | "delete" | "keep";

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

const UNITS: Record<string, number> = { M: 1e6, G: 1e9, Mi: 2 ** 20, Gi: 2 ** 30 };

/** `2768M`, `2G`, `512Mi`, `1Gi` → bytes; undefined when it is not such a quantity. */
export function memoryBytes(quantity: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(Mi|Gi|M|G)$/.exec(quantity.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}

/** Kasm's own defaults for a new record's resources when the manifest leaves them out. */
export const KASM_DEFAULTS = { cores: 2, memory: 2_768_000_000 } as const;
