/**
 * Figure 4: the daemon. Merge-to-converged latency (a new image committed → present on every agent) when a
 * signed webhook announces the push, and when only the interval poll finds it; then its resident memory
 * and the CPU it uses while idle, read from /proc.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { parseDuration } from "../core/duration.js";
import { fleetYaml, uniqueRepo } from "../lab/fleet-yaml.js";
import type { Lab } from "../lab/lab.js";
import { pushRandomImage } from "../lab/push-image.js";
import { type DaemonProcess, startDaemon } from "./daemon-process.js";
import { hasImage, labAgents, manifestRepo, removeImages, removeRepo, sleep } from "./lab-fleet.js";
import { bareNodeMemory, cpuPercent, cpuTicksOf, memoryOf } from "./proc.js";
import { type FigureLine, ratioOf } from "./table.js";

export type DaemonSizes = { interval: string; idleSeconds: number; samples: number; logFile?: string };
export const DAEMON_DEFAULTS: DaemonSizes = { interval: "30s", idleSeconds: 30, samples: 3 };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Polls the engines until every one holds `reference`; resolves with the time it became true. */
async function converged(hosts: string[], reference: string, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const held = await Promise.all(hosts.map((host) => hasImage(host, reference)));
    if (held.every(Boolean)) return performance.now();
    if (performance.now() > deadline)
      throw new Error(`${reference} not on every agent after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** A one-workspace fleet on the lab's engines whose image tag the bench moves, as a release would. */
type Release = { hosts: string[]; reference(tag: string): string; release(tag: string): Promise<string> };

/** Webhook and polling samples, alternating; `start` is when the daemon's first cycle converged. */
async function sampleLatencies(
  daemon: DaemonProcess,
  fleet: Release,
  sizes: DaemonSizes,
  intervalMs: number,
  start: number,
) {
  const webhook: number[] = [];
  const polling: number[] = [];
  let lastPoll = start;
  for (let s = 0; s < sizes.samples; s++) {
    const revision = await fleet.release(`w${s}`);
    let merged = performance.now();
    const status = await daemon.push("main", revision);
    if (status !== 202) throw new Error(`the webhook was answered ${status}, not 202`);
    webhook.push((await converged(fleet.hosts, fleet.reference(`w${s}`), 60_000)) - merged);
    // Merges land at evenly spread moments of the poll interval (from the last poll's cycle), so the
    // polling samples cover early, middle and late merges instead of one phase.
    await sleep(Math.max(0, lastPoll + ((s + 0.5) / sizes.samples) * intervalMs - performance.now()));
    await fleet.release(`p${s}`);
    merged = performance.now();
    lastPoll = await converged(fleet.hosts, fleet.reference(`p${s}`), intervalMs + 60_000);
    polling.push(lastPoll - merged);
  }
  return { webhook, polling };
}

/** CPU over an idle window once no cycle runs, then resident memory, then a clean SIGTERM. */
async function idleUsage(daemon: DaemonProcess, idleSeconds: number): Promise<Usage> {
  for (let i = 0; i < 600 && (await daemon.status()).running; i++) await sleep(100);
  const before = cpuTicksOf(daemon.pid);
  await sleep(idleSeconds * 1000);
  const cpu = cpuPercent(before, cpuTicksOf(daemon.pid), idleSeconds * 1000);
  const memory = memoryOf(daemon.pid);
  const bare = await bareNodeMemory();
  const exitCode = await daemon.stop();
  if (exitCode !== 0) throw new Error(`kasm-gitops run exited ${exitCode} on SIGTERM, not 0`);
  return { cpu, memory, bare };
}

export async function benchDaemon(lab: Lab, sizes: DaemonSizes): Promise<FigureLine[]> {
  const intervalMs = parseDuration(sizes.interval);
  if (!intervalMs) throw new Error(`--interval ${sizes.interval} is not a duration like 30s`);
  const repository = uniqueRepo("daemon");
  const registry = lab.registries.plain;
  const agents = labAgents(lab, lab.engines.length);
  const reference = (tag: string) => `${registry.host}/${repository}:${tag}`;
  const manifests = (tag: string) => ({
    registries: [{ name: "lab", host: registry.host }],
    agents,
    workspaces: [{ name: "app", image: reference(tag), registry: "lab" }],
  });
  const tags = ["v0"];
  await pushRandomImage({ url: registry.url, repository, tag: "v0" });
  const bench = await manifestRepo(manifests("v0"));
  const fleet: Release = {
    hosts: agents.map((a) => a.host),
    reference,
    async release(tag) {
      tags.push(tag);
      await pushRandomImage({ url: registry.url, repository, tag });
      return bench.commit(fleetYaml(manifests(tag)));
    },
  };
  const daemon = await startDaemon({
    repo: bench.repo.bare,
    path: bench.path,
    stateDir: bench.stateDir,
    interval: sizes.interval,
    secret: randomBytes(16).toString("hex"),
    ...(sizes.logFile ? { logFile: sizes.logFile } : {}),
  });
  try {
    const start = await converged(fleet.hosts, reference("v0"), 60_000);
    const latency = await sampleLatencies(daemon, fleet, sizes, intervalMs, start);
    return lines(sizes, fleet.hosts.length, latency, await idleUsage(daemon, sizes.idleSeconds));
  } finally {
    await daemon.stop();
    await removeImages(
      tags.flatMap((tag) => fleet.hosts.map((host) => ({ host, reference: reference(tag) }))),
    );
    await removeRepo(bench);
  }
}

type Usage = {
  memory: { rssMB: number; peakMB: number };
  bare: { rssMB: number };
  cpu: { self: number; children: number };
};

function lines(
  sizes: DaemonSizes,
  agentCount: number,
  latency: { webhook: number[]; polling: number[] },
  usage: Usage,
): FigureLine[] {
  const webhook = median(latency.webhook);
  const polling = median(latency.polling);
  const samples = (values: number[]) => values.map((v) => v.toFixed(0)).join(", ");
  const ratio = ratioOf(webhook, polling);
  const rss = ratioOf(usage.memory.rssMB, usage.bare.rssMB);
  return [
    {
      id: "daemon.latency",
      what: `merge to converged on ${agentCount} agents: webhook vs polling every ${sizes.interval}`,
      measured: { value: webhook, unit: "ms", label: "webhook" },
      baseline: { value: polling, unit: "ms", label: `polling every ${sizes.interval}` },
      ...(ratio === undefined ? {} : { ratio }),
      notes: [
        `webhook samples (ms): ${samples(latency.webhook)}; polling samples (ms): ${samples(latency.polling)}`,
        "merge = the commit pushed to the bare repo; converged = the new tag present on every agent's engine (polled every 100 ms)",
        `polling: merge s of n lands (s + ½)/n of the interval after the last poll's cycle, so samples spread over the interval; the median is near half of it`,
      ],
    },
    {
      id: "daemon.rss",
      what: "daemon resident memory",
      measured: { value: usage.memory.rssMB, unit: "MB" },
      baseline: { value: usage.bare.rssMB, unit: "MB", label: "idle bare node" },
      ...(rss === undefined ? {} : { ratio: rss }),
      notes: [`VmRSS after the idle window; peak (VmHWM) ${usage.memory.peakMB.toFixed(1)} MB`],
    },
    {
      id: "daemon.idle-cpu",
      what: `daemon idle CPU over ${sizes.idleSeconds} s`,
      measured: { value: usage.cpu.self, unit: "%" },
      notes: [
        "utime+stime from /proc/<pid>/stat over the window, as % of one core; the window includes the interval cycles that fall in it",
        `git child processes (cutime+cstime): ${usage.cpu.children.toFixed(2)} % of one core`,
      ],
    },
  ];
}
