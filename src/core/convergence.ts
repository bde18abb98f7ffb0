import type { BlockedPromotion, Plan } from "./plan-types.js";

/**
 * A promotion blocked as not verified whose target digest this plan pulls onto an agent: carrying out the
 * plan tests it, and the next run promotes it. Known and on its way, so it does not keep a fleet from converging.
 */
function testedByPlan(plan: Plan, blocked: BlockedPromotion): boolean {
  return plan.actions.some(
    (a) => a.type === "pull" && a.image === blocked.source && a.targetDigest === blocked.targetDigest,
  );
}

/** The blocked promotions a plan leaves behind, split into waiting (on this plan) and blocking. */
export function blockedPromotions(plan: Plan): { blocking: BlockedPromotion[]; waiting: BlockedPromotion[] } {
  const blocking: BlockedPromotion[] = [];
  const waiting: BlockedPromotion[] = [];
  for (const b of plan.blocked) {
    // Off the promotion branch, promotions are never made by design: not a fault of the fleet.
    if (b.type !== "promote" || b.reason !== "not-verified") continue;
    (testedByPlan(plan, b) ? waiting : blocking).push(b);
  }
  return { blocking, waiting };
}

/** One sentence per blocking promotion: what is held, at which digest, and why. */
export function blockedReasons(plan: Plan): string[] {
  return blockedPromotions(plan).blocking.map(
    (b) => `promotion blocked (workspace ${b.workspace}): ${b.message}`,
  );
}
