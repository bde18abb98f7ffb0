/**
 * A record's groups: the pairs Git wants added or removed, read against the memberships Kasm holds. Pure:
 * Kasm's groups and memberships in, `kasm-group-*` actions and blocked group adds out.
 */

import { compareText } from "../manifest/types.js";
import type { BlockedKasm, KasmAction, KasmGroupAction } from "../plan/types.js";
import type { DesiredRecord } from "./desired.js";
import type { KasmGroup, KasmMembership } from "./types.js";

/** The group Kasm may put a new record in on its own. */
export const AUTO_JOIN_GROUP = "All Users";

/** Kasm's groups by name and id, which of them were read, and each record's groups. */
export type GroupIndex = {
  byName: ReadonlyMap<string, string>;
  names: ReadonlyMap<string, string>;
  read: ReadonlySet<string>;
  members: ReadonlyMap<string, Set<string>>;
};

/** Kasm's groups indexed once per plan; a pair in a group not `read` is never removed. */
export function indexGroups(
  groups: readonly KasmGroup[],
  memberships: readonly KasmMembership[],
  groupsRead: readonly string[] | undefined,
): GroupIndex {
  const byName = new Map<string, string>();
  for (const g of groups) if (!byName.has(g.name)) byName.set(g.name, g.groupId);
  const read = new Set(groupsRead ?? groups.map((g) => g.groupId));
  const names = new Map(groups.map((g) => [g.groupId, g.name]));
  const members = new Map<string, Set<string>>();
  for (const m of memberships) members.set(m.imageId, (members.get(m.imageId) ?? new Set()).add(m.groupId));
  return { byName, names, read, members };
}

/** Group pairs that differ; for a record being created, after its create (and out of the auto-joined group). */
export function planGroups(
  index: GroupIndex,
  desired: DesiredRecord,
  imageId: string | undefined,
  create: number | undefined,
  push: (action: KasmAction) => number,
  blocked: BlockedKasm[],
) {
  const { byName, names, read, members } = index;
  const wanted = new Set<string>();
  for (const group of desired.groups) {
    const id = byName.get(group);
    if (id) wanted.add(id);
    else {
      blocked.push({
        type: "kasm-group-add",
        workspace: desired.workspace,
        group,
        reason: "unknown-group",
        message: `Kasm has no group "${group}" (workspace "${desired.workspace}"); create it in Kasm or fix the name`,
      });
    }
  }
  const current = imageId ? (members.get(imageId) ?? new Set<string>()) : new Set<string>();
  const base = {
    workspace: desired.workspace,
    ...(imageId ? { imageId } : {}),
    after: create === undefined ? [] : [create],
  };
  const sorted = (ids: Iterable<string>) =>
    [...ids].sort((a, b) => compareText(names.get(a)!, names.get(b)!));
  for (const id of sorted(wanted)) {
    if (!current.has(id))
      push({ type: "kasm-group-add", group: names.get(id)!, groupId: id, ...base } as KasmGroupAction);
  }
  const extra = new Set([...current].filter((id) => read.has(id) && !wanted.has(id) && names.has(id)));
  const auto = byName.get(AUTO_JOIN_GROUP);
  if (create !== undefined && auto && !wanted.has(auto)) extra.add(auto);
  for (const id of sorted(extra)) {
    push({ type: "kasm-group-remove", group: names.get(id)!, groupId: id, ...base } as KasmGroupAction);
  }
}
