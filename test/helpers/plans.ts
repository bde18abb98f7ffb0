import type { Plan } from "../../src/core/plan/types.js";

/** A plan with nothing in it but `p`, its unknown count and incompleteness following `p.unknown`. */
export function planOf(p: Partial<Plan> = {}): Plan {
  const unknown = p.unknown ?? [];
  return {
    version: 1,
    revision: "r",
    branch: "main",
    actions: [],
    blocked: [],
    warnings: [],
    unknown,
    summary: { pull: 0, promote: 0, blocked: 0, unknown: unknown.length, incomplete: unknown.length > 0 },
    ...p,
  };
}
