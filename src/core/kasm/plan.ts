/**
 * The Kasm part of a plan: Workspace records and their groups from Git. Pure: manifests, what Kasm and
 * the agents hold, and the pulls already planned in; `kasm-*` actions, blocked switches and warnings out.
 */

import type { LocalImageIndex } from "../image/local.js";
import { parseImageReference } from "../image/reference.js";
import { type AgentManifest, compareText, type WorkspaceManifest } from "../manifest/types.js";
import { selects } from "../plan/desired.js";
import type {
  BlockedKasm,
  KasmAction,
  KasmAgentView,
  KasmBlockedReason,
  KasmGroupAction,
  PlanWarning,
  PullAction,
  UnknownCause,
} from "../plan/types.js";
import { type KasmServerReport, serverOf } from "./agents.js";
import {
  type AppliedRecord,
  type DesiredRecord,
  desiredRecord,
  fieldsHash,
  type KasmChange,
  type RegistryAuthInfo,
  recordChanges,
} from "./desired.js";
import { agentViews, type LaunchContext, launchAgents, launchContext, placeRecord } from "./launch.js";
import { pinnedHash } from "./pin.js";
import { type AwaitReports, reportWait } from "./report-wait.js";
import { type ReportInput, reportGate } from "./reports.js";
import {
  KASM_UI_FIELD,
  type KasmObservation,
  type KasmPulls,
  type KasmRecord,
  type KasmRemoved,
  managedBy,
  type UnreadableRecord,
} from "./types.js";

/** `name`: the KasmServer manifest an unknown cause names (the URL when absent). */
export type KasmServerConfig = { name?: string; url: string; pulls: KasmPulls; removed: KasmRemoved };

export type KasmPlanInput = {
  server: KasmServerConfig;
  workspaces: readonly WorkspaceManifest[];
  agents: readonly AgentManifest[];
  /** Local images of every agent that answered this cycle. */
  indexes: ReadonlyMap<string, LocalImageIndex>;
  observed: KasmObservation;
  /** Group ids whose memberships were read; a pair in another group is never removed. */
  groupsRead?: readonly string[];
  registries: ReadonlyMap<string, RegistryAuthInfo>;
  applied: ReadonlyMap<string, AppliedRecord>;
  /** The plan's actions so far: `after` links point at its pulls. */
  planned: readonly { type: string }[];
  /** The digest each tag (canonical) has this cycle, as the registry named it or a promotion moves it to. */
  expected?: ReadonlyMap<string, string>;
  /**
   * `--kasm-only`: no agent is observed; each switch waits for Kasm's own reports of every agent that may
   * launch the record (the image's tag at the digest the registry gives, reported within the bound).
   */
  reports?: ReportInput;
};

export type KasmPlan = {
  actions: KasmAction[];
  blocked: BlockedKasm[];
  warnings: PlanWarning[];
  /** A Kasm read that failed: a `kasm` cause, which makes the whole plan incomplete. */
  unknown: UnknownCause[];
  /** Per Agent naming its Kasm agent: the images Git wants there that Kasm sees, and those it does not. */
  agents?: KasmAgentView[];
};

/** The group Kasm may put a new record in on its own. */
export const AUTO_JOIN_GROUP = "All Users";

type Gate =
  | { after: number[]; awaitReports?: AwaitReports }
  | { blocked: { agents: string[]; message: string }; reason?: KasmBlockedReason };

/** The fields whose change points users at another image: written only once the agents hold it. */
const SWITCH_FIELDS: ReadonlySet<string> = new Set(["name", "hash"]);

const pullKey = (agent: string, image: string) => `${agent}\u0000${image}`;

/**
 * Zero-downtime switch (`pulls: kasm-gitops`): the record may point at the image once every enabled,
 * reachable agent the workspace selects holds it, after the pulls of it this plan makes there (linked by
 * `after`, also when an older digest of the tag is there: users get the digest the registry names).
 * A pinned record (`digest`) needs that very digest there. With no such agent the switch is held too: an
 * unknown state is never taken for a good one.
 */
function gate(
  w: WorkspaceManifest,
  input: KasmPlanInput,
  pulls: ReadonlyMap<string, number>,
  launch?: { servers: readonly KasmServerReport[]; all: readonly KasmServerReport[] },
  digest?: string,
): Gate {
  const ref = parseImageReference(w.spec.image);
  const serving = input.agents.filter((a) => a.spec.enabled !== false && selects(w, a));
  if (launch) {
    // Kasm launches on every agent of the record's zone (or its server) holding the image, selected or not.
    const kasm = launchAgents(launch.servers, input.agents, launch.all);
    if (kasm.strangers.length > 0)
      return {
        blocked: {
          agents: kasm.strangers,
          message: `Kasm may launch workspace "${w.metadata.name}" on ${kasm.strangers.join(", ")}, which no Agent in Git names (spec.kasm.server), so nothing is known to hold ${ref.canonical} there; users keep the current image`,
        },
        reason: "kasm-agent-not-in-git",
      };
    for (const agent of kasm.agents)
      if (agent.spec.enabled !== false && !serving.includes(agent)) serving.push(agent);
  }
  const reachable = serving.filter((a) => input.indexes.has(a.metadata.name));
  if (reachable.length === 0) {
    const names = serving.map((a) => a.metadata.name);
    return {
      blocked: {
        agents: names,
        message: `no enabled, reachable agent serves workspace "${w.metadata.name}", so none is known to hold ${ref.canonical}`,
      },
    };
  }
  const after: number[] = [];
  const missing: string[] = [];
  for (const agent of reachable) {
    const name = agent.metadata.name;
    // A pull of the image planned there (missing, or its tag moved to a new digest) comes first.
    const pull = pulls.get(pullKey(name, ref.canonical));
    if (pull !== undefined) {
      after.push(pull);
      continue;
    }
    const index = input.indexes.get(name)!;
    const holds = ref.digest ? index.digestsFor(ref).length > 0 : index.taggedImage(ref) !== undefined;
    if (!holds || (digest !== undefined && !index.digestsFor(ref).includes(digest))) missing.push(name);
  }
  if (missing.length > 0) {
    return {
      blocked: {
        agents: missing,
        message: `${digest ? `${ref.canonical} at ${digest}` : ref.canonical} is not on ${missing.join(", ")} and no pull of it is planned there (a workspace without a registry is never pulled); users keep the current image`,
      },
    };
  }
  return { after };
}

/** Plans the records and group pairs of every Workspace, and what happens to managed records left behind. */
export function planKasm(input: KasmPlanInput): KasmPlan {
  const actions: KasmAction[] = [];
  const blocked: BlockedKasm[] = [];
  const warnings: PlanWarning[] = [];
  const observed = input.observed;
  if (!observed.reachable) {
    const reason = observed.reason ?? "kasm-unreachable";
    warnings.push({
      code: reason,
      message:
        reason === "kasm-config"
          ? `${observed.error}; Kasm at ${input.server.url} was not asked, its records wait until that is fixed`
          : `Kasm at ${input.server.url} could not be read, its records wait for the next cycle: ${observed.error}`,
    });
    const unknown: UnknownCause[] = [
      { kind: "kasm", name: input.server.name ?? input.server.url, reason, message: observed.error },
    ];
    return { actions, blocked, warnings, unknown };
  }
  const unknown: UnknownCause[] = [];
  const serverName = input.server.name ?? input.server.url;
  const ctx: LaunchContext | undefined = launchContext(
    observed,
    input.agents,
    serverName,
    warnings,
    unknown,
    input.reports !== undefined,
  );
  const unreadable = unreadableByOwner(observed.unreadable ?? [], warnings);
  const offset = input.planned.length;
  // The plan's pulls by agent and image, so each switch finds its pulls in constant time.
  const pulls = new Map<string, number>();
  input.planned.forEach((a, i) => {
    if (a.type === "pull") pulls.set(pullKey((a as PullAction).agent, (a as PullAction).image), i);
  });
  const byId = new Map(observed.records.map((r) => [r.imageId, r]));
  const marked = new Map<string, KasmRecord[]>();
  const unmarkedByImage = new Map<string, KasmRecord>();
  for (const record of [...observed.records].sort((a, b) => compareText(a.imageId, b.imageId))) {
    const owner = managedBy(record.notes);
    if (owner) marked.set(owner, [...(marked.get(owner) ?? []), record]);
    else if (!unmarkedByImage.has(record.name)) unmarkedByImage.set(record.name, record);
  }
  const groupsByName = new Map<string, string>();
  for (const g of observed.groups) if (!groupsByName.has(g.name)) groupsByName.set(g.name, g.groupId);
  const read = new Set(input.groupsRead ?? observed.groups.map((g) => g.groupId));
  const groupName = new Map(observed.groups.map((g) => [g.groupId, g.name]));
  const members = new Map<string, Set<string>>();
  for (const m of observed.memberships)
    members.set(m.imageId, (members.get(m.imageId) ?? new Set()).add(m.groupId));

  const push = (action: KasmAction) => actions.push(action) - 1 + offset;
  const workspaces = [...input.workspaces].sort((a, b) => compareText(a.metadata.name, b.metadata.name));
  const names = new Set(workspaces.map((w) => w.metadata.name));

  const unreadableCause = (workspace: string, problem: string): UnknownCause => ({
    kind: "kasm",
    name: serverName,
    reason: "kasm-record-unreadable",
    message: `the Kasm record of workspace "${workspace}" could not be read, so it is left as it is: ${problem}`,
  });
  for (const w of workspaces) {
    const desired = desiredRecord(w, input.server.pulls, input.registries);
    const own =
      unreadable.owned.get(desired.workspace) ??
      (desired.imageId ? unreadable.byId.get(desired.imageId) : undefined);
    if (own) {
      unknown.push(unreadableCause(desired.workspace, own.problem));
      continue;
    }
    const found = pick(desired, marked.get(desired.workspace) ?? [], byId, warnings);
    if (found === "conflict") continue;
    const placed = placeRecord(w, input.agents, ctx, found?.record, warnings);
    const pin = w.spec.kasm?.pinDigest ? pinFor(w, input) : undefined;
    const pinned = pin && "hash" in pin ? { hash: pin.hash } : {};
    // Placement and the pinned digest follow Kasm's agents and the registry; the drift check hashes the manifest.
    const wanted = { ...desired, fields: { ...desired.fields, ...placed.fields, ...pinned } };
    const switchGate = (creating: boolean, changes: KasmChange[]): Gate => {
      const switching = creating || changes.some((c) => SWITCH_FIELDS.has(c.field));
      if (switching && pin && "unknown" in pin)
        return {
          blocked: {
            agents: [],
            message: `workspace "${w.metadata.name}" pins its digest (kasm.pinDigest), but there is ${pin.unknown}, so its record is not switched; users keep the current image`,
          },
          reason: "digest-unknown",
        };
      if (!switching || input.server.pulls !== "kasm-gitops" || !desired.fields.enabled) return { after: [] };
      if (input.reports) {
        const name = (s: KasmServerReport) =>
          input.agents.find((a) => serverOf(a, ctx?.servers ?? [])?.serverId === s.serverId)?.metadata.name ??
          s.hostname;
        const verdict = reportGate(
          w.metadata.name,
          w.spec.image,
          placed.launch,
          ctx?.reports ?? [],
          input.reports,
          name,
        );
        return "ok" in verdict ? { after: [] } : verdict;
      }
      const pinnedDigest = pin && "digest" in pin ? pin.digest : undefined;
      const g = gate(
        w,
        input,
        pulls,
        placed.launch && ctx ? { servers: placed.launch, all: ctx.servers } : undefined,
        pinnedDigest,
      );
      // Kasm's agents in view: the switch also waits for their own reports of the image (report-wait.ts).
      if ("blocked" in g || !ctx) return g;
      // As Kasm checks: the record's name among the agent's tags, and its pinned digest (hash) when it has one.
      const wait = reportWait(String(wanted.fields.name ?? w.spec.image), placed.launch, pinnedDigest);
      return wait ? { ...g, awaitReports: wait } : g;
    };
    const image = parseImageReference(w.spec.image).canonical;
    if (!found && unreadable.anonymous) {
      // A record whose owner cannot be read may be this workspace's: creating another would duplicate it.
      unknown.push(unreadableCause(desired.workspace, unreadable.anonymous.problem));
      continue;
    }
    if (!found) {
      if (desired.imageId) {
        warnings.push({
          code: "kasm-record-conflict",
          workspace: desired.workspace,
          message: `kasm.imageId ${desired.imageId} of workspace "${desired.workspace}" is not in Kasm; a new record is created`,
        });
      }
      const unmanaged = unmarkedByImage.get(w.spec.image);
      if (unmanaged && !desired.imageId) {
        warnings.push({
          code: "kasm-record-conflict",
          workspace: desired.workspace,
          message: `an unmanaged Kasm record (${unmanaged.imageId}) already uses ${w.spec.image}; set kasm.imageId to adopt it instead of creating another`,
        });
      }
      const g = switchGate(true, []);
      if ("blocked" in g) {
        blocked.push({
          type: "kasm-create",
          workspace: desired.workspace,
          image,
          ...g.blocked,
          reason: g.reason ?? "image-not-on-agents",
        });
        continue;
      }
      const create = push({
        type: "kasm-create",
        workspace: desired.workspace,
        after: g.after,
        ...(g.awaitReports ? { awaitReports: g.awaitReports } : {}),
        record: wanted.fields,
        ...(desired.token ? { tokenFrom: desired.token.registry } : {}),
      });
      planGroups(desired, undefined, create);
      continue;
    }
    const { record, adopt } = found;
    const applied = input.applied.get(desired.workspace);
    const diff = recordChanges(record, wanted, applied, adopt);
    for (const kept of diff.kept) warnings.push(keptWarning(desired.workspace, record.imageId, kept));
    let changes = diff.changes;
    const g = switchGate(false, changes);
    let after: number[] = [];
    let awaitReports: AwaitReports | undefined;
    if ("blocked" in g) {
      blocked.push({
        type: "kasm-update",
        workspace: desired.workspace,
        image,
        ...g.blocked,
        reason: g.reason ?? "image-not-on-agents",
      });
      changes = changes.filter((c) => !SWITCH_FIELDS.has(c.field));
    } else ({ after, awaitReports } = g);
    if (changes.length > 0) {
      // Drift: Git and the credentials are what kasm-gitops last wrote, so Kasm was edited.
      const credentialsMoved = desired.token !== undefined && applied?.token !== desired.token.fingerprint;
      // A pinned digest unlike the one last written moved with the registry; like it, Kasm was edited.
      const digestMoved = changes.some((c) => c.field === "hash" && c.to !== applied?.hash);
      const drift = !adopt && !credentialsMoved && !digestMoved && applied?.fields === fieldsHash(desired);
      push({
        type: "kasm-update",
        workspace: desired.workspace,
        imageId: record.imageId,
        reason: drift ? "drift" : "changed",
        changes,
        after,
        // Only a switch waits for Kasm's reports; other changes are made at once.
        ...(awaitReports && changes.some((c) => SWITCH_FIELDS.has(c.field)) ? { awaitReports } : {}),
        ...(adopt ? { adopt: true as const } : {}),
        ...(changes.some((c) => c.field === "dockerToken") && desired.token
          ? { tokenFrom: desired.token.registry }
          : {}),
        // Adopted with the token Kasm holds: its fingerprint is Git's from now on.
        ...(diff.tokenKept && desired.token ? { keepsToken: desired.token.registry } : {}),
      });
    }
    planGroups(desired, record.imageId, undefined);
  }

  for (const [owner, record] of [...unreadable.owned].sort(([a], [b]) => compareText(a, b))) {
    if (names.has(owner) || input.server.removed === "keep") continue;
    unknown.push(unreadableCause(owner, record.problem));
  }
  for (const [owner, records] of [...marked].sort(([a], [b]) => compareText(a, b))) {
    if (names.has(owner) || input.server.removed === "keep") continue;
    for (const record of records) {
      if (input.server.removed === "delete")
        push({ type: "kasm-delete", workspace: owner, imageId: record.imageId });
      else if (record.enabled) push({ type: "kasm-disable", workspace: owner, imageId: record.imageId });
    }
  }
  const agents = ctx ? agentViews(workspaces, input.agents, ctx) : undefined;
  return { actions, blocked, warnings, unknown, ...(agents ? { agents } : {}) };

  /** Group pairs that differ; for a record being created, after its create (and out of the auto-joined group). */
  function planGroups(desired: DesiredRecord, imageId: string | undefined, create: number | undefined) {
    const wanted = new Set<string>();
    for (const group of desired.groups) {
      const id = groupsByName.get(group);
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
      [...ids].sort((a, b) => compareText(groupName.get(a)!, groupName.get(b)!));
    for (const id of sorted(wanted)) {
      if (!current.has(id))
        push({ type: "kasm-group-add", group: groupName.get(id)!, groupId: id, ...base } as KasmGroupAction);
    }
    const extra = new Set([...current].filter((id) => read.has(id) && !wanted.has(id) && groupName.has(id)));
    const auto = groupsByName.get(AUTO_JOIN_GROUP);
    if (create !== undefined && auto && !wanted.has(auto)) extra.add(auto);
    for (const id of sorted(extra)) {
      push({ type: "kasm-group-remove", group: groupName.get(id)!, groupId: id, ...base } as KasmGroupAction);
    }
  }
}

/** The hash a pinned workspace's record carries, from its image, the registry, or what its agents hold. */
function pinFor(w: WorkspaceManifest, input: KasmPlanInput) {
  const serving = input.agents.filter((a) => a.spec.enabled !== false && selects(w, a));
  return pinnedHash(parseImageReference(w.spec.image), input.expected, serving, input.indexes);
}

/** A difference Kasm will not let a write fix: said once per plan, with where a person fixes it. */
function keptWarning(workspace: string, imageId: string, kept: KasmChange): PlanWarning {
  const ui = KASM_UI_FIELD[kept.field as keyof typeof KASM_UI_FIELD];
  return {
    code: "kasm-field-kept",
    workspace,
    message: `Kasm record ${imageId} of workspace "${workspace}" keeps its ${kept.field} ${JSON.stringify(kept.from)}: Kasm ignores ${JSON.stringify(kept.to)} there on update, so kasm-gitops writes nothing for it; change it in Kasm's admin UI${ui ? ` (${ui})` : ""}, or write the value you want in the Workspace`,
  };
}

/**
 * Undecodable records by the workspace whose marker they carry, and the first whose notes could not be
 * read at all. One that is plainly unmanaged is only a warning: kasm-gitops never touches it.
 */
function unreadableByOwner(list: readonly UnreadableRecord[], warnings: PlanWarning[]) {
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
function pick(
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
