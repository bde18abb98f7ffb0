/**
 * How a simulated engine talks to a registry, the way dockerd 20.10 does for each pull: `GET /v2/` to learn
 * the auth scheme, a token for `repository:<name>:pull` when it is Bearer (Basic with the X-Registry-Auth
 * credentials), then the manifest HEAD, manifest GETs and blob GETs, with dockerd's error words.
 */

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { MANIFEST_ACCEPT, parseChallenges } from "../adapters/registry-headers.js";
import { DOCKER_HUB, type ImageReference } from "../core/image/reference.js";

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

/** A registry's answer: status, headers and the body, read by the caller. */
export type RegistryAnswer = {
  status: number;
  ok: boolean;
  header(name: string): string | undefined;
  body: IncomingMessage;
};

/**
 * Keep-alive pools shared by the engines of this process (node:http costs far less CPU per request than
 * fetch). An idle socket is dropped after 2 s, before a Node server's 5 s keep-alive timeout closes it.
 */
const POOL = { keepAlive: true, timeout: 2_000 };
const agents = { http: new HttpAgent(POOL), https: new HttpsAgent(POOL) };

/** Reads a body to its end. */
export async function readBody(body: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The first error message of a registry's JSON error body, e.g. `manifest unknown: …`. */
async function registryMessage(answer: RegistryAnswer): Promise<string> {
  const text = (await readBody(answer.body).catch(() => Buffer.alloc(0))).toString("utf8");
  try {
    const error = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
    if (error) return `${(error.code ?? "").toLowerCase()}: ${error.message ?? ""}`;
  } catch {}
  return answer.status === 401 ? "unauthorized" : `unexpected status ${answer.status}`;
}

/** One pull's conversation with a registry: the auth it learnt and the requests dockerd would send. */
export class RegistrySession {
  private authorization: string | undefined;
  private readonly base: string;

  constructor(
    private readonly ref: ImageReference,
    private readonly auth: RegistryAuthConfig | undefined,
  ) {
    this.base = registryBaseUrl(ref.registry);
  }

  /**
   * One request. A kept-alive socket the server closed as it was reused fails with ECONNRESET: sent again
   * once on a fresh socket (every request here is a GET or HEAD), as dockerd's transport does.
   */
  private send(
    method: string,
    url: string,
    headers: Record<string, string> = {},
    retried = false,
  ): Promise<RegistryAnswer> {
    const target = new URL(url);
    const secure = target.protocol === "https:";
    const all = { ...headers, ...(this.authorization ? { authorization: this.authorization } : {}) };
    return new Promise((resolve, reject) => {
      const request = (secure ? httpsRequest : httpRequest)(
        target,
        // The retry after a reset takes a socket of its own, never another pooled one that may be stale too.
        { method, headers: all, agent: retried ? false : secure ? agents.https : agents.http },
        (body) => {
          const status = body.statusCode ?? 0;
          const header = (name: string) => {
            const value = body.headers[name.toLowerCase()];
            return Array.isArray(value) ? value[0] : value;
          };
          resolve({ status, ok: status >= 200 && status < 300, header, body });
        },
      );
      request.on("error", (error: Error & { code?: string }) => {
        if (request.reusedSocket && error.code === "ECONNRESET" && !retried) {
          resolve(this.send(method, url, headers, true));
          return;
        }
        const verb = method === "HEAD" ? "Head" : "Get";
        reject(
          new SimPullError(
            500,
            `${verb} "${url}": dial tcp ${this.ref.registry}: ${error.code ?? error.message}`,
          ),
        );
      });
      request.end();
    });
  }

  /** `GET /v2/`, then a token or Basic credentials as the challenge asks. */
  async authenticate(): Promise<void> {
    const ping = await this.send("GET", `${this.base}/v2/`);
    ping.body.resume();
    if (ping.status !== 401) return;
    const challenges = parseChallenges(ping.header("www-authenticate"));
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
    if (!bearer) {
      if (this.auth?.username) this.authorization = basic(this.auth);
      return;
    }
    const url = new URL(bearer.params.realm!);
    if (bearer.params.service) url.searchParams.set("service", bearer.params.service);
    url.searchParams.set("scope", `repository:${this.ref.repository}:pull`);
    const answer = await this.send(
      "GET",
      url.toString(),
      this.auth?.username ? { authorization: basic(this.auth) } : {},
    );
    let body: { token?: string; access_token?: string } = {};
    try {
      body = JSON.parse((await readBody(answer.body)).toString("utf8")) as typeof body;
    } catch {}
    const token = body.token ?? body.access_token;
    // dockerd carries on anonymously when the token service refuses: the manifest request then says why.
    if (answer.ok && token) this.authorization = `Bearer ${token}`;
  }

  /** The manifest HEAD: the digest the reference points at, or dockerd's not-found / unauthorized answer. */
  async resolve(reference: string): Promise<string> {
    const url = `${this.base}/v2/${this.ref.repository}/manifests/${reference}`;
    const answer = await this.send("HEAD", url, { accept: MANIFEST_ACCEPT });
    answer.body.resume();
    const digest = answer.header("docker-content-digest");
    if (answer.ok && digest) return digest;
    if (answer.status === 404) {
      const name = `${this.ref.registry}/${this.ref.repository}:${reference}`;
      throw new SimPullError(404, `manifest for ${name} not found: manifest unknown: manifest unknown`);
    }
    const what =
      answer.status === 401
        ? "unauthorized"
        : answer.status === 429
          ? "toomanyrequests: 429 Too Many Requests"
          : `unexpected status code ${answer.status}`;
    throw new SimPullError(500, `Head "${url}": ${what}`);
  }

  /** A manifest's bytes and media type. */
  async manifest(reference: string): Promise<{ body: Buffer; mediaType: string }> {
    const url = `${this.base}/v2/${this.ref.repository}/manifests/${reference}`;
    const answer = await this.send("GET", url, { accept: MANIFEST_ACCEPT });
    if (!answer.ok) throw new SimPullError(500, `Get "${url}": ${await registryMessage(answer)}`);
    return { body: await readBody(answer.body), mediaType: answer.header("content-type") ?? "" };
  }

  /** A blob GET, its body left for the caller to read at the simulated rate. */
  async blob(digest: string): Promise<RegistryAnswer> {
    const url = `${this.base}/v2/${this.ref.repository}/blobs/${digest}`;
    const answer = await this.send("GET", url);
    if (!answer.ok) throw new SimPullError(500, `Get "${url}": ${await registryMessage(answer)}`);
    return answer;
  }
}
