import { mkdtemp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDockerAgent } from "../src/adapters/docker-agent.js";
import type { Plan } from "../src/core/plan/types.js";
import { freePort, startDetached, stopProcess, waitFor, which } from "../src/lab/processes.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { makeCertificates } from "./helpers/certificates.js";
import { inRepo } from "./helpers/cli.js";
import { fleetYaml, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo } from "./helpers/git-repos.js";

const lab = inject("lab");

describe("an agent on tcp:// with mutual TLS", () => {
  let dir: string;
  let pid: number;
  let host: string;

  beforeAll(async () => {
    dir = await mkdtemp("/tmp/kg-tls-");
    await makeCertificates(dir);
    const port = await freePort();
    host = `tcp://127.0.0.1:${port}`;
    // biome-ignore format: one flag per line reads like dockerd's documentation
    pid = startDetached((await which("dockerd")) ?? "dockerd", [
      "--data-root", join(dir, "data"), "--exec-root", join(dir, "exec"), "--pidfile", join(dir, "docker.pid"),
      "-H", host, "--tlsverify", "--tlscacert", join(dir, "ca.pem"),
      "--tlscert", join(dir, "server.pem"), "--tlskey", join(dir, "server-key.pem"),
      "--storage-driver", "vfs", "--iptables=false", "--ip6tables=false", "--bridge=none",
    ], join(dir, "dockerd.log"));
    const pem = (name: string) => readFile(join(dir, name), "utf8");
    const tls = { ca: await pem("ca.pem"), cert: await pem("client.pem"), key: await pem("client-key.pem") };
    await waitFor(
      `dockerd with TLS on ${host}`,
      async () =>
        Array.isArray(await createDockerAgent({ name: "probe", host, tls, timeoutMs: 2000 }).listImages()),
      60_000,
    );
  }, 120_000);

  afterAll(async () => {
    await stopProcess(pid);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  });

  it("plans and pulls there with TLS files from the Agent manifest, and reports it unreachable without them", async () => {
    const name = uniqueRepo("tls");
    const pushed = await pushRandomImage({ url: lab.registries.plain.url, repository: name, tag: "v1" });
    const image = `${lab.registries.plain.host}/${name}:v1`;
    const repo = await createTestRepo();
    const yaml = fleetYaml({
      registries: [{ name: "corp", host: lab.registries.plain.host }],
      agents: [{ name: "remote", host }],
      workspaces: [{ name: "app", image, registry: "corp" }],
    }).replace(
      `docker: {host: "${host}"}`,
      // The CA and key from files, the certificate from an environment variable: both reference forms.
      `docker:\n    host: "${host}"\n    tls: {ca: {file: ${join(dir, "ca.pem")}}, cert: {env: KASM_SECRET_AGENT_CERT}, key: {file: ${join(dir, "client-key.pem")}}}`,
    );
    await repo.commit({ "manifests/a.yaml": yaml }, "a remote agent");
    // The certificate folder is allowed as a secret folder through the flag's variable.
    const env = {
      env: {
        KASM_SECRET_AGENT_CERT: await readFile(join(dir, "client.pem"), "utf8"),
        KASM_GITOPS_SECRET_DIR: dir,
      },
    };
    const state = await stateDir();

    const plan = await inRepo("plan", repo.bare, state, ["--json"], env);
    expect(plan.code, plan.stderr).toBe(0);
    expect((JSON.parse(plan.stdout) as Plan).actions).toEqual([
      expect.objectContaining({ agent: "remote", image, reason: "missing", targetDigest: pushed.digest }),
    ]);
    const apply = await inRepo("apply", repo.bare, state, ["--json"], env);
    expect(apply.code, apply.stdout).toBe(0);
    expect((await inRepo("plan", repo.bare, state, ["--json"], env)).stdout).toMatch(/"actions": \[\]/);

    const bare = await createTestRepo();
    await bare.commit({ "manifests/a.yaml": yaml.replace(/\n {4}tls: .*/, "") }, "no TLS files");
    const without = await inRepo("plan", bare.bare, await stateDir(), ["--json"]);
    expect(without.code).toBe(0);
    expect((JSON.parse(without.stdout) as Plan).warnings.map((w) => `${w.code} ${w.agent}`)).toEqual([
      "agent-unreachable remote",
    ]);
  });
});
