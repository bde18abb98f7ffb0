import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  createRegistryClient,
  isTransient,
  type RegistryRequestInfo,
} from "../src/adapters/registry-client.js";
import { parseImageReference } from "../src/core/image/reference.js";
import { OCI_INDEX, OCI_MANIFEST, pushRandomImage, sha256 } from "../src/lab/push-image.js";
import { type RegistryProxy, type RequestKind, startRegistryProxy } from "../src/lab/registry-proxy.js";
import { failure } from "./helpers/errors.js";

const lab = inject("lab");
const { plain, auth } = lab.registries;
const credentials = auth.auth!;
const TWO_PLATFORMS = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64" },
];

const unique = (prefix: string) => `client/${prefix}-${randomBytes(4).toString("hex")}`;
const refOn = (host: string, repository: string, tag: string) =>
  parseImageReference(`${host}/${repository}:${tag}`);

/** Makes the proxy answer the next request of `kind` itself with a 200 and `body`, like a faulty registry. */
function answerOnce(proxy: RegistryProxy, kind: RequestKind, body: string) {
  const headers = { "content-type": OCI_MANIFEST };
  proxy.setBehaviour({
    bearer: undefined,
    inject: [{ match: { kind }, status: 200, headers, body, times: 1 }],
  });
}

describe("registry client against the plain lab registry", () => {
  const client = createRegistryClient({ host: plain.host, insecure: true });

  it("HEAD returns the pushed digest of a single manifest", async () => {
    const repository = unique("single");
    const pushed = await pushRandomImage({ url: plain.url, repository, tag: "v1" });
    expect(await client.headDigest(refOn(plain.host, repository, "v1"))).toEqual({
      digest: pushed.digest,
      mediaType: OCI_MANIFEST,
    });
  });

  it("HEAD returns the index digest of a two-platform image, not a platform's", async () => {
    const repository = unique("index");
    const pushed = await pushRandomImage({ url: plain.url, repository, tag: "v1" }, TWO_PLATFORMS);
    const head = await client.headDigest(refOn(plain.host, repository, "v1"));
    expect(head).toEqual({ digest: pushed.digest, mediaType: OCI_INDEX });
    expect(pushed.manifests.map((m) => m.digest)).not.toContain(head.digest);
  });

  it("an unknown tag is registry-not-found naming the tag, and not transient", async () => {
    const repository = unique("missing");
    await pushRandomImage({ url: plain.url, repository, tag: "v1" });
    const error = await failure(client.headDigest(refOn(plain.host, repository, "no-such-tag")));
    expect(error.code).toBe("registry-not-found");
    expect(error.message).toContain('"no-such-tag"');
    expect(error.context).toMatchObject({
      host: plain.host,
      repository,
      reference: "no-such-tag",
      status: 404,
    });
    expect(isTransient(error)).toBe(false);
  });

  it("GET by digest and PUT under a new tag keeps the index digest (promotion's registry write)", async () => {
    const repository = unique("promote");
    const pushed = await pushRandomImage({ url: plain.url, repository, tag: "20261127" }, TWO_PLATFORMS);
    const ref = refOn(plain.host, repository, "20261127");
    const manifest = await client.getManifest(ref, pushed.digest);
    expect(manifest.digest).toBe(pushed.digest);
    expect(manifest.mediaType).toBe(OCI_INDEX);
    expect(sha256(manifest.body)).toBe(pushed.digest);
    const written = await client.putManifest(ref, "latest", manifest.body, manifest.mediaType);
    expect(written).toBe(pushed.digest);
    expect((await client.headDigest(refOn(plain.host, repository, "latest"))).digest).toBe(pushed.digest);
    // Repeating it is a no-op: same digest again.
    expect(await client.putManifest(ref, "latest", manifest.body, manifest.mediaType)).toBe(pushed.digest);
  });

  it("an unreachable registry is registry-unavailable and transient", async () => {
    const proxy = await startRegistryProxy({ upstream: plain.url });
    const host = proxy.host;
    await proxy.close();
    const error = await failure(
      createRegistryClient({ host, insecure: true }).headDigest(refOn(host, "client/x", "v1")),
    );
    expect(error.code).toBe("registry-unavailable");
    expect(error.message).toContain(`cannot reach ${host}`);
    expect(isTransient(error)).toBe(true);
  });
});

describe("registry client against the htpasswd lab registry (Basic)", () => {
  let repository: string;
  let digest: string;
  let proxy: RegistryProxy;
  beforeAll(async () => {
    repository = unique("basic");
    digest = (await pushRandomImage({ url: auth.url, repository, tag: "v1", auth: credentials })).digest;
    // A pass-through proxy: the client's Authorization reaches the registry, and the proxy counts 401s.
    proxy = await startRegistryProxy({ upstream: auth.url });
  });
  afterAll(() => proxy.close());

  it("retries once with Basic after the challenge, then sends credentials up front", async () => {
    proxy.reset();
    const infos: RegistryRequestInfo[] = [];
    const client = createRegistryClient({
      host: proxy.host,
      insecure: true,
      credentials,
      onRequest: (info) => infos.push(info),
    });
    const ref = refOn(proxy.host, repository, "v1");
    for (let i = 0; i < 3; i++) expect((await client.headDigest(ref)).digest).toBe(digest);
    expect(proxy.requests.map((r) => [r.status, r.authorization])).toEqual([
      [401, "none"],
      [200, "basic"],
      [200, "basic"],
      [200, "basic"],
    ]);
    expect(infos.map((i) => i.status)).toEqual([401, 200, 200, 200]);
    expect(JSON.stringify(infos)).not.toContain(credentials.password);
  });

  it("without credentials: registry-unauthorized that says none were sent", async () => {
    const client = createRegistryClient({ host: auth.host, insecure: true, name: "lab-auth" });
    const error = await failure(client.headDigest(refOn(auth.host, repository, "v1")));
    expect(error.code).toBe("registry-unauthorized");
    expect(error.message).toContain('no credentials were sent; add spec.auth to the Registry "lab-auth"');
    expect(error.context).toMatchObject({ status: 401, repository });
  });

  it("with a wrong password: registry-unauthorized without the password anywhere", async () => {
    const wrong = `wrong-${randomBytes(6).toString("hex")}`;
    const client = createRegistryClient({
      host: auth.host,
      insecure: true,
      credentials: { username: credentials.username, password: wrong },
    });
    const error = await failure(client.headDigest(refOn(auth.host, repository, "v1")));
    expect(error.code).toBe("registry-unauthorized");
    expect(error.message).toContain("credentials were sent and rejected");
    const everything = `${error.message} ${JSON.stringify(error.context)} ${String(error.cause ?? "")}`;
    expect(everything).not.toContain(wrong);
    expect(everything).not.toContain(Buffer.from(`${credentials.username}:${wrong}`).toString("base64"));
  });
});

describe("registry client through the lab proxy", () => {
  let proxy: RegistryProxy;
  beforeAll(async () => {
    proxy = await startRegistryProxy({ upstream: auth.url, upstreamAuth: credentials });
  });
  afterAll(() => proxy.close());

  const bearer = () => ({
    bearer: { username: "token-user", password: `tp-${randomBytes(4).toString("hex")}` },
  });

  it("Bearer: one token request for several HEADs of a repository, push scope for PUT", async () => {
    const behaviour = bearer();
    proxy.setBehaviour({ ...behaviour, inject: [] });
    proxy.reset();
    const repository = unique("bearer");
    const pushed = await pushRandomImage({ url: auth.url, repository, tag: "v1", auth: credentials });
    const infos: RegistryRequestInfo[] = [];
    const client = createRegistryClient({
      host: proxy.host,
      insecure: true,
      credentials: behaviour.bearer,
      onRequest: (info) => infos.push(info),
    });
    const ref = refOn(proxy.host, repository, "v1");
    for (let i = 0; i < 4; i++) expect((await client.headDigest(ref)).digest).toBe(pushed.digest);
    expect(proxy.stats().tokenRequests).toBe(1);
    expect(proxy.stats().byKind["manifest-head"]).toBe(5); // one 401, then four with the token
    expect(proxy.requests.filter((r) => r.status === 401)).toHaveLength(1);

    const manifest = await client.getManifest(ref, pushed.digest);
    expect(await client.putManifest(ref, "latest", manifest.body, manifest.mediaType)).toBe(pushed.digest);
    const tokenScopes = proxy.requests.filter((r) => r.kind === "token").map((r) => r.scopes);
    expect(tokenScopes).toEqual([[`repository:${repository}:pull`], [`repository:${repository}:pull,push`]]);
    expect(JSON.stringify(infos)).not.toContain(behaviour.bearer.password);
    const direct = createRegistryClient({ host: auth.host, insecure: true, credentials });
    expect((await direct.headDigest(refOn(auth.host, repository, "latest"))).digest).toBe(pushed.digest);
  });

  it("Bearer: concurrent HEADs share one token request; an expired token is renewed", async () => {
    const behaviour = bearer();
    proxy.setBehaviour({ ...behaviour, inject: [] });
    const repository = unique("shared");
    const pushed = await pushRandomImage({ url: auth.url, repository, tag: "v1", auth: credentials });
    proxy.reset();
    let now = Date.now();
    const client = createRegistryClient({
      host: proxy.host,
      insecure: true,
      credentials: behaviour.bearer,
      now: () => now,
    });
    const ref = refOn(proxy.host, repository, "v1");
    const heads = await Promise.all([1, 2, 3].map(() => client.headDigest(ref)));
    expect(heads.map((h) => h.digest)).toEqual([pushed.digest, pushed.digest, pushed.digest]);
    expect(proxy.stats().tokenRequests).toBe(1);
    now += 301_000; // past the proxy's 300 s expires_in
    expect((await client.headDigest(ref)).digest).toBe(pushed.digest);
    expect(proxy.stats().tokenRequests).toBe(2);
  });

  it("a slow registry is registry-unavailable after timeoutMs; a caller's abort passes through", async () => {
    proxy.setBehaviour({ bearer: undefined, inject: [], manifestDelayMs: 1000 });
    const ref = refOn(proxy.host, unique("slow"), "v1");
    try {
      const client = createRegistryClient({ host: proxy.host, insecure: true, timeoutMs: 100 });
      const error = await failure(client.headDigest(ref), "registry-unavailable");
      expect(error.message).toContain("no answer within 100 ms");
      const controller = new AbortController();
      controller.abort(new Error("shutting down"));
      const aborted = await client.headDigest(ref, controller.signal).catch((e: unknown) => e);
      expect(aborted).toBe(controller.signal.reason);
    } finally {
      proxy.setBehaviour({ manifestDelayMs: 0 });
    }
  });

  it("Bearer with wrong credentials: the token service's 401 is registry-unauthorized", async () => {
    proxy.setBehaviour({ ...bearer(), inject: [] });
    const wrong = `nope-${randomBytes(4).toString("hex")}`;
    const client = createRegistryClient({
      host: proxy.host,
      insecure: true,
      credentials: { username: "token-user", password: wrong },
    });
    const error = await failure(client.headDigest(refOn(proxy.host, unique("denied"), "v1")));
    expect(error.code).toBe("registry-unauthorized");
    expect(error.message).toContain("credentials were sent and rejected");
    expect(error.message).not.toContain(wrong);
  });

  it("429 with Retry-After: registry-rate-limited with retryAfterMs, rateLimit() updated", async () => {
    const repository = unique("limited");
    const pushed = await pushRandomImage({ url: auth.url, repository, tag: "v1", auth: credentials });
    proxy.setBehaviour({
      bearer: undefined,
      inject: [
        {
          match: { kind: "manifest-head" },
          status: 429,
          headers: {
            "retry-after": "1",
            "ratelimit-limit": "100;w=21600",
            "ratelimit-remaining": "0;w=21600",
          },
          times: 1,
        },
      ],
    });
    const client = createRegistryClient({ host: proxy.host, insecure: true });
    const ref = refOn(proxy.host, repository, "v1");
    const error = await failure(client.headDigest(ref), "registry-rate-limited");
    expect(error.context.retryAfterMs).toBe(1000);
    expect(isTransient(error)).toBe(true);
    expect(client.rateLimit()).toEqual({ remaining: 0, limit: 100, retryAfterMs: 1000 });
    // The rule was for one request: the next goes through and clears the pause.
    expect((await client.headDigest(ref)).digest).toBe(pushed.digest);
    expect(client.rateLimit()).toEqual({ remaining: 0, limit: 100 });
  });

  it("503: registry-unavailable and transient", async () => {
    proxy.setBehaviour({ bearer: undefined, inject: [{ match: { method: "HEAD" }, status: 503, times: 2 }] });
    proxy.reset();
    const client = createRegistryClient({ host: proxy.host, insecure: true });
    const ref = refOn(proxy.host, unique("down"), "v1");
    for (let i = 0; i < 2; i++) {
      const error = await failure(client.headDigest(ref), "registry-unavailable");
      expect(error.context.status).toBe(503);
      expect(isTransient(error)).toBe(true);
    }
    // No retries inside the client: exactly one request per call.
    expect(proxy.stats().byKind["manifest-head"]).toBe(2);
  });

  it("HEAD without Docker-Content-Digest falls back to GET and hashes the bytes", async () => {
    const repository = unique("nodigest");
    const pushed = await pushRandomImage({ url: auth.url, repository, tag: "v1", auth: credentials });
    answerOnce(proxy, "manifest-head", "");
    proxy.reset();
    const client = createRegistryClient({ host: proxy.host, insecure: true });
    expect(await client.headDigest(refOn(proxy.host, repository, "v1"))).toEqual({
      digest: pushed.digest,
      mediaType: OCI_MANIFEST,
    });
    expect(proxy.stats().byKind).toMatchObject({ "manifest-head": 1, "manifest-get": 1 });
  });

  it("GET by digest refuses bytes that do not hash to it", async () => {
    const repository = unique("tampered");
    const pushed = await pushRandomImage({ url: auth.url, repository, tag: "v1", auth: credentials });
    answerOnce(proxy, "manifest-get", "{}");
    const client = createRegistryClient({ host: proxy.host, insecure: true });
    const error = await failure(client.getManifest(refOn(proxy.host, repository, "v1"), pushed.digest));
    expect(error.code).toBe("registry-error");
    expect(error.context).toMatchObject({ expected: pushed.digest, actual: sha256("{}") });
  });
});
