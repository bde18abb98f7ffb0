/**
 * People stay in charge: a candidate is held back when a person undid that tag (or a newer one), when its
 * digest already failed this Workspace's smoke test, or when the Workspace's updates are suspended. Pure.
 */
import { resultKey, type SmokeState } from "../kasm/smoke.js";
import type { ManifestSet } from "../manifest/types.js";
import { shortDigest } from "../plan/promotion.js";
import { UPDATE_SKIPPED, type UpdateFinding } from "./finding.js";
import type { AutomationHistory } from "./history.js";
import { compilePolicy } from "./policy.js";

/** Turns each candidate that must not be proposed into a `skipped` finding saying why; the rest pass as they are. */
export function screenFindings(
  findings: readonly UpdateFinding[],
  set: ManifestSet,
  history: AutomationHistory,
  smoke: SmokeState,
): UpdateFinding[] {
  const byName = new Map(set.workspaces.map((w) => [w.metadata.name, w]));
  return findings.map((f): UpdateFinding => {
    if (f.status !== "candidate") return f;
    const spec = byName.get(f.workspace)?.spec.update;
    if (!spec) return f;
    const { status: _, ...candidate } = f;
    if (spec.suspend) {
      const detail = "update.suspend is true: nothing is proposed until it is set back";
      return { ...candidate, status: "skipped", reason: UPDATE_SKIPPED.suspended, detail };
    }
    const undone = history.revertedUpdates.get(f.workspace);
    if (undone?.tag !== undefined) {
      const policy = compilePolicy(spec);
      const key = policy.keyOf(f.tag, true);
      const undoneKey = policy.keyOf(undone.tag, true);
      if (key !== undefined && undoneKey !== undefined && policy.compare(key, undoneKey) <= 0) {
        const detail = `a person undid the automated update to ${undone.tag} (${undone.commit.slice(0, 12)}): waits for a tag newer than ${undone.tag}`;
        return { ...candidate, status: "skipped", reason: UPDATE_SKIPPED.reverted, detail };
      }
    }
    // One result is kept per workspace and digest: the digest's verdict on this Workspace.
    const failed = smoke.results[resultKey(f.workspace, f.digest)];
    if (failed?.result === "fail") {
      const detail = `${shortDigest(f.digest)} failed its smoke test on ${f.workspace} at ${failed.finishedAt}: ${failed.message}`;
      return { ...candidate, status: "skipped", reason: UPDATE_SKIPPED.smokeFailed, detail };
    }
    return f;
  });
}
