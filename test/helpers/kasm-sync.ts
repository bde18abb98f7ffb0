/**
 * The Kasm sync test kit: a two-agent fleet on the lab's engines whose workspaces are records of an
 * in-process Kasm stand-in, images behind the lab's registry proxy (to make pulls fail on purpose), and the
 * built CLI. One kit per test file: `useKasmSync()` starts and resets it around the file's tests.
 */
import { afterAll, beforeAll, beforeEach, expect, inject } from "vitest";
import type { Plan } from "../../src/core/plan/types.js";
import type { WorkspaceDef } from "../../src/lab/fleet-yaml.js";
import { type KasmSeed, type KasmStandIn, startKasmStandIn } from "../../src/lab/kasm-stand-in.js";
import { pushRandomImage } from "../../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../../src/lab/registry-proxy.js";
import { type CliResult, inRepo } from "./cli.js";
import { fleetYaml, stateDir, uniqueRepo } from "./fleet.js";
import { createTestRepo, type TestRepo } from "./git-repos.js";

/** This test file's stand-in and proxy, set by useKasmSync's beforeAll. */
export const kit = {} as { kasm: KasmStandIn; proxy: RegistryProxy };

/** Starts the stand-in (with `seed`) and the proxy for this file, resets both before each test. */
export function useKasmSync(seed: KasmSeed = { groups: [{ name: "qa" }, { name: "dev" }] }): void {
  const lab = inject("lab");
  beforeAll(async () => {
    kit.proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
    kit.kasm = await startKasmStandIn({ seed });
  });
  afterAll(async () => {
    await kit.kasm?.close();
    await kit.proxy?.close();
  });
  beforeEach(() => {
    kit.kasm.reset();
    kit.kasm.clearCalls();
    kit.proxy.setBehaviour({ inject: [] });
  });
}

export const env = () => {
  const lab = inject("lab");
  return {
    KASM_SECRET_KASM_API_KEY: kit.kasm.apiKey,
    KASM_SECRET_KASM_API_KEY_SECRET: kit.kasm.apiKeySecret,
    KASM_SECRET_REGISTRY_PASSWORD: lab.registries.auth.auth!.password,
  };
};

export type Options = {
  pulls?: "kasm" | "kasm-gitops";
  removed?: "disable" | "delete" | "keep";
  auth?: boolean;
  /** The KasmServer's call deadline, e.g. `2s`. */
  timeout?: string;
  /** The KasmServer's smoke user. */
  smokeUser?: string;
  /**
   * Each agent's labels, Kasm agent (spec.kasm) and Docker host, by agent name (default: ring testing, no Kasm
   * agent, the lab's engines).
   */
  agents?: Record<
    "a1" | "a2",
    { labels?: Record<string, string>; kasm?: { server?: string; zone?: string }; host?: string }
  >;
};
/** A two-agent fleet whose workspaces are records of the stand-in. */
export function yaml(workspaces: WorkspaceDef[], options: Options = {}): string {
  const lab = inject("lab");
  const [e1, e2] = lab.engines as [(typeof lab.engines)[0], (typeof lab.engines)[0]];
  const registry = options.auth ? lab.registries.auth.host : kit.proxy.host;
  return fleetYaml({
    registries: [
      {
        name: "corp",
        host: registry,
        ...(options.auth
          ? {
              auth: {
                username: lab.registries.auth.auth!.username,
                passwordEnv: "KASM_SECRET_REGISTRY_PASSWORD",
              },
            }
          : {}),
      },
    ],
    agents: [
      { name: "a1", host: e1.host, labels: { ring: "testing" }, ...options.agents?.a1 },
      { name: "a2", host: e2.host, labels: { ring: "testing" }, ...options.agents?.a2 },
    ],
    workspaces,
    kasm: {
      url: kit.kasm.url,
      apiKeyEnv: "KASM_SECRET_KASM_API_KEY",
      apiKeySecretEnv: "KASM_SECRET_KASM_API_KEY_SECRET",
      ...(options.pulls ? { pulls: options.pulls } : {}),
      ...(options.removed ? { removed: options.removed } : {}),
      ...(options.timeout ? { timeout: options.timeout } : {}),
      ...(options.smokeUser ? { smokeUser: options.smokeUser } : {}),
    },
  });
}

export type Fleet = { repo: TestRepo; state: string; image: (tag: string) => string };
/** A repo, a state dir and two tags (v1, v2) of a new image in the proxied (or the htpasswd) registry. */
export async function fleet(auth = false): Promise<Fleet> {
  const lab = inject("lab");
  const name = uniqueRepo("chrome");
  const host = auth ? lab.registries.auth.host : kit.proxy.host;
  const image = (tag: string) => `${host}/${name}:${tag}`;
  for (const tag of ["v1", "v2"]) {
    await pushRandomImage({
      url: auth ? lab.registries.auth.url : kit.proxy.url,
      repository: name,
      tag,
      ...(auth ? { auth: lab.registries.auth.auth! } : {}),
    });
  }
  return { repo: await createTestRepo(), state: await stateDir(), image };
}
export const chrome = (image: string, extra: Partial<WorkspaceDef> = {}): WorkspaceDef => ({
  name: "chrome",
  image,
  registry: "corp",
  labels: { ring: "testing" },
  groups: ["qa"],
  ...extra,
});

export const apply = (f: Fleet, extraEnv: Record<string, string> = {}) =>
  inRepo("apply", f.repo.bare, f.state, ["--json"], { env: { ...env(), ...extraEnv } });
export async function plan(f: Fleet): Promise<Plan> {
  const result = await inRepo("plan", f.repo.bare, f.state, ["--json"], { env: env() });
  expect(result.stderr).toBe("");
  return JSON.parse(result.stdout) as Plan;
}
export const records = () => kit.kasm.state().images;
export const record = (workspace: string) =>
  records().find((r) => (r.notes ?? "").includes(`managed-by: kasm-gitops/${workspace}`));
export const groupsOf = (imageId: string) => {
  const state = kit.kasm.state();
  return state.groupImages
    .filter((row) => row.image_id === imageId)
    .map((row) => state.groups.find((g) => g.group_id === row.group_id)!.name)
    .sort();
};
export const writes = () => kit.kasm.writes().map((c) => c.fn);
/** No key, secret or token in anything the CLI printed. */
export function expectNoSecrets(result: CliResult) {
  const lab = inject("lab");
  for (const secret of [kit.kasm.apiKey, kit.kasm.apiKeySecret, lab.registries.auth.auth!.password]) {
    expect(result.stdout).not.toContain(secret);
    expect(result.stderr).not.toContain(secret);
  }
}
