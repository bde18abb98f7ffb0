/**
 * `npm run bench`: the project's performance claims as figures anyone can reproduce with one command.
 * Each figure is measured against its ideal or a baseline in the same run; see docs/benchmarks.md. Each part
 * runs in a child process of its own (isolate.ts), so no figure carries what an earlier one left in memory.
 */
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { CORE_DEFAULTS, planFigure, validateFigure } from "./core-figure.js";
import { benchDaemon, DAEMON_DEFAULTS } from "./daemon-figure.js";
import { benchFleet, benchFleetSlow, FLEET_DEFAULTS, FLEET_SLOW_DELAY_MS } from "./fleet-figure.js";
import {
  FIGURE_PARTS,
  FIGURES,
  type Figure,
  PARTS,
  type Part,
  type PartReport,
  runHere,
  runInChild,
} from "./isolate.js";
import { benchKasm, KASM_DEFAULTS } from "./kasm-figure.js";
import { openLab } from "./lab-fleet.js";
import { benchPage, PAGE_DEFAULTS } from "./page-figure.js";
import { benchPrune, PRUNE_DEFAULTS } from "./prune-figure.js";
import { benchRegistry, REGISTRY_DEFAULTS } from "./registry-figure.js";
import { benchScheduling, SCHEDULING_DEFAULTS } from "./scheduling-figure.js";
import { benchSmoke, SMOKE_DEFAULTS } from "./smoke-figure.js";
import { type FigureLine, renderTable } from "./table.js";
import { benchUpdate, UPDATE_DEFAULTS } from "./update-figure.js";

// biome-ignore format: one flag per line, with its default
const FLAGS = {
  json: { type: "boolean", help: "print the figures as JSON" },
  only: { type: "string", value: "NAME", help: `run one figure: ${FIGURES.join(", ")}` },
  runs: { type: "string", help: "core: runs per measurement, median reported", default: CORE_DEFAULTS.runs },
  documents: { type: "string", help: "core: documents to validate", default: CORE_DEFAULTS.documents },
  "plan-workspaces": { type: "string", help: "core: workspaces to plan", default: CORE_DEFAULTS.workspaces },
  "plan-agents": { type: "string", help: "core: agents to plan", default: CORE_DEFAULTS.agents },
  "refresh-agents": { type: "string", help: "registry: agents refreshing", default: REGISTRY_DEFAULTS.agents },
  "refresh-images": { type: "string", help: "registry: images per agent", default: REGISTRY_DEFAULTS.images },
  "open-registry": { type: "boolean", help: "registry: no Bearer tokens (default: Docker Hub-like tokens)" },
  "update-repositories": { type: "string", help: "update: repositories checked", default: UPDATE_DEFAULTS.repositories },
  "pull-images": { type: "string", help: "scheduling: images per agent", default: SCHEDULING_DEFAULTS.images },
  "pull-agents": { type: "string", help: "scheduling: agents", default: SCHEDULING_DEFAULTS.agents },
  "pull-limit": { type: "string", help: "scheduling: maxConcurrentPulls", default: SCHEDULING_DEFAULTS.limit },
  "blob-delay": { type: "string", help: "scheduling: ms each blob GET waits", default: SCHEDULING_DEFAULTS.delayMs },
  interval: { type: "string", value: "DURATION", help: "daemon: poll interval", default: DAEMON_DEFAULTS.interval },
  idle: { type: "string", help: "daemon: idle window in seconds", default: DAEMON_DEFAULTS.idleSeconds },
  samples: { type: "string", help: "daemon: latency samples of each kind", default: DAEMON_DEFAULTS.samples },
  "prune-images": { type: "string", help: "prune: unused images on the agent", default: PRUNE_DEFAULTS.images },
  "daemon-log": { type: "string", value: "FILE", help: "daemon: keep its JSON log lines in FILE" },
  "kasm-workspaces": { type: "string", help: "kasm: records of the converged cycle", default: KASM_DEFAULTS.workspaces },
  "kasm-groups": { type: "string", help: "kasm: groups they are in", default: KASM_DEFAULTS.groups },
  "smoke-hold": { type: "string", help: "kasm: the smoke test's hold in seconds", default: SMOKE_DEFAULTS.holdSeconds },
  "fleet-agents": { type: "string", help: "fleet: simulated agents", default: FLEET_DEFAULTS.agents },
  "fleet-images": { type: "string", help: "fleet: images every agent wants", default: FLEET_DEFAULTS.images },
  "fleet-limit": { type: "string", help: "fleet: maxConcurrentPulls", default: FLEET_DEFAULTS.limit },
  "fleet-delay": { type: "string", help: "fleet: ms each blob GET waits", default: FLEET_DEFAULTS.delayMs },
  "fleet-slow-delay": { type: "string", help: "fleet: the slower apply's ms per blob GET", default: FLEET_SLOW_DELAY_MS },
  "page-agents": { type: "string", help: "page: agents in the status page's matrix", default: PAGE_DEFAULTS.agents },
  "page-workspaces": { type: "string", help: "page: workspaces in the matrix", default: PAGE_DEFAULTS.workspaces },
  part: { type: "string", value: "PART", help: `measure one part in this process and print its JSON report: ${PARTS.join(", ")}` },
  help: { type: "boolean", help: "show this help" },
} as const;

function usage(): string {
  const rows = Object.entries(FLAGS).map(([name, f]) => {
    const value = f.type === "string" ? ` ${"value" in f ? f.value : "N"}` : "";
    const fallback = "default" in f ? ` (default ${f.default})` : "";
    return `  --${name}${value}`.padEnd(24) + f.help + fallback;
  });
  return `usage: npm run bench -- [flags]\n\n${rows.join("\n")}\n`;
}

type Values = { [K in keyof typeof FLAGS]?: string | boolean };

function count(values: Values, name: keyof typeof FLAGS): number {
  const raw = values[name] ?? String((FLAGS[name] as { default?: unknown }).default);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} ${String(raw)} is not a positive whole number`);
  return n;
}

/** Measures one part in this process (each child of a full run calls this once). */
async function runPart(part: Part, values: Values, log: (line: string) => void): Promise<FigureLine[]> {
  if (part === "core.validate" || part === "core.plan") {
    const sizes = {
      documents: count(values, "documents"),
      workspaces: count(values, "plan-workspaces"),
      agents: count(values, "plan-agents"),
      runs: count(values, "runs"),
    };
    return part === "core.validate" ? validateFigure(sizes) : planFigure(sizes);
  }
  if (part === "page") {
    return benchPage({
      agents: count(values, "page-agents"),
      workspaces: count(values, "page-workspaces"),
      runs: count(values, "runs"),
    });
  }
  const lab = await openLab(log);
  if (part === "registry") {
    const sizes = { agents: count(values, "refresh-agents"), images: count(values, "refresh-images") };
    return benchRegistry(lab, { ...sizes, bearer: !values["open-registry"] });
  }
  if (part === "scheduling") {
    return benchScheduling(lab, {
      ...SCHEDULING_DEFAULTS,
      images: count(values, "pull-images"),
      agents: count(values, "pull-agents"),
      limit: count(values, "pull-limit"),
      delayMs: count(values, "blob-delay"),
    });
  }
  if (part === "kasm") {
    const sizes = { workspaces: count(values, "kasm-workspaces"), groups: count(values, "kasm-groups") };
    return benchKasm(lab, sizes, log);
  }
  if (part === "kasm.smoke") return benchSmoke(lab, { holdSeconds: count(values, "smoke-hold") });
  if (part === "fleet" || part === "fleet.slow") {
    const sizes = {
      ...FLEET_DEFAULTS,
      agents: count(values, "fleet-agents"),
      images: count(values, "fleet-images"),
      limit: count(values, "fleet-limit"),
      delayMs: count(values, "fleet-delay"),
    };
    return part === "fleet"
      ? benchFleet(lab, sizes)
      : benchFleetSlow(lab, { ...sizes, delayMs: count(values, "fleet-slow-delay") });
  }
  if (part === "update") return benchUpdate(lab, { repositories: count(values, "update-repositories") });
  if (part === "prune") return benchPrune(lab, { ...PRUNE_DEFAULTS, images: count(values, "prune-images") });
  const interval = String(values.interval ?? DAEMON_DEFAULTS.interval);
  return benchDaemon(lab, {
    interval,
    idleSeconds: count(values, "idle"),
    samples: count(values, "samples"),
  });
}

/** The flags a child needs to measure its part as the user asked: the sizes, not what selects or prints. */
function childArgs(values: Values): string[] {
  const kept = Object.entries(values).filter(([name]) => !["json", "only", "part", "help"].includes(name));
  return kept.flatMap(([name, value]) =>
    value === true ? [`--${name}`] : typeof value === "string" ? [`--${name}`, value] : [],
  );
}

const loads = (l: readonly number[]) => l.map((n) => n.toFixed(2)).join(" ");

async function main(): Promise<number> {
  const options = Object.fromEntries(Object.entries(FLAGS).map(([name, f]) => [name, { type: f.type }]));
  const { values } = parseArgs({ options, strict: true }) as { values: Values };
  if (values.help) {
    process.stdout.write(usage());
    return 0;
  }
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  if (values.part !== undefined) {
    const part = values.part as Part;
    if (!PARTS.includes(part)) throw new Error(`--part ${part}: use one of ${PARTS.join(", ")}`);
    const report = await runHere(part, () => runPart(part, values, log));
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return report.errors.length > 0 ? 1 : 0;
  }
  const only = values.only as Figure | undefined;
  if (only !== undefined && !FIGURES.includes(only))
    throw new Error(`--only ${only}: use one of ${FIGURES.join(", ")}`);
  const machine = {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? "unknown",
    node: process.version,
    loadAverage: loadavg()[0]!,
    gc: typeof (globalThis as { gc?: unknown }).gc === "function",
  };
  log(
    `${machine.cpus} cores (${machine.model}), node ${machine.node}, load average ${machine.loadAverage.toFixed(2)}`,
  );
  const parts: PartReport[] = [];
  for (const figure of only ? [only] : FIGURES) {
    for (const part of FIGURE_PARTS[figure]) {
      log(`${part}… (in its own process; load average ${loads(loadavg())})`);
      const report = await runInChild(part, childArgs(values));
      parts.push(report);
      for (const { error } of report.errors) log(`${part} failed: ${error}`);
      if (report.errors.length === 0)
        log(`${part} done in ${report.seconds.toFixed(1)} s (pid ${report.pid})`);
    }
  }
  const figures = parts.flatMap((p) => p.figures);
  const errors = parts.flatMap((p) => p.errors);
  if (values.json) {
    const where = parts.map(({ part, pid, loadAverage, seconds, figures }) => ({
      part,
      pid,
      loadAverage,
      seconds,
      figures: figures.map((f) => f.id),
    }));
    process.stdout.write(`${JSON.stringify({ machine, parts: where, figures, errors }, null, 2)}\n`);
  } else {
    process.stdout.write(renderTable(figures));
    process.stdout.write(
      `\nEach part ran in its own process; load averages (1, 5, 15 min) when it started:\n${parts
        .map((p) => `  ${p.part}: ${p.loadAverage.length ? loads(p.loadAverage) : "-"}`)
        .join("\n")}\n`,
    );
  }
  return errors.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`bench: ${error.message}\n\n${usage()}`);
    process.exitCode = 2;
  },
);
