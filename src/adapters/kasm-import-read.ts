/**
 * Reads a whole Kasm deployment for `import`, before anything is written: every record (decoded by the
 * wire format's one decoder, in its lenient import mode), the groups, the group rows, and Kasm's agents
 * and zones when the key may view them.
 */

import { KasmGitopsError } from "../core/errors.js";
import type { ImportAgentsRead } from "../core/import/agents.js";
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
    agents: await readAgents(source, signal),
  };
}

/**
 * Kasm's agents and zones. A key Kasm does not let view them (401 or 403 for get_servers) keeps the Agent
 * template, with why; any other failure fails the import, as every other read does.
 */
async function readAgents(source: KasmImportSource, signal?: AbortSignal): Promise<ImportAgentsRead> {
  try {
    const [servers, zones] = await Promise.all([source.listServers(signal), source.listZones(signal)]);
    return { servers, zones };
  } catch (error) {
    const code = error instanceof KasmGitopsError ? error.code : undefined;
    if (code === "kasm-unauthorized" || code === "kasm-forbidden")
      return { unreadable: `get_servers answered HTTP ${code === "kasm-unauthorized" ? 401 : 403}` };
    throw error;
  }
}
