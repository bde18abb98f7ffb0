import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { uniqueRepo } from "../src/lab/fleet-yaml.js";
import { type KasmStandIn, startKasmStandIn } from "../src/lab/kasm-stand-in.js";
import { LAB_USER } from "../src/lab/lab.js";
import { freePort, waitFor } from "../src/lab/processes.js";
import { type PushedImage, pushRandomImage } from "../src/lab/push-image.js";
import { type AppImage, buildAppImage } from "./helpers/app-image.js";
import { followProgress } from "./helpers/base-image.js";
import { createTestRepo, serveGitHttp, type TestRepo } from "./helpers/git-repos.js";
import { gpgKey, stopAgents } from "./helpers/signing.js";
import { type SwarmNode, startSwarmNode } from "./helpers/swarm.js";

const lab = inject("lab");
const VERSION = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** The engine that builds the image; the Swarm test pushes it from there to the lab's registry. */
const docker = new Docker({ socketPath: lab.engines[0]!.socket });
/** One build for the whole file: it is the suite's slowest step. */
let app: AppImage | undefined;
let image = "";

beforeAll(async () => {
  app = await buildAppImage(docker);
  image = app.image;
  console.error(
    `[dockerfile] base image ${(app.baseBytes / 2 ** 20).toFixed(0)} MiB, build ${app.buildSeconds.toFixed(1)} s`,
  );
}, 900_000);

afterAll(async () => {
  await app?.remove();
});

describe("Dockerfile", () => {
  /** Runs a container of the image to its end (or `during` while it runs); removes it and its volume. */
  async function withContainer<T>(
    options: Docker.ContainerCreateOptions,
    during: (c: Docker.Container) => Promise<T>,
  ) {
    const container = await docker.createContainer({
      Image: image,
      HostConfig: { NetworkMode: "none" },
      ...options,
    });
    try {
      await container.start();
      return await during(container);
    } finally {
      await container.remove({ force: true, v: true }); // v: the anonymous state volume too
    }
  }

  it("declares the runtime contract: user, entrypoint, state volume, port, health check", async () => {
    expect(app?.buildSeconds).toBeGreaterThan(0);
    const config = (await docker.getImage(image).inspect()).Config;
    expect(config.User).toBe("10001:10001");
    expect(config.Entrypoint).toEqual(["kasm-gitops"]);
    expect(config.Cmd).toEqual(["run"]);
    expect(config.Env).toEqual(
      expect.arrayContaining([
        "KASM_GITOPS_STATE_DIR=/var/lib/kasm-gitops",
        "KASM_GITOPS_LISTEN=0.0.0.0:8080",
      ]),
    );
    expect(Object.keys(config.ExposedPorts ?? {})).toEqual(["8080/tcp"]);
    expect(Object.keys(config.Volumes ?? {})).toEqual(["/var/lib/kasm-gitops"]);
  });

  it("holds the runtime only: no lab, benchmarks, docs generator or tests under dist", async () => {
    const list = [
      'import { readdirSync } from "node:fs";',
      'const files = readdirSync("/opt/kasm-gitops/dist", { recursive: true }).map(String);',
      "console.log(JSON.stringify(files));",
    ].join("\n");
    const files = await withContainer(
      { Entrypoint: ["node", "--input-type=module", "-e", list], Cmd: [] },
      async (container) => {
        await container.wait();
        return JSON.parse(demultiplex(await logs(container))) as string[];
      },
    );
    expect(files).toContain("cli/main.js");
    expect(files).toContain("engine/daemon.js");
    expect(files.filter((f) => /^(lab|bench|docs)(\/|$)|\.test\./.test(f))).toEqual([]);
  });

  it("runs `kasm-gitops --version` from PATH as the unprivileged user", async () => {
    const result = await withContainer({ Cmd: ["--version"] }, async (container) => {
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      const output = (await container.logs({ stdout: true, stderr: true, follow: false })) as Buffer;
      return { StatusCode, text: demultiplex(output) };
    });
    expect(result).toEqual({ StatusCode: 0, text: `${VERSION}\n` });
  });

  it("holds what --verify-commits needs: the image's ssh-keygen and gpg read trusted keys, no agent", async () => {
    const bob = await gpgKey("Bob <bob@example.invalid>");
    try {
      // An allowed-signers file made with the image's ssh-keygen, and Bob's exported key, checked by the image's code.
      const script = [
        "set -e",
        "ssh-keygen -q -t ed25519 -N '' -C ops -f /tmp/k",
        'read -r pub < /tmp/k.pub; printf "ops@example.invalid %s\\n" "$pub" > /tmp/allowed',
        'printf "%s" "$TRUSTED_KEYS" > /tmp/trusted.asc',
        "exec node --input-type=module -e '" +
          'import { createCommitVerifier } from "/opt/kasm-gitops/dist/adapters/commit-verifier.js";' +
          'for (const [mode, file] of [["ssh", "/tmp/allowed"], ["openpgp", "/tmp/trusted.asc"]])' +
          "  console.log(mode, (await createCommitVerifier({ mode, file }).check()).join());'",
      ].join("\n");
      const result = await withContainer(
        { Entrypoint: ["/bin/sh", "-c", script], Cmd: [], Env: [`TRUSTED_KEYS=${bob.publicKey}`] },
        async (container) => {
          const { StatusCode } = (await container.wait()) as { StatusCode: number };
          return { StatusCode, text: demultiplex(await logs(container)) };
        },
      );
      expect(result).toEqual({
        StatusCode: 0,
        text: `ssh ops@example.invalid\nopenpgp ${bob.fingerprint} Bob <bob@example.invalid>\n`,
      });
    } finally {
      await stopAgents();
    }
  });

  it("has a HEALTHCHECK that passes against the status server and fails when nothing listens", async () => {
    const test = ((await docker.getImage(image).inspect()).Config as { Healthcheck?: { Test?: string[] } })
      .Healthcheck?.Test;
    expect(test?.[0]).toBe("CMD");
    const probe = test!.slice(1);
    // The compiled status server from the image itself, on the port the image's KASM_GITOPS_LISTEN names.
    const serve = [
      'import { startStatusServer } from "/opt/kasm-gitops/dist/http/server.js";',
      'import { createMetrics } from "/opt/kasm-gitops/dist/http/metrics.js";',
      "await startStatusServer({ listen: process.env.KASM_GITOPS_LISTEN, status: () => ({}), ready: () => true, metrics: createMetrics() });",
      'console.log("listening"); setInterval(() => {}, 60_000);',
    ].join("\n");
    const codes = await withContainer(
      { Entrypoint: ["node", "--input-type=module", "-e", serve], Cmd: [] },
      async (container) => {
        for (
          let attempt = 0;
          attempt < 40 && !demultiplex(await logs(container)).includes("listening");
          attempt++
        ) {
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        return {
          served: await execExitCode(container, probe),
          closedPort: await execExitCode(container, probe, ["KASM_GITOPS_LISTEN=0.0.0.0:9"]),
        };
      },
    );
    expect(codes).toEqual({ served: 0, closedPort: 1 });
  });
});

async function logs(container: Docker.Container): Promise<Buffer> {
  return (await container.logs({ stdout: true, stderr: true, follow: false })) as Buffer;
}

/** Runs a command in a running container and returns its exit code. */
async function execExitCode(container: Docker.Container, cmd: string[], env: string[] = []): Promise<number> {
  const exec = await container.exec({ Cmd: cmd, Env: env, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  await new Promise<void>((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("error", reject);
    stream.resume();
  });
  return (await exec.inspect()).ExitCode ?? -1;
}

function demultiplex(buffer: Buffer): string {
  const parts: Buffer[] = [];
  for (let offset = 0; offset + 8 <= buffer.length; ) {
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString("utf8");
}

describe("Swarm stack: examples/deploy/swarm-stack.yml deployed on a single-node swarm", () => {
  const stackFile = fileURLToPath(new URL("../examples/deploy/swarm-stack.yml", import.meta.url));
  const labFile = fileURLToPath(new URL("fixtures/swarm-stack.lab.yml", import.meta.url));
  const stack = `kg${randomBytes(3).toString("hex")}`;
  const service = `${stack}_reconciler`;
  const syncerService = `${stack}_syncer`;
  const { plain, auth } = lab.registries;
  let node: SwarmNode | undefined;
  /** The Kasm the syncer writes to; its one agent is the swarm node, reporting what that engine holds. */
  let kasm: KasmStandIn | undefined;
  let syncerUrl = "";
  let gitServer: Awaited<ReturnType<typeof serveGitHttp>> | undefined;
  let appReference = "";
  let workspace: PushedImage | undefined;
  let statusUrl = "";

  /** Seconds each phase took, printed at the end: this test runs on the suite's critical path. */
  const phases: string[] = [];
  const timed = async <T>(phase: string, run: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const result = await run();
    phases.push(`${phase} ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
  };

  beforeAll(async () => {
    const [repository, tag] = image.split(":") as [string, string];
    appReference = `${plain.host}/${repository}:${tag}`;
    // allSettled: a failed step must not leave the swarm node starting unseen by afterAll.
    const steps = await Promise.allSettled([
      createTestRepo(),
      // The built image goes to the lab's registry, where the swarm's engine pulls it as any node would.
      timed("push", async () => {
        await docker.getImage(image).tag({ repo: `${plain.host}/${repository}`, tag });
        // A registry without auth still wants the header: an empty credential.
        await followProgress(docker, await docker.getImage(appReference).push({ authconfig: {} }));
      }),
      timed("swarm init", async () => {
        node = await startSwarmNode(lab.dir, { "kasm-agent": "true" });
      }),
      // What the reconciler must bring to its node: an image on the htpasswd registry, its password a Swarm secret.
      pushRandomImage({ url: auth.url, repository: uniqueRepo("swarm"), tag: "v1", auth: auth.auth! }).then(
        (pushed) => {
          workspace = pushed;
        },
      ),
    ]);
    for (const step of steps) if (step.status === "rejected") throw step.reason;
    const repo = (steps[0] as PromiseFulfilledResult<TestRepo>).value;
    kasm = await startKasmStandIn({
      seed: { servers: [{ hostname: node!.hostname, engine: node!.engine.host }] },
    });
    // Its reports are frozen (nothing reported yet) until the puller has pulled: the syncer must hold till then.
    kasm.freezeReports(node!.hostname);
    await repo.commit(
      { "manifests/a.yaml": swarmFleet(node!.hostname, auth.host, workspace!.reference, kasm.url) },
      "fleet",
    );
    gitServer = await serveGitHttp(dirname(repo.bare), [""]);
    await node!.docker.createSecret({
      Name: "corp-registry-token",
      Data: Buffer.from(auth.auth!.password).toString("base64"),
    });
    await node!.docker.createSecret({
      Name: "kasm-gitops-webhook",
      Data: Buffer.from(randomBytes(32).toString("hex")).toString("base64"),
    });
    for (const [name, value] of [
      ["kasm-api-key", kasm.apiKey],
      ["kasm-api-key-secret", kasm.apiKeySecret],
    ] as const)
      await node!.docker.createSecret({ Name: name, Data: Buffer.from(value).toString("base64") });
  }, 180_000);

  afterAll(async () => {
    try {
      const swarm = node;
      const active = swarm && (await swarm.docker.info()).Swarm?.LocalNodeState === "active";
      if (active && (await swarm.docker.listServices()).length > 0) await swarm.removeStack(stack);
    } finally {
      await kasm?.close();
      await gitServer?.close();
      await docker
        .getImage(appReference)
        .remove()
        .catch(() => {});
      await node?.close();
      console.error(`[swarm] ${phases.join(", ")}`);
    }
  }, 120_000);

  it("deploys with `docker stack deploy`: one global task, on the labelled node, from the registry's image", async () => {
    const port = await freePort();
    const syncerPort = await freePort();
    statusUrl = `http://127.0.0.1:${port}`;
    syncerUrl = `http://127.0.0.1:${syncerPort}`;
    await node!.cli(["stack", "deploy", "-c", stackFile, "-c", labFile, stack], {
      KASM_GITOPS_IMAGE: appReference,
      KASM_GITOPS_REPO: `${gitServer!.url}/origin.git`,
      DOCKER_GID: String(statSync(node!.engine.socket).gid),
      LAB_DOCKER_SOCKET: node!.engine.socket,
      LAB_STATUS_PORT: String(port),
      LAB_SYNCER_PORT: String(syncerPort),
    });
    const spec = (await node!.docker.getService(service).inspect()).Spec;
    expect(spec.Mode).toEqual({ Global: {} });
    expect(spec.TaskTemplate.Placement.Constraints).toEqual(["node.labels.kasm-agent == true"]);
    const task = await timed("deploy to running task", () => runningTask(node!, service));
    expect(task.NodeID).toBe((await node!.docker.info()).Swarm.NodeID);
    expect(task.Spec.ContainerSpec.Image).toMatch(new RegExp(`^${appReference}@sha256:[0-9a-f]{64}$`));
    // Swarm calls a task running once the image's own HEALTHCHECK probe passes in it.
    const container = await node!.docker.getContainer(task.Status.ContainerStatus.ContainerID).inspect();
    expect(container.State.Health?.Status).toBe("healthy");
  });

  it("reconciles its own node: the workspace image pulled with the secret's password, /readyz ready", async () => {
    const ready = () =>
      fetch(`${statusUrl}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
    await timed("running to ready", () =>
      waitFor("the task's /readyz", ready, 90_000).catch(async (error: Error) => {
        throw new Error(`${error.message}\n${await taskLogs(node!, stack)}`);
      }),
    );
    const status = (await (await fetch(`${statusUrl}/status`)).json()) as {
      agents: Record<string, { reachable: boolean; converged: boolean }>;
    };
    // {{.Node.Hostname}} expanded per task: the agent it manages is the one named after its node.
    expect(status.agents).toEqual({
      [node!.hostname]: expect.objectContaining({ reachable: true, converged: true }),
    });
    const images = await node!.docker.listImages();
    const repository = workspace!.reference.slice(0, workspace!.reference.lastIndexOf(":"));
    expect(images.flatMap((i) => i.RepoDigests ?? [])).toContain(`${repository}@${workspace!.digest}`);
  });

  it("runs one Kasm syncer without Docker, which switches the record only after the node's puller has pulled", async () => {
    const spec = (await node!.docker.getService(syncerService).inspect()).Spec;
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 1 } });
    expect(spec.UpdateConfig?.Order).toBe("stop-first");
    expect(JSON.stringify(spec.TaskTemplate.ContainerSpec.Mounts)).not.toContain("docker.sock");
    await timed("syncer running", () => runningTask(node!, syncerService));
    // The puller has pulled (the test above), but Kasm's report of the node still lists nothing: held, no record.
    type Held = { kasm?: { held?: { workspace: string; reason: string }[] } };
    const held = async () =>
      fetch(`${syncerUrl}/status`).then(
        async (r) => ((await r.json()) as Held).kasm?.held ?? [],
        () => [],
      );
    await timed("syncer holds", () =>
      waitFor("the syncer to hold the switch", async () => (await held()).length > 0, 60_000).catch(
        async (error: Error) => {
          throw new Error(`${error.message}\n${await taskLogs(node!, stack)}`);
        },
      ),
    );
    expect(await held()).toEqual([
      expect.objectContaining({ workspace: "swarm-app", reason: "image-not-on-agents" }),
    ]);
    expect(kasm!.writes()).toEqual([]);
    // The node's Kasm agent reports what its engine holds: the syncer creates the record at the pulled image.
    kasm!.freezeReports(node!.hostname, false);
    await timed("syncer switches", () =>
      waitFor("the record", async () => kasm!.state().images.length > 0, 60_000),
    );
    expect(kasm!.state().images.map((i) => i.name)).toEqual([workspace!.reference]);
    expect(kasm!.writes().filter((c) => c.fn === "create_image")).toHaveLength(1);
  });

  it("removes the stack and leaves the swarm, leaving no container, volume or network of its own", async () => {
    await timed("stack rm", () => node!.removeStack(stack));
    expect(await node!.docker.listServices()).toEqual([]);
    // Swarm keeps a stack's named volumes (the reconciler's state outlives it); the test removes its own.
    await node!.docker.getVolume(`${stack}_state`).remove();
    await node!.docker.getVolume(`${stack}_syncer-state`).remove();
    await node!.docker.swarmLeave({ force: true });
    expect((await node!.docker.info()).Swarm.LocalNodeState).toBe("inactive");
    expect(await node!.docker.listContainers({ all: true })).toEqual([]);
    expect((await node!.docker.listVolumes()).Volumes).toEqual([]);
    const networks = (await node!.docker.listNetworks()).map((n) => n.Name).sort();
    expect(networks).toEqual(["docker_gwbridge", "host", "none"]);
  });
});

/** Waits for the service's task to run; a task that fails says why, with the container's output. */
async function runningTask(node: SwarmNode, service: string) {
  let last: { State?: string; Err?: string } = {};
  await waitFor(
    `a running task of ${service}`,
    async () => {
      const tasks = await node.docker.listTasks({ filters: { service: [service] } });
      last = tasks[0]?.Status ?? {};
      return tasks.some((t) => t.Status?.State === "running");
    },
    90_000,
  ).catch(async (error: Error) => {
    throw new Error(
      `${error.message}; last task: ${JSON.stringify(last)}\n${await taskLogs(node, service.split("_")[0]!)}`,
    );
  });
  const tasks = await node.docker.listTasks({
    filters: { service: [service], "desired-state": ["running"] },
  });
  expect(tasks).toHaveLength(1);
  return tasks[0]!;
}

/** The output of the stack's containers, for a failure message. */
async function taskLogs(node: SwarmNode, stack: string): Promise<string> {
  const containers = await node.docker.listContainers({
    all: true,
    filters: { label: [`com.docker.stack.namespace=${stack}`] },
  });
  const parts = await Promise.all(
    containers.map(
      async (c) => `${c.Names[0]} (${c.Status}):\n${demultiplex(await logs(node.docker.getContainer(c.Id)))}`,
    ),
  );
  return parts.join("\n").slice(-4000);
}

/**
 * The manifest repo the stack follows: the node's Agent named after the node, on the mounted socket, naming the
 * node's Kasm agent; the KasmServer's key pair read from the Swarm secrets.
 */
function swarmFleet(hostname: string, registryHost: string, image: string, kasmUrl: string): string {
  return `apiVersion: kasm-gitops/v1
kind: Registry
metadata: {name: corp}
spec:
  host: "${registryHost}"
  insecure: true
  auth:
    username: ${LAB_USER}
    password: {file: /run/secrets/corp-registry-token}
---
apiVersion: kasm-gitops/v1
kind: Agent
metadata: {name: ${hostname}}
spec:
  docker: {host: unix:///var/run/docker.sock}
  kasm: {server: ${hostname}}
---
apiVersion: kasm-gitops/v1
kind: KasmServer
metadata: {name: kasm}
spec:
  url: "${kasmUrl}"
  apiKey: {file: /run/secrets/kasm-api-key}
  apiKeySecret: {file: /run/secrets/kasm-api-key-secret}
---
apiVersion: kasm-gitops/v1
kind: Workspace
metadata: {name: swarm-app}
spec:
  image: "${image}"
  registry: corp
`;
}
