/**
 * A daemon cycle as plain data, and what it came to: its result, why the fleet is degraded, what to ask the
 * registry again. Pure, so the reporter (cycle-report.ts) only says it: status, metrics, logs, notifications.
 */
import type { KasmObservation } from "../core/kasm/types.js";
import type { ManifestSet } from "../core/manifest/types.js";
import { blockedPromotions, blockedReasons } from "../core/plan/blocked-promotions.js";
import type { DesiredState } from "../core/plan/desired.js";
import type { AgentObservation } from "../core/plan/plan.js";
import type { Plan, UnknownKind } from "../core/plan/types.js";
import type { CycleResult } from "../ports.js";
import {
  degradedReasons,
  type FailedAction,
  failedActions,
  failedSummary,
  kasmSummary,
} from "./cycle-health.js";
import type { ActionResult } from "./executor.js";
import type { RevisionOutcome } from "./revision-in-force.js";

/** A cycle's plan and what it was made from, reported before its actions run. */
export type PlannedReport = {
  id: string;
  set: ManifestSet;
  desired: DesiredState;
  plan: Plan;
  observations: AgentObservation[];
  /** Kasm as the plan saw it (absent without a KasmServer, or with --agent). */
  kasm?: KasmObservation;
  /** Which tags the plan re-checked. */
  refresh: "none" | "all" | string[];
};

/** A whole cycle, once it ended. */
export type CycleReport = {
  id: string;
  startedAt: Date;
  finishedAt: Date;
  revision?: RevisionOutcome;
  planned?: PlannedReport;
  /** Each action's outcome (empty when the plan had none). */
  results: ActionResult[];
  /** Agents' image bytes read again after this cycle's pulls or removals changed them. */
  imageBytes: Record<string, number>;
  /** The cycle itself failed (not an action): the error. */
  error?: string;
};

/** A planned cycle's standing reasons (held Kasm changes, absent --agent names) and its failed actions. */
export type CycleOutcome = ReturnType<typeof standing> & { failed: FailedAction[] };

/** `--agent` names the revision lacks: a reconciler that manages nothing must not look converged. */
export function missingAgents(set: ManifestSet, revision: string, onlyAgents: readonly string[] | undefined) {
  const known = set.agents.map((a) => a.metadata.name);
  const missing = (onlyAgents ?? []).filter((name) => !known.includes(name));
  if (missing.length === 0) return undefined;
  const message = `agent ${missing.join(", ")} (--agent / KASM_GITOPS_AGENT) is not defined in revision ${revision.slice(0, 12)} (agents: ${known.join(", ") || "none"}): nothing is reconciled there`;
  return { missing, known, message };
}

/** Held Kasm changes and --agent names the revision lacks: standing reasons, whatever the actions do. */
export function standing(p: PlannedReport, onlyAgents: readonly string[] | undefined) {
  const kasmSeen = kasmSummary(p.set, p.plan, p.kasm);
  const held = kasmSeen?.pending ?? 0;
  const absent = missingAgents(p.set, p.plan.revision, onlyAgents)?.message;
  return {
    kasmSeen,
    ...(held > 0 ? { kasm: heldReason(held, kasmSeen?.held ?? []) } : {}),
    ...(absent ? { missingAgents: absent } : {}),
  };
}

/** What a planned cycle came to besides its result; undefined when nothing was planned. */
export function cycleOutcome(
  planned: PlannedReport | undefined,
  results: readonly ActionResult[],
  onlyAgents: readonly string[] | undefined,
): CycleOutcome | undefined {
  return planned ? { ...standing(planned, onlyAgents), failed: failedActions(results) } : undefined;
}

/**
 * The cycle's result, as `/status` and the cycles metric give it: a refused tip first, then a revision
 * that could not be saved, then failed actions or held Kasm changes; the cycle's own error overrides all.
 * `inForce`: the revision in force (the tip's, or the last good one beside a refused tip) reconciled cleanly.
 */
export function cycleVerdict(report: CycleReport, outcome: CycleOutcome | undefined) {
  let result: CycleResult = "ok";
  let error: string | undefined;
  const refusal = report.revision?.refusal;
  if (refusal) {
    result = refusal.reason ?? "failed";
    error = refusal.error;
  }
  const unsaved = report.revision?.unsaved?.message;
  if (unsaved && result === "ok") {
    result = "failed";
    error = unsaved;
  }
  if (outcome && (outcome.failed.length > 0 || outcome.kasm) && result === "ok") {
    result = "failed";
    error = [failedSummary(outcome.failed), outcome.kasm ?? ""].filter(Boolean).join("; ");
  }
  if (report.error) {
    result = "failed";
    error = report.error;
  }
  const inForce =
    !report.error && outcome !== undefined && !unsaved && outcome.failed.length === 0 && !outcome.kasm;
  const failed = report.error ? [] : (outcome?.failed ?? []);
  return { result, error, inForce, failed };
}

/** Why the fleet is not converged (none: it is), and its unknowns, also counted by kind for the gauge. */
export function healthReasons(
  planned: PlannedReport | undefined,
  outcome: { failed: FailedAction[]; kasm?: string; missingAgents?: string } | undefined,
  refusal: string | undefined,
) {
  const unknown = planned?.plan.unknown ?? [];
  const reasons = degradedReasons({
    ...(refusal ? { refused: refusal } : {}),
    ...(!planned && !refusal ? { refused: "no valid revision to reconcile" } : {}),
    ...(outcome?.missingAgents ? { missingAgents: outcome.missingAgents } : {}),
    failed: planned ? (outcome?.failed ?? []) : [],
    blocked: planned ? blockedReasons(planned.plan, planned.set) : [],
    unknown,
  });
  // Held Kasm changes are known not to be converged (a Kasm read that failed is already in `unknown`).
  if (planned && outcome?.kasm) reasons.push(outcome.kasm);
  const byKind: Partial<Record<UnknownKind, number>> = {};
  for (const u of unknown) byKind[u.kind] = (byKind[u.kind] ?? 0) + 1;
  return { reasons, unknown, byKind };
}

/** `2 Kasm change(s) held (kasm-report-stale: chrome; image-not-on-agents: firefox)`: each reason named. */
function heldReason(count: number, held: readonly { workspace: string; reason: string }[]): string {
  const by = new Map<string, string[]>();
  for (const h of held) by.set(h.reason, [...(by.get(h.reason) ?? []), h.workspace]);
  const parts = [...by].map(([reason, workspaces]) => `${reason}: ${workspaces.join(", ")}`);
  return `${count} Kasm change(s) held${parts.length > 0 ? ` (${parts.join("; ")})` : ""}`;
}

/** The references to ask the registry about again next cycle, even when it does not refresh. */
export function recheckAfter(
  planned: PlannedReport | undefined,
  results: readonly ActionResult[],
): Set<string> {
  const recheck = new Set<string>();
  if (!planned) return recheck;
  const { plan, set } = planned;
  for (const u of plan.unknown) if (u.image) recheck.add(u.image);
  // An unverified promotion is asked again on the next cycle (a cycle without a refresh would not plan
  // it): one waiting for this cycle's pulls then goes ahead, and one still blocked stays a reason.
  const { waiting, blocking } = blockedPromotions(plan, set);
  for (const p of [...waiting, ...blocking]) recheck.add(p.source).add(p.image);
  // A failed pull or promotion is re-checked next cycle, even when that cycle does not refresh.
  for (const r of results) {
    if (r.status === "ok" || (r.action.type !== "pull" && r.action.type !== "promote")) continue;
    recheck.add(r.action.image);
    if (r.action.type === "promote") recheck.add(r.action.source);
  }
  return recheck;
}
