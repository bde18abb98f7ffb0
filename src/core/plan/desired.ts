import { type ImageReference, parseImageReference } from "../image/reference.js";
import { selectorMatches } from "../manifest/selectors.js";
import {
  type AgentManifest,
  compareText,
  DEFAULTS,
  type ManifestSet,
  type WorkspaceManifest,
} from "../manifest/types.js";
import type { PlanWarning } from "./types.js";

/**
 * One image an agent should hold, with every workspace that wants it. Read-only: agents whose selectors
 * match the same workspaces share one list of these (a fleet of hundreds holds a few distinct lists).
 */
export type DesiredImage = {
  /** Canonical reference. */
  readonly image: string;
  readonly ref: ImageReference;
  readonly workspaces: readonly string[];
  /** Registry manifest name; absent means Kasm would never pull it. */
  readonly registry?: string;
  /** Digest-pinned references are never refreshed. */
  readonly pinned: boolean;
  /** When its tag is re-checked: `default` (the refresh schedule) and/or workspace cron expressions; empty = never. */
  readonly schedules: readonly string[];
};

export type DesiredAgent = {
  agent: string;
  enabled: boolean;
  maxConcurrentPulls: number;
  /** Possibly the same list as other agents' (see DesiredImage): never change it in place. */
  images: readonly DesiredImage[];
};

export type DesiredState = { agents: DesiredAgent[]; warnings: PlanWarning[] };

/** True when every label of the selector is on the agent; no selector means every agent (Kasm's default). */
export function selects(workspace: WorkspaceManifest, agent: AgentManifest): boolean {
  return selectorMatches(workspace.spec.agents?.matchLabels, agent.metadata.labels);
}

/** The moving tags of a promoted workspace, as references in the workspace image's repository. */
export function movingTagRefs(workspace: WorkspaceManifest): ImageReference[] {
  const ref = parseImageReference(workspace.spec.image);
  return (workspace.spec.promotion?.movingTags ?? []).map((tag) =>
    parseImageReference(`${ref.registry}/${ref.repository}:${tag}`),
  );
}

/** Which refresh a workspace follows: `default`, its own cron expression, or none for `never`. */
export function refreshSchedule(workspace: WorkspaceManifest): string | undefined {
  const refresh = workspace.spec.refresh ?? "default";
  return refresh === "never" ? undefined : refresh;
}

type Want = {
  workspace: WorkspaceManifest;
  refs: ImageReference[];
  schedule: string | undefined;
  group: number;
};

/** A selector's labels in key order: one key for selectors that match the same agents (`{}` = none). */
function selectorKey(workspace: WorkspaceManifest): string {
  const labels = Object.entries(workspace.spec.agents?.matchLabels ?? {});
  return JSON.stringify(labels.sort(([a], [b]) => compareText(a, b)));
}

/** The images a list of workspaces wants (in name order: the first registry named wins), by canonical reference. */
function imagesOf(wants: readonly Want[]): DesiredImage[] {
  const images = new Map<
    string,
    {
      image: string;
      ref: ImageReference;
      workspaces: string[];
      registry?: string;
      pinned: boolean;
      schedules: string[];
    }
  >();
  for (const { workspace: w, refs, schedule } of wants) {
    for (const ref of refs) {
      let entry = images.get(ref.canonical);
      if (!entry) {
        entry = {
          image: ref.canonical,
          ref,
          workspaces: [],
          pinned: ref.digest !== undefined,
          schedules: [],
        };
        images.set(ref.canonical, entry);
      }
      if (!entry.workspaces.includes(w.metadata.name)) entry.workspaces.push(w.metadata.name);
      if (w.spec.registry && !entry.registry) entry.registry = w.spec.registry;
      if (schedule && !entry.schedules.includes(schedule)) entry.schedules.push(schedule);
    }
  }
  return [...images.values()].sort((a, b) => compareText(a.image, b.image));
}

/**
 * What each agent should hold (docs/architecture.md): the image of every enabled workspace whose selector
 * matches it, plus that workspace's moving tags. Disabled agents are listed with no images. Each distinct
 * selector is matched once per agent, and agents matching the same selectors share one image list.
 */
export function desiredState(set: ManifestSet, onlyAgents?: readonly string[]): DesiredState {
  const warnings: PlanWarning[] = [];
  const defaultLimit = set.settings?.spec.maxConcurrentPulls ?? DEFAULTS.maxConcurrentPulls;
  const workspaces = [...set.workspaces].sort((a, b) => compareText(a.metadata.name, b.metadata.name));
  const enabled = workspaces.filter((w) => w.spec.enabled !== false);
  const groupOf = new Map<string, number>();
  const selectors: (Record<string, string> | undefined)[] = [];
  // References are parsed once per workspace, not once per agent that selects it.
  const wants: Want[] = enabled.map((w) => {
    const key = selectorKey(w);
    let group = groupOf.get(key);
    if (group === undefined) {
      group = selectors.push(w.spec.agents?.matchLabels) - 1;
      groupOf.set(key, group);
    }
    const refs = [parseImageReference(w.spec.image), ...movingTagRefs(w)];
    return { workspace: w, refs, schedule: refreshSchedule(w), group };
  });
  if (set.agents.length === 0) {
    warnings.push({
      code: "no-agents",
      message:
        "this revision declares no Agent: nothing is pulled or pruned anywhere (add an Agent manifest for each Kasm agent)",
    });
  }
  const anyAgent = selectors.map((s) => set.agents.some((a) => selectorMatches(s, a.metadata.labels)));
  for (const { workspace: w, refs, group } of wants) {
    if (!w.spec.registry) {
      warnings.push({
        code: "no-registry",
        workspace: w.metadata.name,
        image: refs[0]!.canonical,
        message: `workspace "${w.metadata.name}" has no registry: Kasm never pulls its image, so kasm-gitops does not either`,
      });
    }
    if (!anyAgent[group]) {
      warnings.push({
        code: "no-matching-agent",
        workspace: w.metadata.name,
        message: `workspace "${w.metadata.name}" selects no agent`,
      });
    }
  }
  const agents = [...set.agents]
    .filter((a) => !onlyAgents?.length || onlyAgents.includes(a.metadata.name))
    .sort((a, b) => compareText(a.metadata.name, b.metadata.name));
  // One image list per set of matching selectors: agents with the same matches share it.
  const shared = new Map<string, readonly DesiredImage[]>();
  const result: DesiredAgent[] = [];
  for (const agent of agents) {
    const matched: number[] = [];
    selectors.forEach((s, group) => {
      if (selectorMatches(s, agent.metadata.labels)) matched.push(group);
    });
    const signature = matched.join(",");
    let images = shared.get(signature);
    if (!images) {
      const groups = new Set(matched);
      images = imagesOf(wants.filter((want) => groups.has(want.group)));
      shared.set(signature, images);
    }
    const isEnabled = agent.spec.enabled !== false;
    if (!isEnabled && images.length > 0) {
      warnings.push({
        code: "agent-disabled",
        agent: agent.metadata.name,
        message: `agent "${agent.metadata.name}" is disabled (drained): ${images.length} image(s) are not pulled there`,
      });
    }
    result.push({
      agent: agent.metadata.name,
      enabled: isEnabled,
      maxConcurrentPulls: agent.spec.maxConcurrentPulls ?? defaultLimit,
      images: isEnabled ? images : [],
    });
  }
  return { agents: result, warnings };
}

/** Which tags a refresh re-checks: all of them, or those following one of these schedules. */
export type RefreshScope = "all" | ReadonlySet<string>;

/**
 * The unique tag references whose registry digest a refresh must ask for: one HEAD each, however many
 * agents and workspaces want them. Pinned, registry-less and `refresh: never` images are left out.
 */
export function refsToCheck(
  desired: DesiredState,
  scope: RefreshScope = "all",
): { ref: ImageReference; registry: string }[] {
  const unique = new Map<string, { ref: ImageReference; registry: string }>();
  const due = (image: DesiredImage) =>
    scope === "all" ? image.schedules.length > 0 : image.schedules.some((s) => scope.has(s));
  const visited = new Set<readonly DesiredImage[]>();
  for (const agent of desired.agents) {
    // Agents sharing an image list add nothing the first of them did not.
    if (visited.has(agent.images)) continue;
    visited.add(agent.images);
    for (const image of agent.images) {
      if (image.pinned || !image.registry || !due(image)) continue;
      if (!unique.has(image.image)) unique.set(image.image, { ref: image.ref, registry: image.registry });
    }
  }
  return [...unique.values()].sort((a, b) => compareText(a.ref.canonical, b.ref.canonical));
}
