/**
 * Auto-promotion, the pure parts: when a Workspace with `promotion.auto` is due to be promoted (its
 * `promotion.from` passed a smoke test of the digest it runs under its current manifest, and that digest was
 * not proposed before), and how the commit says so.
 */
import {
  type PromotionRecord,
  promotionCommitMessage,
  promotionTarget,
} from "../authoring/promote-target.js";
import { type SmokeResult, type SmokeState, specFingerprint } from "../kasm/smoke.js";
import { compareText, type ManifestSet, type WorkspaceManifest } from "../manifest/types.js";
import { type AutomationHistory, EMPTY_HISTORY } from "./history.js";
import { AUTOMATION_TRAILER } from "./message.js";

/** Why a Workspace with `promotion.auto` is not promoted now. */
export const AUTO_WAITING = {
  smokeMissing: "smoke-missing",
  smokeFailed: "smoke-failed",
  proposed: "already-proposed",
  reverted: "reverted",
  upToDate: "up-to-date",
} as const;
export type AutoWaitingReason = (typeof AUTO_WAITING)[keyof typeof AUTO_WAITING];

/** `current`: the Workspace's image as Git has it in the revision decided on. */
export type AutoPromotionDecision = { workspace: string; from: string; current: string } & (
  | { status: "due"; digest: string; image: string }
  | { status: "waiting"; reason: AutoWaitingReason; digest?: string; commit?: string }
);

/** The key a proposed auto-promotion is remembered under: one proposal per Workspace and digest, ever. */
export const autoPromotionKey = (workspace: string, digest: string) => `${workspace}@${digest}`;

/** Where an auto-promotion goes in `auto: branch`: one branch per Workspace and tag, for one merge request. */
export const promoteBranch = (workspace: string, version: string) =>
  `kasm-gitops/promote/${workspace}/${version.replace(/^sha256:/, "sha256-")}`;

/**
 * The newest smoke result of `from` taken under its manifest as it is now: an older one tested another
 * image (or settings), so it says nothing of what `from` runs today.
 */
function currentResult(from: WorkspaceManifest, smoke: SmokeState): SmokeResult | undefined {
  const spec = specFingerprint(from);
  return Object.values(smoke.results)
    .filter((r) => r.workspace === from.metadata.name && r.spec === spec)
    .sort((a, b) => compareText(b.finishedAt, a.finishedAt))[0];
}

/**
 * Each enabled Workspace with `promotion.auto`, and whether its promotion is due. Due needs a passed smoke
 * test of what `from` runs now, a digest not proposed before (`proposed`, by autoPromotionKey, nor by an
 * automated promotion in the branch's `history`; `reverted` when a person undid that one), and an image
 * that differs from the one in Git. The pull on the testing ring and the registry's digest are checked after,
 * by the promote command's own checks.
 */
export function autoPromotionsDue(
  set: ManifestSet,
  smoke: SmokeState,
  proposed: ReadonlySet<string>,
  history: AutomationHistory = EMPTY_HISTORY,
): AutoPromotionDecision[] {
  const byName = new Map(set.workspaces.map((w) => [w.metadata.name, w]));
  const decisions: AutoPromotionDecision[] = [];
  const auto = set.workspaces
    .filter((w) => w.spec.promotion?.auto && w.spec.enabled !== false)
    .sort((a, b) => compareText(a.metadata.name, b.metadata.name));
  for (const w of auto) {
    const name = w.metadata.name;
    const from = byName.get(w.spec.promotion!.from);
    if (!from) continue; // validate refuses it; nothing to promote from
    const base = { workspace: name, from: from.metadata.name, current: w.spec.image };
    const result = currentResult(from, smoke);
    if (!result) {
      decisions.push({ ...base, status: "waiting", reason: AUTO_WAITING.smokeMissing });
      continue;
    }
    const digest = result.digest;
    if (result.result !== "pass") {
      decisions.push({ ...base, status: "waiting", reason: AUTO_WAITING.smokeFailed, digest });
      continue;
    }
    // Production already runs it (most often: its own auto-promotion landed): up to date, not "proposed before".
    const target = promotionTarget(set, name);
    if (target.upToDate) {
      decisions.push({ ...base, status: "waiting", reason: AUTO_WAITING.upToDate, digest });
      continue;
    }
    const undone = history.revertedPromotions.get(name);
    if (undone?.digest === digest) {
      const reason = AUTO_WAITING.reverted;
      decisions.push({ ...base, status: "waiting", reason, digest, commit: undone.commit });
      continue;
    }
    if (proposed.has(autoPromotionKey(name, digest)) || history.promotedDigests.get(name)?.has(digest)) {
      decisions.push({ ...base, status: "waiting", reason: AUTO_WAITING.proposed, digest });
      continue;
    }
    decisions.push({ ...base, status: "due", digest, image: target.image });
  }
  return decisions;
}

/** The commit `promote` would write, as one message, with the trailer that marks it automated. */
export function autoPromotionMessage(record: PromotionRecord): string {
  const { subject, body } = promotionCommitMessage(record);
  return `${subject}\n\n${body}\n\n${AUTOMATION_TRAILER}: promote`;
}
