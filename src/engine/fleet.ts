/** The agents, registries and KasmServer of a revision, connected: what a cycle observes and acts on. */
import { describeError, hasCode } from "../core/errors.js";
import { parseImageReference } from "../core/image/reference.js";
import type { KasmServerConfig } from "../core/kasm/plan.js";
import { DEFAULTS, type ManifestSet } from "../core/manifest/types.js";
import type { DockerAgent, KasmApi } from "../ports.js";
import type { ReconcileDeps } from "./cycle.js";
import type { RegistryAccess } from "./executor.js";
import { kasmServerConfig } from "./kasm-sync.js";

/** The agents and registries of a snapshot, connected. */
export type Fleet = {
  agents: Map<string, DockerAgent>;
  limits: Map<string, number>;
  registries: Map<string, RegistryAccess>;
  /** The registry that serves an image, by its host (docs/manifests.md: an image's host is its Registry's). */
  accessForImage: (image: string) => RegistryAccess | undefined;
  accessForHost: (host: string) => RegistryAccess | undefined;
  /** The set it was connected for. */
  set: ManifestSet;
  /** The KasmServer's API, or why it could not be reached. */
  kasm?: { config: KasmServerConfig; api?: KasmApi; error?: string; reason?: "kasm-config" };
};

/** Connects to every Registry and (selected) Agent of the set. */
export async function connectFleet(
  set: ManifestSet,
  deps: ReconcileDeps,
  onlyAgents?: string[],
  /** `agents: false` (`--kasm-only`): no Docker connection is made at all. */
  options: { agents?: boolean } = {},
): Promise<Fleet> {
  const defaultLimit = set.settings?.spec.maxConcurrentPulls ?? DEFAULTS.maxConcurrentPulls;
  const agents = new Map<string, DockerAgent>();
  const limits = new Map<string, number>();
  for (const manifest of options.agents === false ? [] : set.agents) {
    if (onlyAgents?.length && !onlyAgents.includes(manifest.metadata.name)) continue;
    agents.set(manifest.metadata.name, await deps.agentFor(manifest));
    limits.set(manifest.metadata.name, manifest.spec.maxConcurrentPulls ?? defaultLimit);
  }
  const registries = new Map<string, RegistryAccess>();
  const byHost = new Map<string, RegistryAccess>();
  for (const manifest of set.registries) {
    const access = await deps.registryFor(manifest);
    registries.set(manifest.metadata.name, access);
    if (!byHost.has(manifest.spec.host)) byHost.set(manifest.spec.host, access);
  }
  let kasm: Fleet["kasm"];
  // A puller (--agent) never talks to Kasm: its key is not resolved, so a node needs no Kasm secret.
  if (set.kasmServer && onlyAgents?.length) kasm = { config: kasmServerConfig(set.kasmServer) };
  else if (set.kasmServer && deps.kasmFor) {
    const config = kasmServerConfig(set.kasmServer);
    try {
      kasm = { config, api: await deps.kasmFor(set.kasmServer) };
    } catch (error) {
      // A secret that does not resolve is the operator's to fix, not Kasm being down.
      const configError = hasCode(error, "secret-unresolved", "secret-not-allowed", "usage");
      kasm = {
        config,
        error: configError
          ? `KasmServer "${set.kasmServer.metadata.name}" cannot be used as configured: ${describeError(error)}`
          : describeError(error),
        ...(configError ? { reason: "kasm-config" as const } : {}),
      };
    }
  }
  return {
    agents,
    limits,
    registries,
    accessForImage: (image) => byHost.get(parseImageReference(image).registry),
    accessForHost: (host) => byHost.get(host),
    set,
    ...(kasm ? { kasm } : {}),
  };
}
