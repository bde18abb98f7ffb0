/**
 * The fleet as the status page draws it: one cell per agent × workspace, the promotions and the Kasm
 * records, built from what a cycle planned (the plan, the observations, the desired state). Pure data.
 */
import { indexLocalImages } from "../image/local.js";
import { parseImageReference } from "../image/reference.js";
import { compareText, type ManifestSet } from "../manifest/types.js";
import { blockedPromotions } from "../plan/blocked-promotions.js";
import type { DesiredState } from "../plan/desired.js";
import { movingTagRefs } from "../plan/desired.js";
import type { AgentObservation } from "../plan/plan.js";
import type { Plan, UnknownCause } from "../plan/types.js";

/** What an agent holds of a workspace's image; a workspace not selected there has no cell at all. */
export type CellState = "held" | "pulling" | "pending" | "blocked" | "failed" | "unknown";

/** Bytes and layers a pull has fetched so far. */
export type CellProgress = { bytesDone: number; bytesTotal: number; layersDone: number; layersTotal: number };

export type FleetCell = {
  state: CellState;
  /** The canonical reference the state is about (the workspace image, or one of its moving tags). */
  image: string;
  /** The digest the agent holds (`held`), or the one a pull goes for. */
  digest?: string;
  progress?: CellProgress;
  /** Why: the error of a failed pull, the reason a check could not be made, what a pull waits for. */
  why?: string;
};

export type FleetWorkspace = { name: string; image: string; friendlyName?: string; enabled: boolean };
export type FleetAgent = { name: string; labels: Record<string, string>; enabled: boolean };

/** `done`: the moving tags point at the tested digest as of the last check. */
export type PromotionState = "done" | "pending" | "waiting" | "blocked" | "failed" | "unknown";
export type PromotionView = {
  workspace: string;
  from: string;
  movingTags: string[];
  state: PromotionState;
  digest?: string;
  message?: string;
};

/** A Kasm record of a Workspace in Git, as the last plan and its writes left it. */
export type KasmRecordState =
  | "in-sync"
  | "create"
  | "update"
  | "drift"
  | "created"
  | "updated"
  | "repaired"
  | "remove"
  | "removed"
  | "held"
  | "kept"
  | "failed"
  | "unknown";
export type KasmRecordView = { state: KasmRecordState; fields?: string[]; message?: string };

export type FleetView = {
  /** When the plan behind it was made. */
  at: string;
  revision: string;
  workspaces: FleetWorkspace[];
  agents: FleetAgent[];
  /** Agent → workspace → cell. */
  cells: Record<string, Record<string, FleetCell>>;
  promotions: PromotionView[];
  /** Workspace → record, present when the revision has a KasmServer and this reconciler syncs it. */
  kasmRecords?: Record<string, KasmRecordView>;
};

/** How bad a state is: a cell that combines several images shows its worst. */
export const CELL_SEVERITY: Record<CellState, number> = {
  held: 0,
  pending: 1,
  pulling: 2,
  blocked: 3,
  unknown: 4,
  failed: 5,
};

const key = (agent: string, image: string) => `${agent}\u0000${image}`;

/** The cells of one agent: every desired image, attributed to each workspace that wants it. */
function agentCells(
  agent: string,
  images: DesiredState["agents"][number]["images"],
  observation: AgentObservation | undefined,
  lookups: {
    pulls: Map<string, Plan["actions"][number]>;
    blocked: Map<string, string>;
    unknown: Map<string, UnknownCause>;
    /** Each workspace's own image, which names its cell when its moving tags say nothing worse. */
    own: Map<string, string>;
  },
): Record<string, FleetCell> {
  const cells: Record<string, FleetCell> = {};
  const index = observation?.reachable ? indexLocalImages(observation.images) : undefined;
  for (const desired of images) {
    const cell = imageCell(agent, desired.image, desired.ref, observation, index, lookups);
    for (const workspace of desired.workspaces) {
      const before = cells[workspace];
      if (!before || CELL_SEVERITY[cell.state] > CELL_SEVERITY[before.state]) cells[workspace] = cell;
      // The workspace's own image names the cell when nothing worse is said about its moving tags.
      else if (
        CELL_SEVERITY[cell.state] === CELL_SEVERITY[before.state] &&
        lookups.own.get(workspace) === desired.image
      )
        cells[workspace] = cell;
    }
  }
  return cells;
}

function imageCell(
  agent: string,
  image: string,
  ref: DesiredState["agents"][number]["images"][number]["ref"],
  observation: AgentObservation | undefined,
  index: ReturnType<typeof indexLocalImages> | undefined,
  lookups: Parameters<typeof agentCells>[3],
): FleetCell {
  if (!observation) return { state: "unknown", image, why: `agent ${agent} was not observed` };
  if (!observation.reachable) return { state: "unknown", image, why: observation.error };
  const pull = lookups.pulls.get(key(agent, image));
  if (pull?.type === "pull") {
    const why =
      pull.reason === "missing"
        ? "missing on the agent"
        : `outdated (holds ${pull.currentDigest ?? "another digest"})`;
    return { state: "pending", image, ...(pull.targetDigest ? { digest: pull.targetDigest } : {}), why };
  }
  const blocked = lookups.blocked.get(key(agent, image));
  if (blocked !== undefined) return { state: "blocked", image, why: blocked };
  const held = index?.digestsFor(ref)[0];
  const unknown = lookups.unknown.get(image);
  if (unknown) {
    return {
      state: "unknown",
      image,
      ...(held ? { digest: held } : {}),
      why: `${unknown.reason}: ${unknown.message}`,
    };
  }
  return { state: "held", image, ...(held ? { digest: held } : {}) };
}

/** Each promoted workspace: carried out, planned, waiting for this plan's pulls, blocked, or unchecked. */
export function promotionViews(set: Pick<ManifestSet, "workspaces">, plan: Plan): PromotionView[] {
  const { waiting } = blockedPromotions(plan, set);
  const views: PromotionView[] = [];
  for (const w of [...set.workspaces].sort((a, b) => compareText(a.metadata.name, b.metadata.name))) {
    const promotion = w.spec.promotion;
    if (!promotion) continue;
    const name = w.metadata.name;
    const base = { workspace: name, from: promotion.from, movingTags: [...(promotion.movingTags ?? [])] };
    const tags = new Set(movingTagRefs(w).map((r) => r.canonical));
    const action = plan.actions.find((a) => a.type === "promote" && a.workspace === name);
    const blocked = plan.blocked.find((b) => b.type === "promote" && b.workspace === name);
    const unknown = plan.unknown.find((u) => u.image !== undefined && tags.has(u.image));
    if (action?.type === "promote") views.push({ ...base, state: "pending", digest: action.targetDigest });
    else if (blocked?.type === "promote") {
      const state = waiting.includes(blocked) ? "waiting" : "blocked";
      // Not-on-promotion-branch and untested digests alike are held; only a waiting one is on its way.
      views.push({ ...base, state, digest: blocked.targetDigest, message: blocked.message });
    } else if (unknown)
      views.push({ ...base, state: "unknown", message: `${unknown.reason}: ${unknown.message}` });
    else views.push({ ...base, state: "done" });
  }
  return views;
}

/** Each Workspace's Kasm record as the plan sees it: what it will change (with the fields), holds or keeps. */
export function kasmRecordViews(
  set: Pick<ManifestSet, "workspaces">,
  plan: Plan,
): Record<string, KasmRecordView> {
  const records: Record<string, KasmRecordView> = {};
  const unreadable = plan.unknown.find((u) => u.kind === "kasm");
  for (const w of set.workspaces) {
    records[w.metadata.name] = unreadable
      ? { state: "unknown", message: `${unreadable.reason}: ${unreadable.message}` }
      : { state: "in-sync" };
  }
  const set_ = (workspace: string, view: KasmRecordView) => {
    if (records[workspace]?.state === "in-sync" || !records[workspace]) records[workspace] = view;
  };
  for (const a of plan.actions) {
    if (a.type === "kasm-create") set_(a.workspace, { state: "create" });
    else if (a.type === "kasm-update")
      set_(a.workspace, {
        state: a.reason === "drift" ? "drift" : "update",
        fields: a.changes.map((c) => c.field),
      });
    else if (a.type === "kasm-disable" || a.type === "kasm-delete")
      set_(a.workspace, { state: "remove", message: a.type });
    else if (a.type === "kasm-group-add" || a.type === "kasm-group-remove")
      set_(a.workspace, { state: "update", fields: [`group ${a.group}`] });
  }
  for (const b of plan.blocked) {
    if (b.type === "kasm-create" || b.type === "kasm-update" || b.type === "kasm-group-add")
      set_(b.workspace, { state: "held", message: b.message });
  }
  for (const warning of plan.warnings) {
    if (warning.code === "kasm-field-kept" && warning.workspace)
      set_(warning.workspace, { state: "kept", message: warning.message });
  }
  return records;
}

/** The view of one planned cycle; agents the reconciler does not manage (`--agent`) are left out. */
export function fleetView(p: {
  set: ManifestSet;
  desired: DesiredState;
  plan: Plan;
  observations: readonly AgentObservation[];
  at: Date;
}): FleetView {
  const { set, desired, plan } = p;
  const pulls = new Map<string, Plan["actions"][number]>();
  for (const a of plan.actions) if (a.type === "pull") pulls.set(key(a.agent, a.image), a);
  const blocked = new Map<string, string>();
  for (const b of plan.blocked) if (b.type === "pull") blocked.set(key(b.agent, b.image), b.message);
  const unknown = new Map<string, UnknownCause>();
  for (const u of plan.unknown) if (u.image !== undefined && !unknown.has(u.image)) unknown.set(u.image, u);
  const observed = new Map(p.observations.map((o) => [o.agent, o]));
  const manifests = new Map(set.agents.map((a) => [a.metadata.name, a]));
  const workspaces = [...set.workspaces]
    .sort((a, b) => compareText(a.metadata.name, b.metadata.name))
    .map((w) => ({
      name: w.metadata.name,
      image: parseImageReference(w.spec.image).canonical,
      ...(w.spec.friendlyName !== undefined ? { friendlyName: w.spec.friendlyName } : {}),
      enabled: w.spec.enabled !== false,
    }));
  const own = new Map(workspaces.map((w) => [w.name, w.image]));
  const cells: FleetView["cells"] = {};
  const agents: FleetAgent[] = [];
  for (const d of desired.agents) {
    const labels = { ...(manifests.get(d.agent)?.metadata.labels ?? {}) };
    agents.push({ name: d.agent, labels, enabled: d.enabled });
    cells[d.agent] = d.enabled
      ? agentCells(d.agent, d.images, observed.get(d.agent), { pulls, blocked, unknown, own })
      : {};
  }
  return {
    at: p.at.toISOString(),
    revision: plan.revision,
    workspaces,
    agents,
    cells,
    promotions: promotionViews(set, plan),
    ...(plan.kasm ? { kasmRecords: kasmRecordViews(set, plan) } : {}),
  };
}
