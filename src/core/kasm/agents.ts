/**
 * Kasm's own agents, as `get_servers` and `get_zones` report them, read against the Agents in Git: which Kasm
 * agent each Agent names, what images Kasm sees on it, and where Kasm may launch a record (its placement).
 * Pure: the reports and the time they were read in, views and placements out.
 */
import { parseImageReference } from "../image/reference.js";
import { type AgentManifest, compareText, type WorkspaceManifest } from "../manifest/types.js";
import { selects } from "../plan/desired.js";

/** One Kasm agent (a server of type host) as get_servers reports it. */
export type KasmServerReport = {
  serverId: string;
  hostname: string;
  serverType: string;
  enabled: boolean;
  operationalStatus: string;
  zoneId: string | null;
  zoneName: string | null;
  /** Every repo tag of the images the agent last reported (docker_images). */
  imageTags: string[];
  /** Every repo digest (`repo@sha256:…`) of those images, as Docker lists them (RepoDigests). */
  imageDigests: string[];
  /** When the agent last reported, as Kasm wrote it (ISO 8601); null when never. */
  lastReported: string | null;
};
export type KasmZone = { zoneId: string; zoneName: string };

/** Kasm's agents and zones, read at `readAt` (ISO 8601), or why they could not be read. */
export type KasmAgentsObservation =
  | { servers: KasmServerReport[]; zones: KasmZone[]; readAt: string }
  | { error: string };

/** What Kasm says an agent holds: its image tags and how old that report is (null: never reported). */
export type ReportedImages = {
  serverId: string;
  hostname: string;
  zoneName: string | null;
  tags: ReadonlySet<string>;
  /** The tags exactly as the agent reported them: Kasm matches a record's name against these as written. */
  reportedTags: ReadonlySet<string>;
  /** Repo digests in canonical form (`docker.io/library/ubuntu@sha256:…`). */
  digests: ReadonlySet<string>;
  reportAgeMs: number | null;
};

/** Kasm agents only (servers of type host), with what each reported and how long ago; reusable by any syncer. */
export function reportedImages(servers: readonly KasmServerReport[], readAt: string): ReportedImages[] {
  const now = Date.parse(readAt);
  return servers
    .filter((s) => s.serverType === "host")
    .map((s) => {
      const at = s.lastReported === null ? Number.NaN : Date.parse(s.lastReported);
      return {
        serverId: s.serverId,
        hostname: s.hostname,
        zoneName: s.zoneName,
        tags: new Set(s.imageTags.flatMap(canonical)),
        reportedTags: new Set(s.imageTags),
        digests: new Set(s.imageDigests.flatMap(canonical)),
        reportAgeMs: Number.isFinite(at) && Number.isFinite(now) ? Math.max(0, now - at) : null,
      };
    });
}

/** A tag in canonical form (`ubuntu:1` → `docker.io/library/ubuntu:1`), so Kasm's and Git's spellings meet. */
function canonical(tag: string): string[] {
  try {
    return [parseImageReference(tag).canonical];
  } catch {
    return [];
  }
}

/** Whether an agent's report carries `image` (Kasm's launch check on the record's name). */
export const sees = (report: ReportedImages, image: string): boolean =>
  canonical(image).some((c) => report.tags.has(c));

/** The Kasm agent an Agent names by hostname or server_id, if Kasm has it. */
export function serverOf(
  agent: AgentManifest,
  servers: readonly KasmServerReport[],
): KasmServerReport | undefined {
  const name = agent.spec.kasm?.server;
  if (!name) return undefined;
  return (
    servers.find((s) => s.serverType === "host" && s.serverId === name) ??
    servers.find((s) => s.serverType === "host" && s.hostname.toLowerCase() === name.toLowerCase())
  );
}

/** Whether Kasm may start sessions on a server now: a running, enabled agent. */
export const launches = (s: KasmServerReport) =>
  s.serverType === "host" && s.enabled && s.operationalStatus === "running";

/** Where a record is restricted to: a zone, one server, or nowhere (any agent of the user's zone). */
export type Placement =
  | { kind: "zone"; zoneId: string; zoneName: string }
  | { kind: "server"; serverId: string; hostname: string }
  | { kind: "any" };

/**
 * The placement that matches the agents a workspace selects: agents that are exactly one zone's Kasm agents
 * are that zone; one agent is its server (one agent alone in its zone fits both: the record keeps the form
 * it has, `current`, and is restricted to the zone when it has neither); anything else is `any`, with
 * `mismatch` saying why (Kasm may launch the record elsewhere). Undefined when no Agent in Git names its
 * Kasm agent: nothing is known, nothing is owned.
 */
export function placementFor(
  w: WorkspaceManifest,
  agents: readonly AgentManifest[],
  observed: { servers: readonly KasmServerReport[]; zones: readonly KasmZone[] },
  current: Placement["kind"] = "any",
): { placement: Placement; mismatch?: string } | undefined {
  if (!agents.some((a) => a.spec.kasm)) return undefined;
  const selected = agents.filter((a) => selects(w, a));
  const servers = selected.map((a) => serverOf(a, observed.servers));
  const unnamed = selected.filter((_, i) => !servers[i]).map((a) => a.metadata.name);
  if (unnamed.length > 0)
    return {
      placement: { kind: "any" },
      mismatch: unnamedMismatch(unnamed),
    };
  const ids = new Set(servers.map((s) => s!.serverId));
  const one = ids.size === 1 ? servers[0]! : undefined;
  if (one && current === "server")
    return { placement: { kind: "server", serverId: one.serverId, hostname: one.hostname } };
  for (const zone of [...observed.zones].sort((a, b) => compareText(a.zoneName, b.zoneName))) {
    const members = observed.servers.filter((s) => s.serverType === "host" && s.zoneId === zone.zoneId);
    if (members.length === ids.size && members.every((s) => ids.has(s.serverId)))
      return { placement: { kind: "zone", zoneId: zone.zoneId, zoneName: zone.zoneName } };
  }
  if (one) return { placement: { kind: "server", serverId: one.serverId, hostname: one.hostname } };
  return {
    placement: { kind: "any" },
    mismatch: zoneMismatch(selected.map((a) => a.metadata.name)),
  };
}

/** Why a record cannot be restricted to agents that name no Kasm agent (shared by validate and plan). */
export const unnamedMismatch = (agents: readonly string[]) =>
  `Agent(s) ${agents.join(", ")} name no Kasm agent Kasm has (spec.kasm.server), so the record cannot be restricted to them`;

/** Why a record cannot be restricted to a selector's agents (shared by validate and plan). */
export const zoneMismatch = (agents: readonly string[]) =>
  `its agents (${agents.join(", ") || "none"}) are not all the agents of one Kasm zone, nor one agent`;

/** The `kasm-placement` warning's text, the same in `validate` and `plan`. */
export const placementWarningText = (workspace: string, mismatch: string) =>
  `workspace "${workspace}": ${mismatch}, so its record is not restricted and Kasm may launch it on any agent holding the image (write kasm.placement: any to accept that quietly)`;

/** The Kasm agents that may launch a record placed so: the ones the switch must wait for. */
export function launchSet(placement: Placement, servers: readonly KasmServerReport[]): KasmServerReport[] {
  return servers.filter(
    (s) =>
      launches(s) &&
      (placement.kind === "any" ||
        (placement.kind === "zone" && s.zoneId === placement.zoneId) ||
        (placement.kind === "server" && s.serverId === placement.serverId)),
  );
}

/** The Agents whose Kasm agent or zone Kasm does not have, each with why. */
export function unmatchedAgents(
  agents: readonly AgentManifest[],
  observed: { servers: readonly KasmServerReport[]; zones: readonly KasmZone[] },
): { agent: string; message: string }[] {
  const problems: { agent: string; message: string }[] = [];
  for (const agent of agents) {
    const kasm = agent.spec.kasm;
    if (!kasm) continue;
    const name = agent.metadata.name;
    const server = serverOf(agent, observed.servers);
    if (kasm.server && !server)
      problems.push({
        agent: name,
        message: `Agent "${name}" names Kasm agent "${kasm.server}", which Kasm does not list (get_servers): check its hostname or server_id`,
      });
    if (kasm.zone && !observed.zones.some((z) => z.zoneName === kasm.zone))
      problems.push({
        agent: name,
        message: `Agent "${name}" names Kasm zone "${kasm.zone}", which Kasm does not have`,
      });
    else if (kasm.zone && server && server.zoneName !== kasm.zone)
      problems.push({
        agent: name,
        message: `Agent "${name}" says zone "${kasm.zone}" but Kasm has its agent ${server.hostname} in zone "${server.zoneName ?? "(none)"}"`,
      });
  }
  return problems;
}
