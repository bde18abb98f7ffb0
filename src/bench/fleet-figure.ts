/**
 * Figure: fleet scale. One reconciler plans and applies N images on A simulated agents (src/lab/sim-engine.ts,
 * in a child process, behind a counting Bearer-token proxy in front of the lab's real registry), each blob
 * delayed, at most `limit` pulls per agent; then the daemon's refresh cycle runs over the unchanged fleet.
 * The ideal apply is the larger of ceil(N / limit) rounds of one pull's time (measured alone in the same run) and
 * the harness's CPU floor: the CPU the simulated engines, the proxy and the registry used, over the machine's cores.
 * `benchFleetSlow` measures the same apply with a longer delay per blob, where the harness fits in the schedule.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import type { Plan, PullAction } from "../core/plan/types.js";
import { executeOnFleet, runCycle } from "../engine/cycle.js";
import type { ActionResult, ExecutorEvent } from "../engine/executor.js";
import { loadSnapshot } from "../engine/snapshot.js";
import { uniqueRepo, type WorkspaceDef } from "../lab/fleet-yaml.js";
import type { Lab } from "../lab/lab.js";
import { pushRandomImage } from "../lab/push-image.js";
import type { ProxyStats } from "../lab/registry-proxy.js";
import { forkSimFleet, type SimFleetStats } from "../lab/sim-fleet.js";
import { applyLine, fleetLines } from "./fleet-lines.js";
import { benchDeps, manifestRepo, removeRepo } from "./lab-fleet.js";
import { clockTicks, cpuTicksOf, memoryOf } from "./proc.js";
import { handoffMs } from "./scheduling-figure.js";
import type { FigureLine } from "./table.js";

export type FleetSizes = { agents: number; images: number; limit: number; delayMs: number; singles: number };
export const FLEET_DEFAULTS: FleetSizes = { agents: 200, images: 20, limit: 2, delayMs: 1000, singles: 3 };
/** The slower apply's delay per blob: long enough that two cores give the harness its CPU within the schedule. */
export const FLEET_SLOW_DELAY_MS = 5000;

const CREDENTIALS = { username: "fleet-bench", password: "fleet-bench-pass" };
const PASSWORD_ENV = "KASM_SECRET_FLEET_BENCH_PASSWORD";
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** What one phase (plan, apply, refresh) cost the reconciler and the registry. */
export type Phase = {
  wallMs: number;
  loopP99Ms: number;
  loopMaxMs: number;
  registry: ProxyStats;
  /** Manifest HEADs answered 200. */
  headsOk: number;
  calls: Record<string, number>;
  cpu: Cpu;
  pullMs: { p50: number; p90: number };
  registryMs: Record<string, { p50: number; p90: number }>;
};

/** CPU ms used by the reconciler (this process), the simulated fleet and the registry: who is busy. */
type Cpu = { reconcilerMs: number; fleetMs: number; registryMs: number };
const cpuNow = (fleetMs: number, registryPid: number): Cpu => {
  const own = process.cpuUsage();
  const registry = cpuTicksOf(registryPid);
  return {
    reconcilerMs: (own.user + own.system) / 1000,
    fleetMs,
    registryMs: ((registry.self + registry.children) / clockTicks()) * 1000,
  };
};

/** Runs `work` with the event loop's delay histogram on, and the fleet's counters reset before. */
async function phase<T>(
  fleet: { reset(): Promise<void>; stats(): Promise<SimFleetStats> },
  registryPid: number,
  work: () => Promise<T>,
) {
  await fleet.reset();
  const before = cpuNow((await fleet.stats()).cpuMs, registryPid);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const started = performance.now();
  const value = await work();
  const wallMs = performance.now() - started;
  loop.disable();
  const stats = await fleet.stats();
  const after = cpuNow(stats.cpuMs, registryPid);
  const measured: Phase = {
    wallMs,
    loopP99Ms: loop.percentile(99) / 1e6,
    loopMaxMs: loop.max / 1e6,
    registry: stats.registry,
    headsOk: stats.manifestHeadsOk,
    pullMs: stats.pullMs,
    registryMs: stats.registryMs,
    calls: stats.calls,
    cpu: {
      reconcilerMs: after.reconcilerMs - before.reconcilerMs,
      fleetMs: after.fleetMs - before.fleetMs,
      registryMs: after.registryMs - before.registryMs,
    },
  };
  return { value, phase: measured, stats };
}

/** Every line of the figure: plan, apply, in-flight, refresh, HEADs, memory and event loop. */
export async function benchFleet(lab: Lab, sizes: FleetSizes): Promise<FigureLine[]> {
  return fleetLines(sizes, await measureFleet(lab, sizes));
}

/** The apply alone at `sizes.delayMs` per blob, as `fleet.apply.slow` (the bench passes FLEET_SLOW_DELAY_MS). */
export async function benchFleetSlow(lab: Lab, sizes: FleetSizes): Promise<FigureLine[]> {
  return [applyLine(sizes, await measureFleet(lab, sizes), "fleet.apply.slow")];
}

async function measureFleet(lab: Lab, sizes: FleetSizes): Promise<FleetRun> {
  const dir = await mkdtemp("/tmp/kg-fleet-");
  const fleet = await forkSimFleet({
    dir,
    count: sizes.agents,
    timing: { blobDelayMs: sizes.delayMs },
    upstream: lab.registries.plain.url,
    bearer: CREDENTIALS,
  });
  const agents = fleet.hosts.map((host, i) => ({
    name: `agent-${i}`,
    host,
    labels: { fleet: "bench", ...(i === 0 ? { single: "yes" } : {}) },
    maxConcurrentPulls: sizes.limit,
  }));
  // Every agent wants the same N images; the singles (agent-0 only) time one pull alone for the ideal.
  const workspaces: WorkspaceDef[] = [];
  const prefix = uniqueRepo("fleet");
  const push = async (name: string, labels: Record<string, string>) => {
    await pushRandomImage({ url: lab.registries.plain.url, repository: `${prefix}-${name}`, tag: "v1" });
    workspaces.push({ name, image: `${fleet.registryHost}/${prefix}-${name}:v1`, registry: "bench", labels });
  };
  for (let s = 0; s < sizes.singles; s++) await push(`single-${s}`, { single: "yes" });
  for (let i = 0; i < sizes.images; i++) await push(`app-${i}`, { fleet: "bench" });
  const bench = await manifestRepo({
    registries: [
      {
        name: "bench",
        host: fleet.registryHost,
        auth: { username: CREDENTIALS.username, passwordEnv: PASSWORD_ENV },
      },
    ],
    agents,
    workspaces,
  });
  try {
    const deps = benchDeps(bench, { ...process.env, [PASSWORD_ENV]: CREDENTIALS.password });
    const snapshot = await loadSnapshot(deps);
    const planned = await phase(fleet, lab.registries.plain.pid, () =>
      runCycle(deps, { snapshot, refresh: "all" }),
    );
    const { plan, fleet: connected } = planned.value;
    const pulls = plan.actions.filter((a): a is PullAction => a.type === "pull");
    const isSingle = (a: PullAction) => a.workspaces.some((w) => w.startsWith("single-"));
    const main = pulls.filter((a) => !isSingle(a));
    if (main.length !== sizes.agents * sizes.images)
      throw new Error(`planned ${main.length} pulls, expected ${sizes.agents * sizes.images}`);
    const starts = new Map<string, number[]>();
    const dones = new Map<string, number[]>();
    const note = (map: Map<string, number[]>, agent: string) => {
      const times = map.get(agent) ?? [];
      times.push(performance.now());
      map.set(agent, times);
    };
    const onEvent = (event: ExecutorEvent) => {
      if (event.type === "start" && event.action.type === "pull") note(starts, event.action.agent);
      if (event.type === "done" && event.result.action.type === "pull")
        note(dones, event.result.action.agent);
    };
    const run = async (actions: PullAction[]) => {
      starts.clear();
      dones.clear();
      const results = await executeOnFleet({ ...plan, actions } as Plan, connected, deps, { onEvent });
      const failed = results.find((r: ActionResult) => r.status !== "ok");
      if (failed) throw new Error(`a benchmark pull failed: ${failed.error?.message ?? failed.status}`);
      return results;
    };
    const singles: number[] = [];
    for (const action of pulls.filter(isSingle)) {
      const started = performance.now();
      await run([action]);
      singles.push(performance.now() - started);
    }
    const applied = await phase(fleet, lab.registries.plain.pid, () => run(main));
    const handoff = handoffMs(starts, dones, sizes.limit);
    const pullMs = median(applied.value.map((r) => r.durationMs));
    const refreshed = await phase(fleet, lab.registries.plain.pid, async () => {
      const cycle = await runCycle(deps, { snapshot, refresh: "all", diskUsage: true, execute: {} });
      return cycle.plan;
    });
    const memory = memoryOf(process.pid);
    const heap = process.memoryUsage();
    const simMemory = await fleet.stats();
    return {
      plan: planned.phase,
      apply: applied.phase,
      refresh: refreshed.phase,
      refreshActions: refreshed.value.actions.length,
      uniqueRefs: sizes.images + sizes.singles,
      singleMs: median(singles),
      handoffMs: handoff,
      pullMs,
      perAgent: applied.stats.maxPullsInFlight,
      pulls: applied.stats.pulls,
      rssMB: memory.peakMB,
      rssNowMB: memory.rssMB,
      heapMB: heap.heapUsed / MB,
      simRssMB: simMemory.peakRssMB,
    };
  } finally {
    await fleet.close();
    await removeRepo(bench);
    await rm(dir, { recursive: true, force: true });
  }
}

export type FleetRun = {
  plan: Phase;
  apply: Phase;
  refresh: Phase;
  refreshActions: number;
  uniqueRefs: number;
  singleMs: number;
  /** Summed over agents: a pull ending → the next queued one starting there (the executor's own gaps). */
  handoffMs: number;
  /** Median pull time during the apply, seen by the executor. */
  pullMs: number;
  perAgent: number[];
  pulls: number;
  /** This process's peak and current resident memory, and its JS heap in use, at the end. */
  rssMB: number;
  rssNowMB: number;
  heapMB: number;
  /** The simulated engines' and the proxy's process, at its peak. */
  simRssMB: number;
};

const MB = 1024 * 1024;
