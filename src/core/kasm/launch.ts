/**
 * The Kasm side of where a record launches, for the planner: Kasm's agents read against Git's (warnings for
 * an Agent Kasm does not have), each record's placement fields, the Kasm agents its switch must wait for, and
 * the per-agent view of what Kasm sees (plan JSON and `/status`).
 */
import { type AgentManifest, compareText, type WorkspaceManifest } from "../manifest/types.js";
import { selects } from "../plan/desired.js";
import type { KasmAgentView, PlanWarning, UnknownCause } from "../plan/types.js";
import {
  type KasmServerReport,
  type KasmZone,
  launchSet,
  type Placement,
  placementFor,
  placementWarningText,
  type ReportedImages,
  reportedImages,
  sees,
  serverOf,
  unmatchedAgents,
} from "./agents.js";
import type { KasmObservation, KasmOptionalFields, KasmRecord } from "./types.js";

/** Kasm's agents as this plan knows them; undefined when they were not read (no Agent names one). */
export type LaunchContext = {
  servers: KasmServerReport[];
  zones: KasmZone[];
  reports: ReportedImages[];
};

/**
 * Kasm's agents for the plan. Unreadable while an Agent names its Kasm agent, they are an unknown cause: the
 * records' placement is then left as it is and the plan is incomplete.
 */
export function launchContext(
  observed: Extract<KasmObservation, { reachable: true }>,
  agents: readonly AgentManifest[],
  serverName: string,
  warnings: PlanWarning[],
  unknown: UnknownCause[],
  /** `--kasm-only`: Kasm's agents are what the switch is decided from, named by an Agent or not. */
  always = false,
): LaunchContext | undefined {
  const read = observed.agents;
  if (!read || !(always || agents.some((a) => a.spec.kasm))) return undefined;
  if ("error" in read) {
    unknown.push({
      kind: "kasm",
      name: serverName,
      reason: "kasm-agents-unreadable",
      message: `Kasm's agents and zones could not be read, so no record's placement is changed and its switch cannot count Kasm's agents: ${read.error} (the API key needs to view agents and zones)`,
    });
    return undefined;
  }
  for (const problem of unmatchedAgents(agents, read))
    warnings.push({ code: "kasm-agent-unknown", agent: problem.agent, message: problem.message });
  return { servers: read.servers, zones: read.zones, reports: reportedImages(read.servers, read.readAt) };
}

/** Where the record Kasm holds is restricted to now. */
function currentPlacement(record: KasmRecord | undefined): Placement {
  if (record?.restrictToServer && record.serverId)
    return { kind: "server", serverId: record.serverId, hostname: record.serverId };
  if (record?.restrictToZone && record.zoneId)
    return { kind: "zone", zoneId: record.zoneId, zoneName: record.zoneId };
  return { kind: "any" };
}

/**
 * A workspace's placement: the record fields Git owns for it (none with `placement: any`, or when Kasm's
 * agents are unknown) and the Kasm agents that may launch it once written. A selector that matches no zone's
 * agents is a `kasm-placement` warning (quiet with `placement: any`) and the record is left unrestricted.
 */
export function placeRecord(
  w: WorkspaceManifest,
  agents: readonly AgentManifest[],
  ctx: LaunchContext | undefined,
  record: KasmRecord | undefined,
  warnings: PlanWarning[],
): { fields: Partial<KasmOptionalFields>; launch?: KasmServerReport[] } {
  if (!ctx) return { fields: {} };
  const any = w.spec.kasm?.placement === "any";
  const found = any ? undefined : placementFor(w, agents, ctx, currentPlacement(record).kind);
  if (!found) return { fields: {}, launch: launchSet(currentPlacement(record), ctx.servers) };
  if (found.mismatch)
    warnings.push({
      code: "kasm-placement",
      workspace: w.metadata.name,
      message: placementWarningText(w.metadata.name, found.mismatch),
    });
  const p = found.placement;
  const fields: Partial<KasmOptionalFields> =
    p.kind === "zone"
      ? { restrictToZone: true, zoneId: p.zoneId, restrictToServer: false }
      : p.kind === "server"
        ? { restrictToServer: true, serverId: p.serverId, restrictToZone: false }
        : { restrictToZone: false, restrictToServer: false };
  return { fields, launch: launchSet(p, ctx.servers) };
}

/**
 * The Agents a switch must also wait for (Kasm may launch the record there though the selector leaves them
 * out), and the Kasm agents that may launch it that no Agent in Git names: nothing is known to hold the
 * image there, so the switch is held.
 */
export function launchAgents(
  launch: readonly KasmServerReport[],
  agents: readonly AgentManifest[],
  servers: readonly KasmServerReport[],
): { agents: AgentManifest[]; strangers: string[] } {
  const found: AgentManifest[] = [];
  const strangers: string[] = [];
  for (const server of launch) {
    const agent = agents.find((a) => serverOf(a, servers)?.serverId === server.serverId);
    if (agent) found.push(agent);
    else strangers.push(server.hostname);
  }
  return { agents: found, strangers: strangers.sort(compareText) };
}

/** Per Agent naming a Kasm agent: whether Kasm sees the images Git wants there. */
export function agentViews(
  workspaces: readonly WorkspaceManifest[],
  agents: readonly AgentManifest[],
  ctx: LaunchContext,
): KasmAgentView[] {
  return agents
    .filter((a) => a.spec.kasm)
    .map((agent) => {
      const server = serverOf(agent, ctx.servers);
      const report = server ? ctx.reports.find((r) => r.serverId === server.serverId) : undefined;
      const wanted = [
        ...new Set(
          workspaces.filter((w) => w.spec.enabled !== false && selects(w, agent)).map((w) => w.spec.image),
        ),
      ].sort(compareText);
      const seen = report ? wanted.filter((image) => sees(report, image)) : [];
      return {
        agent: agent.metadata.name,
        ...(server ? { server: server.hostname, ...(server.zoneName ? { zone: server.zoneName } : {}) } : {}),
        ...(report ? { reportAgeMs: report.reportAgeMs } : {}),
        seen,
        unseen: wanted.filter((image) => !seen.includes(image)),
      };
    })
    .sort((a, b) => compareText(a.agent, b.agent));
}
