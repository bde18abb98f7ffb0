import type { UnknownCause } from "../core/plan-types.js";
import { actionFields } from "./cycle-log.js";
import type { ActionResult } from "./executor.js";
import { countsAsFailure } from "./remove-images.js";

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
