/**
 * The reconciler loop of `kasm-gitops run`: timers and webhooks ask for cycles, coalesced so two never run
 * at once; each cycle takes the revision in force, runs the one cycle (engine/cycle.ts) and hands its report
 * to the reporter (engine/cycle-report.ts), which alone turns it into status, metrics, logs and notifications.
 */
import { randomBytes } from "node:crypto";
import { describeError } from "../core/errors.js";
import type { ManifestSet } from "../core/manifest/types.js";
import type { NotificationEvent } from "../core/notification.js";
import type { RefreshScope } from "../core/plan/desired.js";
import type { Metrics, RevisionStore } from "../ports.js";
import { type ReconcileDeps, runCycle } from "./cycle.js";
import type { DaemonLogger } from "./cycle-log.js";
import { type CycleReport, type PlannedReport, recheckAfter } from "./cycle-outcome.js";
import { createReporter } from "./cycle-report.js";
import type { Notifier } from "./notifier.js";
import { createRevisionInForce } from "./revision-in-force.js";
import { createTimers } from "./schedule.js";
import type { Snapshot } from "./snapshot.js";
import {
  type CycleTrigger,
  type DaemonStatus,
  initialStatus,
  reduceStatus,
  type StatusEvent,
} from "./status.js";
import type { Updater } from "./update/updater.js";

export type { DaemonLogger };

export type DaemonDeps = ReconcileDeps & {
  store: RevisionStore;
  metrics: Metrics;
  logger: DaemonLogger;
  /** Where rollout, promotion, health and refusal events go; absent = no notifications. */
  notifier?: Notifier;
  /** Update checks on their own schedule (engine/update/updater.ts); told each revision in force. */
  updater?: Updater;
};
export type DaemonOptions = {
  branch: string;
  /** Flags win over the repo's Settings, which win over the defaults (docs/operations.md). */
  intervalMs?: number;
  refreshCron?: string;
  onlyAgents?: string[];
  /** `--kasm-only`: the Kasm syncer, deciding switches from Kasm's agent reports (no Docker connection). */
  kasmOnly?: { reportMaxAgeMs?: number };
  /** How long in-flight pulls may finish after a stop before they are aborted. */
  graceMs: number;
};

export type Daemon = {
  start(): void;
  /** Asks for a cycle now; coalesced with one already running or queued. A refresh names its schedule. */
  request(trigger: CycleTrigger, schedule?: string): void;
  status(): DaemonStatus;
  /** Stops scheduling, lets in-flight pulls finish within the grace period, and resolves when idle. */
  stop(): Promise<void>;
  /** Resolves when no cycle is running or queued (tests and benchmarks wait on it). */
  idle(): Promise<void>;
  /** Sends an event to the Notifications of the revision in force (e.g. `drift` from the Kasm sync). */
  notify(event: NotificationEvent): void;
  /** Applies a status event from outside the loop (the updater's passes, which run beside the cycles). */
  record(event: StatusEvent): void;
};

/** Which trigger wins when two are coalesced: a refresh includes everything an interval cycle does. */
const RANK: Record<CycleTrigger, number> = { interval: 0, webhook: 1, start: 2, refresh: 3 };

/** The reconciler loop of `kasm-gitops run`: never two cycles at once, the last good revision in force. */
export function createDaemon(deps: DaemonDeps, options: DaemonOptions): Daemon {
  let status = initialStatus(options.branch);
  let loop: Promise<void> | undefined;
  let queued: CycleTrigger | undefined;
  /** Schedules (`default` or a workspace's cron) whose refresh is due and not yet run. */
  let due = new Set<string>();
  let stopping = false;
  /** References whose last check failed (or whose action failed): asked again on the next cycle. */
  let recheck = new Set<string>();
  const update = (event: StatusEvent) => {
    status = reduceStatus(status, event);
  };
  const timers = createTimers(
    {
      ...(options.intervalMs ? { intervalMs: options.intervalMs } : {}),
      ...(options.refreshCron ? { refreshCron: options.refreshCron } : {}),
    },
    (trigger, schedule) => daemon.request(trigger, schedule),
    (schedule) => {
      deps.logger.info(schedule, "schedule");
      update({ type: "schedule", schedule });
    },
  );
  const drain = new AbortController();
  const hard = new AbortController();
  const revisions = createRevisionInForce(deps);
  const reporter = createReporter(
    {
      update,
      status: () => status,
      metrics: deps.metrics,
      logger: deps.logger,
      ...(deps.notifier ? { notifier: deps.notifier } : {}),
      clock: deps.clock,
    },
    { branch: options.branch, ...(options.onlyAgents ? { onlyAgents: options.onlyAgents } : {}) },
  );

  async function cycle(trigger: CycleTrigger): Promise<void> {
    const id = randomBytes(4).toString("hex");
    const report: CycleReport = {
      id,
      startedAt: deps.clock.now(),
      finishedAt: new Date(0),
      results: [],
      imageBytes: {},
    };
    reporter.started(id, trigger);
    try {
      const outcome = await revisions.next(hard.signal);
      report.revision = outcome;
      // The schedule and notifications follow the revision in force (the defaults while there is none).
      if (outcome.fresh || outcome.restored || !outcome.snapshot) {
        reschedule(outcome.snapshot?.set);
        deps.notifier?.configure(outcome.snapshot?.set.notifications ?? []);
      }
      reporter.revision(id, outcome);
      const snapshot = outcome.snapshot;
      deps.updater?.configure(snapshot);
      if (snapshot) {
        // A new revision (or the first cycle) checks every tag; a scheduled refresh only the tags that follow it.
        let scope: false | RefreshScope = false;
        if (trigger === "start" || outcome.changed) scope = "all";
        else if (trigger === "refresh") scope = new Set(due);
        due = new Set();
        await reconcile(report, snapshot, scope);
        // The cycle may have recorded a smoke pass (or a pull) an auto-promotion waited for.
        void deps.updater?.promote();
      }
    } catch (cause) {
      report.error = describeError(cause);
    }
    if (report.planned) recheck = recheckAfter(report.planned, report.results);
    report.finishedAt = deps.clock.now();
    reporter.finished(report);
  }

  /** Plans and carries out one revision, filling in the report as it goes. */
  async function reconcile(report: CycleReport, snapshot: Snapshot, refresh: false | RefreshScope) {
    const { results, fleet } = await runCycle(deps, {
      snapshot,
      refresh,
      diskUsage: true,
      ...(options.onlyAgents ? { onlyAgents: options.onlyAgents } : {}),
      ...(options.kasmOnly ? { kasmOnly: true, ...options.kasmOnly } : {}),
      signal: hard.signal,
      recheck,
      record: true,
      onPlanned: ({ plan, desired, observations, kasm }) => {
        const planned: PlannedReport = {
          id: report.id,
          set: snapshot.set,
          desired,
          plan,
          observations,
          ...(kasm ? { kasm } : {}),
          refresh: refresh === false ? "none" : refresh === "all" ? "all" : [...refresh],
        };
        report.planned = planned;
        recheck = recheckAfter(planned, []);
        reporter.planned(planned);
      },
      execute: {
        signal: hard.signal,
        drain: drain.signal,
        onEvent: reporter.progress(report.id, snapshot.revision.revision),
      },
    });
    report.results = results;
    // Image bytes change with pulls and removals: read again where they did; an unanswered read keeps the last figure.
    const changed = new Set(
      results
        .filter((r) => r.status === "ok" && (r.action.type === "remove" || r.action.type === "pull"))
        .map((r) => (r.action as { agent: string }).agent),
    );
    for (const name of changed) {
      const bytes = await fleet.agents
        .get(name)
        ?.imageBytes(hard.signal)
        .catch(() => undefined);
      if (bytes !== undefined) report.imageBytes[name] = bytes;
    }
  }

  /** (Re)creates the timers when the schedule a revision asks for changes; never after a stop. */
  function reschedule(set?: ManifestSet) {
    if (!stopping) timers.update(set);
  }

  async function run(first: CycleTrigger) {
    for (let next: CycleTrigger | undefined = first; next && !stopping; ) {
      await cycle(next);
      next = queued;
      queued = undefined;
    }
    loop = undefined;
  }

  const daemon: Daemon = {
    start() {
      reschedule();
      daemon.request("start");
    },
    request(trigger, schedule = "default") {
      if (stopping) return;
      if (trigger === "refresh") due.add(schedule);
      if (loop) {
        if (queued === undefined || RANK[trigger]! > RANK[queued]!) queued = trigger;
        return;
      }
      loop = run(trigger);
    },
    status: () => status,
    notify: (event) => deps.notifier?.emit(event),
    record: update,
    async idle() {
      while (loop) await loop;
    },
    async stop() {
      stopping = true;
      timers.stop();
      drain.abort();
      const timer = setTimeout(() => hard.abort(), options.graceMs);
      await Promise.all([daemon.idle(), deps.updater?.stop()]);
      clearTimeout(timer);
    },
  };
  return daemon;
}
