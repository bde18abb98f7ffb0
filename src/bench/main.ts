/**
 * `npm run bench`: the project's performance claims as figures anyone can reproduce with one command.
 * Each figure is measured against its ideal or a baseline in the same run; see docs/benchmarks.md.
 */
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { benchCore, CORE_DEFAULTS } from "./core-figure.js";
import { benchDaemon, DAEMON_DEFAULTS } from "./daemon-figure.js";
import { benchFleet, FLEET_DEFAULTS } from "./fleet-figure.js";
import { benchKasm, KASM_DEFAULTS } from "./kasm-figure.js";
import { openLab } from "./lab-fleet.js";
import { benchPrune, PRUNE_DEFAULTS } from "./prune-figure.js";
import { benchRegistry, REGISTRY_DEFAULTS } from "./registry-figure.js";
import { benchScheduling, SCHEDULING_DEFAULTS } from "./scheduling-figure.js";
import { type FigureLine, renderTable } from "./table.js";

const FIGURES = ["core", "registry", "scheduling", "daemon", "kasm", "prune", "fleet"] as const;
type Figure = (typeof FIGURES)[number];

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
  "fleet-agents": { type: "string", help: "fleet: simulated agents", default: FLEET_DEFAULTS.agents },
  "fleet-images": { type: "string", help: "fleet: images every agent wants", default: FLEET_DEFAULTS.images },
  "fleet-limit": { type: "string", help: "fleet: maxConcurrentPulls", default: FLEET_DEFAULTS.limit },
  "fleet-delay": { type: "string", help: "fleet: ms each blob GET waits", default: FLEET_DEFAULTS.delayMs },
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

async function runFigure(figure: Figure, values: Values, log: (line: string) => void): Promise<FigureLine[]> {
  if (figure === "core") {
    return benchCore({
      documents: count(values, "documents"),
      workspaces: count(values, "plan-workspaces"),
      agents: count(values, "plan-agents"),
      runs: count(values, "runs"),
    });
  }
  const lab = await openLab(log);
  if (figure === "registry") {
    const sizes = { agents: count(values, "refresh-agents"), images: count(values, "refresh-images") };
    return benchRegistry(lab, { ...sizes, bearer: !values["open-registry"] });
  }
  if (figure === "scheduling") {
    return benchScheduling(lab, {
      ...SCHEDULING_DEFAULTS,
      images: count(values, "pull-images"),
      agents: count(values, "pull-agents"),
      limit: count(values, "pull-limit"),
      delayMs: count(values, "blob-delay"),
    });
  }
  if (figure === "kasm") {
    const sizes = { workspaces: count(values, "kasm-workspaces"), groups: count(values, "kasm-groups") };
    return benchKasm(lab, sizes, log);
  }
  if (figure === "fleet") {
    return benchFleet(lab, {
      ...FLEET_DEFAULTS,
      agents: count(values, "fleet-agents"),
      images: count(values, "fleet-images"),
      limit: count(values, "fleet-limit"),
      delayMs: count(values, "fleet-delay"),
    });
  }
  if (figure === "prune")
    return benchPrune(lab, { ...PRUNE_DEFAULTS, images: count(values, "prune-images") });
  const interval = String(values.interval ?? DAEMON_DEFAULTS.interval);
  return benchDaemon(lab, {
    interval,
    idleSeconds: count(values, "idle"),
    samples: count(values, "samples"),
  });
}

async function main(): Promise<number> {
  const options = Object.fromEntries(Object.entries(FLAGS).map(([name, f]) => [name, { type: f.type }]));
  const { values } = parseArgs({ options, strict: true }) as { values: Values };
  if (values.help) {
    process.stdout.write(usage());
    return 0;
  }
  const only = values.only as Figure | undefined;
  if (only !== undefined && !FIGURES.includes(only))
    throw new Error(`--only ${only}: use one of ${FIGURES.join(", ")}`);
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
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
  const figures: FigureLine[] = [];
  const errors: { figure: Figure; error: string }[] = [];
  for (const figure of only ? [only] : FIGURES) {
    const started = Date.now();
    log(`${figure}…`);
    try {
      figures.push(...(await runFigure(figure, values, log)));
      log(`${figure} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      errors.push({ figure, error: (error as Error).message });
      log(`${figure} failed: ${(error as Error).message}`);
    }
  }
  if (values.json) process.stdout.write(`${JSON.stringify({ machine, figures, errors }, null, 2)}\n`);
  else process.stdout.write(renderTable(figures));
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
