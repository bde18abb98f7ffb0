import { randomBytes } from "node:crypto";
import Docker from "dockerode";
import { describe, expect, inject, it } from "vitest";
import { pushRandomImage } from "../src/lab/push-image.js";

const lab = inject("lab");

/** Pulls through dockerode and waits for the stream to end; an error event fails the pull. */
async function pull(docker: Docker, reference: string, auth?: { username: string; password: string }) {
  const stream = await docker.pull(reference, auth ? { authconfig: auth } : {});
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, events: { error?: string }[]) => {
      const failed = events?.find((e) => e.error);
      if (error || failed) reject(error ?? new Error(failed?.error));
      else resolve();
    });
  });
}

async function registryDigest(url: string, repository: string, tag: string, authorization?: string) {
  const response = await fetch(`${url}/v2/${repository}/manifests/${tag}`, {
    method: "HEAD",
    headers: {
      accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json",
      ...(authorization ? { authorization } : {}),
    },
  });
  expect(response.status).toBe(200);
  return response.headers.get("docker-content-digest");
}

describe("the test lab is real", () => {
  it("runs two engines and two registries", async () => {
    expect(lab.engines.length).toBeGreaterThanOrEqual(2);
    for (const engine of lab.engines) {
      const info = await new Docker({ socketPath: engine.socket }).info();
      expect(info.Driver).toBe("vfs");
    }
    expect((await fetch(`${lab.registries.plain.url}/v2/`)).status).toBe(200);
    expect((await fetch(`${lab.registries.auth.url}/v2/`)).status).toBe(401);
  });

  it.each([
    ["plain registry, single platform", "plain", 1],
    ["plain registry, two-platform index", "plain", 2],
    ["htpasswd registry, single platform", "auth", 1],
  ] as const)("%s: every engine's repo digest is the registry's digest", async (_, which, platforms) => {
    const registry = lab.registries[which];
    const repository = `lab/check-${randomBytes(4).toString("hex")}`;
    const pushed = await pushRandomImage(
      { url: registry.url, repository, tag: "v1", ...(registry.auth ? { auth: registry.auth } : {}) },
      platforms === 1
        ? undefined
        : [
            { os: "linux", architecture: "amd64" },
            { os: "linux", architecture: "arm64" },
          ],
    );
    const authorization = registry.auth
      ? `Basic ${Buffer.from(`${registry.auth.username}:${registry.auth.password}`).toString("base64")}`
      : undefined;
    const digest = await registryDigest(registry.url, repository, "v1", authorization);
    expect(digest).toBe(pushed.digest);
    for (const engine of lab.engines) {
      const docker = new Docker({ socketPath: engine.socket });
      await pull(
        docker,
        pushed.reference,
        registry.auth ? ({ ...registry.auth, serveraddress: registry.host } as never) : undefined,
      );
      const image = await docker.getImage(pushed.reference).inspect();
      expect(image.RepoDigests).toContain(`${registry.host}/${repository}@${digest}`);
    }
    // A second push under the same tag must move it to a new digest.
    const again = await pushRandomImage({
      url: registry.url,
      repository,
      tag: "v1",
      ...(registry.auth ? { auth: registry.auth } : {}),
    });
    expect(again.digest).not.toBe(pushed.digest);
  });
});
