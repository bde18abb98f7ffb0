import { indexLocalImages, type LocalImage, type LocalImageIndex } from "../image/local.js";
import { type KasmPlanInput, planKasm } from "../kasm/plan.js";
import { EMPTY_SMOKE_STATE, type SmokeState } from "../kasm/smoke.js";
import { planSmokes } from "../kasm/smoke-plan.js";
import type { ManifestSet } from "../manifest/types.js";
import { type DesiredImage, type DesiredState, movingTagRefs } from "./desired.js";
import { guardMovingTag, movingTagGuard } from "./moving-tag-guard.js";
import { type DigestResult, planPromotions } from "./promotion.js";
import { type PruneContext, type PruneRecord, planAgentRemovals } from "./prune.js";
import type {
  Action,
  BlockedPull,
  KasmAgentView,
  Plan,
  PlanWarning,
  PullAction,
  UnknownCause,
} from "./types.js";
import { agentUnknowns, registryUnknowns } from "./unknown.js";

/** What the shell saw on one agent. */
export type AgentObservation =
  | {
      agent: string;
      reachable: true;
      images: LocalImage[];
      /** Image ids containers use; listed only where pruning is on (undefined: unknown, so nothing is pruned). */
      containers?: string[];
      /** Why the containers could not be listed where pruning needed them. */
      containersError?: string;
      /** Bytes of the agent's images on disk (Docker's disk usage), when it answered. */
      imageBytes?: number;
    }
  | { agent: string; reachable: false; error: string };

export type PlanInput = {
  revision: string;
  branch: string;
  set: ManifestSet;
  desired: DesiredState;
  observations: readonly AgentObservation[];
  /** Registry answers by canonical tag reference; a reference absent here is not checked (no refresh). */
  digests: ReadonlyMap<string, DigestResult>;
  ledger?: readonly PruneRecord[];
  /** The clock and what the ledger knows of agents and removed workspaces; absent in hand-built plans. */
  prune?: PruneContext;
  /** Smoke results in Kasm (the state dir), for the promotion gate and the smoke tests a run starts. */
  smoke?: SmokeState;
  /** With a KasmServer: what Kasm holds and what was last written there. */
  kasm?: Omit<KasmPlanInput, "workspaces" | "agents" | "indexes" | "planned">;
};

function pullFor(
  agent: string,
  image: DesiredImage,
  index: LocalImageIndex,
  expected?: string,
): PullAction | undefined {
  // Built only for a pull: most desired images are already in place, and a fleet has hundreds of thousands.
  const base = () => ({
    type: "pull" as const,
    agent,
    image: image.image,
    workspaces: [...image.workspaces].sort(),
  });
  if (image.pinned) {
    if (index.digestsFor(image.ref).length > 0) return undefined;
    return { ...base(), reason: "missing", targetDigest: image.ref.digest! };
  }
  const local = index.taggedImage(image.ref) ? index.digestsFor(image.ref) : undefined;
  if (!local) return { ...base(), reason: "missing", ...(expected ? { targetDigest: expected } : {}) };
  if (!expected || local.includes(expected)) return undefined;
  return {
    ...base(),
    reason: "outdated",
    ...(local[0] ? { currentDigest: local[0] } : {}),
    targetDigest: expected,
  };
}

/**
 * Moving tags the registry does not have yet and no promotion of this plan creates: a pull of one could only
 * fail with 404, so it waits for the first verified promotion, with one warning per tag.
 */
function uncreatedMovingTags(input: PlanInput, expected: ReadonlyMap<string, string>) {
  const warnings = new Map<string, PlanWarning>();
  for (const w of input.set.workspaces) {
    for (const tag of movingTagRefs(w)) {
      const result = input.digests.get(tag.canonical);
      if (!result || !("error" in result) || result.code !== "registry-not-found") continue;
      if (expected.has(tag.canonical) || warnings.has(tag.canonical)) continue;
      warnings.set(tag.canonical, {
        code: "moving-tag-not-created",
        image: tag.canonical,
        workspace: w.metadata.name,
        message: `${tag.canonical} does not exist yet: the first verified promotion of workspace "${w.metadata.name}" creates it; nothing is pulled for it until then`,
      });
    }
  }
  return warnings;
}

/**
 * The pure planner (docs/architecture.md, docs/plan-format.md): desired state + observed agents + registry digests → plan.
 * Promotions come first, and the moving tags they move are planned at their new digest in the same run;
 * a moving tag at any other digest is held back (blocked), never pulled.
 */
export function buildPlan(input: PlanInput): Plan {
  if (input.kasm?.reports) return kasmOnlyPlan(input);
  const indexes = new Map<string, LocalImageIndex>();
  const warnings: PlanWarning[] = [...input.desired.warnings];
  for (const observation of input.observations) {
    if (observation.reachable) indexes.set(observation.agent, indexLocalImages(observation.images));
    else {
      warnings.push({
        code: "agent-unreachable",
        agent: observation.agent,
        message: `agent "${observation.agent}" is unreachable, nothing is planned there: ${observation.error}`,
      });
    }
  }
  const promotions = planPromotions({
    set: input.set,
    branch: input.branch,
    digests: input.digests,
    agents: indexes,
    ledger: input.ledger ?? [],
    ...(input.smoke ? { smoke: input.smoke } : {}),
  });
  const expected = new Map<string, string>();
  for (const [image, result] of input.digests) if ("digest" in result) expected.set(image, result.digest);
  for (const promote of promotions.actions) expected.set(promote.image, promote.targetDigest);

  const uncreated = uncreatedMovingTags(input, expected);
  const guard = movingTagGuard(input.set, input.digests);
  const pulls: PullAction[] = [];
  const heldBack: BlockedPull[] = [];
  for (const agent of input.desired.agents) {
    const index = indexes.get(agent.agent);
    if (!agent.enabled || !index) continue;
    for (const image of agent.images) {
      if (!image.registry || uncreated.has(image.image)) continue;
      const action = pullFor(agent.agent, image, index, expected.get(image.image));
      if (!action) continue;
      const held = guardMovingTag(action, guard);
      if (held) heldBack.push(held);
      else pulls.push(action);
    }
  }
  const unlisted: UnknownCause[] = [];
  const removals = planAgentRemovals(input, pulls, warnings, unlisted);
  const actions: Action[] = [...promotions.actions, ...pulls];
  const promoted = new Set([...promotions.actions, ...promotions.blocked].map((p) => p.image));
  for (const image of uncreated.keys()) promoted.add(image);
  warnings.push(...uncreated.values());
  // A moving tag a promotion creates answers 404 until then: expected, not unknown.
  const checks = registryUnknowns(input.digests, input.set, promoted);
  for (const c of checks) {
    const message = c.message.includes(c.image!) ? c.message : `${c.image}: ${c.message}`;
    warnings.push({ code: "registry-error", image: c.image!, message });
  }
  const unknown = [...agentUnknowns(input.observations), ...unlisted, ...checks];
  const blocked: Plan["blocked"] = [...promotions.blocked, ...heldBack];
  let kasmCount: number | undefined;
  let kasmAgents: KasmAgentView[] | undefined;
  if (input.kasm) {
    const planned = new Set(input.desired.agents.map((a) => a.agent));
    const kasm = planKasm({
      ...input.kasm,
      workspaces: input.set.workspaces,
      agents: input.set.agents.filter((a) => planned.has(a.metadata.name)),
      indexes,
      planned: actions,
      expected,
    });
    actions.push(...kasm.actions);
    blocked.push(...kasm.blocked);
    warnings.push(...kasm.warnings);
    // A failed Kasm read is one more unknown cause: the same incompleteness as an unreachable agent.
    unknown.push(...kasm.unknown);
    kasmCount = kasm.actions.length;
    kasmAgents = kasm.agents;
  }
  let smoke: Plan["smoke"];
  if (input.kasm && input.set.kasmServer?.spec.smoke) {
    const smokes = planSmokes({
      workspaces: input.set.workspaces,
      agents: input.set.agents,
      indexes,
      expected,
      observed: input.kasm.observed,
      actions,
      blocked,
      state: input.smoke ?? EMPTY_SMOKE_STATE,
    });
    actions.push(...smokes.actions);
    smoke = { results: smokes.results };
  }
  // Removals come last: after the Kasm switches, so no record still names an image being removed.
  actions.push(...removals);
  return {
    version: 1,
    revision: input.revision,
    branch: input.branch,
    actions,
    blocked,
    warnings,
    unknown,
    summary: {
      pull: pulls.length,
      promote: promotions.actions.length,
      blocked: blocked.length,
      remove: removals.length,
      removeBytes: removals.reduce((sum, r) => sum + r.bytes, 0),
      unknown: unknown.length,
      incomplete: unknown.length > 0,
      ...(kasmCount !== undefined ? { kasm: kasmCount } : {}),
      ...(smoke ? { smoke: actions.filter((a) => a.type === "smoke").length } : {}),
    },
    ...(input.kasm
      ? { kasm: { url: input.kasm.server.url, ...(kasmAgents ? { agents: kasmAgents } : {}) } }
      : {}),
    ...(smoke ? { smoke } : {}),
  };
}

/**
 * `--kasm-only`: the syncer's plan is Kasm's records and groups alone. It promotes, pulls and removes
 * nothing; its only registry questions are the digests its switches wait for, and one that failed is unknown.
 */
function kasmOnlyPlan(input: PlanInput): Plan {
  const kasm = planKasm({
    ...input.kasm!,
    workspaces: input.set.workspaces,
    agents: input.set.agents,
    indexes: new Map(),
    planned: [],
  });
  const checks = registryUnknowns(input.digests, input.set, new Set());
  const warnings = [...kasm.warnings];
  for (const c of checks) warnings.push({ code: "registry-error", image: c.image!, message: c.message });
  const unknown = [...checks, ...kasm.unknown];
  return {
    version: 1,
    revision: input.revision,
    branch: input.branch,
    actions: kasm.actions,
    blocked: kasm.blocked,
    warnings,
    unknown,
    summary: {
      pull: 0,
      promote: 0,
      blocked: kasm.blocked.length,
      remove: 0,
      removeBytes: 0,
      unknown: unknown.length,
      incomplete: unknown.length > 0,
      kasm: kasm.actions.length,
    },
    kasm: { url: input.kasm!.server.url, ...(kasm.agents ? { agents: kasm.agents } : {}) },
  };
}
