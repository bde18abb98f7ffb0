import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDockerAgent } from "../../src/adapters/docker-agent.js";
import type { Credentials } from "../../src/ports.js";

export { fleetYaml, uniqueRepo } from "../../src/lab/fleet-yaml.js";

export const stateDir = () => mkdtemp(join(tmpdir(), "kg-state-"));

/** Pulls on a lab engine through the product's own adapter (setting up "already there" states). */
export async function prePull(host: string, reference: string, auth?: Credentials) {
  const agent = createDockerAgent({ name: "setup", host });
  return agent.pull(reference, auth ? { auth } : {});
}

/** Repo digests of the local image carrying `reference` on a lab engine. */
export async function localDigests(host: string, reference: string): Promise<string[]> {
  const agent = createDockerAgent({ name: "probe", host });
  const images = await agent.listImages();
  const [repo, tag] = [
    reference.slice(0, reference.lastIndexOf(":")),
    reference.slice(reference.lastIndexOf(":") + 1),
  ];
  const image = images.find((i) => i.repoTags.includes(`${repo}:${tag}`));
  return (image?.repoDigests ?? [])
    .filter((d) => d.startsWith(`${repo}@`))
    .map((d) => d.slice(repo.length + 1));
}
