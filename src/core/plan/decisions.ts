import type { Plan } from "./types.js";

/** Blocked promotions listed one by one up to this; beyond it only counted, so a debug line stays a line. */
const MAX_LISTED = 20;

export type PlanDecisions = {
  pulls: Record<string, number>;
  pullsByAgent: Record<string, number>;
  promotions: number;
  blocked: { image: string; reason: string }[];
  blockedTotal: number;
  warnings: Record<string, number>;
};

const count = (table: Record<string, number>, key: string) => {
  table[key] = (table[key] ?? 0) + 1;
};

/** What the planner decided, in counts an operator reads in one debug line (no digests, no secrets). */
export function planDecisions(plan: Plan): PlanDecisions {
  const pulls: Record<string, number> = {};
  const pullsByAgent: Record<string, number> = {};
  let promotions = 0;
  for (const action of plan.actions) {
    if (action.type === "promote") promotions++;
    else if (action.type === "pull") {
      count(pulls, action.reason);
      count(pullsByAgent, action.agent);
    }
  }
  const warnings: Record<string, number> = {};
  for (const warning of plan.warnings) count(warnings, warning.code);
  return {
    pulls,
    pullsByAgent,
    promotions,
    blocked: plan.blocked
      .slice(0, MAX_LISTED)
      .map((b) => ({ image: "image" in b ? b.image : b.workspace, reason: b.reason })),
    blockedTotal: plan.blocked.length,
    warnings,
  };
}
