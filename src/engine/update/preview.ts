/**
 * The plan's preview of image automation: what `run` would propose next (each update policy's finding,
 * screened as the updater screens it, and each auto-promotion's decision), without writing anything.
 */
import { describeError } from "../../core/errors.js";
import type { ManifestSet } from "../../core/manifest/types.js";
import type { AutomationPreview } from "../../core/plan/types.js";
import type { AutoPromotionStore } from "../../ports.js";
import { type AutoPromoteDeps, decideAutoPromotions } from "./auto-promote.js";
import { branchHistory } from "./branch-history.js";
import { type RunUpdatesDeps, screenedFindings } from "./run-updates.js";

export type PreviewDeps = Omit<RunUpdatesDeps, "readManifests"> &
  Pick<AutoPromoteDeps, "smoke"> & { autoPromotions?: AutoPromotionStore };

/** Undefined when no Workspace has an update policy or `promotion.auto`; a failure is the preview's `error`. */
export async function previewAutomation(
  set: ManifestSet,
  deps: PreviewDeps,
  options: { branch: string; signal?: AbortSignal },
): Promise<AutomationPreview | undefined> {
  const enabled = set.workspaces.filter((w) => w.spec.enabled !== false);
  if (!enabled.some((w) => w.spec.update || w.spec.promotion?.auto)) return undefined;
  try {
    // One read of the branch's history, if either needs it.
    const history = branchHistory(set, deps.writer, options.branch, options.signal);
    const updates = await screenedFindings(set, deps, { ...options, history });
    const promotions = await decideAutoPromotions(set, deps, { ...options, history });
    return { updates, promotions };
  } catch (error) {
    return { updates: [], promotions: [], error: describeError(error) };
  }
}
