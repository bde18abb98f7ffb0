import { type ImageReference, parseImageReference } from "./image-ref.js";
import {
  type AgentManifest,
  compareText,
  DEFAULTS,
  type ManifestSet,
  type WorkspaceManifest,
} from "./manifest.js";
import type { PlanWarning } from "./plan-types.js";
import { selectorMatches } from "./selectors.js";

/** One image an agent should hold, with every workspace that wants it. */
export type DesiredImage = {
  /** Canonical reference. */
  image: string;
  ref: ImageReference;
  workspaces: string[];
  /** Registry manifest name; absent means Kasm would never pull it. */
  registry?: string;
  /** Digest-pinned references are never refreshed. */
  pinned: boolean;
  /** When its tag is re-checked: `default` (the refresh schedule) and/or workspace cron expressions; empty = never. */
  schedules: string[];
};

export type DesiredAgent = {
  agent: string;
  enabled: boolean;
  maxConcurrentPulls: number;
  images: DesiredImage[];
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

function wanted(workspace: WorkspaceManifest): { ref: ImageReference; schedule: string | undefined }[] {
  const schedule = refreshSchedule(workspace);
  const refs = [parseImageReference(workspace.spec.image), ...movingTagRefs(workspace)];
  return refs.map((ref) => ({ ref, schedule }));
}

/**
 * What each agent should hold (docs/architecture.md): the image of every enabled workspace whose selector
 * matches it, plus that workspace's moving tags. Disabled agents are listed with no images.
 */
export function desiredState(set: ManifestSet, onlyAgents?: readonly string[]): DesiredState {
  const warnings: PlanWarning[] = [];
  const defaultLimit = set.settings?.spec.maxConcurrentPulls ?? DEFAULTS.maxConcurrentPulls;
  const workspaces = [...set.workspaces].sort((a, b) => compareText(a.metadata.name, b.metadata.name));
  const enabled = workspaces.filter((w) => w.spec.enabled !== false);
  for (const w of enabled) {
    if (!w.spec.registry) {
      warnings.push({
        code: "no-registry",
        workspace: w.metadata.name,
        image: parseImageReference(w.spec.image).canonical,
        message: `workspace "${w.metadata.name}" has no registry: Kasm never pulls its image, so kasm-gitops does not either`,
      });
    }
    if (!set.agents.some((a) => selects(w, a))) {
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
  // References are parsed once per workspace, not once per agent that selects it.
  const wants = enabled.map((w) => ({ w, items: wanted(w) }));
  const result: DesiredAgent[] = [];
  for (const agent of agents) {
    const isEnabled = agent.spec.enabled !== false;
    const images = new Map<string, DesiredImage>();
    for (const { w, items } of wants) {
      if (!selects(w, agent)) continue;
      for (const { ref, schedule } of items) {
        const entry = images.get(ref.canonical) ?? {
          image: ref.canonical,
          ref,
          workspaces: [],
          pinned: ref.digest !== undefined,
          schedules: [],
        };
        if (!entry.workspaces.includes(w.metadata.name)) entry.workspaces.push(w.metadata.name);
        if (w.spec.registry && !entry.registry) entry.registry = w.spec.registry;
        if (schedule && !entry.schedules.includes(schedule)) entry.schedules.push(schedule);
        images.set(ref.canonical, entry);
      }
    }
    if (!isEnabled && images.size > 0) {
      warnings.push({
        code: "agent-disabled",
        agent: agent.metadata.name,
        message: `agent "${agent.metadata.name}" is disabled (drained): ${images.size} image(s) are not pulled there`,
      });
    }
    result.push({
      agent: agent.metadata.name,
      enabled: isEnabled,
      maxConcurrentPulls: agent.spec.maxConcurrentPulls ?? defaultLimit,
      images: isEnabled ? [...images.values()].sort((a, b) => compareText(a.image, b.image)) : [],
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
  for (const agent of desired.agents) {
    for (const image of agent.images) {
      if (image.pinned || !image.registry || !due(image)) continue;
      if (!unique.has(image.image)) unique.set(image.image, { ref: image.ref, registry: image.registry });
    }
  }
  return [...unique.values()].sort((a, b) => compareText(a.ref.canonical, b.ref.canonical));
}
