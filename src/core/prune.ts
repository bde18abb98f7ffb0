/**
 * Which images an agent can lose (pruning): data in, remove actions out. Conservative by construction: an
 * image is removed only when every rule below says it may be, and any doubt keeps it.
 */
import type { DesiredImage, DesiredState } from "./desired.js";
import { type ImageReference, parseImageReference } from "./image-ref.js";
import type { LocalImage } from "./local-images.js";
import { compareText, DEFAULTS, type ManifestSet, type PruneMode, type PruneSpec } from "./manifest.js";
import type { PlanWarning, PullAction, RemoveAction, UnknownCause } from "./plan-types.js";
import type { PullRecord } from "./promotion.js";

/** An agent's prune settings once Settings and the Agent's own are merged. */
export type PruneSettings = { mode: PruneMode; keepPrevious: number };

/** Agent fields win over Settings fields; absent everywhere → off, keep 1. */
export function pruneSettings(settings?: PruneSpec, agent?: PruneSpec): PruneSettings {
  return {
    mode: agent?.mode ?? settings?.mode ?? DEFAULTS.pruneMode,
    keepPrevious: agent?.keepPrevious ?? settings?.keepPrevious ?? DEFAULTS.keepPrevious,
  };
}

/** The agents whose prune mode is not off: only there are containers listed. */
export function pruningAgents(set: ManifestSet): Set<string> {
  const names = set.agents.filter(
    (a) => pruneSettings(set.settings?.spec.prune, a.spec.prune).mode !== "off",
  );
  return new Set(names.map((a) => a.metadata.name));
}

/** A completed pull; `time` orders the history (the ledger file's own order when absent). */
export type PruneRecord = PullRecord & { time?: string };

export type PruneInput = {
  agent: string;
  settings: PruneSettings;
  images: readonly LocalImage[];
  /** Ids of the images any container (running or stopped) was created from. */
  containerImages: ReadonlySet<string>;
  /** What this agent should hold. */
  desired: readonly DesiredImage[];
  /** `registry/repository` of every Workspace image and moving tag in Git, enabled or not. */
  workspaceRepositories: ReadonlySet<string>;
  /** `registry/repository@digest` this cycle pulls on the agent: that image becomes wanted again. */
  incoming: ReadonlySet<string>;
  ledger: readonly PruneRecord[];
};

const repositoryOf = (ref: ImageReference) => `${ref.registry}/${ref.repository}`;
const digestKey = (ref: ImageReference) => `${repositoryOf(ref)}@${ref.digest}`;

function parse(entry: string): ImageReference | undefined {
  try {
    return parseImageReference(entry);
  } catch {
    return undefined;
  }
}

/**
 * The `keepPrevious` digests each workspace ran before its current one, newest first, as
 * `registry/repository@digest`. History is workspace-wide (every agent's pulls); a workspace that left Git
 * keeps its last ones, so reverting its removal is no pull either.
 */
export function previousDigests(
  ledger: readonly PruneRecord[],
  current: ReadonlySet<string>,
  keep: number,
): Set<string> {
  const byWorkspace = new Map<string, PruneRecord[]>();
  const ordered = ledger
    .map((entry, i) => ({ entry, i }))
    .sort((a, b) => compareText(a.entry.time ?? "", b.entry.time ?? "") || a.i - b.i);
  for (const { entry } of ordered) {
    for (const w of entry.workspaces) {
      const entries = byWorkspace.get(w);
      if (entries) entries.push(entry);
      else byWorkspace.set(w, [entry]);
    }
  }
  const kept = new Set<string>();
  if (keep <= 0) return kept;
  for (const entries of byWorkspace.values()) {
    const seen = new Set<string>();
    for (let i = entries.length - 1; i >= 0 && seen.size < keep; i--) {
      const ref = parse(entries[i]!.image);
      if (!ref) continue;
      const key = `${repositoryOf(ref)}@${entries[i]!.digest}`;
      if (current.has(key) || seen.has(key)) continue;
      seen.add(key);
      kept.add(key);
    }
  }
  return kept;
}

/** What the planner knows of one local image's names. */
type Names = { tags: ImageReference[]; digests: ImageReference[]; repositories: Set<string> };

function namesOf(image: LocalImage): Names {
  const tags = image.repoTags.map(parse).filter((r): r is ImageReference => r !== undefined);
  const digests = image.repoDigests.map(parse).filter((r): r is ImageReference => r?.digest !== undefined);
  return { tags, digests, repositories: new Set([...tags, ...digests].map(repositoryOf)) };
}

/** The name a person knows the image by: its first tag, else its first repo digest, else its id. */
const displayName = (image: LocalImage, names: Names) =>
  names.tags[0]?.canonical ?? names.digests[0]?.canonical ?? image.id;

/** Removals for one agent; none when the mode is off. Sorted by image name for a reproducible plan. */
export function planRemovals(input: PruneInput): RemoveAction[] {
  const { mode, keepPrevious } = input.settings;
  if (mode === "off") return [];
  const wantedTags = new Set<string>();
  const wantedDigests = new Set<string>(input.incoming);
  for (const d of input.desired) {
    if (d.ref.digest !== undefined) wantedDigests.add(digestKey(d.ref));
    else wantedTags.add(d.ref.canonical);
  }
  const pulled = new Set<string>();
  for (const entry of input.ledger) {
    const ref = parse(entry.image);
    if (ref) pulled.add(`${repositoryOf(ref)}@${entry.digest}`);
  }
  // The digests the agent runs now for its desired tags are "current": history before them is kept.
  const current = new Set<string>(wantedDigests);
  const named = input.images.map((image) => ({ image, names: namesOf(image) }));
  for (const { names } of named) {
    if (names.tags.some((t) => wantedTags.has(t.canonical)))
      for (const d of names.digests) current.add(digestKey(d));
  }
  const kept = previousDigests(input.ledger, current, keepPrevious);

  const actions: RemoveAction[] = [];
  for (const { image, names } of named) {
    const untagged = names.tags.length === 0;
    if (mode === "dangling" && !untagged) continue;
    if (input.containerImages.has(image.id)) continue;
    if (names.repositories.size === 0) continue; // no name at all: nothing says kasm-gitops manages it
    if (names.tags.some((t) => wantedTags.has(t.canonical))) continue;
    const keys = names.digests.map(digestKey);
    if (keys.some((k) => wantedDigests.has(k) || kept.has(k))) continue;
    const ours = new Set(names.digests.filter((d) => pulled.has(digestKey(d))).map(repositoryOf));
    const managed = [...names.repositories].every((r) => input.workspaceRepositories.has(r) || ours.has(r));
    if (!managed) continue;
    actions.push({
      type: "remove",
      agent: input.agent,
      image: displayName(image, names),
      id: image.id,
      bytes: image.size ?? 0,
      reason: untagged ? "dangling" : "unused",
      tags: names.tags.map((t) => t.canonical),
    });
  }
  return actions.sort((a, b) => compareText(a.image, b.image) || compareText(a.id, b.id));
}

/** What the planner saw on an agent, as far as pruning needs it. */
type Observed = { agent: string } & (
  | {
      reachable: true;
      images: readonly LocalImage[];
      containers?: readonly string[];
      containersError?: string;
    }
  | { reachable: false }
);

/** What each agent's pulls of this cycle bring, so an image they tag again is not removed first. */
function incomingByAgent(pulls: readonly PullAction[]): Map<string, Set<string>> {
  const incoming = new Map<string, Set<string>>();
  for (const pull of pulls) {
    const ref = parse(pull.image);
    if (!ref || !pull.targetDigest) continue;
    const keys = incoming.get(pull.agent) ?? new Set<string>();
    keys.add(`${repositoryOf(ref)}@${pull.targetDigest}`);
    incoming.set(pull.agent, keys);
  }
  return incoming;
}

/**
 * Removals for every enabled, reachable agent whose prune mode is not off. An agent whose containers could
 * not be listed gets none (an image a container uses must never go), a `prune-skipped` warning, and an
 * unknown cause: what should be pruned there is not known, so the agent is not converged.
 */
export function planAgentRemovals(
  input: {
    set: ManifestSet;
    desired: DesiredState;
    observations: readonly Observed[];
    ledger?: readonly PruneRecord[];
  },
  pulls: readonly PullAction[],
  warnings: PlanWarning[],
  unknown: UnknownCause[] = [],
): RemoveAction[] {
  const repositories = new Set<string>();
  for (const w of input.set.workspaces) {
    const ref = parse(w.spec.image);
    if (ref) repositories.add(repositoryOf(ref));
  }
  const manifests = new Map(input.set.agents.map((a) => [a.metadata.name, a]));
  const observed = new Map(input.observations.map((o) => [o.agent, o]));
  // `registry/repository@digest` each agent's pulls bring, grouped once (when an agent prunes), not per agent.
  let incoming: Map<string, Set<string>> | undefined;
  const incomingTo = (name: string) => {
    incoming ??= incomingByAgent(pulls);
    return incoming.get(name) ?? new Set<string>();
  };
  const removals: RemoveAction[] = [];
  for (const agent of input.desired.agents) {
    const settings = pruneSettings(input.set.settings?.spec.prune, manifests.get(agent.agent)?.spec.prune);
    const seen = observed.get(agent.agent);
    if (settings.mode === "off" || !agent.enabled || !seen?.reachable) continue;
    if (!seen.containers) {
      const why = seen.containersError ? `: ${seen.containersError}` : "";
      const message = `agent "${agent.agent}": its containers could not be listed, so no image is pruned there${why}`;
      warnings.push({ code: "prune-skipped", agent: agent.agent, message });
      unknown.push({ kind: "agent", name: agent.agent, reason: "containers-unlisted", message });
      continue;
    }
    removals.push(
      ...planRemovals({
        agent: agent.agent,
        settings,
        images: seen.images,
        containerImages: new Set(seen.containers),
        desired: agent.images,
        workspaceRepositories: repositories,
        incoming: incomingTo(agent.agent),
        ledger: input.ledger ?? [],
      }),
    );
  }
  return removals;
}
