/**
 * Registry authentication: learn what the registry wants (Basic or a Bearer token service, from a ping or a 401)
 * once, then send it up front. Bearer tokens are cached by scope set until they expire, and a batch of
 * references gets one token for all its repositories, so a refresh costs one HEAD per reference and at most
 * one token request per registry.
 */
import { KasmGitopsError } from "../core/errors.js";
import type { Credentials } from "../ports.js";
import {
  errorForResponse,
  type RegistryErrorContext,
  type ResponseFacts,
  registryErrorDetail,
} from "./registry-errors.js";
import { type AuthChallenge, authChallenge } from "./registry-headers.js";
import { basicAuthorization, type RegistryRequestInfo, withDeadline } from "./registry-http.js";
import {
  DEFAULT_TOKEN_SECONDS,
  scopeBatches,
  scopesCover,
  TokenCache,
  tokenExpiry,
} from "./registry-tokens.js";

type Bearer = { kind: "bearer"; realm: string; service?: string };
type Scheme = { kind: "anonymous" } | { kind: "basic" } | Bearer;

/** What a ping (`GET /v2/`) answered: enough to learn the scheme. */
export type PingAnswer = { status: number; challenge: string | null };

export type RegistryAuthOptions = {
  credentials?: Credentials;
  fetch: typeof fetch;
  now: () => number;
  timeoutMs: number;
  onRequest?: (info: RegistryRequestInfo) => void;
};

export class RegistryAuth {
  /** Unknown until a ping or a 401 says; then every request carries what the registry wants up front. */
  private scheme: Scheme | undefined;
  private learning: Promise<void> | undefined;
  private readonly tokens = new TokenCache();
  /** Token requests in flight with their scopes, so a request for a scope they cover waits instead of asking. */
  private pending: { scopes: readonly string[]; token: Promise<string> }[] = [];
  /** The scopes of a token the registry called invalid (revoked), so the first retry renews them all at once. */
  private renew: string[] | undefined;
  /** The token service's last 401 (credentials refused), so the other references of a batch do not ask again. */
  private refused: { facts: ResponseFacts; host: string } | undefined;

  constructor(private readonly options: RegistryAuthOptions) {}

  get known(): boolean {
    return this.scheme !== undefined;
  }

  /** Learns the scheme from one ping, shared by concurrent callers; a failed ping leaves it unknown. */
  learn(ping: () => Promise<PingAnswer>): Promise<void> {
    if (this.scheme) return Promise.resolve();
    this.learning ??= ping()
      .then(({ status, challenge }) => {
        if (status >= 200 && status < 300) this.scheme ??= { kind: "anonymous" };
        else if (status === 401) this.adopt(authChallenge(challenge));
      })
      .catch(() => undefined)
      .finally(() => {
        this.learning = undefined;
      });
    return this.learning;
  }

  /** The Authorization header to send for `scope` now, fetching a token when the scheme is Bearer. */
  async authorization(
    scope: string,
    context: RegistryErrorContext,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const scheme = this.scheme;
    if (scheme === undefined || scheme.kind === "anonymous") return undefined;
    if (scheme.kind === "basic") {
      return this.options.credentials ? basicAuthorization(this.options.credentials) : undefined;
    }
    return `Bearer ${await this.token(scheme, scope, context, signal)}`;
  }

  /**
   * Fetches tokens for every scope no live token covers, several scopes per request. Never throws: a failure
   * here is met again, per reference and with its own context, by the requests that follow.
   */
  async prefetch(scopes: readonly string[], context: RegistryErrorContext, signal?: AbortSignal) {
    this.refused = undefined;
    const scheme = this.scheme;
    if (scheme?.kind !== "bearer") return;
    const needed = this.tokens
      .uncovered(scopes, this.options.now())
      .filter((scope) => !this.pending.some((p) => scopesCover(p.scopes, scope)));
    await Promise.all(
      scopeBatches(needed).map((batch) =>
        this.fetchToken(scheme, batch, context, signal).catch(() => undefined),
      ),
    );
  }

  /**
   * Learns from a 401's `WWW-Authenticate`; true when a retry can do better than what was sent. A token the
   * registry refused is dropped (expired, revoked), or stops being used for this scope (`insufficient_scope`),
   * so the one retry fetches a token that can do it.
   */
  challenge(header: string | null, scope: string, sent: string | undefined): boolean {
    const challenge = authChallenge(header);
    if (!challenge) return false;
    if (challenge.scheme === "bearer" && sent?.startsWith("Bearer ")) {
      const token = sent.slice("Bearer ".length);
      if (challenge.error === "insufficient_scope") this.tokens.narrow(token, scope);
      else {
        const scopes = this.tokens.forget(token);
        // Renewing every scope at once is safe only when the registry says the token itself went bad: a bare
        // 401 may mean a token service that grants one scope per request, so the retry asks for this one.
        if (challenge.error === "invalid_token" && scopes.length > 0) this.renew = scopes;
      }
    }
    this.adopt(challenge);
    if (challenge.scheme === "bearer") return true;
    return this.options.credentials !== undefined && !sent?.startsWith("Basic ");
  }

  private adopt(challenge: AuthChallenge | undefined): void {
    if (challenge?.scheme === "basic") {
      // Without credentials there is nothing to send: requests stay anonymous and a 401 says so.
      this.scheme = this.options.credentials ? { kind: "basic" } : { kind: "anonymous" };
      return;
    }
    if (challenge?.scheme !== "bearer") return;
    const { realm, service } = challenge;
    const current = this.scheme;
    if (current?.kind !== "bearer" || current.realm !== realm || current.service !== service) {
      this.tokens.clear();
    }
    this.scheme = { kind: "bearer", realm, ...(service === undefined ? {} : { service }) };
  }

  private async token(
    scheme: Bearer,
    scope: string,
    context: RegistryErrorContext,
    signal?: AbortSignal,
  ): Promise<string> {
    const cached = this.tokens.find(scope, this.options.now());
    if (cached) return cached;
    const pending = this.pending.find((p) => scopesCover(p.scopes, scope));
    if (pending) {
      await pending.token.catch(() => undefined);
      const shared = this.tokens.find(scope, this.options.now());
      if (shared) return shared;
    }
    if (this.refused) throw errorForResponse({ ...context, host: this.refused.host }, this.refused.facts);
    // The other requests that held a revoked token find this renewal pending, or its token cached.
    const renew = this.renew && scopesCover(this.renew, scope) ? this.renew : undefined;
    if (renew) this.renew = undefined;
    return this.fetchToken(scheme, renew ?? [scope], context, signal);
  }

  /** One token request for `scopes`, registered so concurrent requests for a scope it covers share it. */
  private fetchToken(
    scheme: Bearer,
    scopes: readonly string[],
    context: RegistryErrorContext,
    signal?: AbortSignal,
  ): Promise<string> {
    const entry = { scopes, token: this.requestToken(scheme, scopes, context, signal) };
    this.pending.push(entry);
    const done = () => {
      this.pending = this.pending.filter((p) => p !== entry);
    };
    entry.token.then(done, done);
    return entry.token;
  }

  private async requestToken(
    scheme: Bearer,
    scopes: readonly string[],
    context: RegistryErrorContext,
    signal?: AbortSignal,
  ): Promise<string> {
    const url = tokenUrl(scheme, scopes, context);
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
          const facts: ResponseFacts = {
            status,
            headers: response.headers,
            credentialsSent: credentials !== undefined,
            access: scopes.some((s) => s.endsWith("push")) ? "push" : "pull",
            detail: registryErrorDetail(text) ?? `token service at ${url.origin}${url.pathname}`,
            now: this.options.now(),
          };
          // A token service answers 401 for the credentials, whatever the scopes (the spec leaves access
          // decisions to the token's contents), so the refusal holds for every scope of this registry.
          if (status === 401) this.refused = { facts, host: url.host };
          throw errorForResponse(tokenContext, facts);
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
    this.refused = undefined;
    this.tokens.put(scopes, parsed.token, tokenExpiry(started, parsed.expiresIn));
    return parsed.token;
  }
}

/** The token request: the challenge's service and one `scope` parameter per scope, as the token spec asks. */
function tokenUrl(scheme: Bearer, scopes: readonly string[], context: RegistryErrorContext): URL {
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
  url.searchParams.delete("scope");
  for (const scope of scopes) url.searchParams.append("scope", scope);
  return url;
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
