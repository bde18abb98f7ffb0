import { mkdtemp, rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDockerAgent } from "../src/adapters/docker-agent.js";
import { createDeps } from "../src/app.js";
import { secretPolicy } from "../src/core/manifest/secret-policy.js";
import { runCycle } from "../src/engine/cycle.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../src/lab/registry-proxy.js";
import { type SimEngine, startSimEngine } from "../src/lab/sim-engine.js";
import { startEngineRecorder } from "./helpers/engine-recorder.js";
import { fleetYaml, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo } from "./helpers/git-repos.js";

const lab = inject("lab");
const CREDENTIALS = { username: "conformance", password: "sim-secret" };
const PASSWORD_ENV = "KASM_SECRET_SIM_CONFORMANCE";

type Phase = { name: string; calls: string[]; actions: string[] };

/**
 * One reconciler scenario against an engine reached through a recording socket: a first apply (two pulls),
 * a refresh after a tag moved (one pull), the next cycle pruning the old image (dangling), then an unchanged one.
 */
async function scenario(engineHost: string, socket: string): Promise<Phase[]> {
  const recorder = await startEngineRecorder(socket, engineHost);
  const prefix = uniqueRepo("conformance");
  const images = [`${proxy.host}/${prefix}-a:v1`, `${proxy.host}/${prefix}-b:v1`];
  const push = (reference: string) =>
    pushRandomImage({
      url: lab.registries.plain.url,
      repository: reference.split("/").slice(1).join("/").replace(/:v1$/, ""),
      tag: "v1",
    });
  for (const image of images) await push(image);
  const repo = await createTestRepo();
  const state = await stateDir();
  await repo.commit(
    {
      "fleet/fleet.yaml": fleetYaml({
        registries: [
          {
            name: "corp",
            host: proxy.host,
            auth: { username: CREDENTIALS.username, passwordEnv: PASSWORD_ENV },
          },
        ],
        agents: [
          {
            name: "a1",
            host: recorder.host,
            maxConcurrentPulls: 1,
            prune: { mode: "dangling", keepPrevious: 0 },
          },
        ],
        workspaces: images.map((image, i) => ({ name: `app-${i}`, image, registry: "corp" })),
      }),
    },
    "conformance fleet",
  );
  const deps = createDeps({
    secrets: secretPolicy({}, process.env),
    repo: repo.bare,
    path: "fleet",
    stateDir: state,
    env: { ...process.env, [PASSWORD_ENV]: CREDENTIALS.password },
  });
  const phases: Phase[] = [];
  const cycle = async (name: string) => {
    const { plan, results } = await runCycle(deps, {
      refresh: "all",
      diskUsage: true,
      // As the daemon: the first cycle rebuilds the new ledger from the agent, so the third one may prune.
      record: true,
      execute: {},
    });
    expect(results.filter((r) => r.status !== "ok")).toEqual([]);
    phases.push({ name, calls: recorder.take().sort(), actions: plan.actions.map((a) => a.type) });
  };
  try {
    await cycle("first apply");
    await push(images[0]!);
    await cycle("refresh after a moved tag");
    await cycle("prune of the image the tag left");
    await cycle("unchanged refresh");
    return phases;
  } finally {
    await recorder.close();
    // Leave the shared engine as it was: the scenario's images go (force, so the moved tag's image too).
    const cleaner = createDockerAgent({ name: "cleanup", host: engineHost });
    for (const image of await cleaner.listImages()) {
      if (image.repoTags.concat(image.repoDigests).some((r) => r.includes(prefix)))
        await cleaner.removeImage(image.id).catch(() => undefined);
    }
    await rm(state, { recursive: true, force: true });
  }
}

let proxy: RegistryProxy;
let dir: string;
let sim: SimEngine;

beforeAll(async () => {
  proxy = await startRegistryProxy({
    upstream: lab.registries.plain.url,
    behaviour: { bearer: CREDENTIALS },
  });
  dir = await mkdtemp("/tmp/kg-sim-");
  sim = await startSimEngine({ socket: `${dir}/sim.sock`, timing: { blobDelayMs: 0 } });
});
afterAll(async () => {
  await sim?.close();
  await proxy?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("the simulated engine against a real one (same reconciler scenario)", () => {
  it("receives the same Engine API calls, phase by phase, and the reconciler plans the same actions", async () => {
    const real = await scenario(lab.engines[0]!.host, `${dir}/real-rec.sock`);
    const simulated = await scenario(sim.host, `${dir}/sim-rec.sock`);
    // The scenario did what it says on both sides: 2 pulls, then a pull, the old image pruned, then nothing.
    expect(real.map((p) => p.actions)).toEqual([["pull", "pull"], ["pull"], ["remove"], []]);
    expect(simulated.map((p) => p.actions)).toEqual(real.map((p) => p.actions));
    expect(real[0]!.calls).toContain("POST /images/create?fromImage,tag → 200");
    expect(real[2]!.calls).toContain("DELETE /images/{name}?force,noprune → 200");
    expect(simulated).toEqual(real);
  });
});
