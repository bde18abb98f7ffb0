/**
 * How a simulated engine talks to a registry, the way dockerd 20.10 does for each pull: `GET /v2/` to learn
 * the auth scheme, a token for `repository:<name>:pull` when it is Bearer (Basic with the X-Registry-Auth
 * credentials), then the manifest HEAD, manifest GETs and blob GETs, with dockerd's error words.
 */

import { MANIFEST_ACCEPT, parseChallenges } from "../adapters/registry-headers.js";
import { DOCKER_HUB, type ImageReference } from "../core/image-ref.js";

/** The credentials an X-Registry-Auth header carries (dockerode's `authconfig`). */
export type RegistryAuthConfig = { username?: string; password?: string; serveraddress?: string };

/** A pull failure with the HTTP status dockerd answers `POST /images/create` with before streaming. */
export class SimPullError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "SimPullError";
  }
}

/** Decodes X-Registry-Auth (base64 or base64url JSON); anything unreadable means no credentials, as in dockerd. */
export function decodeRegistryAuth(header: string | undefined): RegistryAuthConfig | undefined {
  if (!header) return undefined;
  try {
    const text = Buffer.from(header.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8");
    const parsed = JSON.parse(text) as RegistryAuthConfig;
    return typeof parsed === "object" && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** dockerd speaks plain HTTP to loopback registries and HTTPS to every other one. */
export function registryBaseUrl(host: string): string {
  const apiHost = host === DOCKER_HUB ? "registry-1.docker.io" : host;
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(host);
  return `${loopback ? "http" : "https"}://${apiHost}`;
}

const basic = (auth: RegistryAuthConfig) =>
  `Basic ${Buffer.from(`${auth.username ?? ""}:${auth.password ?? ""}`).toString("base64")}`;

/** The first error message of a registry's JSON error body, e.g. `manifest unknown`. */
async function registryMessage(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    const error = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
    if (error) return `${(error.code ?? "").toLowerCase()}: ${error.message ?? ""}`;
  } catch {}
  return response.status === 401 ? "unauthorized" : `unexpected status ${response.status}`;
}

/** One pull's conversation with a registry: the auth it learnt and the requests dockerd would send. */
export class RegistrySession {
  private authorization: string | undefined;
  private readonly base: string;

  constructor(
    private readonly ref: ImageReference,
    private readonly auth: RegistryAuthConfig | undefined,
    private readonly fetchFn: typeof fetch = fetch,
  ) {
    this.base = registryBaseUrl(ref.registry);
  }

  private async send(method: string, url: string, headers: Record<string, string> = {}) {
    try {
      return await this.fetchFn(url, {
        method,
        headers: { ...headers, ...(this.authorization ? { authorization: this.authorization } : {}) },
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      const verb = method === "HEAD" ? "Head" : "Get";
      throw new SimPullError(500, `${verb} "${url}": dial tcp ${this.ref.registry}: ${cause}`);
    }
  }

  /** `GET /v2/`, then a token or Basic credentials as the challenge asks. */
  async authenticate(): Promise<void> {
    const ping = await this.send("GET", `${this.base}/v2/`);
    await ping.arrayBuffer().catch(() => undefined);
    if (ping.status !== 401) return;
    const challenges = parseChallenges(ping.headers.get("www-authenticate"));
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
    if (!bearer) {
      if (this.auth?.username) this.authorization = basic(this.auth);
      return;
    }
    const url = new URL(bearer.params.realm!);
    if (bearer.params.service) url.searchParams.set("service", bearer.params.service);
    url.searchParams.set("scope", `repository:${this.ref.repository}:pull`);
    const response = await this.send(
      "GET",
      url.toString(),
      this.auth?.username ? { authorization: basic(this.auth) } : {},
    );
    const body = (await response.json().catch(() => ({}))) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    // dockerd carries on anonymously when the token service refuses: the manifest request then says why.
    if (response.ok && token) this.authorization = `Bearer ${token}`;
  }

  /** The manifest HEAD: the digest the reference points at, or dockerd's not-found / unauthorized answer. */
  async resolve(reference: string): Promise<string> {
    const url = `${this.base}/v2/${this.ref.repository}/manifests/${reference}`;
    const response = await this.send("HEAD", url, { accept: MANIFEST_ACCEPT });
    const digest = response.headers.get("docker-content-digest");
    if (response.ok && digest) return digest;
    if (response.status === 404) {
      const name = `${this.ref.registry}/${this.ref.repository}:${reference}`;
      throw new SimPullError(404, `manifest for ${name} not found: manifest unknown: manifest unknown`);
    }
    const what =
      response.status === 401
        ? "unauthorized"
        : response.status === 429
          ? "toomanyrequests: 429 Too Many Requests"
          : `unexpected status code ${response.status}`;
    throw new SimPullError(500, `Head "${url}": ${what}`);
  }

  /** A manifest's bytes and media type. */
  async manifest(reference: string): Promise<{ body: Buffer; mediaType: string }> {
    const url = `${this.base}/v2/${this.ref.repository}/manifests/${reference}`;
    const response = await this.send("GET", url, { accept: MANIFEST_ACCEPT });
    if (!response.ok) throw new SimPullError(500, `Get "${url}": ${await registryMessage(response)}`);
    const body = Buffer.from(await response.arrayBuffer());
    return { body, mediaType: response.headers.get("content-type") ?? "" };
  }

  /** A blob GET, its body left for the caller to read at the simulated rate. */
  async blob(digest: string): Promise<Response> {
    const url = `${this.base}/v2/${this.ref.repository}/blobs/${digest}`;
    const response = await this.send("GET", url);
    if (!response.ok || !response.body)
      throw new SimPullError(500, `Get "${url}": ${await registryMessage(response)}`);
    return response;
  }
}
