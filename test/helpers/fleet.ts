import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDockerAgent } from "../../src/adapters/docker-agent.js";
import { fleetYaml, uniqueRepo } from "../../src/lab/fleet-yaml.js";
import type { LabRegistry } from "../../src/lab/lab.js";
import { pushRandomImage } from "../../src/lab/push-image.js";
import type { Credentials } from "../../src/ports.js";
import { createTestRepo } from "./git-repos.js";

export { fleetYaml, uniqueRepo };

/** The lab's plain registry as a Registry document named `lab`, lines of YAML ending with its separator. */
export const labRegistryDoc = (host: string) => [
  "apiVersion: kasm-gitops/v1",
  "kind: Registry",
  "metadata: {name: lab}",
  `spec: {host: "${host}", insecure: true}`,
  "---",
];

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

/** A one-workspace fleet on the lab's htpasswd registry, its password read from KASM_SECRET_LAB_REGISTRY_PASSWORD. */
export async function privateFleet(registry: LabRegistry, agentHost: string) {
  const name = uniqueRepo("private");
  const image = `${registry.host}/${name}:v1`;
  const pushed = await pushRandomImage({
    url: registry.url,
    repository: name,
    tag: "v1",
    auth: registry.auth!,
  });
  const repo = await createTestRepo();
  await repo.commit(
    {
      "manifests/a.yaml": fleetYaml({
        registries: [
          {
            name: "private",
            host: registry.host,
            auth: { username: registry.auth!.username, passwordEnv: "KASM_SECRET_LAB_REGISTRY_PASSWORD" },
          },
        ],
        agents: [{ name: "a1", host: agentHost }],
        workspaces: [{ name: "secret-app", image, registry: "private" }],
      }),
    },
    "private fleet",
  );
  return { repo, image, digest: pushed.digest, state: await stateDir(), password: registry.auth!.password };
}

/** The testing/production pair of docs/plan-format.md, Promotion: a testing agent and workspace, a promoted production one. */
export function promotionPairYaml(p: {
  registryHost: string;
  testingHost: string;
  productionHost: string;
  testingImage: string;
  productionImage: string;
}): string {
  return fleetYaml({
    registries: [{ name: "corp", host: p.registryHost }],
    agents: [
      { name: "a1", host: p.testingHost, labels: { ring: "testing" } },
      { name: "a2", host: p.productionHost, labels: { ring: "production" } },
    ],
    workspaces: [
      { name: "chrome-testing", image: p.testingImage, registry: "corp", labels: { ring: "testing" } },
      {
        name: "chrome",
        image: p.productionImage,
        registry: "corp",
        labels: { ring: "production" },
        promotion: { from: "chrome-testing", movingTags: ["latest"] },
      },
    ],
  });
}
