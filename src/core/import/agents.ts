/**
 * Kasm's agents as `import` writes them: one Agent per Kasm agent (a server of type host), named from its
 * hostname, naming its Kasm agent and zone, labelled with the zone; and each record's placement (restricted
 * to a zone or a server) as the selector that matches those Agents. Pure: get_servers and get_zones in.
 */
import type { KasmServerReport, KasmZone } from "../kasm/agents.js";
import { compareText } from "../manifest/types.js";
import { dnsLabel, uniqueNames } from "./names.js";

/** What import could see of Kasm's agents: the lists, or why not (a key that may not view them). */
export type ImportAgentsRead =
  | { servers: readonly KasmServerReport[]; zones: readonly KasmZone[] }
  | { unreadable: string };

/** The label each imported Agent carries with its Kasm zone's name, and the one marking its server. */
export const ZONE_LABEL = "kasm-zone";
export const SERVER_LABEL = "kasm-server";

/** Where an imported Agent's Docker Engine listens: unknown to Kasm, so a placeholder that never resolves. */
export const DOCKER_HOST_PLACEHOLDER = "tcp://set-this-docker-host.invalid:2376";

export type ImportedAgent = {
  name: string;
  hostname: string;
  serverId: string;
  zone?: string;
  labels: Record<string, string>;
};

/** A label value from free text (letters, digits, `-`, `_`, `.`; at most 63), or undefined when none is left. */
export function labelValue(text: string): string | undefined {
  const value = text
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "")
    .slice(0, 63)
    .replace(/[^A-Za-z0-9]+$/, "");
  return value || undefined;
}

/** One Agent per Kasm agent, in hostname order; `restricted` names the servers a record is restricted to. */
export function importAgents(
  servers: readonly KasmServerReport[],
  restricted: ReadonlySet<string> = new Set(),
): ImportedAgent[] {
  const hosts = servers
    .filter((s) => s.serverType === "host")
    .sort((a, b) => compareText(a.hostname, b.hostname) || compareText(a.serverId, b.serverId));
  const names = uniqueNames(
    hosts.map((s) => dnsLabel(s.hostname.split(".")[0] ?? "")),
    "agent",
  );
  return hosts.map((s, i) => {
    const zone = s.zoneName ?? undefined;
    const zoneLabel = zone === undefined ? undefined : labelValue(zone);
    return {
      name: names[i]!,
      hostname: s.hostname,
      serverId: s.serverId,
      ...(zone !== undefined ? { zone } : {}),
      labels: {
        ...(zoneLabel ? { [ZONE_LABEL]: zoneLabel } : {}),
        ...(restricted.has(s.serverId) ? { [SERVER_LABEL]: names[i]! } : {}),
      },
    };
  });
}

/** A record's placement fields as import reads them. */
export type RecordPlacement = {
  restrictToZone?: boolean;
  zoneId?: string | null;
  restrictToServer?: boolean;
  serverId?: string | null;
};

/**
 * The selector that matches the Agents Kasm restricts a record to (a zone's, or one server's), so the sync
 * restricts it the same way; or why none can (a zone or server Kasm does not list, a zone without agents).
 */
export function placementSelector(
  record: RecordPlacement,
  agents: readonly ImportedAgent[],
  zones: readonly KasmZone[],
): { matchLabels: Record<string, string> } | { note: string } | undefined {
  if (record.restrictToServer && record.serverId) {
    const agent = agents.find((a) => a.serverId === record.serverId);
    if (!agent)
      return { note: `Kasm restricts it to server ${record.serverId}, which is not one of Kasm's agents` };
    return { matchLabels: { [SERVER_LABEL]: agent.labels[SERVER_LABEL] ?? agent.name } };
  }
  if (record.restrictToZone && record.zoneId) {
    const zone = zones.find((z) => z.zoneId === record.zoneId);
    if (!zone) return { note: `Kasm restricts it to zone ${record.zoneId}, which Kasm does not list` };
    const members = agents.filter((a) => a.zone === zone.zoneName);
    const label = labelValue(zone.zoneName);
    // Two zones whose names give one label value cannot be told apart by it.
    const same = agents.filter((a) => a.labels[ZONE_LABEL] === label);
    if (members.length === 0 || !label || same.length !== members.length)
      return {
        note: `Kasm restricts it to zone "${zone.zoneName}", whose agents no label of theirs selects alone`,
      };
    return { matchLabels: { [ZONE_LABEL]: label } };
  }
  return undefined;
}

/** The servers records are restricted to, which get a label of their own to be selected by. */
export function restrictedServers(records: readonly RecordPlacement[]): Set<string> {
  return new Set(records.flatMap((r) => (r.restrictToServer && r.serverId ? [r.serverId] : [])));
}
