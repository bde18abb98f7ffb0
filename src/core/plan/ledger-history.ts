/**
 * What the ledger keeps, as pure functions: the order of its history, the compaction that bounds it, the
 * entries a rebuild records from what agents hold, and when each Workspace left Git (docs/decisions.md, Prune).
 */

import type { LocalImage } from "../image/local.js";
import { type ImageReference, parseImageReference } from "../image/reference.js";
import { compareText, type ManifestSet } from "../manifest/types.js";

/**
 * One ledger line: a completed pull, or (`rebuilt`) a digest an agent held when the ledger was rebuilt, which
 * is history older than every pull the ledger records, attributed to every Workspace naming its repository.
 */
export type HistoryEntry = {
  time: string;
  agent: string;
  image: string;
  digest: string;
  revision: string;
  workspaces: string[];
  rebuilt?: true;
};

/** When a Workspace the ledger knows was first seen absent from Git, and the revision it was absent from. */
export type Departure = { since: string; revision: string };

/** How many distinct digests the ledger keeps per Workspace: keepPrevious (at most 100) plus current ones. */
export const KEPT_PER_WORKSPACE = 128;

function parse(image: string): ImageReference | undefined {
  try {
    return parseImageReference(image);
  } catch {
    return undefined;
  }
}

/** `registry/repository` of an entry's image; undefined for a line an older or foreign writer left malformed. */
export function repositoryOfEntry(entry: { image: string }): string | undefined {
  const ref = parse(entry.image);
  return ref ? `${ref.registry}/${ref.repository}` : undefined;
}

/** Oldest first: rebuilt entries (what agents held before the ledger knew anything), then by time, then file order. */
export function orderHistory<T extends { time?: string; rebuilt?: boolean }>(entries: readonly T[]): T[] {
  return entries
    .map((entry, i) => ({ entry, i }))
    .sort(
      (a, b) =>
        Number(b.entry.rebuilt ?? false) - Number(a.entry.rebuilt ?? false) ||
        compareText(a.entry.time ?? "", b.entry.time ?? "") ||
        a.i - b.i,
    )
    .map(({ entry }) => entry);
}

/**
 * The entries promotion, prune and keepPrevious still need, oldest first: per Workspace (or, for an entry
 * naming none, per repository) the newest entry of each of its `keep` newest distinct digests. Promotion
 * needs one proof per workspace and digest; prune needs each digest's place in its workspace's history.
 */
export function compactLedger<T extends HistoryEntry>(entries: readonly T[], keep = KEPT_PER_WORKSPACE): T[] {
  const ordered = orderHistory(entries);
  const keptFor = new Map<T, Set<string>>();
  const buckets = new Map<string, Set<string>>();
  for (let i = ordered.length - 1; i >= 0; i--) {
    const entry = ordered[i]!;
    const repository = repositoryOfEntry(entry);
    if (!repository) continue; // of no use to promotion or prune, which both skip it
    const key = `${repository}@${entry.digest}`;
    for (const w of entry.workspaces.length > 0 ? entry.workspaces : [""]) {
      const bucket = w ? `w:${w}` : `r:${repository}`;
      let seen = buckets.get(bucket);
      if (!seen) {
        seen = new Set();
        buckets.set(bucket, seen);
      }
      if (seen.has(key) || seen.size >= keep) continue;
      seen.add(key);
      let names = keptFor.get(entry);
      if (!names) {
        names = new Set();
        keptFor.set(entry, names);
      }
      names.add(w);
    }
  }
  const out: T[] = [];
  for (const entry of ordered) {
    const names = keptFor.get(entry);
    if (!names) continue;
    const all = entry.workspaces.length === 0 || names.size === entry.workspaces.length;
    out.push(all ? entry : { ...entry, workspaces: entry.workspaces.filter((w) => names.has(w)) });
  }
  return out;
}

/** What one agent was seen holding. */
type Held = { agent: string; reachable: boolean; images?: readonly LocalImage[] };

/**
 * Entries for a ledger rebuilt from what agents hold: every digest of a repository a Workspace in Git names,
 * on each reachable agent not `covered` yet, attributed to every Workspace of that repository. Returns the
 * agents it covers now too (those with nothing to record included).
 */
export function rebuildEntries(
  set: ManifestSet,
  observed: readonly Held[],
  covered: ReadonlySet<string>,
  now: Date,
  revision: string,
): { agents: string[]; entries: HistoryEntry[] } {
  const byRepository = new Map<string, string[]>();
  for (const w of set.workspaces) {
    const ref = parse(w.spec.image);
    if (!ref) continue;
    const key = `${ref.registry}/${ref.repository}`;
    byRepository.set(key, [...(byRepository.get(key) ?? []), w.metadata.name]);
  }
  const agents: string[] = [];
  const entries: HistoryEntry[] = [];
  const time = now.toISOString();
  for (const o of observed) {
    if (!o.reachable || !o.images || covered.has(o.agent)) continue;
    agents.push(o.agent);
    const seen = new Set<string>();
    for (const image of o.images) {
      for (const name of image.repoDigests) {
        const ref = parse(name);
        if (!ref?.digest || seen.has(ref.canonical)) continue;
        const workspaces = byRepository.get(`${ref.registry}/${ref.repository}`);
        if (!workspaces) continue;
        seen.add(ref.canonical);
        const names = [...workspaces].sort(compareText);
        entries.push({
          time,
          agent: o.agent,
          image: ref.canonical,
          digest: ref.digest,
          revision,
          workspaces: names,
          rebuilt: true,
        });
      }
    }
  }
  return { agents: agents.sort(compareText), entries };
}

/**
 * Every Workspace the ledger knows that Git does not name, with when it was first seen absent: kept from
 * `previous`, else now in `revision`. A workspace back in Git (or no longer in the ledger) is dropped.
 */
export function nextDepartures(
  entries: readonly { workspaces: readonly string[] }[],
  set: ManifestSet,
  previous: Readonly<Record<string, Departure>>,
  now: Date,
  revision: string,
): Record<string, Departure> {
  const inGit = new Set(set.workspaces.map((w) => w.metadata.name));
  const known = new Set<string>();
  for (const entry of entries) for (const w of entry.workspaces) if (!inGit.has(w)) known.add(w);
  const next: Record<string, Departure> = {};
  for (const w of [...known].sort(compareText)) {
    next[w] = previous[w] ?? { since: now.toISOString(), revision };
  }
  return next;
}
