/**
 * Which images an agent can lose (pruning): data in, remove actions out. Conservative by construction: an
 * image is removed only when every rule below says it may be, and any doubt keeps it.
 */

import { parseDuration } from "../duration.js";
import type { LocalImage } from "../image/local.js";
import { type ImageReference, parseImageReference } from "../image/reference.js";
import {
  compareText,
  DEFAULTS,
  type ManifestSet,
  type PruneMode,
  type PruneSpec,
} from "../manifest/types.js";
import type { DesiredImage, DesiredState } from "./desired.js";
import type { HistoryEntry } from "./ledger-history.js";
import { type Departure, orderHistory, repositoryOfEntry } from "./ledger-history.js";
import type { PullRecord } from "./promotion.js";
import type { PlanWarning, PullAction, RemoveAction, UnknownCause } from "./types.js";

/** An agent's prune settings once Settings and the Agent's own are merged; `removedAfterMs` from `removedAfter`. */
export type PruneSettings = { mode: PruneMode; keepPrevious: number; removedAfterMs: number };

/** Agent fields win over Settings fields; absent everywhere → off, keep 1, removed workspaces kept 24h. */
export function pruneSettings(settings?: PruneSpec, agent?: PruneSpec): PruneSettings {
  const removedAfter = agent?.removedAfter ?? settings?.removedAfter ?? DEFAULTS.pruneRemovedAfter;
  return {
    mode: agent?.mode ?? settings?.mode ?? DEFAULTS.pruneMode,
    keepPrevious: agent?.keepPrevious ?? settings?.keepPrevious ?? DEFAULTS.keepPrevious,
    // Validation refused a malformed duration; the default stands in for one only in hand-built sets.
    removedAfterMs: parseDuration(removedAfter) ?? parseDuration(DEFAULTS.pruneRemovedAfter)!,
  };
}

/** The agents whose prune mode is not off: only there are containers listed. */
export function pruningAgents(set: ManifestSet): Set<string> {
  const names = set.agents.filter(
    (a) => pruneSettings(set.settings?.spec.prune, a.spec.prune).mode !== "off",
  );
  return new Set(names.map((a) => a.metadata.name));
}

/** A completed pull (or `rebuilt`: held when the ledger was rebuilt); `time` orders the history (file order when absent). */
export type PruneRecord = PullRecord & Partial<Pick<HistoryEntry, "time">>;

/** What the ledger says beyond its entries, and the clock: given by the shell, absent in hand-built plans. */
export type PruneContext = {
  now: Date;
  /** Agents whose history the ledger holds whole; on any other agent pruning is on hold (see planAgentRemovals). */
  covered: ReadonlySet<string>;
  /** Workspaces that left Git, since when. */
  departed: Readonly<Record<string, Departure>>;
};

/** Whose history keeps digests: Workspaces in Git, and those that left it less than removedAfter ago. */
export type Retention = { live: ReadonlySet<string>; lingering: ReadonlySet<string> };

/** Per workspace: its distinct pulled digests newest first, and those only a rebuild recorded (one release). */
export type WorkspaceHistory = { releases: string[]; rebuilt: string[] };

/** The ledger indexed once per plan: every `registry/repository@digest` it holds, and each workspace's history. */
export type LedgerIndex = { pulled: Set<string>; histories: Map<string, WorkspaceHistory> };

export function indexLedger(ledger: readonly PruneRecord[]): LedgerIndex {
  const pulled = new Set<string>();
  const histories = new Map<string, WorkspaceHistory>();
  const seen = new Map<string, Set<string>>();
  const ordered = orderHistory(ledger);
  for (let i = ordered.length - 1; i >= 0; i--) {
    const entry = ordered[i]!;
    const repository = repositoryOfEntry(entry);
    if (!repository) continue;
    const key = `${repository}@${entry.digest}`;
    pulled.add(key);
    for (const w of entry.workspaces) {
      let keys = seen.get(w);
      if (!keys) {
        keys = new Set();
        seen.set(w, keys);
      }
      if (keys.has(key)) continue;
      keys.add(key);
      let history = histories.get(w);
      if (!history) {
        history = { releases: [], rebuilt: [] };
        histories.set(w, history);
      }
      (entry.rebuilt ? history.rebuilt : history.releases).push(key);
    }
  }
  return { pulled, histories };
}

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
  /** The ledger indexed once for every agent; built from `ledger` when absent. */
  index?: LedgerIndex;
  /** Absent: every workspace in the ledger counts as in Git. */
  retention?: Retention;
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
 * The `keepPrevious` digests each workspace ran before its current one, as `registry/repository@digest`.
 * History is workspace-wide (every agent's pulls), distinct digests newest first. The digests only a rebuild
 * recorded count as one release, all kept: which of them ran last is not known. A workspace that left Git
 * less than removedAfter ago (`lingering`) keeps its last one and `keep` before it; one that left earlier, none.
 */
export function previousDigests(
  ledger: readonly PruneRecord[] | LedgerIndex,
  current: ReadonlySet<string>,
  keep: number,
  retention?: Retention,
): Set<string> {
  const { histories } = "histories" in ledger ? ledger : indexLedger(ledger);
  const kept = new Set<string>();
  for (const [w, history] of histories) {
    const live = !retention || retention.live.has(w);
    const count = live ? keep : retention.lingering.has(w) ? keep + 1 : 0;
    let releases = 0;
    for (const key of history.releases) {
      if (releases >= count) break;
      if (current.has(key)) continue;
      kept.add(key);
      releases++;
    }
    if (releases >= count) continue;
    for (const key of history.rebuilt) if (!current.has(key)) kept.add(key);
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
  const index = input.index ?? indexLedger(input.ledger);
  const pulled = index.pulled;
  // The digests the agent runs now for its desired tags are "current": history before them is kept.
  const current = new Set<string>(wantedDigests);
  const named = input.images.map((image) => ({ image, names: namesOf(image) }));
  for (const { names } of named) {
    if (names.tags.some((t) => wantedTags.has(t.canonical)))
      for (const d of names.digests) current.add(digestKey(d));
  }
  const kept = previousDigests(index, current, keepPrevious, input.retention);

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

/** Workspaces the ledger knows that left Git less than `removedAfterMs` before `now` (since now when not on record). */
function lingering(
  index: LedgerIndex,
  live: ReadonlySet<string>,
  removedAfterMs: number,
  context?: PruneContext,
) {
  const now = context?.now.getTime();
  const names = new Set<string>();
  for (const w of index.histories.keys()) {
    if (live.has(w)) continue;
    const since = context?.departed[w] ? Date.parse(context.departed[w].since) : now;
    if (since === undefined || Number.isNaN(since) || now === undefined || now - since < removedAfterMs)
      names.add(w);
  }
  return names;
}

/** Why an agent's removals wait for a rebuilt ledger. */
const heldMessage = (agent: string) =>
  `agent "${agent}": the ledger has no history for this agent (new, lost or with unreadable lines), so no image is pruned there that may be a previous release; apply (or the daemon's next cycle) rebuilds it from the images the agent holds, and pruning resumes after that`;

/**
 * Removals for every enabled, reachable agent whose prune mode is not off. An agent whose containers could
 * not be listed gets none (an image a container uses must never go), a `prune-skipped` warning, and an
 * unknown cause: what should be pruned there is not known, so the agent is not converged. An agent the
 * ledger does not cover (`prune.covered`) gets none either and a `prune-held` warning: without its history
 * any image may be a previous release.
 */
export function planAgentRemovals(
  input: {
    set: ManifestSet;
    desired: DesiredState;
    observations: readonly Observed[];
    ledger?: readonly PruneRecord[];
    prune?: PruneContext;
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
  const live = new Set(input.set.workspaces.map((w) => w.metadata.name));
  let index: LedgerIndex | undefined;
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
    if (input.prune && !input.prune.covered.has(agent.agent)) {
      warnings.push({ code: "prune-held", agent: agent.agent, message: heldMessage(agent.agent) });
      continue;
    }
    index ??= indexLedger(input.ledger ?? []);
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
        index,
        retention: { live, lingering: lingering(index, live, settings.removedAfterMs, input.prune) },
      }),
    );
  }
  return removals;
}
