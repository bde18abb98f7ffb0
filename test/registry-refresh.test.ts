/**
 * What a refresh costs a registry, counted at the lab proxy in front of the real lab registry: the engine's
 * digest check (`resolveDigests`) through real registry clients, as `plan` and the daemon run it.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { systemClock } from "../src/adapters/clock.js";
import { createRegistryClient, type RegistryClientOptions } from "../src/adapters/registry-client.js";
import { parseImageReference } from "../src/core/image/reference.js";
import { resolveDigests } from "../src/engine/observe.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../src/lab/registry-proxy.js";
import type { RegistryClient } from "../src/ports.js";

const lab = inject("lab");
const { auth } = lab.registries;
const IMAGES = 6;
const bearer = { username: "refresh-bot", password: `rp-${randomBytes(6).toString("hex")}` };

let proxy: RegistryProxy;
let repositories: string[];
let digests: string[];

beforeAll(async () => {
  const suffix = randomBytes(4).toString("hex");
  repositories = Array.from({ length: IMAGES }, (_, i) => `refresh/app-${i}-${suffix}`);
  digests = [];
  for (const repository of repositories) {
    const pushed = await pushRandomImage({ url: auth.url, repository, tag: "v1", auth: auth.auth! });
    digests.push(pushed.digest);
  }
  proxy = await startRegistryProxy({ upstream: auth.url, upstreamAuth: auth.auth!, behaviour: { bearer } });
});
afterAll(() => proxy?.close());

/** One refresh of the six references through `client`, as the engine runs it; digest or error per image. */
async function refresh(client: RegistryClient) {
  const queries = repositories.map((repository) => ({
    ref: parseImageReference(`${client.host}/${repository}:v1`),
    registry: "lab",
  }));
  const results = await resolveDigests(queries, () => client, { clock: systemClock });
  return queries.map((q) => results.get(q.ref.canonical)!);
}

function counts() {
  const { byKind } = proxy.stats();
  return {
    heads: byKind["manifest-head"] ?? 0,
    tokens: byKind.token ?? 0,
    pings: byKind.ping ?? 0,
    challenged: proxy.requests.filter((r) => r.status === 401).map((r) => r.kind),
  };
}

const client = (options: Partial<RegistryClientOptions> = {}) =>
  createRegistryClient({ host: proxy.host, insecure: true, credentials: bearer, ...options });

describe("refresh against a Docker Hub-like token registry", () => {
  beforeAll(() => proxy.setBehaviour({ bearer, inject: [] }));

  it("an unchanged refresh of 6 images costs 6 HEADs and one token carrying the 6 scopes", async () => {
    proxy.reset();
    const fresh = client();
    expect(await refresh(fresh)).toEqual(digests.map((digest) => ({ digest })));
    // A new client learns the scheme from one ping, then asks for one token for every repository.
    expect(counts()).toEqual({ heads: IMAGES, tokens: 1, pings: 1, challenged: ["ping"] });
    const token = proxy.requests.find((r) => r.kind === "token")!;
    expect(token.scopes?.sort()).toEqual(repositories.map((r) => `repository:${r}:pull`).sort());

    proxy.reset();
    expect(await refresh(fresh)).toEqual(digests.map((digest) => ({ digest })));
    expect(counts()).toEqual({ heads: IMAGES, tokens: 0, pings: 0, challenged: [] });
  });

  it("an expired token costs one new token request, again for every scope", async () => {
    let now = Date.now();
    const clocked = client({ now: () => now });
    await refresh(clocked);
    proxy.reset();
    now += 301_000; // past the proxy's expires_in of 300 s
    expect(await refresh(clocked)).toEqual(digests.map((digest) => ({ digest })));
    expect(counts()).toEqual({ heads: IMAGES, tokens: 1, pings: 0, challenged: [] });
    expect(proxy.requests.find((r) => r.kind === "token")!.scopes).toHaveLength(IMAGES);
  });

  it("a token the registry revoked is renewed once for all its scopes, and each HEAD retried once", async () => {
    const held = client();
    await refresh(held);
    proxy.revokeTokens();
    proxy.reset();
    expect(await refresh(held)).toEqual(digests.map((digest) => ({ digest })));
    const { heads, tokens, challenged } = counts();
    expect({ heads, tokens }).toEqual({ heads: 2 * IMAGES, tokens: 1 });
    expect(challenged).toEqual(Array(IMAGES).fill("manifest-head"));
  });

  it("a repository the token service leaves out is re-challenged once, then a clear error; the rest are fine", async () => {
    const denied = repositories[2]!;
    proxy.setBehaviour({ bearer: { ...bearer, denied: [denied] } });
    try {
      proxy.reset();
      const results = await refresh(client({ name: "hub" }));
      for (const [i, result] of results.entries()) {
        if (i !== 2) expect(result).toEqual({ digest: digests[i] });
      }
      expect(results[2]).toMatchObject({ code: "registry-unauthorized" });
      const { error } = results[2] as { error: string };
      expect(error).toContain(`granted no pull access to ${denied} (insufficient_scope)`);
      expect(error).toContain('the account of the Registry "hub"');
      // The batch token, then one token for the denied repository alone; its HEAD is tried twice, never more.
      const { heads, tokens } = counts();
      expect({ heads, tokens }).toEqual({ heads: IMAGES + 1, tokens: 2 });
      const deniedHeads = proxy.requests.filter((r) => r.kind === "manifest-head" && r.repository === denied);
      expect(deniedHeads.map((r) => r.status)).toEqual([401, 401]);
      expect(proxy.requests.filter((r) => r.kind === "token").map((r) => r.scopes)).toEqual([
        expect.arrayContaining([`repository:${denied}:pull`]),
        [`repository:${denied}:pull`],
      ]);
    } finally {
      proxy.setBehaviour({ bearer });
    }
  });

  it("wrong credentials: every image says they were rejected, after one token request, never the password", async () => {
    const wrong = `wrong-${randomBytes(6).toString("hex")}`;
    proxy.reset();
    const results = await refresh(client({ credentials: { username: bearer.username, password: wrong } }));
    for (const result of results) {
      expect(result).toMatchObject({ code: "registry-unauthorized" });
      expect((result as { error: string }).error).toContain("credentials were sent and rejected");
    }
    expect(JSON.stringify(results)).not.toContain(wrong);
    expect(counts()).toMatchObject({ heads: 0, tokens: 1 });
  });
});

describe("refresh against a Basic-auth registry (htpasswd, no token service)", () => {
  let basic: RegistryProxy;
  beforeAll(async () => {
    // A pass-through proxy: the client's Authorization reaches the htpasswd registry, and the proxy counts.
    basic = await startRegistryProxy({ upstream: auth.url });
  });
  afterAll(() => basic?.close());

  it("sends Basic up front once the ping says so: one HEAD per reference", async () => {
    const fresh = createRegistryClient({ host: basic.host, insecure: true, credentials: auth.auth! });
    for (let round = 0; round < 2; round++) {
      basic.reset();
      expect(await refresh(fresh)).toEqual(digests.map((digest) => ({ digest })));
      const heads = basic.requests.filter((r) => r.kind === "manifest-head");
      expect(heads.map((r) => [r.status, r.authorization])).toEqual(Array(IMAGES).fill([200, "basic"]));
      expect(basic.requests.filter((r) => r.kind !== "manifest-head").map((r) => [r.kind, r.status])).toEqual(
        round === 0 ? [["ping", 401]] : [],
      );
    }
  });
});
