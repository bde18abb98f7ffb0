import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { KASM_BLOCKED_REASONS, type UnknownKind } from "../core/plan/types.js";
import type { Metrics } from "../ports.js";

/** Every metric name starts with this, so dashboards can select the reconciler's series at once. */
export const METRIC_PREFIX = "kasm_gitops_";

const UNKNOWN_KINDS: UnknownKind[] = ["registry", "agent", "kasm"];

/** Cycles are seconds long; pulls of Kasm images (GBs) can take many minutes. */
const CYCLE_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];
const PULL_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/** Builds a metrics set on its own registry, so several daemons (or tests) never share series. */
export function createMetrics(options: { now?: () => number } = {}): Metrics {
  const now = options.now ?? Date.now;
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });

  const cycles = new Counter({
    name: `${METRIC_PREFIX}cycles_total`,
    help: "Reconcile cycles finished, by result (invalid-revision, untrusted-revision: the new commit was refused).",
    labelNames: ["result"] as const,
    registers,
  });
  const cycleDuration = new Histogram({
    name: `${METRIC_PREFIX}cycle_duration_seconds`,
    help: "Wall time of one reconcile cycle, fetch to last pull, by result.",
    labelNames: ["result"] as const,
    buckets: CYCLE_BUCKETS,
    registers,
  });
  const lastSuccess = new Gauge({
    name: `${METRIC_PREFIX}last_successful_cycle_timestamp_seconds`,
    help: "Unix time the last cycle finished with result ok; alert when it grows old.",
    registers,
  });
  const pulls = new Counter({
    name: `${METRIC_PREFIX}pulls_total`,
    help: "Image pulls finished on agents, by agent and result.",
    labelNames: ["agent", "result"] as const,
    registers,
  });
  const pullDuration = new Histogram({
    name: `${METRIC_PREFIX}pull_duration_seconds`,
    help: "Wall time of one image pull on an agent, by agent and result.",
    labelNames: ["agent", "result"] as const,
    buckets: PULL_BUCKETS,
    registers,
  });
  const registryRequests = new Counter({
    name: `${METRIC_PREFIX}registry_requests_total`,
    help: "HTTP requests to registries, by registry host, method and status (error: no response).",
    labelNames: ["host", "method", "status"] as const,
    registers,
  });
  const appliedRevision = new Gauge({
    name: `${METRIC_PREFIX}applied_revision_info`,
    help: "The Git revision in force (last good one); always 1, the revision is the label.",
    labelNames: ["revision"] as const,
    registers,
  });
  const agentsReachable = new Gauge({
    name: `${METRIC_PREFIX}agents_reachable`,
    help: "Agents whose Docker Engine answered in the last cycle.",
    registers,
  });
  const agents = new Gauge({
    name: `${METRIC_PREFIX}agents`,
    help: "Enabled agents this reconciler manages.",
    registers,
  });
  const promotions = new Counter({
    name: `${METRIC_PREFIX}promotions_total`,
    help: "Moving-tag promotions, by result (blocked: digest not verified on the testing workspace).",
    labelNames: ["result"] as const,
    registers,
  });
  const smokes = new Counter({
    name: `${METRIC_PREFIX}smoke_total`,
    help: "Smoke tests in Kasm, by result (error: no verdict, such as a key without the session permissions).",
    labelNames: ["result"] as const,
    registers,
  });
  const smokeSeconds = new Gauge({
    name: `${METRIC_PREFIX}smoke_last_duration_seconds`,
    help: "How long the last smoke test in Kasm took, from the session request to its verdict.",
    registers,
  });
  const removals = new Counter({
    name: `${METRIC_PREFIX}image_removals_total`,
    help: "Prune removals on agents, by agent and result (kept: in use or re-tagged by the time it was to go).",
    labelNames: ["agent", "result"] as const,
    registers,
  });
  const freed = new Counter({
    name: `${METRIC_PREFIX}image_bytes_freed_total`,
    help: "Bytes of images pruning removed from agents (Docker's image sizes), by agent.",
    labelNames: ["agent"] as const,
    registers,
  });
  const imageBytes = new Gauge({
    name: `${METRIC_PREFIX}agent_image_bytes`,
    help: "Bytes of image layers on each agent's disk (Docker's disk usage); alert before the disk fills.",
    labelNames: ["agent"] as const,
    registers,
  });

  const kasmActions = new Counter({
    name: `${METRIC_PREFIX}kasm_actions_total`,
    help: "Kasm record and group changes carried out, by action type and status (skipped: held or stopping).",
    labelNames: ["type", "status"] as const,
    registers,
  });
  const kasmManaged = new Gauge({
    name: `${METRIC_PREFIX}kasm_managed_records`,
    help: "Kasm Workspace records carrying the marker of a Workspace in Git, as the last cycle read them.",
    registers,
  });
  const kasmDrift = new Gauge({
    name: `${METRIC_PREFIX}kasm_drift_records`,
    help: "Managed Kasm records found edited in Kasm by the last plan; its apply puts them back.",
    registers,
  });
  const kasmHeld = new Gauge({
    name: `${METRIC_PREFIX}kasm_held_changes`,
    help: "Kasm changes the last plan held, by reason (kasm-report-stale: an agent's report is too old or missing).",
    labelNames: ["reason"] as const,
    registers,
  });
  for (const reason of KASM_BLOCKED_REASONS) kasmHeld.set({ reason }, 0);
  const converged = new Gauge({
    name: `${METRIC_PREFIX}converged`,
    help: "1 when the last cycle verified every agent and registry check and every action succeeded, else 0 (also while nothing is known yet).",
    registers,
  });
  const unknownChecks = new Gauge({
    name: `${METRIC_PREFIX}unknown_checks`,
    help: "Checks the last cycle could not make, by kind (registry, agent, kasm): the state there is unknown.",
    labelNames: ["kind"] as const,
    registers,
  });
  for (const kind of UNKNOWN_KINDS) unknownChecks.set({ kind }, 0);
  const notifications = new Counter({
    name: `${METRIC_PREFIX}notifications_total`,
    help: "Notification attempts, by Notification name, type and result (retried: an attempt failed; failed: gave up; dropped: queue full).",
    labelNames: ["notification", "type", "result"] as const,
    registers,
  });
  const updateChecks = new Counter({
    name: `${METRIC_PREFIX}update_checks_total`,
    help: "Update checks of Workspaces with an update policy, by result (error: the registry could not be read, or the pass failed).",
    labelNames: ["result"] as const,
    registers,
  });
  const proposals = new Counter({
    name: `${METRIC_PREFIX}update_proposals_total`,
    help: "Automated commits of the updater, by workspace, kind (update, promote) and result (pushed, branch-exists, unchanged, refused, error, blocked).",
    labelNames: ["workspace", "kind", "result"] as const,
    registers,
  });
  const candidates = new Gauge({
    name: `${METRIC_PREFIX}update_candidate`,
    help: "1 for each Workspace whose update check found a newer tag not yet in the followed branch; the tag is a label.",
    labelNames: ["workspace", "tag"] as const,
    registers,
  });
  /** Each Workspace's candidate series, so a new check replaces it. */
  const candidateTags = new Map<string, string>();

  return {
    updateChecked(result) {
      updateChecks.inc({ result });
    },
    automationProposal(workspace, kind, result) {
      proposals.inc({ workspace, kind, result });
    },
    setUpdateCandidate(workspace, tag) {
      const was = candidateTags.get(workspace);
      if (was !== undefined && was !== tag) candidates.remove({ workspace, tag: was });
      if (tag === undefined) candidateTags.delete(workspace);
      else {
        candidateTags.set(workspace, tag);
        candidates.set({ workspace, tag }, 1);
      }
    },
    kasmActionFinished(type, status) {
      kasmActions.inc({ type, status });
    },
    setKasmRecords(managed, drift, held = {}) {
      kasmManaged.set(managed);
      kasmDrift.set(drift);
      for (const reason of KASM_BLOCKED_REASONS) kasmHeld.set({ reason }, held[reason] ?? 0);
    },
    setConverged(value, unknown) {
      converged.set(value ? 1 : 0);
      for (const kind of UNKNOWN_KINDS) unknownChecks.set({ kind }, unknown[kind] ?? 0);
    },
    notification(name, type, result) {
      notifications.inc({ notification: name, type, result });
    },
    cycleFinished(result, durationMs) {
      cycles.inc({ result });
      cycleDuration.observe({ result }, durationMs / 1000);
      if (result === "ok") lastSuccess.set(now() / 1000);
    },
    pullFinished(agent, result, durationMs) {
      pulls.inc({ agent, result });
      pullDuration.observe({ agent, result }, durationMs / 1000);
    },
    registryRequest(host, method, status) {
      registryRequests.inc({ host, method: method.toUpperCase(), status: String(status) });
    },
    setAppliedRevision(revision) {
      appliedRevision.reset();
      appliedRevision.set({ revision }, 1);
    },
    setAgents(reachable, total) {
      agentsReachable.set(reachable);
      agents.set(total);
    },
    promotionFinished(result) {
      promotions.inc({ result });
    },
    smokeFinished(result, durationMs) {
      smokes.inc({ result });
      smokeSeconds.set(durationMs / 1000);
    },
    removalFinished(agent, result, bytes) {
      removals.inc({ agent, result });
      if (result === "ok") freed.inc({ agent }, bytes);
    },
    setAgentImageBytes(agent, bytes) {
      imageBytes.set({ agent }, bytes);
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
