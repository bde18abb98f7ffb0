/**
 * What the status page reads of the daemon's `/status`: the engine's status satisfies this shape, and the
 * page (http) depends on it, never on the engine itself.
 */
import type { UnknownCause } from "../plan/types.js";
import type { AutomationView } from "./automation-view.js";
import type { FleetView } from "./fleet-view.js";

/**
 * One line of the page's recent events, newest last in the status (the page shows newest first). `count`:
 * how many times the same line came (a pull failing every cycle is one line, moved to the end).
 */
export type FeedEntry = { at: string; level: "info" | "warn" | "error"; message: string; count?: number };

/** How many feed entries `/status` keeps. */
export const FEED_LENGTH = 50;

/** An agent's removals in the last cycle that pruned there. */
export type PruneView = {
  at: string;
  cycle?: string;
  removed: number;
  freedBytes: number;
  /** Kept because a container took the image meanwhile, or a stop came. */
  kept: number;
  failed: number;
  /** The first failure's message. */
  error?: string;
};

/** The schedule in force: how often the branch is checked and when tags are refreshed. */
export type ScheduleView = { interval: string; refresh: string; workspaceCrons: string[] };

type CycleView = {
  id: string;
  trigger: string;
  startedAt: string;
  finishedAt: string;
  result: string;
  error?: string;
};

export type StatusView = {
  branch: string;
  revision?: string;
  lastGoodRevision?: string;
  running?: { id: string; trigger: string; startedAt: string };
  lastCycle?: CycleView;
  lastError?: { at: string; message: string };
  refusal?: { revision: string; reason: string; count: number; since: string };
  agents: Record<
    string,
    { reachable: boolean; converged: boolean; pending: number; error?: string; imageBytes?: number }
  >;
  kasm?: {
    url: string;
    reachable: boolean;
    managed: number;
    drift: number;
    pending: number;
    kept?: { workspace: string; message: string }[];
    lastError?: { at: string; message: string };
  };
  ready: boolean;
  state: "starting" | "converged" | "degraded";
  reasons: string[];
  unknown: UnknownCause[];
  fleet?: FleetView;
  prune?: Record<string, PruneView>;
  events?: FeedEntry[];
  schedule?: ScheduleView;
  automation?: AutomationView;
};

/** Appends to the feed, a repeated line counted instead of added again; keeps the last FEED_LENGTH entries. */
export function appendFeed(feed: readonly FeedEntry[] | undefined, ...entries: FeedEntry[]): FeedEntry[] {
  let all = [...(feed ?? [])];
  for (const entry of entries) {
    const same = all.find((e) => e.message === entry.message && e.level === entry.level);
    if (same) all = all.filter((e) => e !== same);
    all.push(same ? { ...entry, count: (same.count ?? 1) + 1 } : entry);
  }
  return all.length > FEED_LENGTH ? all.slice(all.length - FEED_LENGTH) : all;
}
