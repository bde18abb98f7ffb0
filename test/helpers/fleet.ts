import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDockerAgent } from "../../src/adapters/docker-agent.js";
import type { LabRegistry } from "../../src/lab/lab.js";
import { pushRandomImage } from "../../src/lab/push-image.js";
import type { Credentials } from "../../src/ports.js";
import { createTestRepo } from "./git-repos.js";

/** A unique repository prefix per test, because the lab's registries and engines are shared. */
export const uniqueRepo = (name: string) => `t${randomBytes(4).toString("hex")}/${name}`;

export const stateDir = () => mkdtemp(join(tmpdir(), "kg-state-"));

type AgentDef = {
  name: string;
  host: string;
  labels?: Record<string, string>;
  maxConcurrentPulls?: number;
  enabled?: boolean;
};
type WorkspaceDef = {
  name: string;
  image: string;
  registry?: string;
  labels?: Record<string, string>;
  promotion?: { from: string; movingTags: string[] };
  refresh?: string;
};
type RegistryDef = { name: string; host: string; auth?: { username: string; passwordEnv: string } };

/** Writes a manifest repo's YAML as an administrator would: one document per object. */
export function fleetYaml(parts: {
  registries: RegistryDef[];
  agents: AgentDef[];
  workspaces: WorkspaceDef[];
  settings?: Record<string, unknown>;
}): string {
  const docs: string[] = [];
  for (const r of parts.registries) {
    const auth = r.auth
      ? `\n  auth:\n    username: ${r.auth.username}\n    password: {env: ${r.auth.passwordEnv}}`
      : "";
    docs.push(
      `apiVersion: kasm-gitops/v1\nkind: Registry\nmetadata: {name: ${r.name}}\nspec:\n  host: "${r.host}"\n  insecure: true${auth}`,
    );
  }
  for (const a of parts.agents) {
    const labels = JSON.stringify(a.labels ?? {});
    const extra = `${a.maxConcurrentPulls ? `\n  maxConcurrentPulls: ${a.maxConcurrentPulls}` : ""}${a.enabled === false ? "\n  enabled: false" : ""}`;
    docs.push(
      `apiVersion: kasm-gitops/v1\nkind: Agent\nmetadata: {name: ${a.name}, labels: ${labels}}\nspec:\n  docker: {host: "${a.host}"}${extra}`,
    );
  }
  for (const w of parts.workspaces) {
    const lines = [
      `apiVersion: kasm-gitops/v1`,
      `kind: Workspace`,
      `metadata: {name: ${w.name}}`,
      `spec:`,
      `  image: "${w.image}"`,
    ];
    if (w.registry) lines.push(`  registry: ${w.registry}`);
    if (w.labels) lines.push(`  agents: {matchLabels: ${JSON.stringify(w.labels)}}`);
    if (w.refresh) lines.push(`  refresh: "${w.refresh}"`);
    if (w.promotion)
      lines.push(
        `  promotion: {from: ${w.promotion.from}, movingTags: ${JSON.stringify(w.promotion.movingTags)}}`,
      );
    docs.push(lines.join("\n"));
  }
  if (parts.settings) {
    const spec = Object.entries(parts.settings)
      .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
      .join("\n");
    docs.push(`apiVersion: kasm-gitops/v1\nkind: Settings\nmetadata: {name: default}\nspec:\n${spec}`);
  }
  return `${docs.join("\n---\n")}\n`;
}

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

/** A one-workspace fleet on the lab's htpasswd registry, its password read from LAB_REGISTRY_PASSWORD. */
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
            auth: { username: registry.auth!.username, passwordEnv: "LAB_REGISTRY_PASSWORD" },
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

/** The testing/production pair of DESIGN.md §6: a testing agent and workspace, a promoted production one. */
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
