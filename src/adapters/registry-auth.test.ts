import { describe, expect, it } from "vitest";
import { parseTokenResponse, RegistryAuth } from "./registry-auth.js";
import { apiBaseUrl } from "./registry-client.js";

describe("RegistryAuth.learn from a ping", () => {
  const noFetch = (async () => {
    throw new Error("no token request expected");
  }) as typeof globalThis.fetch;
  const context = { host: "reg.example", repository: "kasm/a", reference: "v1" };
  const basic = `Basic ${Buffer.from("u:p").toString("base64")}`;
  it.each<
    [
      string,
      () => Promise<{ status: number; challenge: string | null }>,
      boolean,
      boolean,
      string | undefined,
    ]
  >([
    ["200: an open registry", async () => ({ status: 200, challenge: null }), true, true, undefined],
    [
      "401 Basic with credentials: Basic up front",
      async () => ({ status: 401, challenge: 'Basic realm="r"' }),
      true,
      true,
      basic,
    ],
    [
      "401 Basic without credentials: nothing to send",
      async () => ({ status: 401, challenge: 'Basic realm="r"' }),
      false,
      true,
      undefined,
    ],
    [
      "404: still unknown, requests probe as before",
      async () => ({ status: 404, challenge: null }),
      true,
      false,
      undefined,
    ],
    [
      "no answer: still unknown",
      async () => Promise.reject(new Error("ECONNREFUSED")),
      true,
      false,
      undefined,
    ],
  ])("%s", async (_, ping, withCredentials, known, authorization) => {
    const auth = new RegistryAuth({
      ...(withCredentials ? { credentials: { username: "u", password: "p" } } : {}),
      fetch: noFetch,
      now: () => 0,
      timeoutMs: 1000,
    });
    await auth.learn(ping);
    expect(auth.known).toBe(known);
    expect(await auth.authorization("repository:kasm/a:pull", context)).toBe(authorization);
  });

  it("a token service refusing the credentials during a batch is not asked again per repository", async () => {
    let requests = 0;
    const fetch = (async () => {
      requests++;
      return new Response('{"errors":[{"code":"UNAUTHORIZED","message":"bad login"}]}', { status: 401 });
    }) as typeof globalThis.fetch;
    const auth = new RegistryAuth({
      credentials: { username: "u", password: "s3cret" },
      fetch,
      now: () => 0,
      timeoutMs: 1000,
    });
    await auth.learn(async () => ({ status: 401, challenge: 'Bearer realm="https://auth.example/token"' }));
    await auth.prefetch(["repository:kasm/a:pull", "repository:kasm/b:pull"], context);
    const error = await auth
      .authorization("repository:kasm/b:pull", { ...context, repository: "kasm/b" })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "registry-unauthorized",
      context: { repository: "kasm/b", host: "auth.example" },
    });
    expect(String((error as Error).message)).toContain("credentials were sent and rejected");
    expect(String((error as Error).message)).not.toContain("s3cret");
    expect(requests).toBe(1);
  });
});

describe("RegistryAuth after a 401 with a batch token", () => {
  const a = "repository:kasm/a:pull";
  const b = "repository:kasm/b:pull";
  const context = { host: "reg.example", repository: "kasm/b", reference: "v1" };
  const realm = 'Bearer realm="https://auth.example/token",service="reg"';
  /** A token service that answers every request with a new token, and the scopes each request asked for. */
  const tokenService = () => {
    const asked: string[][] = [];
    const fetch = (async (url: URL) => {
      asked.push(url.searchParams.getAll("scope"));
      return new Response(JSON.stringify({ token: `t${asked.length}`, expires_in: 300 }));
    }) as typeof globalThis.fetch;
    return { asked, fetch };
  };
  it.each<[string, string, string[][], string]>([
    [
      "expired or revoked (invalid_token): every scope renewed at once",
      ',error="invalid_token"',
      [[a, b]],
      "t2",
    ],
    [
      "insufficient_scope: this scope alone; the token keeps the others",
      ',error="insufficient_scope"',
      [[b]],
      "t1",
    ],
    ["a bare 401: this scope alone, in case the service grants one scope per request", "", [[b], [a]], "t3"],
  ])("%s", async (_, error, after, forA) => {
    const { asked, fetch } = tokenService();
    const credentials = { username: "u", password: "p" };
    const auth = new RegistryAuth({ credentials, fetch, now: () => 0, timeoutMs: 1000 });
    await auth.learn(async () => ({ status: 401, challenge: realm }));
    await auth.prefetch([a, b], context);
    expect(await auth.authorization(b, context)).toBe("Bearer t1");
    expect(auth.challenge(`${realm},scope="${b}"${error}`, b, "Bearer t1")).toBe(true);
    expect(await auth.authorization(b, context)).toBe("Bearer t2");
    expect(await auth.authorization(a, context)).toBe(`Bearer ${forA}`);
    expect(asked).toEqual([[a, b], ...after]);
  });
});

describe("parseTokenResponse", () => {
  it.each([
    ['{"token":"t1","expires_in":300}', { token: "t1", expiresIn: 300 }],
    ['{"access_token":"a1"}', { token: "a1", expiresIn: 60 }],
    ['{"token":"t1","access_token":"a1","expires_in":0}', { token: "t1", expiresIn: 60 }],
    ['{"token":"","access_token":"a1"}', { token: "a1", expiresIn: 60 }],
    ['{"expires_in":300}', undefined],
    ['{"token":42}', undefined],
    ["not json", undefined],
  ])("%s", (body, expected) => {
    expect(parseTokenResponse(body)).toEqual(expected);
  });
});

describe("apiBaseUrl", () => {
  it.each([
    ["docker.io", false, "https://registry-1.docker.io"],
    ["index.docker.io", false, "https://registry-1.docker.io"],
    ["registry.example.com:5000", false, "https://registry.example.com:5000"],
    ["127.0.0.1:5000", true, "http://127.0.0.1:5000"],
    ["ghcr.io", false, "https://ghcr.io"],
  ])("%s insecure=%s → %s", (host, insecure, expected) => {
    expect(apiBaseUrl(host, insecure)).toBe(expected);
  });
});
