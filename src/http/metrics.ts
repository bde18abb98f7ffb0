import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Metrics } from "../ports.js";

/** Every metric name starts with this, so dashboards can select the reconciler's series at once. */
export const METRIC_PREFIX = "kasm_gitops_";

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
    help: "Reconcile cycles finished, by result (invalid-revision: the new commit was refused).",
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

  return {
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
