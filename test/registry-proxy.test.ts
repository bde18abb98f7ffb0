import { randomBytes } from "node:crypto";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createRegistryClient } from "../src/adapters/registry-client.js";
import { parseImageReference } from "../src/core/image/reference.js";
import { OCI_MANIFEST, pushRandomImage } from "../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../src/lab/registry-proxy.js";

const lab = inject("lab");
const { plain, auth } = lab.registries;
const docker = new Docker({ socketPath: lab.engines[0]!.socket });
const unique = (prefix: string) => `proxy/${prefix}-${randomBytes(4).toString("hex")}`;

/** Pulls on the lab engine and follows the stream to its end; an error event fails the pull. */
async function enginePull(
  reference: string,
  authconfig?: { username: string; password: string; serveraddress: string },
) {
  const stream = await docker.pull(reference, authconfig ? { authconfig } : {});
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, events: { error?: string }[]) => {
      const failed = events?.find((e) => e.error);
      if (error || failed) reject(error ?? new Error(failed?.error));
      else resolve();
    });
  });
}

/** The engine is shared: remove only the images this file pulled. */
function removeImages(references: string[]) {
  const remove = (ref: string) => docker.getImage(ref).remove({ force: true });
  return Promise.all(references.map((ref) => remove(ref).catch(() => undefined)));
}

describe("lab registry proxy", () => {
  let proxy: RegistryProxy;
  const pulled: string[] = [];
  beforeAll(async () => {
    proxy = await startRegistryProxy({ upstream: plain.url });
  });
  afterAll(async () => {
    await proxy.close();
    await removeImages(pulled);
  });

  it("a Docker Engine pulls through it; blob GETs are counted and delayed", async () => {
    const repository = unique("engine");
    const pushed = await pushRandomImage({ url: plain.url, repository, tag: "v1" });
    proxy.setBehaviour({ delayMs: 50, inject: [] });
    proxy.reset();
    const reference = `${proxy.host}/${repository}:v1`;
    pulled.push(reference);
    await enginePull(reference);
    const image = await docker.getImage(reference).inspect();
    expect(image.RepoDigests).toContain(`${proxy.host}/${repository}@${pushed.digest}`);
    const stats = proxy.stats();
    // One layer and one config: two blob GETs, each passed through with a 200.
    expect(stats.byKind["blob-get"]).toBe(2);
    expect(proxy.requests.filter((r) => r.kind === "blob-get").every((r) => r.status === 200)).toBe(true);
    expect(stats.maxInFlight["blob-get"]).toBeGreaterThanOrEqual(1);
    expect(stats.maxInFlight["blob-get"]).toBeLessThanOrEqual(2);
    expect(stats.byMethod.GET).toBeGreaterThanOrEqual(3);
    proxy.setBehaviour({ delayMs: 0 });
  });

  it("measures blob GETs and repositories in flight at once", async () => {
    proxy.setBehaviour({ delayMs: 300, inject: [] });
    proxy.reset();
    const blob = (repository: string) => `${proxy.url}/v2/${repository}/blobs/sha256:${"0".repeat(64)}`;
    const [a, b] = [unique("a"), unique("b")];
    const statuses = await Promise.all([a, a, b].map(async (r) => (await fetch(blob(r))).status));
    expect(statuses).toEqual([404, 404, 404]);
    expect(proxy.stats().maxInFlight["blob-get"]).toBe(3);
    expect(proxy.stats().maxRepositoriesInFlight).toBe(2);
    proxy.setBehaviour({ delayMs: 0 });
  });

  it("blob uploads work through it (Location rewritten to the proxy)", async () => {
    proxy.reset();
    const repository = unique("upload");
    const pushed = await pushRandomImage({ url: proxy.url, repository, tag: "v1" });
    expect(proxy.stats().byKind["blob-upload"]).toBe(4); // POST then PUT, for layer and config
    expect(proxy.stats().byKind["manifest-put"]).toBe(1);
    const direct = createRegistryClient({ host: plain.host, insecure: true });
    const head = await direct.headDigest(parseImageReference(`${plain.host}/${repository}:v1`));
    expect(head.digest).toBe(pushed.digest);
  });

  it("injected answers are served the given number of times, then requests pass", async () => {
    const repository = unique("inject");
    await pushRandomImage({ url: plain.url, repository, tag: "v1" });
    proxy.setBehaviour({
      inject: [
        {
          match: (req) => req.repository === repository,
          status: 503,
          headers: { "retry-after": "1" },
          times: 2,
        },
      ],
    });
    proxy.reset();
    const url = `${proxy.url}/v2/${repository}/manifests/v1`;
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await fetch(url, { method: "HEAD", headers: { accept: OCI_MANIFEST } })).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(proxy.requests.map((r) => r.injected)).toEqual([true, true, false]);
    expect(proxy.stats().byStatus).toEqual({ "503": 2, "200": 1 });
    proxy.setBehaviour({ inject: [] });
  });
});

describe("lab registry proxy in Bearer mode", () => {
  const bearer = { username: "lab-bearer", password: `bp-${randomBytes(4).toString("hex")}` };
  let proxy: RegistryProxy;
  const pulled: string[] = [];
  beforeAll(async () => {
    proxy = await startRegistryProxy({ upstream: auth.url, upstreamAuth: auth.auth!, behaviour: { bearer } });
  });
  afterAll(async () => {
    await proxy.close();
    await removeImages(pulled);
  });

  it("challenges, issues a token for the scope, and lets a Docker Engine pull with it", async () => {
    const repository = unique("bearer");
    const pushed = await pushRandomImage({ url: auth.url, repository, tag: "v1", auth: auth.auth! });
    const anonymous = await fetch(`${proxy.url}/v2/${repository}/manifests/v1`, { method: "HEAD" });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe(
      `Bearer realm="${proxy.url}/token",service="lab",scope="repository:${repository}:pull"`,
    );
    proxy.reset();
    const reference = `${proxy.host}/${repository}:v1`;
    pulled.push(reference);
    await enginePull(reference, { ...bearer, serveraddress: proxy.host });
    const image = await docker.getImage(reference).inspect();
    expect(image.RepoDigests).toContain(`${proxy.host}/${repository}@${pushed.digest}`);
    expect(proxy.stats().tokenRequests).toBeGreaterThanOrEqual(1);
    expect(
      proxy.requests.filter((r) => r.kind === "blob-get").every((r) => r.authorization === "bearer"),
    ).toBe(true);
  });

  it("refuses a token request with wrong credentials and a token for another repository", async () => {
    const denied = await fetch(`${proxy.url}/token?service=lab&scope=repository:a/b:pull`, {
      headers: { authorization: `Basic ${Buffer.from("lab-bearer:wrong").toString("base64")}` },
    });
    expect(denied.status).toBe(401);
    const basic = `Basic ${Buffer.from(`${bearer.username}:${bearer.password}`).toString("base64")}`;
    const granted = await fetch(`${proxy.url}/token?service=lab&scope=repository:a/b:pull`, {
      headers: { authorization: basic },
    });
    const { token } = (await granted.json()) as { token: string };
    const other = await fetch(`${proxy.url}/v2/c/d/manifests/v1`, {
      method: "HEAD",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(other.status).toBe(401);
    const push = await fetch(`${proxy.url}/v2/a/b/manifests/v1`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}` },
      body: "{}",
    });
    expect(push.status).toBe(401);
    expect(push.headers.get("www-authenticate")).toContain('scope="repository:a/b:pull,push"');
  });

  it("a token carries exactly the scopes it was issued for, several at once; refusals say why", async () => {
    const basic = `Basic ${Buffer.from(`${bearer.username}:${bearer.password}`).toString("base64")}`;
    proxy.setBehaviour({ bearer: { ...bearer, denied: ["hidden/x"] } });
    try {
      const scopes = ["a/one", "a/two", "hidden/x"].map(
        (r) => `scope=${encodeURIComponent(`repository:${r}:pull`)}`,
      );
      const granted = await fetch(`${proxy.url}/token?service=lab&${scopes.join("&")}`, {
        headers: { authorization: basic },
      });
      expect(granted.status).toBe(200);
      const { token } = (await granted.json()) as { token: string };
      const head = (repository: string, authorization = `Bearer ${token}`) =>
        fetch(`${proxy.url}/v2/${repository}/manifests/v1`, { method: "HEAD", headers: { authorization } });
      // Granted scopes reach the registry (which has no such tag: 404); the others are challenged.
      expect((await head("a/one")).status).toBe(404);
      expect((await head("a/two")).status).toBe(404);
      for (const repository of ["hidden/x", "a/three"]) {
        const refused = await head(repository);
        expect(refused.status).toBe(401);
        expect(refused.headers.get("www-authenticate")).toBe(
          `Bearer realm="${proxy.url}/token",service="lab",scope="repository:${repository}:pull",error="insufficient_scope"`,
        );
      }
      const unknown = await head("a/one", "Bearer not-a-token");
      expect(unknown.headers.get("www-authenticate")).toContain('error="invalid_token"');
      proxy.revokeTokens();
      const revoked = await head("a/one");
      expect(revoked.status).toBe(401);
      expect(revoked.headers.get("www-authenticate")).toContain('error="invalid_token"');
    } finally {
      proxy.setBehaviour({ bearer });
    }
  });
});
