import type { KasmAgentView, KasmBlockedReason, UnknownCause } from "../core/plan/types.js";
import {
  type AutomationReport,
  type AutomationView,
  automationFeed,
  followGit,
  reduceAutomation,
} from "../core/status/automation-view.js";
import type { FleetView } from "../core/status/fleet-view.js";
import { appendFeed, type FeedEntry, type PruneView, type ScheduleView } from "../core/status/status-view.js";
import type { CycleResult, RefusalReason } from "../ports.js";
import type { FailedAction } from "./cycle-health.js";
import type { ExecutorEvent } from "./executor.js";
import { applyExecutorEvent, mergePlanned } from "./status-fleet.js";

/** What started a cycle, so `/status` tells a webhook-triggered run from a scheduled one. */
export type CycleTrigger = "start" | "interval" | "refresh" | "webhook";

export type AgentStatus = {
  reachable: boolean;
  converged: boolean;
  pending: number;
  error?: string;
  /** Bytes of image layers on the agent's disk (Docker's disk usage), when it answered. */
  imageBytes?: number;
};

/** The Kasm records as the last cycle saw and left them. */
export type KasmStatus = {
  url: string;
  reachable: boolean;
  /** Records carrying the marker of a Workspace in Git. */
  managed: number;
  /** Managed records edited in Kasm, found by the last plan (put back by its apply). */
  drift: number;
  /** Kasm changes not made by the last cycle: failed, held, or waiting for Kasm. */
  pending: number;
  /** The changes the last plan held, each with its reason (`kasm-report-stale`, `image-not-on-agents`, …). */
  held?: { workspace: string; reason: KasmBlockedReason; message: string }[];
  /** Differences Kasm will not let a write fix (a value it ignores), with where in its UI to fix them. */
  kept?: { workspace: string; message: string }[];
  /** Per Agent naming its Kasm agent: the images Git wants there that Kasm sees (and launches on) or not. */
  agents?: KasmAgentView[];
  lastError?: { at: string; message: string };
};

/** The last thing that went wrong, with the failed actions and the manifest problems spelled out. */
export type LastError = {
  at: string;
  message: string;
  cycleId?: string;
  reason?: RefusalReason;
  failed?: FailedAction[];
  /** `file:line:col: message` of a refused revision's errors (the first 20). */
  problems?: string[];
};

export type CycleRecord = {
  id: string;
  trigger: CycleTrigger;
  startedAt: string;
  finishedAt: string;
  result: CycleResult;
  error?: string;
};

/** The daemon's state as `/status` shows it: plain JSON, times as ISO strings. */
export type DaemonStatus = {
  branch: string;
  /** The branch tip last fetched, valid or not. */
  revision?: string;
  /** The revision in force: the last one that validated. */
  lastGoodRevision?: string;
  running?: { id: string; trigger: CycleTrigger; startedAt: string };
  lastCycle?: CycleRecord;
  lastError?: LastError;
  /** The branch tip refused (signature or manifests) and how many cycles refused it since it was first seen. */
  refusal?: { revision: string; reason: RefusalReason; count: number; since: string };
  agents: Record<string, AgentStatus>;
  /** Present when the manifests define a KasmServer. */
  kasm?: KasmStatus;
  /**
   * True from the first cycle that reconciled a revision in force without a failure (the tip's own, or the
   * last good one while the tip is refused, also right after a restart); a later failure keeps it true.
   */
  ready: boolean;
  /**
   * `converged`: the last cycle verified every agent and registry check and every action succeeded;
   * `degraded`: something failed or could not be checked (see `reasons`); `starting`: no cycle yet.
   */
  state: "starting" | "converged" | "degraded";
  /** Why the state is degraded, one sentence each, naming what to fix. */
  reasons: string[];
  /** What the last plan could not verify (registry checks, agents, Kasm). */
  unknown: UnknownCause[];
  /** The status page's matrix of agents × workspaces, promotions and Kasm records, from the last plan on. */
  fleet?: FleetView;
  /** Each agent's removals in the last cycle that pruned there. */
  prune?: Record<string, PruneView>;
  /** The last 50 things that happened, oldest first. */
  events: FeedEntry[];
  /** The schedule in force. */
  schedule?: ScheduleView;
  /** Image automation: each update policy's candidate and proposals, each auto-promotion (the updater's passes). */
  automation?: AutomationView;
};

/** What the daemon loop reports; `at` comes from its clock, so the reducer stays pure. */
export type StatusEvent =
  | { type: "cycle-started"; id: string; trigger: CycleTrigger; at: Date }
  | { type: "revision-fetched"; revision: string }
  | { type: "revision-applied"; revision: string }
  /** The last good revision read back from the state dir (a restart on an invalid tip). */
  | { type: "revision-restored"; revision: string }
  | {
      type: "revision-refused";
      revision: string;
      reason: RefusalReason;
      error: string;
      problems?: string[];
      at: Date;
    }
  | { type: "agents-observed"; agents: Record<string, AgentStatus> }
  | { type: "agent-updated"; agent: string; status: Partial<AgentStatus> }
  /** `error` (with `at`) replaces the last Kasm error; a status without a KasmServer clears it. */
  | { type: "kasm-observed"; kasm?: Omit<KasmStatus, "lastError">; error?: string; at: Date }
  | {
      type: "cycle-finished";
      id: string;
      result: CycleResult;
      error?: string;
      failed?: FailedAction[];
      /** A revision was in force and reconciled without a failure, even if the tip was refused. */
      inForce?: boolean;
      at: Date;
    }
  | { type: "health"; reasons: string[]; unknown: UnknownCause[] }
  /** What a cycle planned, as the status page draws it (core/status/fleet-view.ts). */
  | { type: "fleet-planned"; fleet: FleetView }
  /** What the executor reports while it works: pulls starting and progressing, actions done. */
  | { type: "executor"; event: ExecutorEvent; at: Date }
  | { type: "schedule"; schedule: ScheduleView }
  /** One pass of the updater (update checks, or auto-promotions), from outside the cycle. */
  | { type: "automation"; report: AutomationReport; at: Date };

export function initialStatus(branch: string): DaemonStatus {
  return { branch, agents: {}, ready: false, state: "starting", reasons: [], unknown: [], events: [] };
}

const UNKNOWN_AGENT: AgentStatus = { reachable: false, converged: false, pending: 0 };

/** Applies one event; returns a new snapshot and never mutates the old one (it may be being served). */
export function reduceStatus(status: DaemonStatus, event: StatusEvent): DaemonStatus {
  const next = reduceFields(status, event);
  const lines = feedLines(status, next, event);
  return lines.length > 0 ? { ...next, events: appendFeed(next.events, ...lines) } : next;
}

function reduceFields(status: DaemonStatus, event: StatusEvent): DaemonStatus {
  switch (event.type) {
    case "cycle-started":
      return {
        ...status,
        running: { id: event.id, trigger: event.trigger, startedAt: event.at.toISOString() },
      };
    case "revision-fetched":
      return { ...status, revision: event.revision };
    case "revision-applied": {
      const { refusal: _, ...rest } = status;
      return { ...rest, revision: event.revision, lastGoodRevision: event.revision };
    }
    case "revision-restored":
      return { ...status, lastGoodRevision: event.revision };
    case "revision-refused": {
      const at = event.at.toISOString();
      const same = status.refusal?.revision === event.revision && status.refusal.reason === event.reason;
      return {
        ...status,
        revision: event.revision,
        lastError: {
          at,
          message: `revision ${event.revision} refused: ${event.error}`,
          ...(status.running ? { cycleId: status.running.id } : {}),
          reason: event.reason,
          ...(event.problems?.length ? { problems: [...event.problems] } : {}),
        },
        refusal: {
          revision: event.revision,
          reason: event.reason,
          count: same ? status.refusal!.count + 1 : 1,
          since: same ? status.refusal!.since : at,
        },
      };
    }
    case "agents-observed":
      return { ...status, agents: structuredClone(event.agents) };
    case "agent-updated": {
      const merged = { ...(status.agents[event.agent] ?? UNKNOWN_AGENT), ...event.status };
      if (event.status.error === undefined && "error" in event.status) delete merged.error;
      return { ...status, agents: { ...status.agents, [event.agent]: merged } };
    }
    case "kasm-observed": {
      const { kasm: _, ...rest } = status;
      if (!event.kasm) return rest;
      const lastError = event.error
        ? { at: event.at.toISOString(), message: event.error }
        : status.kasm?.lastError;
      return { ...rest, kasm: { ...event.kasm, ...(lastError ? { lastError } : {}) } };
    }
    case "cycle-finished":
      return finishCycle(status, event);
    case "health":
      return {
        ...status,
        state: event.reasons.length > 0 ? "degraded" : "converged",
        reasons: [...event.reasons],
        unknown: structuredClone(event.unknown),
      };
    case "fleet-planned": {
      const automation = status.automation && followGit(status.automation, event.fleet.workspaces);
      return {
        ...status,
        fleet: mergePlanned(status.fleet, event.fleet),
        ...(automation ? { automation } : {}),
      };
    }
    case "executor":
      return applyExecutorEvent(status, event.event, event.at);
    case "schedule":
      return { ...status, schedule: structuredClone(event.schedule) };
    case "automation":
      return {
        ...status,
        automation: reduceAutomation(status.automation, event.report, event.at.toISOString()),
      };
  }
}

/** The feed lines an event adds: revisions, refusals, agents lost and back, failed cycles, health changes. */
function feedLines(before: DaemonStatus, after: DaemonStatus, event: StatusEvent): FeedEntry[] {
  const at = after.running?.startedAt ?? after.lastCycle?.finishedAt ?? new Date(0).toISOString();
  switch (event.type) {
    case "revision-applied":
      return before.lastGoodRevision === event.revision
        ? []
        : [{ at, level: "info", message: `revision ${event.revision.slice(0, 12)} in force` }];
    case "revision-refused":
      return after.refusal?.count === 1
        ? [{ at: event.at.toISOString(), level: "error", message: after.lastError!.message }]
        : [];
    case "agents-observed":
      return Object.entries(after.agents).flatMap(([name, a]): FeedEntry[] => {
        const was = before.agents[name];
        if (!a.reachable && (was?.reachable ?? true))
          return [{ at, level: "error", message: `agent ${name} unreachable: ${a.error ?? "no answer"}` }];
        if (a.reachable && was && !was.reachable)
          return [{ at, level: "info", message: `agent ${name} reachable again` }];
        return [];
      });
    case "kasm-observed":
      return event.error
        ? [{ at: event.at.toISOString(), level: "error", message: `Kasm: ${event.error}` }]
        : [];
    case "cycle-finished":
      // Failed actions and refusals have lines of their own; this says what else failed a cycle.
      return event.result !== "failed" || event.error === undefined || (event.failed?.length ?? 0) > 0
        ? []
        : [
            {
              at: event.at.toISOString(),
              level: "error",
              message: `cycle failed: ${event.error}`,
            },
          ];
    case "health": {
      const finished = after.lastCycle?.finishedAt ?? at;
      if (after.state === "degraded" && before.state !== "degraded")
        return [{ at: finished, level: "warn", message: `degraded: ${after.reasons.join("; ")}` }];
      if (after.state === "converged" && before.state !== "converged")
        return [{ at: finished, level: "info", message: "converged: every agent and check verified" }];
      return [];
    }
    case "automation":
      return automationFeed(event.report, event.at.toISOString());
    default:
      return [];
  }
}

function finishCycle(
  status: DaemonStatus,
  event: Extract<StatusEvent, { type: "cycle-finished" }>,
): DaemonStatus {
  const at = event.at.toISOString();
  const { running, ...rest } = status;
  const lastCycle: CycleRecord = {
    id: event.id,
    trigger: running?.id === event.id ? running.trigger : "interval",
    startedAt: running?.id === event.id ? running.startedAt : at,
    finishedAt: at,
    result: event.result,
    ...(event.error !== undefined ? { error: event.error } : {}),
  };
  // A refused revision already recorded its own, more precise error.
  const keepRefusal =
    (event.result === "invalid-revision" || event.result === "untrusted-revision") &&
    status.lastError?.cycleId === event.id;
  const lastError =
    event.error !== undefined && !keepRefusal
      ? {
          at,
          message: event.error,
          cycleId: event.id,
          ...(event.failed?.length ? { failed: event.failed } : {}),
        }
      : status.lastError;
  return {
    ...rest,
    lastCycle,
    ...(lastError ? { lastError } : {}),
    ready: status.ready || event.result === "ok" || event.inForce === true,
  };
}

/** Reachable and total agents, for the `kasm_gitops_agents*` gauges. */
export function agentCounts(status: DaemonStatus): { reachable: number; total: number } {
  const agents = Object.values(status.agents);
  return { reachable: agents.filter((a) => a.reachable).length, total: agents.length };
}
