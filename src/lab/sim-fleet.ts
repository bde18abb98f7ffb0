/**
 * Many simulated engines and one counting registry proxy, for the fleet benchmark. They run in a child
 * process of their own (sim-fleet-process.ts) so the reconciler's memory and event loop are measured alone;
 * the parent talks to it over IPC.
 */
import { fork } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type ProxyStats, startRegistryProxy } from "./registry-proxy.js";
import type { BearerSettings } from "./registry-proxy-auth.js";
import { type SimEngine, startSimEngine } from "./sim-engine.js";
import type { PullTiming } from "./sim-pull.js";

export type SimFleetOptions = {
  /** Folder for the sockets: `<dir>/a<i>.sock` (keep it short, 108 bytes at most). */
  dir: string;
  count: number;
  timing: PullTiming;
  /** The real registry behind the counting proxy. */
  upstream: string;
  /** Demand Bearer tokens at the proxy (Docker Hub-like); absent: the upstream's own auth passes through. */
  bearer?: BearerSettings;
};

export type SimFleetStats = {
  /** Most pulls in flight at once on each engine, in engine order. */
  maxPullsInFlight: number[];
  pulls: number;
  /** Pull durations at the engines, ms: median and 90th percentile. */
  pullMs: { p50: number; p90: number };
  /** How long the registry (behind the proxy) took to answer, by request kind: median and 90th percentile, ms. */
  registryMs: Record<string, { p50: number; p90: number }>;
  /** Engine API calls by route, summed over the engines. */
  calls: Record<string, number>;
  registry: ProxyStats;
  /** Manifest HEADs the registry answered 200 (the others were 401 challenges or errors). */
  manifestHeadsOk: number;
  /** Resident memory of the process the engines run in, now and at its peak, in MB. */
  rssMB: number;
  peakRssMB: number;
  /** CPU time the process has used since it started (user and system), in ms. */
  cpuMs: number;
};

export type SimFleet = {
  hosts: string[];
  /** `host:port` of the counting proxy: images and the Registry manifest name it. */
  registryHost: string;
  stats(): Promise<SimFleetStats>;
  /** Forgets counters (calls, peaks, registry requests). */
  reset(): Promise<void>;
  close(): Promise<void>;
};

/** The median and 90th percentile of some durations (0 for none). */
export function percentiles(values: readonly number[]): { p50: number; p90: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p90: at(0.9) };
}

/** Starts the engines and the proxy in this process. */
export async function startSimFleet(options: SimFleetOptions) {
  const proxy = await startRegistryProxy({
    upstream: options.upstream,
    ...(options.bearer ? { behaviour: { bearer: options.bearer } } : {}),
  });
  const engines: SimEngine[] = [];
  for (let i = 0; i < options.count; i++) {
    engines.push(await startSimEngine({ socket: `${options.dir}/a${i}.sock`, timing: options.timing }));
  }
  const stats = (): Omit<SimFleetStats, "rssMB" | "peakRssMB" | "cpuMs"> => {
    const calls: Record<string, number> = {};
    let pulls = 0;
    const maxPullsInFlight = engines.map((engine) => {
      const s = engine.stats();
      pulls += s.pulls;
      for (const [route, n] of Object.entries(s.calls)) calls[route] = (calls[route] ?? 0) + n;
      return s.maxPullsInFlight;
    });
    const all = engines.flatMap((e) => e.stats().pullMs);
    const byKind = new Map<string, number[]>();
    for (const r of proxy.requests) byKind.set(r.kind, [...(byKind.get(r.kind) ?? []), r.durationMs]);
    const registryMs = Object.fromEntries([...byKind].map(([kind, times]) => [kind, percentiles(times)]));
    const manifestHeadsOk = proxy.requests.filter(
      (r) => r.kind === "manifest-head" && r.status === 200,
    ).length;
    return {
      maxPullsInFlight,
      pulls,
      pullMs: percentiles(all),
      registryMs,
      calls,
      registry: proxy.stats(),
      manifestHeadsOk,
    };
  };
  return {
    hosts: engines.map((e) => e.host),
    registryHost: proxy.host,
    stats,
    reset() {
      for (const engine of engines) engine.reset();
      proxy.reset();
    },
    async close() {
      await Promise.all(engines.map((e) => e.close()));
      await proxy.close();
    },
  };
}

/** The child's entry script: next to this file when built, under dist/ when this runs from the sources. */
function childScript(): string {
  const beside = fileURLToPath(new URL("./sim-fleet-process.js", import.meta.url));
  if (existsSync(beside)) return beside;
  const built = fileURLToPath(new URL("../../dist/lab/sim-fleet-process.js", import.meta.url));
  if (existsSync(built)) return built;
  throw new Error(
    `the simulated fleet's process script is missing: run \`npm run build\` (looked for ${built})`,
  );
}

type Reply = { id: number; result?: unknown; error?: string };

/** Starts the engines and the proxy in a child process and returns a handle that talks to it. */
export async function forkSimFleet(options: SimFleetOptions): Promise<SimFleet> {
  const child = fork(childScript(), [JSON.stringify(options)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let next = 0;
  let exited: Error | undefined;
  child.on("message", (message: Reply) => {
    const call = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error !== undefined) call?.reject(new Error(`simulated fleet: ${message.error}`));
    else call?.resolve(message.result);
  });
  child.on("exit", (code, signal) => {
    exited = new Error(`the simulated fleet's process exited (${signal ?? code})`);
    for (const call of waiting.values()) call.reject(exited);
    waiting.clear();
  });
  const ask = <T>(command: string): Promise<T> => {
    if (exited) return Promise.reject(exited);
    const id = next++;
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ id, command });
    });
  };
  try {
    const ready = await ask<{ hosts: string[]; registryHost: string }>("start");
    return {
      ...ready,
      stats: () => ask<SimFleetStats>("stats"),
      reset: () => ask<void>("reset"),
      close: async () => {
        if (exited) return;
        const gone = new Promise((resolve) => child.once("exit", resolve));
        await ask<void>("close").catch(() => undefined);
        await gone;
      },
    };
  } catch (error) {
    child.kill();
    throw error;
  }
}
