/**
 * Figure: smoke tests in Kasm. A release switches a record on two lab agents; the same apply then runs the
 * Workspace's smoke test: a real session (a container from the image on the lab engine) held for `hold`.
 * Measured: the record's switch → the smoke verdict, against the hold (the part no implementation can save),
 * and the Kasm calls one smoke makes, against one status call a second.
 */
import { fleetYaml, uniqueRepo } from "../lab/fleet-yaml.js";
import { startKasmStandIn } from "../lab/kasm-stand-in.js";
import type { Lab } from "../lab/lab.js";
import { pushRandomImage } from "../lab/push-image.js";
import { apply, KASM, ms } from "./kasm-figure.js";
import { labAgents, manifestRepo, removeImages, removeRepo } from "./lab-fleet.js";
import { atMost, type FigureLine } from "./table.js";

export type SmokeSizes = { holdSeconds: number };
export const SMOKE_DEFAULTS: SmokeSizes = { holdSeconds: 1 };

/** The session calls of a smoke test (the record calls of the same apply are figure 5's). */
const SESSION_CALLS = ["get_user", "request_kasm", "get_kasm_status", "destroy_kasm", "get_kasms"];
/** How much a smoke test may add to its hold: Kasm's start of the session, polling, the destroy. */
const OVERHEAD_TARGET_MS = 10_000;

export async function benchSmoke(lab: Lab, sizes: SmokeSizes): Promise<FigureLine[]> {
  const repository = uniqueRepo("smoke-bench");
  const reference = (tag: string) => `${lab.registries.plain.host}/${repository}:${tag}`;
  // A program that keeps running: the session is running as long as its container is.
  for (const tag of ["v1", "v2"])
    await pushRandomImage({ url: lab.registries.plain.url, repository, tag }, undefined, "stays");
  const agents = labAgents(lab, 2);
  const kasm = await startKasmStandIn({ seed: { users: [{ username: "smoke" }] } });
  // Kasm's agents list both tags from the start (their live reports frozen): a live report lags a pull by
  // its period, which on a real Kasm adds to the figure and is not kasm-gitops's to save.
  for (const a of agents) kasm.freezeReports(a.name);
  kasm.seed({
    servers: agents.map((a) => ({
      hostname: a.name,
      engine: a.engine,
      docker_images: { x: { tags: [reference("v1"), reference("v2")] } },
    })),
  });
  const hold = `${sizes.holdSeconds}s`;
  const yaml = (tag: string) =>
    fleetYaml({
      registries: [{ name: "lab", host: lab.registries.plain.host }],
      agents,
      workspaces: [{ name: "app", image: reference(tag), registry: "lab", smoke: { timeout: "60s", hold } }],
      kasm: { url: kasm.url, ...KASM, smokeUser: "smoke" },
    });
  const repo = await manifestRepo({ registries: [], agents: [], workspaces: [] });
  const bench = { bare: repo.repo.bare, stateDir: repo.stateDir, path: repo.path };
  try {
    // v1: the record is created and its first digest tested (a warm-up of the same path).
    await repo.commit(yaml("v1"));
    await apply(bench, kasm);
    await repo.commit(yaml("v2"));
    kasm.clearCalls();
    const events = await apply(bench, kasm);
    const done = events.filter((e) => e.event === "done" && e.status === "ok");
    const switched = ms(done.find((e) => e.type === "kasm-update"));
    const verdict = ms(done.find((e) => e.type === "smoke"));
    if (Number.isNaN(switched) || Number.isNaN(verdict))
      throw new Error("the apply of v2 did not both switch the record and pass its smoke test");
    if (kasm.state().kasms.length > 0) throw new Error("a smoke session outlived its test");
    const holdMs = sizes.holdSeconds * 1000;
    const toVerdict = verdict - switched;
    const calls = kasm.calls().filter((c) => SESSION_CALLS.includes(c.fn));
    const byFn = new Map<string, number>();
    for (const c of calls) byFn.set(c.fn, (byFn.get(c.fn) ?? 0) + 1);
    // One user lookup, one request, one destroy, and a status call each second until the verdict.
    const bound = 3 + Math.ceil(toVerdict / 1000) + 1;
    return [
      {
        id: "kasm.smoke",
        what: `record switched → smoke verdict, hold ${hold}, 2 agents`,
        measured: { value: toVerdict, unit: "ms" },
        baseline: { value: holdMs, unit: "ms", label: "the hold" },
        ratio: toVerdict / holdMs,
        target: {
          ...atMost(toVerdict - holdMs, OVERHEAD_TARGET_MS, "hold + under 10 s"),
          label: `hold + under 10 s (overhead ${(toVerdict - holdMs).toFixed(0)} ms)`,
        },
        breakdown: { overhead: { value: toVerdict - holdMs, unit: "ms", label: "beyond the hold" } },
        notes: [
          "one apply after the release commit: pulls on 2 lab engines, the record update, then the smoke test",
          "the session is a container of the image on the lab engine of the agent Kasm chose; polled each 1 s",
        ],
      },
      {
        id: "kasm.smoke-calls",
        what: `Kasm calls of one smoke test, hold ${hold}`,
        measured: { value: calls.length, unit: "requests" },
        baseline: { value: bound, unit: "requests", label: "3 + a status call a second" },
        ratio: calls.length / bound,
        target: atMost(calls.length, bound, `≤ ${bound}`),
        notes: [`calls by function: ${[...byFn].map(([fn, n]) => `${fn} ${n}`).join(", ")}`],
      },
    ];
  } finally {
    await kasm.close();
    await removeImages(
      ["v1", "v2"].flatMap((tag) => agents.map((a) => ({ host: a.host, reference: reference(tag) }))),
    );
    await removeRepo(repo);
  }
}
