import { type KasmObservation, managedBy } from "../core/kasm/types.js";
import type { ManifestSet } from "../core/manifest/types.js";
import type { AgentObservation } from "../core/plan/plan.js";
import type { BlockedKasm, Plan, UnknownCause } from "../core/plan/types.js";
import { actionFields } from "./cycle-log.js";
import type { ActionResult } from "./executor.js";
import { countsAsFailure } from "./remove-images.js";
import type { AgentStatus } from "./status.js";

/** One action that did not succeed, as `/status` lists it: what, where, and the error. */
export type FailedAction = {
  type: string;
  agent?: string;
  workspace?: string;
  image?: string;
  error: string;
};

/** The failed (or held) actions of a cycle; a removal kept because it was in use is not one. */
export function failedActions(results: readonly ActionResult[]): FailedAction[] {
  return results.filter(countsAsFailure).map((r) => {
    const { agent, workspace, image } = actionFields(r.action);
    return {
      type: r.action.type,
      ...(agent ? { agent } : {}),
      ...(workspace ? { workspace } : {}),
      ...(image ? { image } : {}),
      error: r.error?.message ?? r.status,
    };
  });
}

/** `pull reg/app:v1 on a1 failed: …`: one sentence naming the action, so nobody has to grep the log. */
export function describeFailed(f: FailedAction): string {
  const what = [f.type, f.image ?? f.workspace, f.agent ? `on ${f.agent}` : ""].filter(Boolean).join(" ");
  return `${what} failed: ${f.error}`;
}

/** The failed actions in one line for `lastError.message`: the first five spelled out, then how many more. */
export function failedSummary(failed: readonly FailedAction[]): string {
  if (failed.length === 0) return "";
  const shown = failed.slice(0, 5).map(describeFailed);
  const more = failed.length > 5 ? `; and ${failed.length - 5} more (see lastError.failed)` : "";
  return `${failed.length} action(s) failed: ${shown.join("; ")}${more}`;
}

/** Why a cycle leaves the fleet degraded: what was refused, failed, blocked or not checked. Empty = converged. */
export function degradedReasons(p: {
  refused?: string;
  failed: readonly FailedAction[];
  unknown: readonly UnknownCause[];
  /** Promotions held at a digest nobody tested (convergence.ts). */
  blocked?: readonly string[];
  /** `--agent` names the revision in force does not define. */
  missingAgents?: string;
}): string[] {
  const reasons: string[] = [];
  if (p.refused) reasons.push(p.refused);
  if (p.missingAgents) reasons.push(p.missingAgents);
  for (const f of p.failed) reasons.push(describeFailed(f));
  reasons.push(...(p.blocked ?? []));
  for (const u of p.unknown) {
    const what =
      u.kind === "agent" && u.reason === "agent-unreachable"
        ? `agent ${u.name} unreachable`
        : `${u.kind} ${u.name}: ${u.reason}`;
    reasons.push(`${what}: ${u.message}`);
  }
  return reasons;
}

/**
 * Each observed agent as `/status` shows it after planning: converged when nothing is pending there and
 * the plan could read it whole (an agent whose containers pruning needed could not be listed is not).
 */
export function agentStatuses(
  observations: readonly AgentObservation[],
  plan: Plan,
): Record<string, AgentStatus> {
  const unread = new Set(plan.unknown.filter((u) => u.kind === "agent").map((u) => u.name));
  const agents: Record<string, AgentStatus> = {};
  for (const o of observations) {
    const pending = plan.actions.filter((a) => a.type === "pull" && a.agent === o.agent).length;
    agents[o.agent] = o.reachable
      ? {
          reachable: true,
          converged: pending === 0 && !unread.has(o.agent),
          pending,
          ...(o.imageBytes !== undefined ? { imageBytes: o.imageBytes } : {}),
        }
      : { reachable: false, converged: false, pending: 0, error: o.error };
  }
  return agents;
}

/** The records' state for `/status`: managed, drifted, and changes held or waiting for Kasm. */
export function kasmSummary(set: ManifestSet, plan: Plan, observed: KasmObservation | undefined) {
  if (!plan.kasm) return undefined;
  const names = new Set(set.workspaces.map((w) => w.metadata.name));
  const managed = observed?.reachable
    ? observed.records.filter((r) => names.has(managedBy(r.notes) ?? "")).length
    : 0;
  const drift = plan.actions.filter((a) => a.type === "kasm-update" && a.reason === "drift").length;
  const heldKasm = plan.blocked.filter((b): b is BlockedKasm => b.type.startsWith("kasm-"));
  const pending = heldKasm.length;
  const held = heldKasm.map((b) => ({ workspace: b.workspace, reason: b.reason, message: b.message }));
  const kept = plan.warnings
    .filter((w) => w.code === "kasm-field-kept")
    .map((w) => ({ workspace: w.workspace ?? "", message: w.message }));
  return {
    url: plan.kasm.url,
    reachable: observed?.reachable ?? false,
    managed,
    drift,
    pending,
    ...(held.length > 0 ? { held } : {}),
    ...(kept.length > 0 ? { kept } : {}),
    ...(plan.kasm.agents ? { agents: plan.kasm.agents } : {}),
  };
}
