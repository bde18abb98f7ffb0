/**
 * The fleet figure's lines from one measured run: what each phase cost, against its ideal or target. The
 * apply's ideal is the larger of its schedule and the harness's CPU floor (docs/benchmarks.md).
 */
import { cpus } from "node:os";
import type { ProxyStats } from "../lab/registry-proxy.js";
import type { FleetRun, FleetSizes, Phase } from "./fleet-figure.js";
import { atMost, type FigureLine } from "./table.js";

/** The figure's targets (docs/benchmarks.md). */
export const FLEET_TARGETS = { applyRatio: 1.2, rssMB: 300, loopP99Ms: 100 };

/** `HEAD 23 (200: 23, 401: 0) · GET manifest 0 · GET blob 0 · token 23 · ping 0`: registry requests of a phase. */
export function registryText(stats: ProxyStats, heads200: number): string {
  const k = stats.byKind;
  const heads = k["manifest-head"] ?? 0;
  return `HEAD ${heads} (${heads200} answered 200, ${heads - heads200} challenged) · GET manifest ${k["manifest-get"] ?? 0} · GET blob ${k["blob-get"] ?? 0} · token ${k.token ?? 0} · ping ${k.ping ?? 0}`;
}

const what = (sizes: FleetSizes) =>
  `${sizes.images} images on ${sizes.agents} simulated agents, limit ${sizes.limit}, ${sizes.delayMs} ms per blob`;
const loop = (p: Phase) =>
  `event-loop delay p99 ${p.loopP99Ms.toFixed(1)} ms (max ${p.loopMaxMs.toFixed(0)} ms)`;
const challenged = (p: Phase) => (p.registry.byKind["manifest-head"] ?? 0) - p.headsOk;
const cpu = (p: Phase) =>
  `CPU: reconciler ${(p.cpu.reconcilerMs / 1000).toFixed(1)} s, simulated engines and proxy ${(p.cpu.fleetMs / 1000).toFixed(1)} s, registry ${(p.cpu.registryMs / 1000).toFixed(1)} s`;
const calls = (p: Phase) =>
  Object.entries(p.calls)
    .sort()
    .map(([route, n]) => `${route} ${n}`)
    .join(" · ");
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * The apply against its ideal: the larger of the schedule (rounds × one pull alone) and the harness's CPU floor
 * (what the simulated engines, the proxy and the registry used, over the cores): past that floor the machine,
 * not the executor, sets the pace.
 */
export function applyLine(sizes: FleetSizes, run: FleetRun, id: string): FigureLine {
  const rounds = Math.ceil(sizes.images / sizes.limit);
  const schedule = rounds * run.singleMs;
  const cores = cpus().length;
  const harnessCpuMs = run.apply.cpu.fleetMs + run.apply.cpu.registryMs;
  const floor = harnessCpuMs / cores;
  const ideal = Math.max(schedule, floor);
  const label =
    floor > schedule
      ? `ideal: harness CPU floor, ${seconds(harnessCpuMs)} / ${cores} cores; schedule ${schedule.toFixed(0)} ms`
      : `ideal: ${rounds} rounds × one pull; harness CPU floor ${floor.toFixed(0)} ms`;
  const ms = (t: { p50: number; p90: number }) => `${t.p50.toFixed(0)} ms (p90 ${t.p90.toFixed(0)})`;
  return {
    id,
    what: `apply ${what(sizes)}`,
    measured: { value: run.apply.wallMs, unit: "ms" },
    baseline: { value: ideal, unit: "ms", label },
    ratio: run.apply.wallMs / ideal,
    target: {
      label: `ratio ≤ ${FLEET_TARGETS.applyRatio}`,
      met: run.apply.wallMs / ideal <= FLEET_TARGETS.applyRatio,
    },
    breakdown: {
      rounds: { value: rounds, unit: "rounds" },
      onePull: { value: run.singleMs, unit: "ms" },
      schedule: { value: schedule, unit: "ms", label: "rounds × one pull alone" },
      harnessCpu: { value: harnessCpuMs, unit: "ms", label: "simulated engines, proxy and registry" },
      cores: { value: cores, unit: "cores" },
      harnessFloor: { value: floor, unit: "ms", label: "harness CPU / cores" },
      reconcilerCpu: { value: run.apply.cpu.reconcilerMs, unit: "ms" },
      pulls: { value: run.pulls, unit: "pulls" },
    },
    notes: [
      `ideal = max(schedule ${schedule.toFixed(0)} ms, harness CPU floor ${floor.toFixed(0)} ms): the ${floor > schedule ? "harness's CPU" : "schedule"} binds; wall / schedule ${(run.apply.wallMs / schedule).toFixed(2)}×`,
      `the harness CPU floor is the simulated engines, proxy and registry's CPU (${seconds(harnessCpuMs)}) over ${cores} cores; the reconciler's own ${seconds(run.apply.cpu.reconcilerMs)} comes on top`,
      `one pull alone: ${run.singleMs.toFixed(0)} ms (median of ${sizes.singles}, same executor, agent-0); ${run.pulls} pulls; ${loop(run.apply)}`,
      `registry: ${registryText(run.apply.registry, run.apply.headsOk)}`,
      `engine calls: ${calls(run.apply)}`,
      `executor hand-off (a pull ends → the next queued one starts on that agent): ${run.handoffMs.toFixed(0)} ms summed over ${sizes.agents} agents`,
      `a pull took ${run.pullMs.toFixed(0)} ms (median) while all agents pulled at once: ${rounds} rounds × that = ${(rounds * run.pullMs).toFixed(0)} ms`,
      cpu(run.apply),
      `CPU per pull: reconciler ${(run.apply.cpu.reconcilerMs / run.pulls).toFixed(1)} ms, simulated engine and proxy ${(run.apply.cpu.fleetMs / run.pulls).toFixed(1)} ms, registry ${(run.apply.cpu.registryMs / run.pulls).toFixed(1)} ms`,
      `a pull at the engine took ${ms(run.apply.pullMs)}; the registry answered ${Object.entries(
        run.apply.registryMs,
      )
        .map(([kind, t]) => `${kind} ${ms(t)}`)
        .join(", ")}`,
    ],
  };
}

export function fleetLines(sizes: FleetSizes, run: FleetRun): FigureLine[] {
  const size = what(sizes);
  const most = Math.max(...run.perAgent);
  const least = Math.min(...run.perAgent);
  const heads200 = (p: Phase) => p.headsOk;
  const refreshHeads = run.refresh.registry.byKind["manifest-head"] ?? 0;
  const loopWorst = Math.max(run.plan.loopP99Ms, run.apply.loopP99Ms, run.refresh.loopP99Ms);
  return [
    {
      id: "fleet.plan",
      what: `plan ${size}`,
      measured: { value: run.plan.wallMs, unit: "ms" },
      notes: [
        `observe ${sizes.agents} agents, one HEAD per unique tag (${run.uniqueRefs}), build the plan; ${loop(run.plan)}`,
        `registry: ${registryText(run.plan.registry, heads200(run.plan))}`,
        `engine calls: ${calls(run.plan)}`,
        ...(challenged(run.plan) > 0
          ? [
              `the ${challenged(run.plan)} challenged HEADs and one token per repository come from the registry auth learning Bearer from 401s (src/adapters/registry-auth.ts), not from the reconciler's scheduling`,
            ]
          : []),
      ],
    },
    applyLine(sizes, run, "fleet.apply"),
    {
      id: "fleet.in-flight",
      what: `apply ${size}: most pulls in flight per agent`,
      measured: { value: most, unit: "pulls" },
      baseline: { value: sizes.limit, unit: "pulls", label: "limit" },
      ratio: most / sizes.limit,
      target: {
        label: "= limit on every agent",
        met: most === sizes.limit && least === Math.min(sizes.limit, sizes.images),
      },
      notes: [
        `counted at each simulated engine's socket: the fewest on any agent ${least}, the most ${most}`,
      ],
    },
    {
      id: "fleet.refresh",
      what: `refresh cycle over the unchanged fleet (${sizes.agents} agents, ${run.uniqueRefs} tags)`,
      measured: { value: run.refresh.wallMs, unit: "ms" },
      notes: [
        `the daemon's refresh: observe every agent with its disk usage, HEAD every tag, plan (${run.refreshActions} actions); ${loop(run.refresh)}`,
        `registry: ${registryText(run.refresh.registry, heads200(run.refresh))}`,
        `engine calls: ${calls(run.refresh)}`,
        cpu(run.refresh),
      ],
    },
    {
      id: "fleet.refresh.heads",
      what: "refresh cycle: manifest HEADs per unique reference",
      measured: { value: refreshHeads, unit: "requests" },
      baseline: { value: run.uniqueRefs, unit: "requests", label: "unique references" },
      ratio: refreshHeads / run.uniqueRefs,
      target: atMost(refreshHeads, run.uniqueRefs, "one HEAD per unique reference"),
      notes: [`token requests: ${run.refresh.registry.byKind.token ?? 0}`],
    },
    {
      id: "fleet.memory",
      what: "the reconciler's peak resident memory over the whole figure",
      measured: { value: run.rssMB, unit: "MB" },
      target: atMost(run.rssMB, FLEET_TARGETS.rssMB, `< ${FLEET_TARGETS.rssMB} MB`),
      breakdown: {
        peakRss: { value: run.rssMB, unit: "MB", label: "this part's process, VmHWM" },
        rssAtEnd: { value: run.rssNowMB, unit: "MB", label: "VmRSS" },
        heapAtEnd: { value: run.heapMB, unit: "MB", label: "JS heap in use" },
        harnessPeakRss: { value: run.simRssMB, unit: "MB", label: "simulated engines and proxy" },
      },
      notes: [
        `VmHWM of the process that ran this part alone (the bench runs each part in its own process): the reconciler and the figure's own driver, nothing of earlier figures; at the end VmRSS ${run.rssNowMB.toFixed(0)} MB, JS heap in use ${run.heapMB.toFixed(0)} MB`,
        `the harness is apart: the ${sizes.agents} simulated engines and the proxy ran in a child process (peak ${run.simRssMB.toFixed(0)} MB), the registry in the lab`,
      ],
    },
    {
      id: "fleet.event-loop",
      what: "the reconciler's event-loop delay p99, worst of plan, apply and refresh",
      measured: { value: loopWorst, unit: "ms" },
      target: atMost(loopWorst, FLEET_TARGETS.loopP99Ms, `< ${FLEET_TARGETS.loopP99Ms} ms`),
      notes: [
        `plan ${run.plan.loopP99Ms.toFixed(1)} ms, apply ${run.apply.loopP99Ms.toFixed(1)} ms, refresh ${run.refresh.loopP99Ms.toFixed(1)} ms (perf_hooks.monitorEventLoopDelay, 10 ms resolution)`,
        "plan and refresh block the loop in one synchronous stretch each: desiredState and buildPlan (the planner) and the ledger's parse (docs/benchmarks.md); the machine's load adds to every stall",
      ],
    },
  ];
}
