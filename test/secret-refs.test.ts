import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Plan } from "../src/core/plan/types.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../src/lab/registry-proxy.js";
import { inRepo, kasmGitops } from "./helpers/cli.js";
import { fleetYaml, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, tempDir } from "./helpers/git-repos.js";

const lab = inject("lab");
const engine = lab.engines[0]!;
const registry = lab.registries.auth;

/** A repo whose Registry (the htpasswd registry, through a counting proxy) reads its password as `password`. */
async function fleetWithPassword(proxy: RegistryProxy, name: string, password: string) {
  const repo = await createTestRepo();
  const yaml = fleetYaml({
    registries: [
      { name: "private", host: proxy.host, auth: { username: registry.auth!.username, passwordEnv: "X" } },
    ],
    agents: [{ name: "a1", host: engine.host }],
    workspaces: [{ name: "app", image: `${proxy.host}/${name}:v1`, registry: "private" }],
  }).replace("password: {env: X}", `password: ${password}`);
  await repo.commit({ "manifests/a.yaml": yaml }, "private fleet");
  return repo;
}

describe("secret references are confined to secret folders and KASM_SECRET_* variables", () => {
  let proxy: RegistryProxy;
  let digest: string;
  const name = uniqueRepo("confined");
  let hostDir: string;
  let secretDir: string;
  const basicRequests = () => proxy.requests.filter((r) => r.authorization === "basic").length;

  beforeAll(async () => {
    proxy = await startRegistryProxy({ upstream: registry.url });
    digest = (await pushRandomImage({ url: registry.url, repository: name, tag: "v1", auth: registry.auth! }))
      .digest;
    // The password sits in a "host file" outside any secret folder, and again in a secret folder.
    hostDir = await tempDir("host");
    secretDir = await tempDir("secrets");
    await writeFile(join(hostDir, "host-file"), `${registry.auth!.password}\n`);
    await writeFile(join(secretDir, "registry-password"), `${registry.auth!.password}\n`);
    await mkdir(join(secretDir, "nested"));
    await symlink(join(hostDir, "host-file"), join(secretDir, "nested", "escape"));
  });
  afterAll(() => proxy?.close());

  it.each([
    [
      "a file outside the secret folders",
      () => `{file: ${join(hostDir, "host-file")}}`,
      () => [],
      /--secret-dir /,
    ],
    [
      "a link in a secret folder to a file outside it",
      () => `{file: ${join(secretDir, "nested", "escape")}}`,
      () => ["--secret-dir", secretDir],
      /it resolves to .*host-file.* is outside the secret folders/,
    ],
    [
      "a variable not named KASM_SECRET_*",
      () => "{env: LAB_PASSWORD}",
      () => [],
      /--secret-env LAB_PASSWORD/,
    ],
  ])("plan refuses %s and sends nothing to the registry", async (_, ref, flags, message) => {
    const repo = await fleetWithPassword(proxy, name, ref());
    proxy.reset();
    const result = await inRepo("plan", repo.bare, await stateDir(), ["--json", ...flags()], {
      env: { LAB_PASSWORD: registry.auth!.password },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/secret-not-allowed|not a secret variable|outside the secret folders/);
    expect(result.stdout + result.stderr).not.toContain(registry.auth!.password);
    expect(proxy.requests).toEqual([]);
  });

  it.each([
    [
      "--secret-dir",
      () => `{file: ${join(secretDir, "registry-password")}}`,
      () => ["--secret-dir", secretDir],
      {},
    ],
    [
      "KASM_GITOPS_SECRET_DIR (':'-separated)",
      () => `{file: ${join(secretDir, "registry-password")}}`,
      () => [],
      { KASM_GITOPS_SECRET_DIR: () => `/nowhere:${secretDir}` },
    ],
    ["--secret-env", () => "{env: LAB_PASSWORD}", () => ["--secret-env", "LAB_PASSWORD"], {}],
    [
      "KASM_GITOPS_SECRET_ENV",
      () => "{env: LAB_PASSWORD}",
      () => [],
      { KASM_GITOPS_SECRET_ENV: () => "OTHER,LAB_PASSWORD" },
    ],
    ["a KASM_SECRET_ variable", () => "{env: KASM_SECRET_LAB}", () => [], {}],
  ])(
    "plan resolves the secret when allowed by %s, and the registry answers with it",
    async (_, ref, flags, extra) => {
      const repo = await fleetWithPassword(proxy, name, ref());
      proxy.reset();
      const env: Record<string, string> = {
        LAB_PASSWORD: registry.auth!.password,
        KASM_SECRET_LAB: registry.auth!.password,
      };
      for (const [key, value] of Object.entries(extra as Record<string, () => string>)) env[key] = value();
      const result = await inRepo("plan", repo.bare, await stateDir(), ["--json", ...flags()], { env });
      expect(result.code, result.stderr).toBe(0);
      expect((JSON.parse(result.stdout) as Plan).actions[0]).toMatchObject({
        reason: "missing",
        targetDigest: digest,
      });
      expect(basicRequests()).toBeGreaterThan(0);
      expect(proxy.requests.filter((r) => r.status === 401 && r.authorization === "basic")).toEqual([]);
    },
  );

  it("validate only warns about a reference plan would refuse, and says how to allow it", async () => {
    const repo = await fleetWithPassword(proxy, name, "{env: LAB_PASSWORD}");
    const result = await kasmGitops(["validate", join(repo.work, "manifests")]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /a\.yaml:\d+:\d+: warning: spec\.auth\.password: \{env: LAB_PASSWORD\} is not a secret variable.*--secret-env LAB_PASSWORD/,
    );
    const allowed = await kasmGitops([
      "validate",
      join(repo.work, "manifests"),
      "--secret-env",
      "LAB_PASSWORD",
    ]);
    expect([allowed.code, allowed.stdout]).toEqual([0, "1 file valid\n"]);
  });
});
