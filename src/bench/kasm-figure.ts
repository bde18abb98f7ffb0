/**
 * Figure 5: Kasm Web App sync. The Kasm API calls of a converged cycle for a large fleet of records (reads
 * only, none per record), and how soon after the last pull a released image reaches users' record.
 */

import { runCli } from "../cli/run-cli.js";
import { REPORT_POLL_MS } from "../engine/kasm-report-wait.js";
import { fleetYaml, uniqueRepo, type WorkspaceDef } from "../lab/fleet-yaml.js";
import { type KasmStandIn, startKasmStandIn } from "../lab/kasm-stand-in.js";
import { type Lab, startLab } from "../lab/lab.js";
import { pushRandomImage } from "../lab/push-image.js";
import { startRegistryProxy } from "../lab/registry-proxy.js";
import { labAgents, manifestRepo, removeImages, removeRepo } from "./lab-fleet.js";
import { atMost, type FigureLine } from "./table.js";

export type KasmSizes = { workspaces: number; groups: number };
export const KASM_DEFAULTS: KasmSizes = { workspaces: 200, groups: 5 };

export const KASM = { apiKeyEnv: "KASM_SECRET_BENCH_KEY", apiKeySecretEnv: "KASM_SECRET_BENCH_SECRET" };
const envFor = (kasm: KasmStandIn) => ({
  ...process.env,
  [KASM.apiKeyEnv]: kasm.apiKey,
  [KASM.apiKeySecretEnv]: kasm.apiKeySecret,
});

export type Event = { event: string; type?: string; time?: string; status?: string; converged?: boolean };

/** `kasm-gitops apply --json` in this process; its JSON lines. */
export async function apply(repo: { bare: string; stateDir: string; path: string }, kasm: KasmStandIn) {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    stdout: (text: string) => out.push(text),
    stderr: (text: string) => err.push(text),
    env: envFor(kasm),
    cwd: process.cwd(),
    isTTY: false,
  };
  const args = ["apply", "--json", "--repo", repo.bare, "--path", repo.path, "--state-dir", repo.stateDir];
  const code = await runCli(args, io);
  const events = out
    .join("")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Event);
  if (code !== 0) throw new Error(`apply exited ${code}: ${err.join("").slice(0, 500)}`);
  return events;
}

/**
 * A converged cycle over `workspaces` records in `groups` groups: records carry their registry
 * (`pulls: kasm`) and select no agent, so the cycle is Kasm's alone. The first apply creates them all.
 */
async function convergedCalls(lab: Lab, sizes: KasmSizes): Promise<FigureLine> {
  const groups = Array.from({ length: sizes.groups }, (_, i) => `team-${i}`);
  const kasm = await startKasmStandIn({ seed: { groups: groups.map((name) => ({ name })) } });
  const host = lab.registries.plain.host;
  const workspaces: WorkspaceDef[] = Array.from({ length: sizes.workspaces }, (_, i) => ({
    name: `ws-${i}`,
    image: `${host}/bench/app-${i}:v1`,
    registry: "lab",
    labels: { none: "none" },
    groups: [groups[i % groups.length]!],
    kasm: { description: `workspace ${i}`, categories: ["Bench"], cores: 1, memory: "1G" },
  }));
  const repo = await manifestRepo({ registries: [{ name: "lab", host }], agents: [], workspaces });
  await repo.commit(
    fleetYaml({
      registries: [{ name: "lab", host }],
      agents: [],
      workspaces,
      kasm: { url: kasm.url, ...KASM, pulls: "kasm" },
    }),
  );
  try {
    const bench = { bare: repo.repo.bare, stateDir: repo.stateDir, path: repo.path };
    await apply(bench, kasm);
    const created = kasm.writes().filter((c) => c.fn === "create_image").length;
    kasm.clearCalls();
    const events = await apply(bench, kasm);
    const calls = kasm.calls();
    const writes = kasm.writes().length;
    // Every group's rows are read (the whole membership, All Users included): the seeded ones and Kasm's two.
    const bound = 2 + kasm.state().groups.length;
    const byFn = new Map<string, number>();
    for (const c of calls) byFn.set(c.fn, (byFn.get(c.fn) ?? 0) + 1);
    return {
      id: "kasm.converged-calls",
      what: `Kasm API calls of a converged cycle, ${sizes.workspaces} records in ${sizes.groups} groups`,
      measured: { value: calls.length, unit: "requests" },
      baseline: { value: bound, unit: "requests", label: "2 + one per group Kasm has" },
      ratio: calls.length / bound,
      target: {
        ...atMost(calls.length, bound, `≤ ${bound} reads and 0 writes`),
        met: calls.length <= bound && writes === 0,
      },
      notes: [
        `first apply created ${created} records; the converged apply made ${writes} writes`,
        `calls by function: ${[...byFn].map(([fn, n]) => `${fn} ${n}`).join(", ")}`,
        `converged: ${events.at(-1)?.converged === true}`,
      ],
    };
  } finally {
    await kasm.close();
    await removeRepo(repo);
  }
}

export const ms = (event: Event | undefined) => (event?.time ? Date.parse(event.time) : Number.NaN);

/**
 * A release merged for a workspace served by 3 agents (`pulls: kasm-gitops`): one apply pulls the new
 * tag on each agent and then switches the record. Measured: the record switch after the last pull. With
 * `reports`, each Agent names its Kasm agent, whose live reports (every second) the switch waits for.
 */
async function switchAfterPulls(lab: Lab, reports = false): Promise<FigureLine> {
  // Blob GETs wait 500 ms at the lab's proxy, so pulls take the time a real image's would in proportion.
  const registry = await startRegistryProxy({
    upstream: lab.registries.plain.url,
    behaviour: { delayMs: 500 },
  });
  const repository = uniqueRepo("kasm-switch");
  const reference = (tag: string) => `${registry.host}/${repository}:${tag}`;
  const agents = labAgents(lab, 3).map((a) => (reports ? { ...a, kasm: { server: a.name } } : a));
  const kasm = await startKasmStandIn(
    reports ? { seed: { servers: agents.map((a) => ({ hostname: a.name, engine: a.engine })) } } : {},
  );
  const period = kasm.reports().intervalMs;
  const yaml = (tag: string) =>
    fleetYaml({
      registries: [{ name: "lab", host: registry.host }],
      agents,
      workspaces: [{ name: "app", image: reference(tag), registry: "lab", groups: ["All Users"] }],
      kasm: { url: kasm.url, ...KASM },
    });
  for (const tag of ["v1", "v2"]) await pushRandomImage({ url: registry.url, repository, tag });
  const repo = await manifestRepo({ registries: [], agents: [], workspaces: [] });
  await repo.commit(yaml("v1"));
  const bench = { bare: repo.repo.bare, stateDir: repo.stateDir, path: repo.path };
  try {
    await apply(bench, kasm);
    await repo.commit(yaml("v2"));
    const merged = Date.now();
    const events = await apply(bench, kasm);
    const done = events.filter((e) => e.event === "done" && e.status === "ok");
    const pulls = done.filter((e) => e.type === "pull");
    const lastPull = Math.max(...pulls.map(ms));
    const switched = ms(done.find((e) => e.type === "kasm-update"));
    const record = kasm.state().images.find((i) => i.name === reference("v2"));
    if (!record || Number.isNaN(switched)) throw new Error("the record was not switched to v2");
    const after = switched - lastPull;
    if (reports) {
      // Ideal: the next report after the pull (one period at most) and the poll that reads it (a second).
      const ideal = period + REPORT_POLL_MS;
      return {
        id: "kasm.switch-reports",
        what: "last pull → record switched, 3 agents, once Kasm's agents report the image",
        measured: { value: after, unit: "ms" },
        baseline: { value: ideal, unit: "ms", label: "one report period + one poll" },
        ratio: after / ideal,
        target: atMost(after, ideal, `≤ ${ideal} ms`),
        notes: [
          `the stand-in's agents report their engines every ${period} ms, as Kasm's agents check in every few seconds`,
          "without the wait the record would switch at once and a launch could answer 'No resources' until the reports came",
        ],
      };
    }
    return {
      id: "kasm.switch",
      what: "merge → record switched, 3 agents: the switch after the last pull",
      measured: { value: after, unit: "ms" },
      baseline: { value: lastPull - merged, unit: "ms", label: "merge → last pull done" },
      target: atMost(after, 1000, "under 1 s after the pulls"),
      notes: [
        `merge → record switched ${(switched - merged).toFixed(0)} ms; ${pulls.length} pulls (${agents.length} agents), blob GETs delayed 500 ms`,
        "one apply after the merge commit: plan, pulls, then the record update that waited for them",
      ],
    };
  } finally {
    await kasm.close();
    await registry.close();
    await removeImages(
      ["v1", "v2"].flatMap((tag) => agents.map((a) => ({ host: a.host, reference: reference(tag) }))),
    );
    await removeRepo(repo);
  }
}

export async function benchKasm(
  lab: Lab,
  sizes: KasmSizes,
  log: (line: string) => void,
): Promise<FigureLine[]> {
  const converged = await convergedCalls(lab, sizes);
  // Three agents on three engines: the lab starts a third one when it runs two (and keeps it running).
  const { lab: three, started } = await startLab({ dir: lab.dir, engines: 3, log });
  if (started.length > 0) log(`the bench started ${started.join(", ")}; they keep running`);
  return [converged, await switchAfterPulls(three), await switchAfterPulls(three, true)];
}
