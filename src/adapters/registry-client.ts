/**
 * The registry HTTP API v2 client: manifest HEAD/GET/PUT with every manifest media type accepted, so
 * digests are compared at the level the registry returns and promotion copies bytes unchanged.
 * It never retries (callers decide, using `isTransient`), except the one retry an auth challenge needs.
 */
import { KasmGitopsError } from "../core/errors.js";
import type { ImageReference } from "../core/image/reference.js";
import type { Credentials, ManifestResponse, RateLimit, RegistryClient, TagPage } from "../ports.js";
import { type PingAnswer, RegistryAuth } from "./registry-auth.js";
import { errorForResponse, type RegistryErrorContext, registryErrorDetail } from "./registry-errors.js";
import {
  authChallenge,
  MANIFEST_ACCEPT,
  nextPageLink,
  parseRateLimitValue,
  parseRetryAfter,
  repositoryScope,
} from "./registry-headers.js";
import { DEFAULT_TIMEOUT_MS, type RegistryRequestInfo, withDeadline } from "./registry-http.js";
import { digestOf, embeddedMediaType, isDigest, mediaTypeOf, readLimited } from "./registry-manifest.js";

export { isTransient } from "../core/errors.js";
export type { RegistryRequestInfo } from "./registry-http.js";

export type RegistryClientOptions = {
  /** The host as written in image references (`docker.io` for Docker Hub), with `:port` when given. */
  host: string;
  /** Plain HTTP instead of HTTPS. */
  insecure?: boolean;
  credentials?: Credentials;
  /** The Registry manifest's name, so error messages say which one to fix. */
  name?: string;
  fetch?: typeof fetch;
  /** Hears every HTTP exchange (method, host, path, status, duration), for metrics and tests. */
  onRequest?: (info: RegistryRequestInfo) => void;
  /** Deadline per HTTP exchange, body included; default 30 s. */
  timeoutMs?: number;
  now?: () => number;
};

const REFERENCE_RE = /^(?:[\w][\w.-]{0,127}|[a-z0-9]+:[a-f0-9]{32,})$/;

/** Docker Hub's API lives on another host than its image references name. */
export function apiBaseUrl(host: string, insecure = false): string {
  const apiHost = host === "docker.io" || host === "index.docker.io" ? "registry-1.docker.io" : host;
  return `${insecure ? "http" : "https"}://${apiHost}`;
}

type Exchange = { response: Response; body?: Buffer };
type ExchangeRequest = {
  method: "HEAD" | "GET" | "PUT";
  ref: ImageReference;
  reference: string;
  /** Another path than the reference's manifest (the tag list); its query string is never reported. */
  path?: string;
  access: "pull" | "push";
  headers: Record<string, string>;
  body?: Buffer;
};

class HttpRegistryClient implements RegistryClient {
  readonly host: string;
  private readonly baseUrl: string;
  private readonly auth: RegistryAuth;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private limits: RateLimit = {};

  constructor(private readonly options: RegistryClientOptions) {
    this.host = options.host;
    this.baseUrl = apiBaseUrl(options.host, options.insecure);
    this.fetch = options.fetch ?? globalThis.fetch;
    this.now = options.now ?? Date.now;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.auth = new RegistryAuth({
      fetch: this.fetch,
      now: this.now,
      timeoutMs: this.timeoutMs,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
    });
  }

  async headDigest(
    ref: ImageReference,
    signal?: AbortSignal,
  ): Promise<{ digest: string; mediaType: string }> {
    const reference = ref.digest ?? ref.tag ?? "latest";
    const { response } = await this.exchange(
      { method: "HEAD", ref, reference, access: "pull", headers: { accept: MANIFEST_ACCEPT } },
      signal,
    );
    const digest = response.headers.get("docker-content-digest");
    // Some registries omit the digest on HEAD (or send junk); the bytes then say what it is.
    if (!digest || !isDigest(digest)) {
      const manifest = await this.getManifest(ref, reference, signal);
      return { digest: manifest.digest, mediaType: manifest.mediaType };
    }
    return { digest, mediaType: mediaTypeOf(response.headers) };
  }

  async getManifest(ref: ImageReference, reference: string, signal?: AbortSignal): Promise<ManifestResponse> {
    const { response, body } = await this.exchange(
      { method: "GET", ref, reference, access: "pull", headers: { accept: MANIFEST_ACCEPT } },
      signal,
    );
    const bytes = body ?? Buffer.alloc(0);
    const byDigest = reference.includes(":");
    const expected = byDigest ? reference : (response.headers.get("docker-content-digest") ?? undefined);
    const algorithm = expected?.split(":")[0] ?? "sha256";
    const actual = digestOf(bytes, algorithm);
    if (expected !== undefined && expected !== actual) {
      throw new KasmGitopsError(
        "registry-error",
        `${this.host}/${ref.repository}: the manifest for ${reference} hashes to ${actual}, not ${expected}; refusing bytes that do not match their digest`,
        { ...this.context(ref, reference), expected, actual },
      );
    }
    const mediaType = mediaTypeOf(response.headers) || embeddedMediaType(bytes);
    return { digest: actual, mediaType, body: bytes };
  }

  async putManifest(
    ref: ImageReference,
    tag: string,
    body: Buffer,
    mediaType: string,
    signal?: AbortSignal,
  ): Promise<string> {
    const { response } = await this.exchange(
      { method: "PUT", ref, reference: tag, access: "push", headers: { "content-type": mediaType }, body },
      signal,
    );
    return response.headers.get("docker-content-digest") ?? digestOf(body);
  }

  /**
   * One page of the repository's tags (`GET /v2/<name>/tags/list?n=`), and the next page's path when the
   * registry's `Link` header names one. Same auth, errors and rate-limit bookkeeping as the manifest calls.
   */
  async tagPage(
    ref: ImageReference,
    options: { pageSize: number; next?: string },
    signal?: AbortSignal,
  ): Promise<TagPage> {
    const first = `/v2/${ref.repository}/tags/list?n=${options.pageSize}`;
    const path = options.next ?? first;
    if (!path.startsWith(`/v2/${ref.repository}/tags/list`)) {
      throw new KasmGitopsError(
        "registry-error",
        `${this.host}/${ref.repository}: the tag list's next page points elsewhere (${path.split("?")[0]}); refusing to follow it`,
        this.context(ref, ""),
      );
    }
    const { response, body } = await this.exchange(
      { method: "GET", ref, reference: "", path, access: "pull", headers: { accept: "application/json" } },
      signal,
    );
    let tags: unknown;
    try {
      tags = (JSON.parse((body ?? Buffer.alloc(0)).toString("utf8")) as { tags?: unknown }).tags;
    } catch {
      tags = undefined;
    }
    // A repository with no tags left answers `"tags": null`; anything else that is not a list is an error.
    if (tags !== null && !(Array.isArray(tags) && tags.every((t) => typeof t === "string"))) {
      throw new KasmGitopsError(
        "registry-error",
        `${this.host}/${ref.repository}: the tag list is not JSON of the form {"tags": [...]}`,
        this.context(ref, ""),
      );
    }
    const next = nextPageLink(response.headers.get("link"), this.baseUrl);
    return { tags: (tags as string[] | null) ?? [], ...(next ? { next } : {}) };
  }

  /**
   * Before checking a batch of references: learn the auth scheme with one ping when it is unknown, then fetch
   * one token for all their repositories, so no reference pays a 401 round trip or a token request of its own.
   * Never throws: whatever fails here fails again, per reference, in the requests that follow.
   */
  async prepare(refs: readonly ImageReference[], signal?: AbortSignal): Promise<void> {
    const mine = refs.filter((ref) => ref.registry === this.host);
    const first = mine[0];
    if (!first) return;
    const context = this.context(first, first.digest ?? first.tag ?? "latest");
    if (!this.auth.known) await this.auth.learn(() => this.ping(context, signal));
    const scopes = mine.map((ref) => repositoryScope(ref.repository, "pull"));
    await this.auth.prefetch(scopes, context, signal);
  }

  rateLimit(): RateLimit {
    return { ...this.limits };
  }

  private context(ref: ImageReference, reference: string): RegistryErrorContext {
    return {
      host: this.host,
      repository: ref.repository,
      reference,
      ...(this.options.name ? { registryName: this.options.name } : {}),
    };
  }

  /** One manifest request, with the single retry an auth challenge asks for; non-2xx becomes a typed error. */
  private async exchange(request: ExchangeRequest, signal?: AbortSignal): Promise<Exchange> {
    const { ref, reference } = request;
    const context = this.context(ref, reference);
    if (ref.registry !== this.host) {
      throw new KasmGitopsError(
        "internal",
        `the client for ${this.host} was asked about ${ref.canonical}`,
        context,
      );
    }
    if (request.path === undefined && !REFERENCE_RE.test(reference)) {
      throw new KasmGitopsError(
        "invalid-image-reference",
        `"${reference}" is neither a tag nor a digest (repository ${ref.repository} on ${this.host})`,
        context,
      );
    }
    const scope = repositoryScope(ref.repository, request.access);
    let authorization = await this.auth.authorization(scope, context, signal);
    let result = await this.attempt(request, context, authorization, signal);
    const header = result.response.headers.get("www-authenticate");
    if (result.response.status === 401 && this.auth.challenge(header, scope, authorization)) {
      authorization = await this.auth.authorization(scope, context, signal);
      result = await this.attempt(request, context, authorization, signal);
    }
    const { response } = result;
    if (response.ok) return { response, ...(result.body ? { body: result.body } : {}) };
    const answer =
      response.status === 401 ? authChallenge(response.headers.get("www-authenticate")) : undefined;
    const challengeError = answer?.scheme === "bearer" ? answer.error : undefined;
    throw errorForResponse(context, {
      status: response.status,
      headers: response.headers,
      credentialsSent: authorization !== undefined && this.options.credentials !== undefined,
      access: request.access,
      ...(result.detail ? { detail: result.detail } : {}),
      ...(challengeError ? { challengeError } : {}),
      now: this.now(),
    });
  }

  private attempt(
    request: ExchangeRequest,
    context: RegistryErrorContext,
    authorization: string | undefined,
    signal?: AbortSignal,
  ): Promise<Exchange & { detail?: string }> {
    const path = request.path ?? `/v2/${request.ref.repository}/manifests/${request.reference}`;
    const init = {
      headers: { ...request.headers, ...(authorization ? { authorization } : {}) },
      ...(request.body ? { body: request.body } : {}),
    };
    return this.send(request.method, path, init, context, signal, async (response) => {
      if (!response.ok) {
        const detail = registryErrorDetail(await response.text());
        return { response, ...(detail ? { detail } : {}) };
      }
      if (request.method !== "GET") return { response };
      return { response, body: await readLimited(response, context) };
    });
  }

  /** `GET /v2/` without credentials: the registry's challenge (or none) says which scheme it wants. */
  private ping(context: RegistryErrorContext, signal?: AbortSignal): Promise<PingAnswer> {
    return this.send("GET", "/v2/", { headers: {} }, context, signal, async (response) => {
      await response.arrayBuffer();
      return { status: response.status, challenge: response.headers.get("www-authenticate") };
    });
  }

  /** One HTTP exchange under the deadline: its rate-limit headers kept, and reported to `onRequest`. */
  private send<T>(
    method: string,
    path: string,
    init: { headers: Record<string, string>; body?: Buffer },
    context: RegistryErrorContext,
    signal: AbortSignal | undefined,
    read: (response: Response) => Promise<T>,
  ): Promise<T> {
    return withDeadline(context, this.timeoutMs, signal, async (deadline) => {
      const started = this.now();
      let status = 0;
      try {
        const response = await this.fetch(`${this.baseUrl}${path}`, { method, ...init, signal: deadline });
        status = response.status;
        this.observe(response);
        return await read(response);
      } finally {
        const durationMs = this.now() - started;
        const shown = path.split("?")[0]!;
        this.options.onRequest?.({ method, host: this.host, path: shown, status, durationMs });
      }
    });
  }

  /** Keeps what the registry last said about its rate limit; a success clears an old Retry-After. */
  private observe(response: Response): void {
    const remaining = parseRateLimitValue(response.headers.get("ratelimit-remaining"));
    const limit = parseRateLimitValue(response.headers.get("ratelimit-limit"));
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), this.now());
    const next: RateLimit = { ...this.limits };
    if (remaining !== undefined) next.remaining = remaining;
    if (limit !== undefined) next.limit = limit;
    if (retryAfterMs !== undefined) next.retryAfterMs = retryAfterMs;
    else if (response.ok) delete next.retryAfterMs;
    this.limits = next;
  }
}

/** A RegistryClient for one registry host, with its credentials bound. */
export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  return new HttpRegistryClient(options);
}
