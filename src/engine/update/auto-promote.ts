/**
 * Auto-promotion (docs/automation.md): for each Workspace with `promotion.auto` whose `promotion.from` passed
 * a smoke test of the digest it runs, the promote command's checks (the registry's digest, a pull on the
 * testing ring, the smoke gate), then the commit `promote` would write, pushed as an update is for that mode.
 * Each digest is proposed once: the proposal is remembered in the state dir, whatever became of it.
 */
import { posix } from "node:path";
import { promotionTarget, versionOf } from "../../core/authoring/promote-target.js";
import { EMPTY_SMOKE_STATE } from "../../core/kasm/smoke.js";
import type { ManifestFile } from "../../core/manifest/load.js";
import type { SecretPolicy } from "../../core/manifest/secret-policy.js";
import type { ManifestSet } from "../../core/manifest/types.js";
import {
  type AutoPromotionDecision,
  autoPromotionKey,
  autoPromotionMessage,
  autoPromotionsDue,
  promoteBranch,
} from "../../core/update/auto-promotion.js";
import type { AutoPromotionStore, GitWriter } from "../../ports.js";
import {
  type ImageCommitResult,
  type WriteBackError,
  writeBack,
  writeBackError,
} from "../authoring/image-commit.js";
import { type PromoteDeps, verifyPromotion } from "../authoring/promote-check.js";
import { branchHistory, type HistoryReader } from "./branch-history.js";

export type AutoPromoteDeps = PromoteDeps & {
  writer: GitWriter;
  readManifests: (dir: string, root: string) => Promise<ManifestFile[]>;
  autoPromotions: AutoPromotionStore;
  secrets?: SecretPolicy;
};
export type AutoPromoteOptions = {
  branch: string;
  path: string;
  sign: boolean;
  signal?: AbortSignal;
  /** The Kasm syncer: verified by a passed smoke session in Kasm, not by engines or a ledger it lacks. */
  kasmOnly?: boolean;
};

/** A Workspace's decision, and what became of it when it was due. */
export type AutoPromotionOutcome = {
  decision: AutoPromotionDecision;
  result?: ImageCommitResult;
  /** The promote command's checks refused it (not-verified, smoke-*), or the write-back failed. */
  error?: WriteBackError;
};

/**
 * Each auto-promotion's decision: the smoke results, the proposals remembered in the state dir, and, when
 * something is due, the branch's automated commits (what people undid can only hold it back).
 */
export async function decideAutoPromotions(
  set: ManifestSet,
  deps: Pick<AutoPromoteDeps, "smoke" | "writer"> & { autoPromotions?: AutoPromotionStore },
  options: Pick<AutoPromoteOptions, "branch" | "signal"> & { history?: HistoryReader },
): Promise<AutoPromotionDecision[]> {
  const smoke = (await deps.smoke?.read()) ?? EMPTY_SMOKE_STATE;
  const proposed = new Set(Object.keys((await deps.autoPromotions?.read()) ?? {}));
  const decisions = autoPromotionsDue(set, smoke, proposed);
  if (!decisions.some((d) => d.status === "due")) return decisions;
  const history = options.history ?? branchHistory(set, deps.writer, options.branch, options.signal);
  return autoPromotionsDue(set, smoke, proposed, await history());
}

/** Decides, checks and writes back each due auto-promotion, one after another; one failure never stops the others. */
export async function runAutoPromotions(
  set: ManifestSet,
  deps: AutoPromoteDeps,
  options: AutoPromoteOptions,
): Promise<AutoPromotionOutcome[]> {
  if (!set.workspaces.some((w) => w.spec.promotion?.auto)) return [];
  const outcomes: AutoPromotionOutcome[] = [];
  for (const decision of await decideAutoPromotions(set, deps, options)) {
    if (decision.status !== "due") {
      outcomes.push({ decision });
      continue;
    }
    try {
      outcomes.push({ decision, ...(await promoteOne(set, decision, deps, options)) });
    } catch (error) {
      outcomes.push({ decision, error: writeBackError(error) });
    }
  }
  return outcomes;
}

async function promoteOne(
  set: ManifestSet,
  decision: AutoPromotionDecision & { status: "due" },
  deps: AutoPromoteDeps,
  options: AutoPromoteOptions,
): Promise<Pick<AutoPromotionOutcome, "result" | "error">> {
  const target = promotionTarget(set, decision.workspace);
  const verification = await verifyPromotion(set, target, deps, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.kasmOnly ? { kasmOnly: true } : {}),
  });
  const w = target.workspace;
  const message = autoPromotionMessage({
    workspace: decision.workspace,
    from: decision.from,
    file: posix.join(options.path, w.source.file),
    previous: target.current,
    image: target.image,
    digest: verification.digest,
    verifiedOn: verification.verifiedOn,
    movingTags: w.spec.promotion?.movingTags ?? [],
  });
  const mode = w.spec.promotion!.auto!;
  const written = await writeBack(
    deps,
    {
      workspace: decision.workspace,
      image: target.image,
      message,
      ...(mode === "branch" ? { branch: promoteBranch(decision.workspace, versionOf(target.image)) } : {}),
    },
    options,
  );
  const result = written.result;
  // Remembered once it reached the remote (or was there already): never proposed again, even after a revert.
  if (result && result.status !== "refused") {
    await deps.autoPromotions.add(autoPromotionKey(decision.workspace, verification.digest), {
      workspace: decision.workspace,
      digest: verification.digest,
      branch: "branch" in result ? result.branch : options.branch,
      ...(result.status === "pushed" ? { commit: result.commit } : {}),
      at: deps.clock.now().toISOString(),
    });
  }
  return written;
}
