/** What the Kasm planner is given and gives back: apart from plan.ts, so its parts share them without a cycle. */

import type { LocalImageIndex } from "../image/local.js";
import type { AgentManifest, WorkspaceManifest } from "../manifest/types.js";
import type { BlockedKasm, KasmAction, KasmAgentView, PlanWarning, UnknownCause } from "../plan/types.js";
import type { AppliedRecord, RegistryAuthInfo } from "./desired.js";
import type { ReportInput } from "./reports.js";
import type { KasmObservation, KasmPulls, KasmRemoved } from "./types.js";

/** `name`: the KasmServer manifest an unknown cause names (the URL when absent). */
export type KasmServerConfig = { name?: string; url: string; pulls: KasmPulls; removed: KasmRemoved };

export type KasmPlanInput = {
  server: KasmServerConfig;
  workspaces: readonly WorkspaceManifest[];
  agents: readonly AgentManifest[];
  /** Local images of every agent that answered this cycle. */
  indexes: ReadonlyMap<string, LocalImageIndex>;
  observed: KasmObservation;
  /** Group ids whose memberships were read; a pair in another group is never removed. */
  groupsRead?: readonly string[];
  registries: ReadonlyMap<string, RegistryAuthInfo>;
  applied: ReadonlyMap<string, AppliedRecord>;
  /** The plan's actions so far: `after` links point at its pulls. */
  planned: readonly { type: string }[];
  /** The digest each tag (canonical) has this cycle, as the registry named it or a promotion moves it to. */
  expected?: ReadonlyMap<string, string>;
  /**
   * `--kasm-only`: no agent is observed; each switch waits for Kasm's own reports of every agent that may
   * launch the record (the image's tag at the digest the registry gives, reported within the bound).
   */
  reports?: ReportInput;
};

export type KasmPlan = {
  actions: KasmAction[];
  blocked: BlockedKasm[];
  warnings: PlanWarning[];
  /** A Kasm read that failed: a `kasm` cause, which makes the whole plan incomplete. */
  unknown: UnknownCause[];
  /** Per Agent naming its Kasm agent: the images Git wants there that Kasm sees, and those it does not. */
  agents?: KasmAgentView[];
};
