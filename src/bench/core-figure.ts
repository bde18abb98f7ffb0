/**
 * Figure 1: the pure core. Validating many documents and planning a large fleet from in-memory
 * observations, each against the cheapest work any tool must do on the same input, in the same process.
 */
import { performance } from "node:perf_hooks";
import { parseAllDocuments } from "yaml";
import { checkManifestFiles, hasErrors } from "../core/manifest/validate.js";
import { desiredState, refsToCheck } from "../core/plan/desired.js";
import { buildPlan } from "../core/plan/plan.js";
import { manifestFiles, planInputs } from "./core-inputs.js";
import { atMost, type FigureLine, ratioOf } from "./table.js";

export type CoreSizes = { documents: number; agents: number; workspaces: number; runs: number };
export const CORE_DEFAULTS: CoreSizes = { documents: 10_000, agents: 200, workspaces: 2_000, runs: 3 };

type Measured<T> = { ms: number; cpuMs: number; heapMB: number; rssMB: number; result: T };

const MB = 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc;

/**
 * One run: wall time, the process's CPU time (all its threads, the garbage collector's included: on a shared
 * machine it moves less than wall time), and heap and RSS growth (after a full GC first with --expose-gc).
 */
function runOnce<T>(work: () => T): Measured<T> {
  gc?.();
  const before = process.memoryUsage();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = work();
  const ms = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  const after = process.memoryUsage();
  return {
    ms,
    cpuMs: (user + system) / 1000,
    heapMB: (after.heapUsed - before.heapUsed) / MB,
    rssMB: (after.rss - before.rss) / MB,
    result,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Runs the baseline and the work alternately `runs` times, so machine noise and JIT warm-up fall on both:
 * the median wall and CPU time of each (and every run's, for the spread), and the memory growth and result of
 * each one's first run (later results are dropped at once, so they do not weigh on the next run's garbage
 * collector). `prepare` makes a new input before every run of either, off the clock.
 */
export function measurePair<I, B, W>(
  runs: number,
  prepare: () => I,
  base: (input: I) => B,
  work: (input: I) => W,
) {
  const timed = <T>(f: (input: I) => T) => {
    const input = prepare();
    return runOnce(() => f(input));
  };
  const first = { base: timed(base), work: timed(work) };
  const clock = ({ ms, cpuMs }: Measured<unknown>) => ({ ms, cpuMs });
  const all = { base: [clock(first.base)], work: [clock(first.work)] };
  for (let i = 1; i < runs; i++) {
    all.base.push(clock(timed(base)));
    all.work.push(clock(timed(work)));
  }
  const medians = (times: { ms: number; cpuMs: number }[]) => ({
    ms: median(times.map((t) => t.ms)),
    cpuMs: median(times.map((t) => t.cpuMs)),
  });
  return {
    base: { ...first.base, ...medians(all.base) },
    work: { ...first.work, ...medians(all.work) },
    workRuns: all.work,
  };
}

const count = (n: number) => n.toLocaleString("en-US");
const mb = (n: number) => `${n.toFixed(1)} MB`;

type Pair = {
  id: string;
  what: string;
  work: Measured<unknown>;
  base: Measured<unknown>;
  baseLabel: string;
  budgetMs: number;
  /** The heap growth target, where the project has one. */
  budgetMB?: number;
  /** Every run's wall and CPU time, for the spread. */
  runs: { ms: number; cpuMs: number }[];
  notes: string[];
};

/** Two lines per measurement: its time against the baseline and the budget, and its memory against the baseline's. */
function timeAndMemory(pair: Pair): FigureLine[] {
  const { id, what, work, base, baseLabel, budgetMs, budgetMB, runs } = pair;
  const list = (key: "ms" | "cpuMs") => runs.map((r) => r[key].toFixed(0)).join(", ");
  const spread = [
    `runs: ${list("ms")} ms (${runs.length > 1 ? "median reported" : "one run"})`,
    `CPU time (all threads): ${list("cpuMs")} ms, median ${work.cpuMs.toFixed(0)} ms; baseline median ${base.cpuMs.toFixed(0)} ms`,
  ];
  const time: FigureLine = {
    id,
    what,
    measured: { value: work.ms, unit: "ms" },
    baseline: { value: base.ms, unit: "ms", label: baseLabel },
    ...optionalRatio(work.ms, base.ms),
    target: atMost(work.ms, budgetMs, `< ${budgetMs / 1000} s`),
    notes: [...pair.notes, ...spread],
  };
  const memory: FigureLine = {
    id: `${id}.memory`,
    what: `${what}: memory`,
    measured: { value: work.heapMB, unit: "MB" },
    baseline: { value: base.heapMB, unit: "MB", label: baseLabel },
    ...optionalRatio(work.heapMB, base.heapMB),
    ...(budgetMB === undefined ? {} : { target: atMost(work.heapMB, budgetMB, `< ${budgetMB} MB`) }),
    notes: [
      `heap growth ${mb(work.heapMB)}, RSS growth ${mb(work.rssMB)}`,
      `baseline: heap growth ${mb(base.heapMB)}, RSS growth ${mb(base.rssMB)}`,
      gc
        ? "growth = memoryUsage() right after the first run − before it (after a full GC), garbage included"
        : "growth = memoryUsage() right after the first run − before it; run node with --expose-gc for a GC first",
    ],
  };
  return [time, memory];
}

const optionalRatio = (measured: number, baseline: number) => {
  const ratio = ratioOf(measured, baseline);
  return ratio === undefined ? {} : { ratio };
};

/** Validating documents: the loader with positions, the schemas and the semantic rules. */
export function validateFigure(sizes: CoreSizes): FigureLine[] {
  const files = manifestFiles(sizes.documents);
  const bytes = files.reduce((sum, f) => sum + Buffer.byteLength(f.text), 0);
  const { base, work, workRuns } = measurePair(
    sizes.runs,
    () => files,
    (input) => input.map((f) => parseAllDocuments(f.text).map((d) => d.toJS())),
    checkManifestFiles,
  );
  const { set, problems } = work.result;
  if (hasErrors(problems)) throw new Error(`the benchmark's manifests are invalid: ${problems[0]!.message}`);
  const documents = set.registries.length + set.agents.length + set.workspaces.length;
  return timeAndMemory({
    id: "core.validate",
    what: `validate ${count(documents)} documents`,
    work,
    base,
    baseLabel: "YAML parse only",
    budgetMs: 2000,
    runs: workRuns,
    notes: [
      `${files.length} files, ${(bytes / MB).toFixed(1)} MB, ${problems.length} warnings; median of ${sizes.runs} run(s)`,
      "measured: checkManifestFiles (YAML with positions, JSON Schema, semantic rules); baseline: yaml's parseAllDocuments + toJS on the same text",
    ],
  });
}

/**
 * Planning a fleet: desired state, the references to check, and the plan, from in-memory observations.
 * Each run gets its own copy of the observations, as each cycle lists the agents' images anew.
 */
export function planFigure(sizes: CoreSizes): FigureLine[] {
  const inputs = planInputs(sizes);
  const { set, digests } = inputs;
  const { base, work, workRuns } = measurePair(
    sizes.runs,
    inputs.freshObservations,
    (observations) => {
      // The floor: visit every agent × workspace pair, match the selector, look the image up among the agent's tags.
      let matched = 0;
      observations.forEach((observation, a) => {
        const agent = set.agents[a]!;
        const labels = agent.metadata.labels ?? {};
        const tags = new Set(observation.reachable ? observation.images.flatMap((i) => i.repoTags) : []);
        for (const w of set.workspaces) {
          const match = w.spec.agents?.matchLabels ?? {};
          if (Object.entries(match).every(([k, v]) => labels[k] === v) && tags.has(w.spec.image)) matched++;
        }
      });
      return matched;
    },
    (observations) => {
      const desired = desiredState(set);
      refsToCheck(desired);
      return buildPlan({ revision: "0".repeat(40), branch: "main", set, desired, observations, digests });
    },
  );
  return timeAndMemory({
    id: "core.plan",
    what: `plan ${count(sizes.workspaces)} workspaces × ${count(sizes.agents)} agents`,
    work,
    base,
    baseLabel: "agent × workspace loop",
    budgetMs: 500,
    budgetMB: 150,
    runs: workRuns,
    notes: [
      `${count(inputs.desiredImages)} desired images on agents, ${count(work.result.summary.pull)} pulls planned; median of ${sizes.runs} run(s)`,
      "measured: desiredState + refsToCheck + buildPlan; baseline: every agent × workspace pair with its selector matched and the image looked up in a Set of the agent's tags",
      "each run of either side gets a new copy of the observations, parsed from JSON like the Engine API's image list",
    ],
  });
}

/** Figure 1, both halves. */
export function benchCore(sizes: CoreSizes = CORE_DEFAULTS): FigureLine[] {
  return [...validateFigure(sizes), ...planFigure(sizes)];
}
