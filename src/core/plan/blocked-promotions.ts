import type { ManifestSet } from "../manifest/types.js";
import type { BlockedPromotion, Plan } from "./types.js";

/** The workspaces of a revision, as far as promotions need them: which one tests which. */
export type PromotionSources = Pick<ManifestSet, "workspaces">;

/**
 * A promotion blocked as not verified (or with no smoke test yet) whose target digest this plan pulls for, or
 * smoke-tests in, its `promotion.from` workspace: carrying out the plan tests it, and the next run promotes
 * it. Known and on its way, so it does not keep a fleet from converging. (The promoted workspace's own pull
 * of that digest tests nothing.) A failed smoke test is never on its way.
 */
function testedByPlan(plan: Plan, blocked: BlockedPromotion, sources: PromotionSources): boolean {
  const from = sources.workspaces.find((w) => w.metadata.name === blocked.workspace)?.spec.promotion?.from;
  if (from === undefined || blocked.reason === "smoke-failed") return false;
  return plan.actions.some(
    (a) =>
      (a.type === "pull" &&
        a.image === blocked.source &&
        a.targetDigest === blocked.targetDigest &&
        a.workspaces.includes(from)) ||
      (a.type === "smoke" &&
        blocked.reason === "smoke-missing" &&
        a.workspace === from &&
        a.digest === blocked.targetDigest),
  );
}

/** The blocked promotions a plan leaves behind, split into waiting (on this plan) and blocking. */
export function blockedPromotions(
  plan: Plan,
  sources: PromotionSources,
): { blocking: BlockedPromotion[]; waiting: BlockedPromotion[] } {
  const blocking: BlockedPromotion[] = [];
  const waiting: BlockedPromotion[] = [];
  for (const b of plan.blocked) {
    // Off the promotion branch, promotions are never made by design: not a fault of the fleet.
    if (b.type !== "promote" || b.reason === "not-on-promotion-branch") continue;
    (testedByPlan(plan, b, sources) ? waiting : blocking).push(b);
  }
  return { blocking, waiting };
}

/** One sentence per blocking promotion: what is held, at which digest, and why. */
export function blockedReasons(plan: Plan, sources: PromotionSources): string[] {
  return blockedPromotions(plan, sources).blocking.map(
    (b) => `promotion blocked (workspace ${b.workspace}): ${b.message}`,
  );
}
