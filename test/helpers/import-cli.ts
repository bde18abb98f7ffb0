/**
 * What the `kasm-gitops import` tests share: the deployment they import (a Kasm stand-in seeded from
 * kasm-deployment.ts over the lab's registries and a proxy), the key pair's variables, reading the folder
 * import wrote, and committing it as an operator would.
 */
import { readdir, readFile, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { inject } from "vitest";
import { type KasmStandIn, startKasmStandIn } from "../../src/lab/kasm-stand-in.js";
import { pushRandomImage } from "../../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../../src/lab/registry-proxy.js";
import { type CliResult, kasmGitops } from "./cli.js";
import { prePull } from "./fleet.js";
import { createTestRepo } from "./git-repos.js";
import {
  type DeploymentImages,
  type DeploymentRegistries,
  deploymentImages,
  deploymentSeed,
} from "./kasm-deployment.js";

/** Every name import reads the key pair from, empty. */
export const noKeys = {
  KASM_SECRET_KASM_API_KEY: "",
  KASM_SECRET_KASM_API_KEY_SECRET: "",
  KASM_GITOPS_KASM_API_KEY: "",
  KASM_GITOPS_KASM_API_KEY_SECRET: "",
};
const port = (host: string) => host.split(":")[1]!;
/** The Registry name import gives a lab registry on 127.0.0.1. */
export const registryName = (host: string) => `127-0-0-1-${port(host)}`;
/** The variable import's Registry reads a lab registry's password from. */
export const passwordEnv = (host: string) => `KASM_SECRET_127_0_0_1_${port(host)}_PASSWORD`;

/** Every file under `dir` by its path there, with its text. */
export async function filesUnder(dir: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    found[relative(dir, path)] = await readFile(path, "utf8");
  }
  return found;
}

/** A manifest repo whose only commit is the imported files, as an operator commits them. */
export async function commitImport(files: Record<string, string>) {
  const repo = await createTestRepo();
  await rm(join(repo.work, "manifests", "a.yaml"));
  await repo.commit(
    Object.fromEntries(Object.entries(files).map(([path, text]) => [`manifests/${path}`, text])),
    "kasm-gitops import",
  );
  return repo;
}

/** The deployment on a Kasm stand-in, with the ways the tests import it. */
export type Deployment = {
  kasm: KasmStandIn;
  registries: DeploymentRegistries;
  images: DeploymentImages;
  /** The key pair under the names the imported KasmServer reads, so one setting serves import and the sync. */
  keys(): Record<string, string>;
  runImport(dir: string, extra?: string[], env?: Record<string, string>): Promise<CliResult>;
  /** What must never appear in a file or an output: the key pair and the registry's password. */
  secrets(): string[];
  /** Pushes an image of the deployment to its lab registry (once) and pulls it on an engine. */
  pushAndPull(image: string, host: string): Promise<void>;
  close(): Promise<void>;
};

/** Starts the deployment's registry proxy and Kasm stand-in; `close` stops both. */
export async function startDeployment(): Promise<Deployment> {
  const lab = inject("lab");
  const proxy: RegistryProxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
  const auth = lab.registries.auth;
  const registries: DeploymentRegistries = {
    plain: lab.registries.plain.host,
    auth: { host: auth.host, username: auth.auth!.username, password: auth.auth!.password },
    proxy: proxy.host,
  };
  const images = deploymentImages(registries);
  const kasm = await startKasmStandIn({ seed: deploymentSeed(registries, images) }).catch(async (error) => {
    await proxy.close();
    throw error;
  });
  const keys = () => ({
    KASM_SECRET_KASM_API_KEY: kasm.apiKey,
    KASM_SECRET_KASM_API_KEY_SECRET: kasm.apiKeySecret,
  });
  const pushed = new Set<string>();
  return {
    kasm,
    registries,
    images,
    keys,
    runImport: (dir, extra = [], env = keys()) =>
      kasmGitops(["import", "--kasm-url", kasm.url, "--out", dir, ...extra], { env }),
    secrets: () => [kasm.apiKey, kasm.apiKeySecret, registries.auth.password],
    async pushAndPull(image, host) {
      const [hostPort, ...rest] = image.split("/");
      const [repository, tag] = rest.join("/").split(":") as [string, string];
      const credentials =
        hostPort === registries.auth.host
          ? { username: registries.auth.username, password: registries.auth.password }
          : undefined;
      if (!pushed.has(image)) {
        await pushRandomImage({
          url: `http://${hostPort}`,
          repository,
          tag,
          ...(credentials ? { auth: credentials } : {}),
        });
        pushed.add(image);
      }
      await prePull(host, image, credentials);
    },
    async close() {
      await kasm.close();
      await proxy.close();
    },
  };
}
