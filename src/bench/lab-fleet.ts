/**
 * What the lab figures share: the running lab (reused, never stopped), a manifest repo in a local bare
 * Git repo, agents mapped onto the lab's engines, and clean-up of what a figure pulled.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { dockerConnection } from "../adapters/docker-host.js";
import { createDeps } from "../app.js";
import { secretPolicy } from "../core/manifest/secret-policy.js";
import type { ReconcileDeps } from "../engine/cycle.js";
import { type AgentDef, fleetYaml, type RegistryDef, type WorkspaceDef } from "../lab/fleet-yaml.js";
import { createTestRepo, type TestRepo } from "../lab/git-repo.js";
import { defaultLabDir, type Lab, startLab } from "../lab/lab.js";

/** The shared lab: services already running are reused, and nothing here ever stops them. */
export async function openLab(log: (line: string) => void): Promise<Lab> {
  const handle = await startLab({ dir: defaultLabDir(), engines: 2, log });
  if (handle.started.length > 0) log(`the bench started ${handle.started.join(", ")}; they keep running`);
  return handle.lab;
}

/** `count` agents on the lab's engines, round-robin: with more agents than engines, engines are shared. */
export function labAgents(lab: Lab, count: number, limit?: number): (AgentDef & { engine: string })[] {
  return Array.from({ length: count }, (_, i) => {
    const engine = lab.engines[i % lab.engines.length]!;
    return {
      name: `agent-${i}`,
      host: engine.host,
      engine: engine.host,
      labels: { bench: `agent-${i}` },
      ...(limit ? { maxConcurrentPulls: limit } : {}),
    };
  });
}

/** A bare repo whose `main` holds the fleet under `fleet/`, and a state dir for the reconciler. */
export type BenchRepo = {
  repo: TestRepo;
  stateDir: string;
  path: string;
  commit(yaml: string): Promise<string>;
};

export async function manifestRepo(parts: {
  registries: RegistryDef[];
  agents: AgentDef[];
  workspaces: WorkspaceDef[];
}): Promise<BenchRepo> {
  const repo = await createTestRepo();
  const stateDir = await mkdtemp(join(tmpdir(), "kg-bench-state-"));
  const commit = (yaml: string) => repo.commit({ "fleet/fleet.yaml": yaml }, "bench fleet");
  await commit(fleetYaml(parts));
  return { repo, stateDir, path: "fleet", commit };
}

/** The reconciler's dependencies for a bench repo, as `apply` wires them. */
export function benchDeps(bench: BenchRepo, env: NodeJS.ProcessEnv = process.env): ReconcileDeps {
  return createDeps({
    secrets: secretPolicy({}, process.env),
    repo: bench.repo.bare,
    path: bench.path,
    stateDir: bench.stateDir,
    env,
  });
}

/** Removes the bench's temporary folders (the lab's own folders are never touched). */
export async function removeRepo(bench: BenchRepo): Promise<void> {
  await rm(join(bench.repo.bare, ".."), { recursive: true, force: true });
  await rm(bench.stateDir, { recursive: true, force: true });
}

const engine = (host: string) => new Docker(dockerConnection(host));

/** True when the engine holds an image under this exact reference. */
export async function hasImage(host: string, reference: string): Promise<boolean> {
  try {
    await engine(host).getImage(reference).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

/** Removes what a figure pulled, so repeated runs do not fill the shared engines; failures are ignored. */
export async function removeImages(pulled: { host: string; reference: string }[]): Promise<void> {
  await Promise.all(
    pulled.map(({ host, reference }) =>
      engine(host)
        .getImage(reference)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}

/** The engines' Docker version, for the notes: how `docker pull` behaves depends on it. */
export async function dockerVersion(host: string): Promise<string> {
  const version = await engine(host).version();
  return version.Version;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
