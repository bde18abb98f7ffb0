/**
 * Inputs for the core figure, built before the clock starts: manifest files as an administrator writes
 * them, and a fleet's observations and registry answers as the shell would hand them to the planner.
 */

import type { LocalImage } from "../core/image/local.js";
import type { ManifestFile } from "../core/manifest/load.js";
import type { ManifestSet } from "../core/manifest/types.js";
import { checkManifestFiles } from "../core/manifest/validate.js";
import { desiredState, refsToCheck } from "../core/plan/desired.js";
import type { AgentObservation } from "../core/plan/plan.js";
import type { DigestResult } from "../core/plan/promotion.js";
import { type AgentDef, fleetYaml, type RegistryDef, type WorkspaceDef } from "../lab/fleet-yaml.js";
import { sha256 } from "../lab/push-image.js";

const HOST = "registry.example.com:5000";
/** Documents per file: well under the loader's 1 MiB and 5,000-document limits, like a large real repo. */
const DOCS_PER_FILE = 500;

/** `documents` valid manifest documents (2 registries, 1 % agents, the rest workspaces) in files of 500. */
export function manifestFiles(documents: number): ManifestFile[] {
  const agentCount = Math.max(1, Math.floor(documents / 100));
  const workspaceCount = Math.max(0, documents - agentCount - 2);
  const rings = ["testing", "production"];
  const agents: AgentDef[] = Array.from({ length: agentCount }, (_, i) => ({
    name: `agent-${i}`,
    host: `tcp://10.0.${Math.floor(i / 250)}.${i % 250}:2376`,
    labels: { ring: rings[i % 2]!, zone: `z${i % 5}` },
    ...(i % 10 === 0 ? { maxConcurrentPulls: 3 } : {}),
  }));
  const workspaces: WorkspaceDef[] = Array.from({ length: workspaceCount }, (_, i) => {
    // Every 20th workspace is the production twin of the one before it, promoted from it.
    const promoted = i % 20 === 1;
    const app = promoted ? i - 1 : i;
    return {
      name: `ws-${i}`,
      image: `${HOST}/kasm/app-${app}:${promoted ? "20261120" : "20261127"}`,
      registry: i % 2 === 0 ? "corp" : "mirror",
      ...(i % 3 === 0 ? {} : { labels: { ring: rings[i % 2]! } }),
      ...(i % 10 === 5 ? { refresh: "never" } : {}),
      ...(promoted ? { promotion: { from: `ws-${i - 1}`, movingTags: ["latest"] } } : {}),
    };
  });
  const registries = [
    { name: "corp", host: HOST },
    { name: "mirror", host: HOST, auth: { username: "ci-bot", passwordEnv: "KASM_SECRET_MIRROR_TOKEN" } },
  ];
  return fleetFiles(registries, agents, workspaces);
}

/** Registries and agents in one file, workspaces in files of 500 documents. */
function fleetFiles(
  registries: RegistryDef[],
  agents: AgentDef[],
  workspaces: WorkspaceDef[],
): ManifestFile[] {
  const files: ManifestFile[] = [
    { file: "fleet/registries-and-agents.yaml", text: fleetYaml({ registries, agents, workspaces: [] }) },
  ];
  for (let start = 0; start < workspaces.length; start += DOCS_PER_FILE) {
    const chunk = workspaces.slice(start, start + DOCS_PER_FILE);
    files.push({
      file: `fleet/workspaces-${String(start / DOCS_PER_FILE).padStart(3, "0")}.yaml`,
      text: fleetYaml({ registries: [], agents: [], workspaces: chunk }),
    });
  }
  return files;
}

export type PlanInputs = {
  set: ManifestSet;
  /** A new copy of the observations, as a new cycle reads them: strings never hashed or looked up yet. */
  freshObservations: () => AgentObservation[];
  digests: Map<string, DigestResult>;
  /** Desired images over all agents, and how many the observations leave missing or outdated. */
  desiredImages: number;
};

/** `agents` agents and `workspaces` workspaces over as many repositories, read through the real loader. */
function syntheticFleet(size: { agents: number; workspaces: number }): ManifestSet {
  const rings = ["testing", "production"];
  const agents: AgentDef[] = Array.from({ length: size.agents }, (_, i) => ({
    name: `agent-${i}`,
    host: `unix:///run/agent-${i}.sock`,
    labels: { ring: rings[i % 2]!, zone: `z${i % 5}` },
  }));
  const workspaces: WorkspaceDef[] = Array.from({ length: size.workspaces }, (_, i) => ({
    name: `ws-${i}`,
    image: `${HOST}/kasm/app-${i}:v${i % 7}`,
    registry: "corp",
    ...(i % 3 === 0 ? {} : { labels: { ring: rings[i % 2]! } }),
  }));
  const { set, problems } = checkManifestFiles(
    fleetFiles([{ name: "corp", host: HOST }], agents, workspaces),
  );
  const errors = problems.filter((p) => p.severity === "error");
  if (errors.length > 0) throw new Error(`the synthetic fleet does not validate: ${errors[0]!.message}`);
  return set;
}

/** A stable, well-formed digest for a name: the shape the planner compares, no registry needed. */
const fakeDigest = (text: string) => sha256(text);

/**
 * A fleet as the shell would observe it: each agent holds 90 % of its images at the registry's digest,
 * 5 % at an older digest (outdated) and lacks 5 % (missing), plus a few unrelated base images. The
 * observations go through JSON like the Engine API's image list does, so their strings are flat strings
 * parsed from a response, not the joined strings this builder makes (which cost a copy when first hashed).
 */
export function planInputs(size: { agents: number; workspaces: number }): PlanInputs {
  const set = syntheticFleet(size);
  const desired = desiredState(set);
  const digests = new Map<string, DigestResult>();
  for (const { ref } of refsToCheck(desired))
    digests.set(ref.canonical, { digest: fakeDigest(ref.canonical) });
  let desiredImages = 0;
  const built: AgentObservation[] = desired.agents.map((agent, a) => {
    const images: LocalImage[] = ["ubuntu:22.04", "kasmweb/core-ubuntu-jammy:1.16.0"].map((tag) => ({
      id: fakeDigest(`${agent.agent}/${tag}`),
      repoTags: [tag],
      repoDigests: [`${tag.split(":")[0]}@${fakeDigest(tag)}`],
    }));
    agent.images.forEach((image, j) => {
      desiredImages++;
      const bucket = (a * 31 + j * 17) % 100;
      if (bucket >= 95) return;
      const repository = `${image.ref.registry}/${image.ref.repository}`;
      const digest = bucket < 90 ? fakeDigest(image.image) : fakeDigest(`old ${image.image}`);
      images.push({
        id: fakeDigest(`${agent.agent} ${image.image}`),
        repoTags: [image.image],
        repoDigests: [`${repository}@${digest}`],
      });
    });
    return { agent: agent.agent, reachable: true, images };
  });
  const text = JSON.stringify(built);
  const freshObservations = () => JSON.parse(text) as AgentObservation[];
  return { set, freshObservations, digests, desiredImages };
}
