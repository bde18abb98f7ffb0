/** The plan of docs/plan-format.md: data first, rendered to text by core/plan/render.ts. */
import type { KasmChange } from "../kasm/desired.js";
import type { AwaitReports } from "../kasm/report-wait.js";
import type { KasmOwnedFields } from "../kasm/types.js";
import type { AutoPromotionDecision } from "../update/auto-promotion.js";
import type { UpdateFinding } from "../update/finding.js";

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

/** A new Kasm record: owned fields only, never a secret; `after` lists the pulls (action indexes) it waits for. */
export type KasmCreateAction = {
  type: "kasm-create";
  workspace: string;
  after: number[];
  /** Kasm's agents in view: made once they report the image, as Kasm launches only where they do. */
  awaitReports?: AwaitReports;
  record: KasmOwnedFields;
  /** The Registry whose token is written with it (`pulls: kasm`); the token itself is read at apply time. */
  tokenFrom?: string;
};

/** Owned fields put back to Git's values: `changed` when Git moved, `drift` when the record was edited in Kasm. */
export type KasmUpdateAction = {
  type: "kasm-update";
  workspace: string;
  imageId: string;
  reason: "changed" | "drift";
  changes: KasmChange[];
  after: number[];
  /** A switch with Kasm's agents in view: made once they report the new image. */
  awaitReports?: AwaitReports;
  /** True when this update adopts an unmarked record named by `kasm.imageId`. */
  adopt?: true;
  tokenFrom?: string;
  /** Adopted keeping the token Kasm holds (this Registry's): its credentials' fingerprint is remembered. */
  keepsToken?: string;
};

/** A managed record whose Workspace left Git (`removed: disable | delete`). */
export type KasmRemoveAction = { type: "kasm-disable" | "kasm-delete"; workspace: string; imageId: string };

/**
 * One (group, record) pair that differs. `imageId` is absent for a record this plan creates: `after`
 * then names the create, whose id the executor learns when it runs.
 */
export type KasmGroupAction = {
  type: "kasm-group-add" | "kasm-group-remove";
  workspace: string;
  group: string;
  groupId: string;
  imageId?: string;
  after: number[];
};

export type KasmAction = KasmCreateAction | KasmUpdateAction | KasmRemoveAction | KasmGroupAction;

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

/**
 * A smoke test in Kasm of a workspace's record at a digest, after the actions (`after`) that point the record
 * there and bring the image to its agents. `imageId` is absent for a record this plan creates.
 */
export type SmokeAction = {
  type: "smoke";
  workspace: string;
  digest: string;
  imageId?: string;
  /** `untested`, or `retry`: the digest failed while the Workspace's manifest was different. */
  reason: "untested" | "retry";
  after: number[];
};

/** A smoke result a plan relies on: the promotion gate reads it, and no run tests that digest again. */
export type SmokeResultView = {
  workspace: string;
  digest: string;
  result: "pass" | "fail";
  message: string;
  finishedAt: string;
};

export type Action = PullAction | PromoteAction | KasmAction | SmokeAction | RemoveAction;

export type PromotionBlockedReason = "not-verified" | "not-on-promotion-branch" | SmokeBlockedReason;
/** A promotion whose testing workspace asks for smoke tests and has no passed one of the digest. */
export type SmokeBlockedReason = "smoke-missing" | "smoke-failed";
/**
 * Why a Kasm change is held. `kasm-report-stale` (`--kasm-only`): a Kasm agent that may launch the record has
 * no report newer than the bound, or none; `kasm-digest-unknown` (`--kasm-only`): the registry did not say
 * which digest the tag has, so no report can show it.
 */
export const KASM_BLOCKED_REASONS = [
  "unknown-group",
  "image-not-on-agents",
  "kasm-agent-not-in-git",
  "kasm-report-stale",
  "kasm-digest-unknown",
  "digest-unknown",
] as const;
export type KasmBlockedReason = (typeof KASM_BLOCKED_REASONS)[number];
export type BlockedReason = PromotionBlockedReason | "moving-tag-untested" | KasmBlockedReason;
/** A promotion that may not happen yet, and why. */
export type BlockedPromotion = PromoteAction & { reason: PromotionBlockedReason; message: string };
/** A pull of a moving tag the registry points at an untested digest. */
export type BlockedPull = Omit<PullAction, "reason"> & { reason: "moving-tag-untested"; message: string };
/** A Kasm change that cannot be made yet: the record switch waiting for images, or a group Kasm lacks. */
export type KasmBlocked =
  | { type: "kasm-create" | "kasm-update"; workspace: string; image: string; agents: string[] }
  | { type: "kasm-group-add"; workspace: string; group: string };
export type BlockedKasm = KasmBlocked & { reason: KasmBlockedReason; message: string };
export type BlockedAction = BlockedPromotion | BlockedPull | BlockedKasm;

export type WarningCode =
  | "no-registry"
  | "no-agents"
  | "agent-unreachable"
  | "agent-disabled"
  | "registry-error"
  | "workspace-disabled"
  | "no-matching-agent"
  | "moving-tag-not-created"
  | "prune-skipped"
  | "prune-held"
  | "kasm-unreachable"
  | "kasm-config"
  | "kasm-not-synced"
  | "kasm-record-conflict"
  | "kasm-field-kept"
  | "kasm-record-unreadable"
  | "kasm-agent-unknown"
  | "kasm-placement";

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
  /** Kasm record and group changes. */
  kasm?: number;
  /** Smoke tests in Kasm the run starts. */
  smoke?: number;
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
  /** The Kasm web app the `kasm-*` actions are for; `agents` when Agents name their Kasm agents. */
  kasm?: { url: string; agents?: KasmAgentView[] };
  /** The smoke results of the workspaces' current digests that this plan relies on (absent: none asked). */
  smoke?: { results: SmokeResultView[] };
  /** What image automation would propose next, and why a candidate is held (absent: no policy, or --no-refresh). */
  automation?: AutomationPreview;
};

/** Each update policy's finding and each auto-promotion's decision, as the plan shows them. */
export type AutomationPreview = {
  updates: UpdateFinding[];
  promotions: AutoPromotionDecision[];
  /** Why the preview is missing (Git's history or the state dir could not be read): never shown as nothing to do. */
  error?: string;
};

/** An Agent as Kasm sees it: its Kasm agent, how old Kasm's report is, and which wanted images it reports. */
export type KasmAgentView = {
  agent: string;
  /** The Kasm agent's hostname; absent when Kasm does not list the one the Agent names. */
  server?: string;
  zone?: string;
  /** Milliseconds since the Kasm agent last reported its images; null when it never did. */
  reportAgeMs?: number | null;
  /** The images Git wants on this agent that Kasm sees there (it launches only on agents reporting them). */
  seen: string[];
  /** The images Git wants on this agent that Kasm does not see there yet. */
  unseen: string[];
};
