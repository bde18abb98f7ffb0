/**
 * Registry authentication: anonymous until a 401 says otherwise, then Basic or a Bearer token per scope.
 * The scheme a registry wants is remembered, so later requests carry credentials up front and a plan's
 * many HEADs cost one token request per repository, not one 401 round trip each.
 */
import { KasmGitopsError } from "../core/errors.js";
import type { Credentials } from "../ports.js";
import { errorForResponse, type RegistryErrorContext, registryErrorDetail } from "./registry-errors.js";
import { parseChallenges } from "./registry-headers.js";
import { basicAuthorization, type RegistryRequestInfo, withDeadline } from "./registry-http.js";

type Scheme = { kind: "anonymous" } | { kind: "basic" } | { kind: "bearer"; realm: string; service?: string };
type CachedToken = { token: string; expiresAt: number };

/** Docker's token spec: a token without `expires_in` lives 60 s. */
const DEFAULT_TOKEN_SECONDS = 60;

export type RegistryAuthOptions = {
  credentials?: Credentials;
  fetch: typeof fetch;
  now: () => number;
  timeoutMs: number;
  onRequest?: (info: RegistryRequestInfo) => void;
};

export class RegistryAuth {
  private scheme: Scheme = { kind: "anonymous" };
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(private readonly options: RegistryAuthOptions) {}

  /** The Authorization header to send for `scope` now, fetching a token when the scheme is Bearer. */
  async authorization(
    scope: string,
    context: RegistryErrorContext,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const scheme = this.scheme;
    if (scheme.kind === "anonymous") return undefined;
    if (scheme.kind === "basic") {
      return this.options.credentials ? basicAuthorization(this.options.credentials) : undefined;
    }
    return `Bearer ${await this.token(scheme, scope, context, signal)}`;
  }

  /**
   * Learns from a 401's `WWW-Authenticate`; true when a retry can do better than what was sent.
   * A rejected cached token is dropped so the retry fetches a fresh one.
   */
  challenge(header: string | null, scope: string, sent: string | undefined): boolean {
    const challenges = parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
    if (bearer) {
      const realm = bearer.params.realm!;
      const service = bearer.params.service;
      this.scheme = { kind: "bearer", realm, ...(service === undefined ? {} : { service }) };
      if (sent?.startsWith("Bearer ")) this.tokens.delete(this.cacheKey(realm, service, scope));
      return true;
    }
    if (challenges.some((c) => c.scheme === "basic") && this.options.credentials) {
      const retry = !sent?.startsWith("Basic ");
      this.scheme = { kind: "basic" };
      return retry;
    }
    return false;
  }

  private cacheKey(realm: string, service: string | undefined, scope: string): string {
    return `${realm}\n${service ?? ""}\n${scope}`;
  }

  private async token(
    scheme: Extract<Scheme, { kind: "bearer" }>,
    scope: string,
    context: RegistryErrorContext,
    signal?: AbortSignal,
  ): Promise<string> {
    const key = this.cacheKey(scheme.realm, scheme.service, scope);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.options.now()) return cached.token;
    // Concurrent requests for one scope share a single token request.
    let pending = this.pending.get(key);
    if (!pending) {
      pending = this.requestToken(scheme, scope, key, context, signal).finally(() =>
        this.pending.delete(key),
      );
      this.pending.set(key, pending);
    }
    return pending;
  }

  private async requestToken(
    scheme: Extract<Scheme, { kind: "bearer" }>,
    scope: string,
    key: string,
    context: RegistryErrorContext,
    signal?: AbortSignal,
  ): Promise<string> {
    let url: URL;
    try {
      url = new URL(scheme.realm);
    } catch (error) {
      throw new KasmGitopsError(
        "registry-error",
        `${context.host} sent a Bearer challenge with an invalid realm`,
        { ...context, realm: scheme.realm },
        { cause: error },
      );
    }
    if (scheme.service !== undefined) url.searchParams.set("service", scheme.service);
    url.searchParams.set("scope", scope);
    const { credentials } = this.options;
    const headers: Record<string, string> = credentials
      ? { authorization: basicAuthorization(credentials) }
      : {};
    const started = this.options.now();
    const tokenContext = { ...context, host: url.host };
    const body = await withDeadline(tokenContext, this.options.timeoutMs, signal, async (deadline) => {
      let status = 0;
      try {
        const response = await this.options.fetch(url, { headers, signal: deadline });
        status = response.status;
        const text = await response.text();
        if (!response.ok) {
          throw errorForResponse(tokenContext, {
            status,
            headers: response.headers,
            credentialsSent: credentials !== undefined,
            access: scope.endsWith("push") ? "push" : "pull",
            detail: registryErrorDetail(text) ?? `token service at ${url.origin}${url.pathname}`,
            now: this.options.now(),
          });
        }
        return text;
      } finally {
        this.options.onRequest?.({
          method: "GET",
          host: url.host,
          path: url.pathname,
          status,
          durationMs: this.options.now() - started,
        });
      }
    });
    const parsed = parseTokenResponse(body);
    if (!parsed) {
      throw new KasmGitopsError(
        "registry-error",
        `the token service at ${url.origin}${url.pathname} answered without a token`,
        tokenContext,
      );
    }
    const lifetimeMs = parsed.expiresIn * 1000;
    // Renew a little early so a token never expires between the cache check and the request.
    this.tokens.set(key, {
      token: parsed.token,
      expiresAt: started + lifetimeMs - Math.min(10_000, lifetimeMs / 10),
    });
    return parsed.token;
  }
}

/** `token` (Docker) or `access_token` (OAuth2), and `expires_in` seconds. */
export function parseTokenResponse(body: string): { token: string; expiresIn: number } | undefined {
  try {
    const json = JSON.parse(body) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
    const token = typeof json.token === "string" && json.token ? json.token : json.access_token;
    if (typeof token !== "string" || token === "") return undefined;
    const expiresIn =
      typeof json.expires_in === "number" && json.expires_in > 0 ? json.expires_in : DEFAULT_TOKEN_SECONDS;
    return { token, expiresIn };
  } catch {
    return undefined;
  }
}
