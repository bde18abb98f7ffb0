/**
 * The distributed layout on the lab: two pullers (`--agent a1`, `--agent a2`), each with its own state dir as on
 * its own node, and one Kasm syncer (`--kasm-only`) whose only view of the agents is Kasm's get_servers, which
 * the stand-in fills from what the lab's engines really hold. The agents' Docker hosts are recorders in front
 * of the engines, so every Engine API call a reconciler makes is seen: the syncer makes none.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDeps } from "../src/app.js";
import { secretPolicy } from "../src/core/manifest/secret-policy.js";
import type { Plan } from "../src/core/plan/types.js";
import { runCycle } from "../src/engine/cycle.js";
import { inRepo, lines } from "./helpers/cli.js";
import { type EngineCall, startEngineRecorder } from "./helpers/engine-recorder.js";
import { stateDir } from "./helpers/fleet.js";
import {
  chrome,
  env,
  type Fleet,
  fleet,
  kit,
  record,
  useKasmSync,
  writes,
  yaml,
} from "./helpers/kasm-sync.js";

const lab = inject("lab");
useKasmSync();

type Recorder = Awaited<ReturnType<typeof startEngineRecorder>>;
let dir = "";
let recorders: Recorder[] = [];

beforeAll(async () => {
  // Short: a unix socket path is limited to 108 bytes.
  dir = await mkdtemp(join(tmpdir(), "kgs-"));
  recorders = await Promise.all(
    lab.engines.slice(0, 2).map((e, i) => startEngineRecorder(join(dir, `a${i + 1}.sock`), e.host)),
  );
});
afterAll(async () => {
  await Promise.all(recorders.map((r) => r.close()));
  await rm(dir, { recursive: true, force: true });
});

/** Kasm's agents, each reporting the lab engine that stands in for it; the fleet's Agents name them. */
function seedAgents() {
  kit.kasm.seed({
    servers: [
      { hostname: "host-a1", engine: lab.engines[0]!.host },
      { hostname: "host-a2", engine: lab.engines[1]!.host },
    ],
  });
}
const agents = () => ({
  a1: { host: recorders[0]!.host, kasm: { server: "host-a1" } },
  a2: { host: recorders[1]!.host, kasm: { server: "host-a2" } },
});

type Roles = { f: Fleet; pullers: Record<"a1" | "a2", string>; syncer: string };
async function roles(): Promise<Roles> {
  const f = await fleet();
  return { f, pullers: { a1: await stateDir(), a2: await stateDir() }, syncer: await stateDir() };
}
const calls = (): EngineCall[] => recorders.flatMap((r) => r.take());

/** A puller's apply: its own agent only, its own state dir. */
async function puller(r: Roles, agent: "a1" | "a2") {
  const result = await inRepo("apply", r.f.repo.bare, r.pullers[agent], ["--json", "--agent", agent], {
    env: env(),
  });
  return { code: result.code, stderr: result.stderr, summary: lines(result.stdout).at(-1) };
}
/** The syncer's apply, after one round of agent reports: its plan (as printed before acting) and exit code. */
async function syncer(r: Roles, extra: string[] = []) {
  await kit.kasm.refreshReports();
  const result = await inRepo("apply", r.f.repo.bare, r.syncer, ["--json", "--kasm-only", ...extra], {
    env: env(),
  });
  const planned = lines(result.stdout).find((l) => l.event === "plan") as unknown as Plan | undefined;
  return { code: result.code, stderr: result.stderr, plan: planned };
}

describe("pullers on every node and one Kasm syncer", () => {
  it("a release switches only after the slower puller has pulled it, a stale report holds it, a second syncer duplicates nothing, and the syncer calls no Docker engine", async () => {
    seedAgents();
    const r = await roles();
    const commit = (tag: string) =>
      r.f.repo.commit({ "manifests/a.yaml": yaml([chrome(r.f.image(tag))], { agents: agents() }) }, tag);
    await commit("v1");
    calls();

    // Nobody has pulled: the syncer creates nothing, naming both agents, and exits 1 (not converged).
    const first = await syncer(r);
    expect(first.plan?.blocked).toMatchObject([
      { type: "kasm-create", workspace: "chrome", reason: "image-not-on-agents", agents: ["a1", "a2"] },
    ]);
    expect(first.code).toBe(1);
    expect(writes()).toEqual([]);
    expect(calls()).toEqual([]);

    // The fast puller: its own agent only, nothing written to (or even read from) Kasm; converged, so 0.
    kit.kasm.clearCalls();
    const fast = await puller(r, "a2");
    expect(fast).toMatchObject({ code: 0, summary: { event: "summary", ok: 1, converged: true } });
    expect(kit.kasm.calls()).toEqual([]);
    expect(calls().some((c) => c.startsWith("POST /images/create"))).toBe(true);
    const waiting = await syncer(r);
    expect(waiting.plan?.blocked).toMatchObject([{ reason: "image-not-on-agents", agents: ["a1"] }]);
    expect(writes()).toEqual([]);
    expect(calls()).toEqual([]);

    // The slower puller finishes: Kasm's reports show the image on both. Two syncers act on it: the second
    // planned its create before the first one carried out the same create, and writes no second record or row.
    expect((await puller(r, "a1")).code).toBe(0);
    await kit.kasm.refreshReports();
    calls();
    const second = createDeps({
      secrets: secretPolicy({}, process.env),
      repo: r.f.repo.bare,
      path: "manifests",
      stateDir: await stateDir(),
      env: { ...process.env, ...env() },
    });
    const { plan, results } = await runCycle(second, {
      refresh: "all",
      kasmOnly: true,
      onPlanned: async () => {
        const created = await syncer(r);
        expect(created.plan?.blocked).toEqual([]);
        expect(created.code).toBe(0);
      },
      execute: {},
    });
    expect(plan.actions.map((a) => a.type)).toEqual(["kasm-create", "kasm-group-add", "kasm-group-remove"]);
    expect(results.map((x) => x.status)).toEqual(["ok", "ok", "ok"]);
    const state = kit.kasm.state();
    const mine = state.images.filter((i) => (i.notes ?? "").includes("managed-by: kasm-gitops/chrome"));
    expect(mine.map((i) => i.name)).toEqual([r.f.image("v1")]);
    expect(state.groupImages.filter((g) => g.image_id === mine[0]!.image_id)).toHaveLength(1);
    expect(writes().filter((w) => w === "create_image")).toHaveLength(1);

    // The release: both pullers pull v2, but a1's agent stops reporting before Kasm hears of it. Its report
    // grows older than the bound: the switch holds (the image is there, Kasm's word for it is not).
    await commit("v2");
    expect((await puller(r, "a2")).code).toBe(0);
    kit.kasm.freezeReports("host-a1");
    expect((await puller(r, "a1")).code).toBe(0);
    calls();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const stale = await syncer(r, ["--kasm-report-max-age", "1s"]);
    expect(stale.plan?.blocked).toMatchObject([
      { type: "kasm-update", workspace: "chrome", reason: "kasm-report-stale", agents: ["a1"] },
    ]);
    expect(stale.code).toBe(1);
    expect(record("chrome")?.name).toBe(r.f.image("v1"));
    // It reports again, holding v2: the record switches.
    kit.kasm.freezeReports("host-a1", false);
    expect((await syncer(r)).code).toBe(0);
    expect(record("chrome")?.name).toBe(r.f.image("v2"));
    // Every syncer run came after the pullers' calls were taken: the syncers made none.
    expect(calls()).toEqual([]);
  });
});
