/**
 * Reads a whole Kasm deployment for `import`, before anything is written: every record (decoded by the
 * wire format's one decoder, in its lenient import mode), the groups, and the group rows.
 */
import type { ImportInput } from "../core/import/manifests.js";
import type { ImportMembership } from "../core/import/records.js";
import type { KasmImportSource } from "../ports.js";

/** Everything import needs from Kasm, read before anything is written. */
export async function readKasmDeployment(
  source: KasmImportSource,
  signal?: AbortSignal,
): Promise<Omit<ImportInput, "url" | "caFile">> {
  const { records, unreadable } = await source.readImportImages(signal);
  const groups = await source.listGroups(signal);
  const memberships: ImportMembership[] = [];
  for (const group of groups) {
    for (const row of await source.listGroupImages(group.groupId, signal))
      memberships.push({ groupId: row.groupId, imageId: row.imageId });
  }
  return {
    records,
    groups: groups.map((g) => ({ groupId: g.groupId, name: g.name })),
    memberships,
    unreadable,
  };
}
