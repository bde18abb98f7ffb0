/** The plan of docs/plan-format.md: data first, rendered to text by core/render-plan.ts. */

export type PullReason = "missing" | "outdated";

export type PullAction = {
  type: "pull";
  agent: string;
  /** Canonical reference (parseImageReference(...).canonical). */
  image: string;
  workspaces: string[];
  reason: PullReason;
  currentDigest?: string;
  targetDigest?: string;
};

export type PromoteAction = {
  type: "promote";
  /** The moving tag, canonical (`…/chrome:latest`). */
  image: string;
  workspace: string;
  /** The workspace image the moving tag should point at. */
  source: string;
  currentDigest?: string;
  targetDigest: string;
};

/** `dangling`: an untagged image; `unused`: a managed image no Workspace wants any more. */
export type RemoveReason = "dangling" | "unused";

/** Pruning: an image removed from an agent after the cycle's pulls, by id and never forced. */
export type RemoveAction = {
  type: "remove";
  agent: string;
  /** The image's first tag, else its first repo digest, else its id: what a person knows it by. */
  image: string;
  id: string;
  /** Docker's size of the image (layers it shares with others are counted too). */
  bytes: number;
  reason: RemoveReason;
  /** Every tag it carries (canonical), empty for a dangling image. */
  tags: string[];
};

export type Action = PullAction | PromoteAction | RemoveAction;

export type PromotionBlockedReason = "not-verified" | "not-on-promotion-branch";
export type BlockedReason = PromotionBlockedReason | "moving-tag-untested";
/** A promotion that may not happen yet, and why. */
export type BlockedPromotion = PromoteAction & { reason: PromotionBlockedReason; message: string };
/** A pull of a moving tag the registry points at an untested digest. */
export type BlockedPull = Omit<PullAction, "reason"> & { reason: "moving-tag-untested"; message: string };
export type BlockedAction = BlockedPromotion | BlockedPull;

export type WarningCode =
  | "no-registry"
  | "agent-unreachable"
  | "agent-disabled"
  | "registry-error"
  | "workspace-disabled"
  | "no-matching-agent"
  | "prune-skipped"
  | "moving-tag-not-created";

export type PlanWarning = {
  code: WarningCode;
  message: string;
  workspace?: string;
  agent?: string;
  image?: string;
  registry?: string;
};

/** What could not be verified; any entry makes the plan incomplete (never read as converged). */
export type UnknownKind = "registry" | "agent" | "kasm";
export type UnknownCause = {
  kind: UnknownKind;
  /** The Registry, Agent (or Kasm instance) manifest name to fix; a registry host when none matches. */
  name: string;
  /** An error code (`registry-unauthorized`, `agent-unreachable`, …), stable for scripts and alerts. */
  reason: string;
  message: string;
  /** For registry checks: the canonical reference that was not checked. */
  image?: string;
};

export type PlanSummary = {
  pull: number;
  promote: number;
  blocked: number;
  /** How many checks could not be made (`unknown.length`). */
  unknown: number;
  /** True when anything is unknown: the plan may be missing actions and proves nothing converged. */
  incomplete: boolean;
  /** Removals and the bytes they free (absent in plans written before pruning existed). */
  remove?: number;
  removeBytes?: number;
};

export type Plan = {
  version: 1;
  revision: string;
  branch: string;
  /** Where the manifests were read (credentials removed), so `apply PLANFILE` can read the same place. */
  source?: { repo: string; path?: string };
  actions: Action[];
  blocked: BlockedAction[];
  warnings: PlanWarning[];
  unknown: UnknownCause[];
  summary: PlanSummary;
};
