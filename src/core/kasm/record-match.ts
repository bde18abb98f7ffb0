/**
 * Which Kasm record is whose: the record each workspace manages or adopts, the records that could not be read,
 * and what becomes of managed records no workspace claims any more. Pure: Kasm's records in, matches,
 * warnings, unknown causes and removals out.
 */

import { compareText } from "../manifest/types.js";
import type { KasmAction, PlanWarning, UnknownCause } from "../plan/types.js";
import type { DesiredRecord } from "./desired.js";
import { type KasmRecord, type KasmRemoved, managedBy, type UnreadableRecord } from "./types.js";

/** Kasm's records by id, the managed ones by owner, and the first unmanaged one per image. */
export type RecordIndex = {
  byId: ReadonlyMap<string, KasmRecord>;
  marked: ReadonlyMap<string, KasmRecord[]>;
  unmarkedByImage: ReadonlyMap<string, KasmRecord>;
};

/** Kasm's records indexed once per plan, in image-id order so a workspace always finds the same one. */
export function indexRecords(records: readonly KasmRecord[]): RecordIndex {
  const byId = new Map(records.map((r) => [r.imageId, r]));
  const marked = new Map<string, KasmRecord[]>();
  const unmarkedByImage = new Map<string, KasmRecord>();
  for (const record of [...records].sort((a, b) => compareText(a.imageId, b.imageId))) {
    const owner = managedBy(record.notes);
    if (owner) marked.set(owner, [...(marked.get(owner) ?? []), record]);
    else if (!unmarkedByImage.has(record.name)) unmarkedByImage.set(record.name, record);
  }
  return { byId, marked, unmarkedByImage };
}

/** A workspace whose record cannot be read: left as it is, and the plan is incomplete. */
export function unreadableCause(serverName: string, workspace: string, problem: string): UnknownCause {
  return {
    kind: "kasm",
    name: serverName,
    reason: "kasm-record-unreadable",
    message: `the Kasm record of workspace "${workspace}" could not be read, so it is left as it is: ${problem}`,
  };
}

/** Undecodable records by owner and by id, and the first whose owner is unknown (`unreadableByOwner`). */
export type UnreadableIndex = {
  owned: ReadonlyMap<string, UnreadableRecord>;
  byId: ReadonlyMap<string, UnreadableRecord>;
  anonymous: UnreadableRecord | undefined;
};

/**
 * Undecodable records by the workspace whose marker they carry, and the first whose notes could not be
 * read at all. One that is plainly unmanaged is only a warning: kasm-gitops never touches it.
 */
export function unreadableByOwner(
  list: readonly UnreadableRecord[],
  warnings: PlanWarning[],
): UnreadableIndex {
  const owned = new Map<string, UnreadableRecord>();
  const byId = new Map(list.flatMap((r) => (r.imageId ? [[r.imageId, r] as const] : [])));
  let anonymous: UnreadableRecord | undefined;
  for (const record of list) {
    if (record.owner) {
      if (!owned.has(record.owner)) owned.set(record.owner, record);
    } else if (!record.ownerKnown) anonymous ??= record;
    else
      warnings.push({
        code: "kasm-record-unreadable",
        message: `Kasm record ${record.imageId ?? "(no image_id)"} could not be read and is not managed by kasm-gitops, so it is left alone: ${record.problem}`,
      });
  }
  return { owned, byId, anonymous };
}

/**
 * The record a workspace manages: the one carrying its marker (the `kasm.imageId` one first when several
 * do), else the unmarked record `kasm.imageId` adopts. A record another workspace manages is a conflict.
 */
export function pick(
  desired: DesiredRecord,
  marked: KasmRecord[],
  byId: ReadonlyMap<string, KasmRecord>,
  warnings: PlanWarning[],
): { record: KasmRecord; adopt: boolean } | "conflict" | undefined {
  if (marked.length > 0) {
    const record = marked.find((r) => r.imageId === desired.imageId) ?? marked[0]!;
    const others = marked.filter((r) => r !== record).map((r) => r.imageId);
    if (others.length > 0) {
      warnings.push({
        code: "kasm-record-conflict",
        workspace: desired.workspace,
        message: `Kasm records ${others.join(", ")} also carry the marker of workspace "${desired.workspace}"; only ${record.imageId} is managed, the others are left alone`,
      });
    }
    return { record, adopt: false };
  }
  if (!desired.imageId) return undefined;
  const record = byId.get(desired.imageId);
  if (!record) return undefined;
  const owner = managedBy(record.notes);
  if (owner && owner !== desired.workspace) {
    warnings.push({
      code: "kasm-record-conflict",
      workspace: desired.workspace,
      message: `kasm.imageId ${desired.imageId} of workspace "${desired.workspace}" is managed by workspace "${owner}"; nothing is done for it`,
    });
    return "conflict";
  }
  return { record, adopt: true };
}

/** Where the records left behind go: those no workspace in Git (`names`) claims, by `removed`. */
export type Leftovers = {
  names: ReadonlySet<string>;
  removed: KasmRemoved;
  serverName: string;
  unreadable: UnreadableIndex;
  marked: ReadonlyMap<string, KasmRecord[]>;
};

/**
 * Managed records whose workspace left Git: deleted or disabled as `removed` says (never with `keep`); one
 * that cannot be read is an unknown cause instead, as what it holds is not known.
 */
export function planLeftovers(l: Leftovers, push: (action: KasmAction) => number, unknown: UnknownCause[]) {
  for (const [owner, record] of [...l.unreadable.owned].sort(([a], [b]) => compareText(a, b))) {
    if (l.names.has(owner) || l.removed === "keep") continue;
    unknown.push(unreadableCause(l.serverName, owner, record.problem));
  }
  for (const [owner, records] of [...l.marked].sort(([a], [b]) => compareText(a, b))) {
    if (l.names.has(owner) || l.removed === "keep") continue;
    for (const record of records) {
      if (l.removed === "delete") push({ type: "kasm-delete", workspace: owner, imageId: record.imageId });
      else if (record.enabled) push({ type: "kasm-disable", workspace: owner, imageId: record.imageId });
    }
  }
}
