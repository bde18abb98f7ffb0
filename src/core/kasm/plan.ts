/**
 * The Kasm part of a plan: Workspace records and their groups from Git. Pure: manifests, what Kasm and
 * the agents hold, and the pulls already planned in; `kasm-*` actions, blocked switches and warnings out.
 * Its parts: which record is whose (record-match.ts), when a record may switch images (switch-gate.ts),
 * and a record's groups (group-plan.ts).
 */

import { parseImageReference } from "../image/reference.js";
import { compareText } from "../manifest/types.js";
import type { BlockedKasm, KasmAction, PlanWarning, UnknownCause } from "../plan/types.js";
import { desiredRecord, fieldsHash, type KasmChange, recordChanges } from "./desired.js";
import { indexGroups, planGroups } from "./group-plan.js";
import { agentViews, type LaunchContext, launchContext, placeRecord } from "./launch.js";
import type { KasmPlan, KasmPlanInput } from "./plan-input.js";
import { indexRecords, pick, planLeftovers, unreadableByOwner, unreadableCause } from "./record-match.js";
import type { AwaitReports } from "./report-wait.js";
import { pinFor, plannedPulls, SWITCH_FIELDS, type SwitchCase, switchGate } from "./switch-gate.js";
import { KASM_UI_FIELD } from "./types.js";

export { AUTO_JOIN_GROUP } from "./group-plan.js";
export type { KasmPlan, KasmPlanInput, KasmServerConfig } from "./plan-input.js";

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
  const pulls = plannedPulls(input.planned);
  const { byId, marked, unmarkedByImage } = indexRecords(observed.records);
  const groups = indexGroups(observed.groups, observed.memberships, input.groupsRead);

  const push = (action: KasmAction) => actions.push(action) - 1 + offset;
  const workspaces = [...input.workspaces].sort((a, b) => compareText(a.metadata.name, b.metadata.name));
  const names = new Set(workspaces.map((w) => w.metadata.name));

  for (const w of workspaces) {
    const desired = desiredRecord(w, input.server.pulls, input.registries);
    const own =
      unreadable.owned.get(desired.workspace) ??
      (desired.imageId ? unreadable.byId.get(desired.imageId) : undefined);
    if (own) {
      unknown.push(unreadableCause(serverName, desired.workspace, own.problem));
      continue;
    }
    const found = pick(desired, marked.get(desired.workspace) ?? [], byId, warnings);
    if (found === "conflict") continue;
    const placed = placeRecord(w, input.agents, ctx, found?.record, warnings);
    const pin = w.spec.kasm?.pinDigest ? pinFor(w, input) : undefined;
    const pinned = pin && "hash" in pin ? { hash: pin.hash } : {};
    // Placement and the pinned digest follow Kasm's agents and the registry; the drift check hashes the manifest.
    const wanted = { ...desired, fields: { ...desired.fields, ...placed.fields, ...pinned } };
    const sw: SwitchCase = {
      w,
      input,
      pulls,
      ctx,
      launch: placed.launch,
      pin,
      enabled: desired.fields.enabled,
      recordName: String(wanted.fields.name ?? w.spec.image),
    };
    const image = parseImageReference(w.spec.image).canonical;
    if (!found && unreadable.anonymous) {
      // A record whose owner cannot be read may be this workspace's: creating another would duplicate it.
      unknown.push(unreadableCause(serverName, desired.workspace, unreadable.anonymous.problem));
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
      const g = switchGate(sw, true, []);
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
      planGroups(groups, desired, undefined, create, push, blocked);
      continue;
    }
    const { record, adopt } = found;
    const applied = input.applied.get(desired.workspace);
    const diff = recordChanges(record, wanted, applied, adopt);
    for (const kept of diff.kept) warnings.push(keptWarning(desired.workspace, record.imageId, kept));
    let changes = diff.changes;
    const g = switchGate(sw, false, changes);
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
    planGroups(groups, desired, record.imageId, undefined, push, blocked);
  }

  planLeftovers({ names, removed: input.server.removed, serverName, unreadable, marked }, push, unknown);
  const agents = ctx ? agentViews(workspaces, input.agents, ctx) : undefined;
  return { actions, blocked, warnings, unknown, ...(agents ? { agents } : {}) };
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
