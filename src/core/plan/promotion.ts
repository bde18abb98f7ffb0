import type { LocalImageIndex } from "../image/local.js";
import { type ImageReference, parseImageReference } from "../image/reference.js";
import { EMPTY_SMOKE_STATE, type SmokeState, smokeGate, smokeSettings } from "../kasm/smoke.js";
import { compareText, DEFAULTS, type ManifestSet, type WorkspaceManifest } from "../manifest/types.js";
import { movingTagRefs, selects } from "./desired.js";
import type { HistoryEntry } from "./ledger-history.js";
import type { BlockedPromotion, PromoteAction } from "./types.js";

/** A registry's answer for one tag reference: its digest, or why it could not be read. */
export type DigestResult = { digest: string } | { error: string; code: string };

/** A ledger row as promotion reads it (one row type, HistoryEntry); `rebuilt`: only seen on the agent at a rebuild, so no proof. */
export type PullRecord = Pick<HistoryEntry, "agent" | "image" | "digest" | "workspaces" | "rebuilt">;

export type PromotionInput = {
  set: ManifestSet;
  branch: string;
  digests: ReadonlyMap<string, DigestResult>;
  /** Index of every reachable agent's images, by agent name. */
  agents: ReadonlyMap<string, LocalImageIndex>;
  ledger: readonly PullRecord[];
  /** Smoke results in Kasm (the state dir): a `promotion.from` workspace with smoke tests needs a pass. */
  smoke?: SmokeState;
};

export type PromotionPlan = { actions: PromoteAction[]; blocked: BlockedPromotion[] };

/** Every reference promotion needs a digest for: each promoted workspace's image and its moving tags. */
export function promotionRefs(set: ManifestSet): { ref: ImageReference; registry: string }[] {
  const refs = new Map<string, { ref: ImageReference; registry: string }>();
  for (const w of set.workspaces) {
    if (!w.spec.promotion || w.spec.enabled === false || !w.spec.registry) continue;
    const source = parseImageReference(w.spec.image);
    for (const ref of source.digest ? movingTagRefs(w) : [source, ...movingTagRefs(w)]) {
      refs.set(ref.canonical, { ref, registry: w.spec.registry });
    }
  }
  return [...refs.values()].sort((a, b) => compareText(a.ref.canonical, b.ref.canonical));
}

/** Verified = on an agent serving `from`, or in the ledger for `from` (docs/plan-format.md, Promotion); says where. */
export function verifiedOn(
  input: Pick<PromotionInput, "set" | "agents" | "ledger">,
  from: WorkspaceManifest,
  source: ImageReference,
  digest: string,
) {
  for (const agent of input.set.agents) {
    const index = input.agents.get(agent.metadata.name);
    if (index && selects(from, agent) && index.digestsFor({ ...source, digest }).length > 0) {
      return `agent ${agent.metadata.name}`;
    }
  }
  const record = input.ledger.find((r) => {
    if (r.rebuilt || r.digest !== digest || !r.workspaces.includes(from.metadata.name)) return false;
    const pulled = parseLedgerImage(r.image);
    return pulled?.registry === source.registry && pulled.repository === source.repository;
  });
  return record ? `ledger (pulled on ${record.agent})` : undefined;
}

/** A ledger line's image, or undefined for a line an older or foreign writer left malformed. */
function parseLedgerImage(image: string): ImageReference | undefined {
  try {
    return parseImageReference(image);
  } catch {
    return undefined;
  }
}

/** A digest cut to its algorithm and first 12 hex characters, for plans, labels and commit subjects. */
export const shortDigest = (digest: string | undefined): string =>
  !digest ? "?" : digest.replace(/^([A-Za-z][A-Za-z0-9+._-]*:)?([0-9a-fA-F]{12})[0-9a-fA-F]*$/, "$1$2");

/** Why a digest may not be promoted: one wording for the planner and the `promote` command. */
export const notVerifiedMessage = (from: string, digest: string) =>
  `digest ${digest} was never verified on workspace "${from}" (no agent serving it holds it, and no pull of it is in the ledger)`;

/**
 * The smoke gate beside the verification: when `from` (the testing workspace) asks for smoke tests, the
 * digest needs a passed smoke test of that workspace; undefined when the promotion may go ahead.
 */
export function smokeBlock(from: WorkspaceManifest, digest: string, state: SmokeState | undefined) {
  if (!smokeSettings(from)) return undefined;
  const gate = smokeGate(from.metadata.name, digest, state ?? EMPTY_SMOKE_STATE);
  return gate.ok ? undefined : gate;
}

/** Promote actions for moving tags, or the reason each one is blocked. Pure: the registry is asked elsewhere. */
export function planPromotions(input: PromotionInput): PromotionPlan {
  const plan: PromotionPlan = { actions: [], blocked: [] };
  const promotionBranch = input.set.settings?.spec.promotionBranch ?? DEFAULTS.promotionBranch;
  const byName = new Map(input.set.workspaces.map((w) => [w.metadata.name, w]));
  const workspaces = input.set.workspaces
    .filter((w) => w.spec.promotion && w.spec.enabled !== false && w.spec.registry)
    .sort((a, b) => compareText(a.metadata.name, b.metadata.name));
  for (const w of workspaces) {
    const source = parseImageReference(w.spec.image);
    const sourceResult = source.digest ? { digest: source.digest } : input.digests.get(source.canonical);
    if (!sourceResult || !("digest" in sourceResult)) continue; // the registry error is already a warning
    const target = sourceResult.digest;
    const from = byName.get(w.spec.promotion!.from);
    for (const tag of movingTagRefs(w)) {
      const current = input.digests.get(tag.canonical);
      if (current && "error" in current && current.code !== "registry-not-found") continue;
      const currentDigest = current && "digest" in current ? current.digest : undefined;
      if (currentDigest === target) continue;
      const action: PromoteAction = {
        type: "promote",
        image: tag.canonical,
        workspace: w.metadata.name,
        source: source.canonical,
        ...(currentDigest ? { currentDigest } : {}),
        targetDigest: target,
      };
      const label = `${tag.repository}:${tag.tag} → ${shortDigest(target)}`;
      if (input.branch !== promotionBranch) {
        plan.blocked.push({
          ...action,
          reason: "not-on-promotion-branch",
          message: `${label}: promotions happen only at the tip of "${promotionBranch}", this plan is for "${input.branch}"`,
        });
      } else if (!from || !verifiedOn(input, from, source, target)) {
        plan.blocked.push({
          ...action,
          reason: "not-verified",
          message: `${label}: ${notVerifiedMessage(w.spec.promotion!.from, target)}`,
        });
      } else {
        const smoke = smokeBlock(from, target, input.smoke);
        if (smoke)
          plan.blocked.push({ ...action, reason: smoke.reason, message: `${label}: ${smoke.message}` });
        else plan.actions.push(action);
      }
    }
  }
  return plan;
}
