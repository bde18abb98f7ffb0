import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { followProgress, importLocalBaseImage } from "./helpers/base-image.js";
import { gpgKey, stopAgents } from "./helpers/signing.js";

const lab = inject("lab");
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const VERSION = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
/** What the image build reads; the Dockerfile's .dockerignore filters it further, as `docker build` does. */
const CONTEXT = [
  "Dockerfile",
  ".dockerignore",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "tsconfig.build.json",
  "src",
  "schemas",
  "examples",
];

/** This host's npm registry and CA settings, passed on so the build stage's `npm ci` reaches the same registry. */
function npmBuildArgs(): Record<string, string> {
  const config = (key: string) => execFileSync("npm", ["config", "get", key], { encoding: "utf8" }).trim();
  const registry = config("registry");
  const cafile = config("cafile");
  return {
    ...(registry && registry !== "https://registry.npmjs.org/" ? { NPM_CONFIG_REGISTRY: registry } : {}),
    // The base image carries these files (see importLocalBaseImage), at the same paths.
    ...(cafile && cafile !== "null" && cafile !== "undefined" ? { NPM_CONFIG_CAFILE: cafile } : {}),
    ...(process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {}),
  };
}

describe("Dockerfile", () => {
  const docker = new Docker({ socketPath: lab.engines[0]!.socket });
  const suffix = randomBytes(4).toString("hex");
  const base = { repo: "kasm-gitops-test/base", tag: suffix };
  const image = `kasm-gitops-test/app:${suffix}`;
  /** Every image the build made, intermediate steps included, so the shared engine gets its disk back. */
  const built: string[] = [];

  let buildSeconds = 0;

  beforeAll(async () => {
    const buildArgs = npmBuildArgs();
    const caFiles = [buildArgs.NPM_CONFIG_CAFILE, buildArgs.NODE_EXTRA_CA_CERTS].filter(
      (f) => f !== undefined,
    );
    const baseSize = await importLocalBaseImage(docker, base.repo, base.tag, caFiles);
    const log: string[] = [];
    const started = Date.now();
    const stream = await docker.buildImage(
      { context: ROOT, src: CONTEXT.filter((entry) => existsSync(`${ROOT}/${entry}`)) },
      {
        t: image,
        buildargs: { BASE_IMAGE: `${base.repo}:${base.tag}`, ...buildArgs },
        // The lab's engines have no bridge network; npm ci in the build stage uses the host's.
        networkmode: "host",
        rm: true,
        forcerm: true,
      },
    );
    await followProgress(docker, stream, (event) => {
      if (event.stream) log.push(event.stream);
      for (const match of (event.stream ?? "").matchAll(/---> ([0-9a-f]{12})\b/g)) built.push(match[1]!);
    }).catch((error: Error) => {
      throw new Error(`docker build failed: ${error.message}\n${log.join("").slice(-4000)}`);
    });
    buildSeconds = (Date.now() - started) / 1000;
    console.error(
      `[dockerfile] base image ${(baseSize / 2 ** 20).toFixed(0)} MiB, build ${buildSeconds.toFixed(1)} s`,
    );
  }, 900_000);

  afterAll(async () => {
    for (const id of [image, ...built.reverse(), `${base.repo}:${base.tag}`]) {
      await docker
        .getImage(id)
        .remove({ force: true })
        .catch(() => {});
    }
  });

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
    expect(buildSeconds).toBeGreaterThan(0);
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
