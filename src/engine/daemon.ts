import { randomBytes } from "node:crypto";
import { describeError } from "../core/errors.js";
import type { ManifestSet } from "../core/manifest/types.js";
import { driftEvent, type NotificationEvent, type NotificationEventKind } from "../core/notification.js";
import { blockedPromotions, blockedReasons } from "../core/plan/blocked-promotions.js";
import type { RefreshScope } from "../core/plan/desired.js";
import { actionSubject } from "../core/plan/render.js";
import type { Plan, UnknownKind } from "../core/plan/types.js";
import { fleetView } from "../core/status/fleet-view.js";
import type { CycleResult, DockerAgent, Metrics, RevisionStore } from "../ports.js";
import {
  agentStatuses,
  degradedReasons,
  type FailedAction,
  failedActions,
  failedSummary,
  kasmSummary,
} from "./cycle-health.js";
import { cycleEventLogger, type DaemonLogger, logBlocked } from "./cycle-log.js";
import type { Notifier } from "./notifier.js";
import {
  acceptManifests,
  executeOnFleet,
  loadSnapshot,
  planSnapshot,
  type ReconcileDeps,
  type Snapshot,
} from "./reconcile.js";
import { describeRefusal } from "./refusal.js";
import { rolloutEvents } from "./rollout-events.js";
import { createTimers } from "./schedule.js";
import {
  agentCounts,
  type CycleTrigger,
  type DaemonStatus,
  initialStatus,
  reduceStatus,
  type StatusEvent,
} from "./status.js";

export type { DaemonLogger };

export type DaemonDeps = ReconcileDeps & {
  store: RevisionStore;
  metrics: Metrics;
  logger: DaemonLogger;
  /** Where rollout, promotion, health and refusal events go; absent = no notifications. */
  notifier?: Notifier;
};
export type DaemonOptions = {
  branch: string;
  /** Flags win over the repo's Settings, which win over the defaults (docs/operations.md). */
  intervalMs?: number;
  refreshCron?: string;
  onlyAgents?: string[];
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
};

/** Which trigger wins when two are coalesced: a refresh includes everything an interval cycle does. */
const RANK: Record<CycleTrigger, number> = { interval: 0, webhook: 1, start: 2, refresh: 3 };

/** The reconciler loop of `kasm-gitops run`: never two cycles at once, the last good revision in force. */
export function createDaemon(deps: DaemonDeps, options: DaemonOptions): Daemon {
  let status = initialStatus(options.branch);
  let good: Snapshot | undefined;
  let loop: Promise<void> | undefined;
  let queued: CycleTrigger | undefined;
  /** Schedules (`default` or a workspace's cron) whose refresh is due and not yet run. */
  let due = new Set<string>();
  let stopping = false;
  /** References whose last check failed (or whose action failed): asked again on the next cycle. */
  let recheck = new Set<string>();
  /** Blocked promotions already counted, so the metric counts each once, not once per cycle. */
  const blockedSeen = new Set<string>();
  const timers = createTimers(
    {
      ...(options.intervalMs ? { intervalMs: options.intervalMs } : {}),
      ...(options.refreshCron ? { refreshCron: options.refreshCron } : {}),
    },
    (trigger, schedule) => daemon.request(trigger, schedule),
    (schedule) => {
      deps.logger.info(schedule, "schedule");
      // Status page: the schedule in force.
      update({ type: "schedule", schedule });
    },
  );
  const drain = new AbortController();
  const hard = new AbortController();
  const update = (event: StatusEvent) => {
    status = reduceStatus(status, event);
  };
  const notify = (event: NotificationEventKind, revision: string, message: string, details?: object) =>
    deps.notifier?.emit({
      event,
      revision,
      branch: options.branch,
      time: deps.clock.now().toISOString(),
      message,
      ...(details ? { details: details as Record<string, unknown> } : {}),
    });

  /** The revision last recorded in the state dir; a failed save is retried every cycle until it lands. */
  let saved: string | undefined;
  /** The refusal (reason and revision) last logged, so a tip refused every interval is logged once. */
  let refusedLogged: string | undefined;
  /** The revision whose unknown `--agent` names were last logged (once per revision). */
  let missingLogged: string | undefined;

  /** The snapshot in force: the fresh one when it validates, else the last good (memory, then disk). */
  async function snapshotFor(
    id: string,
  ): Promise<{ snapshot?: Snapshot; changed: boolean; refused?: string; result?: CycleResult }> {
    try {
      const snapshot = await loadSnapshot(deps, hard.signal);
      const changed = good?.revision.revision !== snapshot.revision.revision;
      good = snapshot;
      reschedule(snapshot.set);
      deps.notifier?.configure(snapshot.set.notifications ?? []);
      update({ type: "revision-applied", revision: snapshot.revision.revision });
      deps.metrics.setAppliedRevision(snapshot.revision.revision);
      refusedLogged = undefined;
      if (changed)
        deps.logger.info({ cycle: id, revision: snapshot.revision.revision }, "new revision in force");
      return { snapshot, changed };
    } catch (error) {
      if (!good) {
        good = await restoreSaved(id);
        if (good) saved = good.revision.revision;
        reschedule(good?.set);
        deps.notifier?.configure(good?.set.notifications ?? []);
      }
      // Never claim a revision is in force when none is (no good one this run, none recorded).
      const inForce = good
        ? `the last good revision ${good.revision.revision.slice(0, 12)} stays in force`
        : "no last good revision is in force, so nothing is reconciled";
      const refusal = describeRefusal(error, inForce);
      const { reason, revision } = refusal;
      if (reason) {
        update({
          type: "revision-refused",
          revision,
          reason,
          error: describeError(error),
          problems: refusal.problems,
          at: deps.clock.now(),
        });
        // Refused again every interval until the branch moves: logged and notified once, then counted
        // (`refusal.count` in /status, kasm_gitops_cycles_total{result=REASON}).
        const key = `${reason} ${revision}`;
        if (key !== refusedLogged) {
          refusedLogged = key;
          if (refusal.notification) notify("revision-refused", revision, refusal.notification);
          deps.logger.error({ cycle: id, ...refusal.log.fields }, refusal.log.message);
        }
      } else {
        deps.logger.error({ cycle: id, ...refusal.log.fields }, refusal.log.message);
      }
      return {
        ...(good ? { snapshot: good } : {}),
        changed: false,
        refused: refusal.error,
        ...(reason ? { result: reason } : {}),
      };
    }
  }

  /** Records the revision in force for restarts; the error (naming the file) when it cannot be written. */
  async function save(id: string, snapshot: Snapshot): Promise<string | undefined> {
    if (saved === snapshot.revision.revision) return undefined;
    try {
      await deps.store.write({
        revision: snapshot.revision.revision,
        branch: snapshot.revision.branch,
        time: deps.clock.now().toISOString(),
        files: snapshot.files,
        ...(snapshot.signedBy ? { signedBy: snapshot.signedBy } : {}),
      });
      saved = snapshot.revision.revision;
      return undefined;
    } catch (error) {
      const message = `the last good revision could not be saved, a restart would not find it: ${describeError(error)}`;
      deps.logger.error({ cycle: id, err: describeError(error) }, message);
      return message;
    }
  }

  async function restoreSaved(id: string): Promise<Snapshot | undefined> {
    const record = await deps.store.read();
    if (!record) return undefined;
    if (deps.verifier && !record.signedBy) {
      deps.logger.warn(
        { cycle: id, revision: record.revision },
        "not using the last good revision from the state dir: it was saved without --verify-commits",
      );
      return undefined;
    }
    deps.logger.warn(
      { cycle: id, revision: record.revision },
      "using the last good revision from the state dir",
    );
    update({ type: "revision-restored", revision: record.revision });
    deps.metrics.setAppliedRevision(record.revision);
    const revision = { revision: record.revision, branch: record.branch, checkoutDir: "", manifestDir: "" };
    return { revision, files: record.files, ...acceptManifests(record.files, `saved ${record.revision}`) };
  }

  async function cycle(trigger: CycleTrigger): Promise<void> {
    const id = randomBytes(4).toString("hex");
    const started = deps.clock.now();
    update({ type: "cycle-started", id, trigger, at: started });
    let result: CycleResult = "ok";
    let error: string | undefined;
    let outcome: Reconciled | undefined;
    let refusal: string | undefined;
    /** The revision in force (the tip's, or the last good one beside a refused tip) reconciled cleanly. */
    let inForce = false;
    try {
      const { snapshot, changed, refused, result: refusedAs } = await snapshotFor(id);
      if (refused) {
        result = refusedAs ?? "failed";
        error = refused;
        refusal = refused;
      }
      if (snapshot) {
        const unsaved = await save(id, snapshot);
        if (unsaved && result === "ok") {
          result = "failed";
          error = unsaved;
        }
        // A new revision (or the first cycle) checks every tag; a scheduled refresh only the tags that follow it.
        let scope: false | RefreshScope = false;
        if (trigger === "start" || changed) scope = "all";
        else if (trigger === "refresh") scope = new Set(due);
        due = new Set();
        outcome = await reconcile(id, snapshot, scope);
        if ((outcome.failed.length > 0 || outcome.kasm) && result === "ok") {
          result = "failed";
          error = [failedSummary(outcome.failed), outcome.kasm ?? ""].filter(Boolean).join("; ");
        }
        inForce = !unsaved && outcome.failed.length === 0 && !outcome.kasm;
      }
    } catch (cause) {
      result = "failed";
      error = describeError(cause);
      refusal = error;
      deps.logger.error({ cycle: id, err: error }, "cycle failed");
    }
    const finished = deps.clock.now();
    const failed = outcome?.failed ?? [];
    update({
      type: "cycle-finished",
      id,
      result,
      ...(error ? { error } : {}),
      ...(failed.length > 0 ? { failed } : {}),
      ...(inForce ? { inForce } : {}),
      at: finished,
    });
    deps.metrics.cycleFinished(result, finished.getTime() - started.getTime());
    recordHealth(id, outcome, refusal);
  }

  /** Converged or degraded, with reasons: status, gauge, and a notification on each change. */
  function recordHealth(id: string, outcome: Reconciled | undefined, refusal: string | undefined) {
    const unknown = outcome?.plan.unknown ?? [];
    const reasons = degradedReasons({
      ...(refusal ? { refused: refusal } : {}),
      ...(!outcome && !refusal ? { refused: "no valid revision to reconcile" } : {}),
      ...(outcome?.missingAgents ? { missingAgents: outcome.missingAgents } : {}),
      failed: outcome?.failed ?? [],
      blocked: outcome?.blocked ?? [],
      unknown,
    });
    // Held Kasm changes are known not to be converged (a Kasm read that failed is already in `unknown`).
    if (outcome?.kasm) reasons.push(outcome.kasm);
    const before = status.state;
    update({ type: "health", reasons, unknown });
    const byKind: Partial<Record<UnknownKind, number>> = {};
    for (const u of unknown) byKind[u.kind] = (byKind[u.kind] ?? 0) + 1;
    deps.metrics.setConverged(reasons.length === 0, byKind);
    const revision = status.lastGoodRevision ?? status.revision ?? "unknown";
    if (reasons.length > 0 && before !== "degraded") {
      deps.logger.warn({ cycle: id, reasons }, "degraded");
      notify("degraded", revision, `degraded: ${reasons.join("; ")}`, { reasons, unknown });
    } else if (reasons.length === 0 && before === "degraded") {
      deps.logger.info({ cycle: id }, "recovered: converged again");
      notify(
        "recovered",
        revision,
        "recovered: every agent and registry check verified, the fleet is converged",
      );
    }
  }

  /**
   * `kasm`: why Kasm records are held back from Git (a group Kasm lacks, an image not on the agents);
   * `missingAgents`: the `--agent` names the revision does not define, as a degraded reason.
   */
  type Reconciled = {
    plan: Plan;
    failed: FailedAction[];
    /** Promotions held at a digest nobody tests (degraded reasons). */
    blocked: string[];
    kasm?: string;
    missingAgents?: string;
  };

  /** `--agent` names the revision lacks: a reconciler that manages nothing must not look converged. */
  function missingAgents(id: string, snapshot: Snapshot): string | undefined {
    const known = snapshot.set.agents.map((a) => a.metadata.name);
    const missing = (options.onlyAgents ?? []).filter((name) => !known.includes(name));
    if (missing.length === 0) return undefined;
    const revision = snapshot.revision.revision;
    const message = `agent ${missing.join(", ")} (--agent / KASM_GITOPS_AGENT) is not defined in revision ${revision.slice(0, 12)} (agents: ${known.join(", ") || "none"}): nothing is reconciled there`;
    if (missingLogged !== revision) {
      missingLogged = revision;
      deps.logger.warn({ cycle: id, revision, agents: missing, known }, message);
    }
    return message;
  }

  async function reconcile(
    id: string,
    snapshot: Snapshot,
    refresh: false | RefreshScope,
  ): Promise<Reconciled> {
    const revision = snapshot.revision.revision;
    const { plan, desired, observations, fleet, kasm } = await planSnapshot(snapshot, deps, {
      refresh,
      diskUsage: true,
      ...(options.onlyAgents ? { onlyAgents: options.onlyAgents } : {}),
      signal: hard.signal,
      recheck,
      record: true,
    });
    const absent = missingAgents(id, snapshot);
    recheck = new Set(plan.unknown.flatMap((u) => (u.image ? [u.image] : [])));
    // An unverified promotion is asked again on the next cycle (a cycle without a refresh would not plan
    // it): one waiting for this cycle's pulls then goes ahead, and one still blocked stays a reason.
    const { waiting, blocking } = blockedPromotions(plan, snapshot.set);
    for (const p of [...waiting, ...blocking]) recheck.add(p.source).add(p.image);
    for (const blocked of plan.blocked) {
      // Held Kasm changes are logged below, with the Kasm state.
      if (blocked.type !== "pull" && blocked.type !== "promote") continue;
      const agent = blocked.type === "pull" ? blocked.agent : undefined;
      const key = `${revision} ${blocked.type} ${agent ?? ""} ${blocked.image} ${blocked.targetDigest}`;
      if (blockedSeen.has(key)) continue;
      blockedSeen.add(key);
      // The promotions metric counts promotions; a held moving-tag pull is logged once per agent.
      if (blocked.type === "promote") deps.metrics.promotionFinished("blocked");
      logBlocked(deps.logger, id, revision, blocked);
    }
    const agents = agentStatuses(observations, plan);
    const unread = new Set(plan.unknown.filter((u) => u.kind === "agent").map((u) => u.name));
    for (const o of observations) {
      if (o.reachable && o.imageBytes !== undefined) deps.metrics.setAgentImageBytes(o.agent, o.imageBytes);
    }
    update({ type: "agents-observed", agents });
    // Status page: the matrix, promotions and Kasm records as this plan draws them.
    update({
      type: "fleet-planned",
      fleet: fleetView({ set: snapshot.set, desired, plan, observations, at: deps.clock.now() }),
    });
    const counts = agentCounts(status);
    deps.metrics.setAgents(counts.reachable, counts.total);
    const kasmSeen = kasmSummary(snapshot.set, plan, kasm);
    if (kasmSeen) deps.metrics.setKasmRecords(kasmSeen.managed, kasmSeen.drift);
    update({
      type: "kasm-observed",
      ...(kasmSeen ? { kasm: kasmSeen } : {}),
      ...(kasm && !kasm.reachable ? { error: kasm.error } : {}),
      at: deps.clock.now(),
    });
    if (kasm && !kasm.reachable) deps.logger.error({ cycle: id, err: kasm.error }, "Kasm could not be read");
    for (const b of plan.blocked) {
      if (b.type.startsWith("kasm-")) deps.logger.warn({ cycle: id, ...b }, "Kasm change held");
    }
    // Prune held on an agent the ledger does not cover: said once, as the cycle rebuilds the ledger there.
    for (const w of plan.warnings) {
      if (w.code === "prune-held") deps.logger.warn({ cycle: id, agent: w.agent, code: w.code }, w.message);
    }
    const checked = refresh === false ? "none" : refresh === "all" ? "all" : [...refresh];
    deps.logger.info({ cycle: id, revision, refresh: checked, ...plan.summary }, "planned");
    // Held Kasm changes are never a good cycle, and --agent names the revision lacks keep it degraded,
    // whatever the actions do; an unread Kasm is a `kasm` unknown cause in the plan.
    const held = kasmSeen?.pending ?? 0;
    const standing = {
      ...(held > 0 ? { kasm: `${held} Kasm change(s) held` } : {}),
      ...(absent ? { missingAgents: absent } : {}),
    };
    const blockedBy = blockedReasons(plan, snapshot.set);
    if (plan.actions.length === 0) return { plan, failed: [], blocked: blockedBy, ...standing };
    const logEvent = cycleEventLogger(deps.logger, deps.metrics, id, revision);
    const results = await executeOnFleet(plan, fleet, deps, {
      signal: hard.signal,
      drain: drain.signal,
      onEvent: (event) => {
        logEvent(event);
        // Status page: pulls starting and progressing, actions done.
        update({ type: "executor", event, at: deps.clock.now() });
      },
    });
    for (const [agent, entry] of Object.entries(agents)) {
      const failed = results.filter(
        (r) => r.status !== "ok" && r.action.type === "pull" && r.action.agent === agent,
      );
      if (!entry.reachable) continue;
      update({
        type: "agent-updated",
        agent,
        status: { pending: failed.length, converged: failed.length === 0 && !unread.has(agent) },
      });
      const changed = (r: (typeof results)[number]) =>
        (r.action.type === "remove" || r.action.type === "pull") &&
        r.action.agent === agent &&
        r.status === "ok";
      if (results.some(changed)) {
        await refreshImageBytes(agent, fleet.agents.get(agent));
      }
    }
    if (kasmSeen) {
      const failed = results.filter((r) => r.status !== "ok" && r.action.type.startsWith("kasm-"));
      const error = failed[0]?.error?.message;
      update({
        type: "kasm-observed",
        kasm: { ...kasmSeen, pending: kasmSeen.pending + failed.length },
        ...(error
          ? { error: `${failed[0]!.action.type} ${actionSubject(failed[0]!.action)}: ${error}` }
          : {}),
        at: deps.clock.now(),
      });
    }
    const failed = failedActions(results);
    // A failed pull or promotion is re-checked next cycle, even when that cycle does not refresh.
    for (const r of results) {
      if (r.status === "ok" || (r.action.type !== "pull" && r.action.type !== "promote")) continue;
      recheck.add(r.action.image);
      if (r.action.type === "promote") recheck.add(r.action.source);
    }
    const at = deps.clock.now();
    for (const event of rolloutEvents({ revision, branch: options.branch, at }, results))
      deps.notifier?.emit(event);
    const repaired = results
      .filter((r) => r.status === "ok" && r.action.type === "kasm-update" && r.action.reason === "drift")
      .map((r) => (r.action as { workspace: string }).workspace);
    if (repaired.length > 0) {
      const message = `Kasm records edited outside Git put back: ${repaired.join(", ")}`;
      const details = { workspaces: repaired };
      deps.notifier?.emit(driftEvent({ revision, branch: options.branch, at, message, details }));
    }
    return { plan, failed, blocked: blockedBy, ...standing };
  }

  /** Reads an agent's image bytes again after pulls or removals changed them; an unanswered read keeps the last figure. */
  async function refreshImageBytes(name: string, agent: DockerAgent | undefined) {
    const bytes = await agent?.imageBytes(hard.signal).catch(() => undefined);
    if (bytes === undefined) return;
    update({ type: "agent-updated", agent: name, status: { imageBytes: bytes } });
    deps.metrics.setAgentImageBytes(name, bytes);
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
    async idle() {
      while (loop) await loop;
    },
    async stop() {
      stopping = true;
      timers.stop();
      drain.abort();
      const timer = setTimeout(() => hard.abort(), options.graceMs);
      await daemon.idle();
      clearTimeout(timer);
    },
  };
  return daemon;
}
