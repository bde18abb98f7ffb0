/**
 * The one place that turns a daemon cycle (cycle-outcome.ts: the cycle as plain data, and what it came to)
 * into status, metrics, logs and notifications, remembering what it already said. The daemon's loop only
 * runs cycles and hands their reports here, so what an operator sees is unit-tested with fake ports and a
 * fake clock.
 */
import { driftEvent, type NotificationEventKind } from "../core/notification.js";
import { actionSubject } from "../core/plan/render.js";
import type { KasmBlockedReason } from "../core/plan/types.js";
import { fleetView } from "../core/status/fleet-view.js";
import type { Clock, Metrics } from "../ports.js";
import { agentStatuses, type FailedAction, kasmSummary } from "./cycle-health.js";
import { cycleEventLogger, type DaemonLogger, logBlocked } from "./cycle-log.js";
import {
  type CycleReport,
  cycleOutcome,
  cycleVerdict,
  healthReasons,
  missingAgents,
  type PlannedReport,
} from "./cycle-outcome.js";
import type { ExecutorEvent } from "./executor.js";
import type { Notifier } from "./notifier.js";
import type { RevisionOutcome } from "./revision-in-force.js";
import { rolloutEvents } from "./rollout-events.js";
import { agentCounts, type CycleTrigger, type DaemonStatus, type StatusEvent } from "./status.js";

/** The ports a report is published to. */
export type ReportPorts = {
  update(event: StatusEvent): void;
  status(): DaemonStatus;
  metrics: Metrics;
  logger: DaemonLogger;
  notifier?: Notifier;
  clock: Clock;
};

export type Reporter = ReturnType<typeof createReporter>;

/** Turns reports into what the daemon shows, remembering what was already said so it is said once. */
export function createReporter(ports: ReportPorts, options: { branch: string; onlyAgents?: string[] }) {
  const { update, metrics, logger } = ports;
  /** Blocked promotions already counted, so the metric counts each once, not once per cycle. */
  const blockedSeen = new Set<string>();
  /** The refusal (reason and revision) last logged, so a tip refused every interval is logged once. */
  let refusedLogged: string | undefined;
  /** The revision whose unknown `--agent` names were last logged (once per revision). */
  let missingLogged: string | undefined;
  const notify = (event: NotificationEventKind, revision: string, message: string, details?: object) =>
    ports.notifier?.emit({
      event,
      revision,
      branch: options.branch,
      time: ports.clock.now().toISOString(),
      message,
      ...(details ? { details: details as Record<string, unknown> } : {}),
    });

  return {
    /** The executor's events: logged and counted, and moving the status page's cells as pulls progress. */
    progress(id: string, revision: string): (event: ExecutorEvent) => void {
      const log = cycleEventLogger(logger, metrics, id, revision);
      return (event) => {
        log(event);
        update({ type: "executor", event, at: ports.clock.now() });
      };
    },

    started(id: string, trigger: CycleTrigger) {
      update({ type: "cycle-started", id, trigger, at: ports.clock.now() });
    },

    /** Which revision is in force: applied, restored, or the tip refused (said once, then counted). */
    revision(id: string, outcome: RevisionOutcome) {
      const { snapshot, refusal } = outcome;
      if (outcome.fresh && snapshot) {
        const revision = snapshot.revision.revision;
        update({ type: "revision-applied", revision });
        metrics.setAppliedRevision(revision);
        refusedLogged = undefined;
        if (outcome.changed) logger.info({ cycle: id, revision }, "new revision in force");
      }
      if (outcome.unsignedSaved) {
        logger.warn(
          { cycle: id, revision: outcome.unsignedSaved },
          "not using the last good revision from the state dir: it was saved without --verify-commits",
        );
      }
      if (outcome.restored) {
        logger.warn(
          { cycle: id, revision: outcome.restored },
          "using the last good revision from the state dir",
        );
        update({ type: "revision-restored", revision: outcome.restored });
        metrics.setAppliedRevision(outcome.restored);
      }
      if (refusal?.reason) {
        const { reason, revision } = refusal;
        update({
          type: "revision-refused",
          revision,
          reason,
          error: refusal.detail,
          problems: refusal.problems,
          at: ports.clock.now(),
        });
        // Refused again every interval until the branch moves: logged and notified once, then counted
        // (`refusal.count` in /status, kasm_gitops_cycles_total{result=REASON}).
        const key = `${reason} ${revision}`;
        if (key !== refusedLogged) {
          refusedLogged = key;
          if (refusal.notification) notify("revision-refused", revision, refusal.notification);
          logger.error({ cycle: id, ...refusal.log.fields }, refusal.log.message);
        }
      } else if (refusal) {
        logger.error({ cycle: id, ...refusal.log.fields }, refusal.log.message);
      }
      if (outcome.unsaved) logger.error({ cycle: id, err: outcome.unsaved.err }, outcome.unsaved.message);
    },

    /** The plan, before its actions run: agents and Kasm as observed, what is blocked (counted once). */
    planned(p: PlannedReport) {
      const { id, plan } = p;
      const revision = plan.revision;
      const absent = missingAgents(p.set, revision, options.onlyAgents);
      // Said once per revision; every cycle still counts it a reason (standing).
      if (absent && missingLogged !== revision) {
        missingLogged = revision;
        logger.warn({ cycle: id, revision, agents: absent.missing, known: absent.known }, absent.message);
      }
      for (const blocked of plan.blocked) {
        // Held Kasm changes are logged below, with the Kasm state.
        if (blocked.type !== "pull" && blocked.type !== "promote") continue;
        const agent = blocked.type === "pull" ? blocked.agent : undefined;
        const key = `${revision} ${blocked.type} ${agent ?? ""} ${blocked.image} ${blocked.targetDigest}`;
        if (blockedSeen.has(key)) continue;
        blockedSeen.add(key);
        // The promotions metric counts promotions; a held moving-tag pull is logged once per agent.
        if (blocked.type === "promote") metrics.promotionFinished("blocked");
        if (blocked.type === "promote" && blocked.reason === "smoke-failed")
          notify(
            "smoke-failed",
            revision,
            `promotion blocked (workspace ${blocked.workspace}): ${blocked.message}`,
            {
              workspace: blocked.workspace,
              image: blocked.image,
              digest: blocked.targetDigest,
            },
          );
        logBlocked(logger, id, revision, blocked);
      }
      for (const o of p.observations) {
        if (o.reachable && o.imageBytes !== undefined) metrics.setAgentImageBytes(o.agent, o.imageBytes);
      }
      update({ type: "agents-observed", agents: agentStatuses(p.observations, plan) });
      // The status page's matrix, promotions and Kasm records, as this plan draws them.
      const { set, desired, observations } = p;
      update({
        type: "fleet-planned",
        fleet: fleetView({ set, desired, plan, observations, at: ports.clock.now() }),
      });
      const counts = agentCounts(ports.status());
      metrics.setAgents(counts.reachable, counts.total);
      const kasmSeen = kasmSummary(p.set, plan, p.kasm);
      if (kasmSeen) {
        const held: Partial<Record<KasmBlockedReason, number>> = {};
        for (const h of kasmSeen.held ?? []) held[h.reason] = (held[h.reason] ?? 0) + 1;
        metrics.setKasmRecords(kasmSeen.managed, kasmSeen.drift, held);
      }
      update({
        type: "kasm-observed",
        ...(kasmSeen ? { kasm: kasmSeen } : {}),
        ...(p.kasm && !p.kasm.reachable ? { error: p.kasm.error } : {}),
        at: ports.clock.now(),
      });
      if (p.kasm && !p.kasm.reachable)
        logger.error({ cycle: id, err: p.kasm.error }, "Kasm could not be read");
      for (const b of plan.blocked) {
        if (b.type.startsWith("kasm-")) logger.warn({ cycle: id, ...b }, "Kasm change held");
      }
      // Prune held on an agent the ledger does not cover: said once, as the cycle rebuilds the ledger there.
      for (const w of plan.warnings) {
        if (w.code === "prune-held") logger.warn({ cycle: id, agent: w.agent, code: w.code }, w.message);
      }
      logger.info({ cycle: id, revision, refresh: p.refresh, ...plan.summary }, "planned");
    },

    /** The cycle's end: agents after the actions, rollout and drift notifications, the result and health. */
    finished(report: CycleReport) {
      const { id, planned, results } = report;
      const outcome = cycleOutcome(planned, results, options.onlyAgents);
      for (const r of results) {
        if (r.action.type !== "smoke" || r.error?.code !== "smoke-failed" || !planned) continue;
        const { workspace, digest } = r.action;
        notify("smoke-failed", planned.plan.revision, r.error.message, { workspace, digest });
      }
      if (planned && planned.plan.actions.length > 0) afterActions(report, planned, outcome?.kasmSeen);
      const { result, error, inForce, failed } = cycleVerdict(report, outcome);
      if (report.error) logger.error({ cycle: id, err: report.error }, "cycle failed");
      update({
        type: "cycle-finished",
        id,
        result,
        ...(error ? { error } : {}),
        ...(failed.length > 0 ? { failed } : {}),
        ...(inForce ? { inForce } : {}),
        at: report.finishedAt,
      });
      metrics.cycleFinished(result, report.finishedAt.getTime() - report.startedAt.getTime());
      const refused = report.error ?? report.revision?.refusal?.error;
      health(id, report.error ? undefined : planned, outcome, refused);
    },
  };

  /** Agents and Kasm as the actions left them; rollout events and the drift notification. */
  function afterActions(
    report: CycleReport,
    planned: PlannedReport,
    kasmSeen: ReturnType<typeof kasmSummary>,
  ) {
    const { results } = report;
    const revision = planned.plan.revision;
    const unread = new Set(planned.plan.unknown.filter((u) => u.kind === "agent").map((u) => u.name));
    for (const o of planned.observations) {
      if (!o.reachable) continue;
      const failed = results.filter(
        (r) => r.status !== "ok" && r.action.type === "pull" && r.action.agent === o.agent,
      );
      update({
        type: "agent-updated",
        agent: o.agent,
        status: { pending: failed.length, converged: failed.length === 0 && !unread.has(o.agent) },
      });
      const bytes = report.imageBytes[o.agent];
      if (bytes === undefined) continue;
      update({ type: "agent-updated", agent: o.agent, status: { imageBytes: bytes } });
      metrics.setAgentImageBytes(o.agent, bytes);
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
        at: ports.clock.now(),
      });
    }
    const at = ports.clock.now();
    for (const event of rolloutEvents({ revision, branch: options.branch, at }, results))
      ports.notifier?.emit(event);
    const repaired = results
      .filter((r) => r.status === "ok" && r.action.type === "kasm-update" && r.action.reason === "drift")
      .map((r) => (r.action as { workspace: string }).workspace);
    if (repaired.length > 0) {
      const message = `Kasm records edited outside Git put back: ${repaired.join(", ")}`;
      const details = { workspaces: repaired };
      ports.notifier?.emit(driftEvent({ revision, branch: options.branch, at, message, details }));
    }
  }

  /** Converged or degraded, with reasons: status, gauge, and a notification on each change. */
  function health(
    id: string,
    planned: PlannedReport | undefined,
    outcome: { failed: FailedAction[]; kasm?: string; missingAgents?: string } | undefined,
    refusal: string | undefined,
  ) {
    const { reasons, unknown, byKind } = healthReasons(planned, outcome, refusal);
    const before = ports.status().state;
    update({ type: "health", reasons, unknown });
    metrics.setConverged(reasons.length === 0, byKind);
    const status = ports.status();
    const revision = status.lastGoodRevision ?? status.revision ?? "unknown";
    if (reasons.length > 0 && before !== "degraded") {
      logger.warn({ cycle: id, reasons }, "degraded");
      notify("degraded", revision, `degraded: ${reasons.join("; ")}`, { reasons, unknown });
    } else if (reasons.length === 0 && before === "degraded") {
      logger.info({ cycle: id }, "recovered: converged again");
      notify(
        "recovered",
        revision,
        "recovered: every agent and registry check verified, the fleet is converged",
      );
    }
  }
}
