/**
 * The lab proxy's Bearer mode: a token service and a gate in front of a Basic-auth registry, so tests
 * exercise the challenge, token and scope flow Docker Hub and most registries use, on loopback. Like Docker
 * Hub's, a token grants exactly the scopes it was issued for (several per request, as the token spec allows),
 * a request with a token lacking its scope is challenged with `error="insufficient_scope"`, and an expired or
 * unknown token with `error="invalid_token"`.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

export type BearerSettings = {
  username: string;
  password: string;
  tokenTtlSeconds?: number;
  /** Repositories the account may not read: tokens leave them out, as a token service grants a subset. */
  denied?: string[];
};

/** The actions a request needs on its repository: reads pull, everything else pushes. */
export function neededActions(method: string): string[] {
  return method === "GET" || method === "HEAD" ? ["pull"] : ["pull", "push"];
}

/** Parses `repository:<name>:<a,b>` scopes; anything else, or a denied repository, is left out like a real token service does. */
function parseScopes(scopes: string[], denied: ReadonlySet<string>): Map<string, Set<string>> {
  const granted = new Map<string, Set<string>>();
  for (const scope of scopes) {
    const match = /^repository:(.+):([a-z,*]+)$/.exec(scope);
    if (!match || denied.has(match[1]!)) continue;
    const actions = granted.get(match[1]!) ?? new Set<string>();
    for (const action of match[2]!.split(",")) actions.add(action);
    granted.set(match[1]!, actions);
  }
  return granted;
}

export class TokenService {
  private readonly tokens = new Map<string, { scopes: Map<string, Set<string>>; expiresAt: number }>();
  /** Token requests answered, granted or not, with the scopes asked for. */
  readonly issued: { scopes: string[]; granted: boolean }[] = [];

  constructor(
    private readonly settings: BearerSettings,
    private readonly realm: string,
  ) {}

  /**
   * The challenge for a request `allows` refused, with the scope it needs and, when a token came with it, why
   * that token was not enough.
   */
  challenge(authorization: string | undefined, repository: string | undefined, method: string): string {
    const scope = repository ? `,scope="repository:${repository}:${neededActions(method).join(",")}"` : "";
    const token = bearerToken(authorization);
    const error = token === undefined ? "" : this.live(token) ? "insufficient_scope" : "invalid_token";
    return `Bearer realm="${this.realm}",service="lab"${scope}${error ? `,error="${error}"` : ""}`;
  }

  /** Every token issued so far stops working, as when a token service rotates its signing key. */
  revokeAll(): void {
    this.tokens.clear();
  }

  private live(token: string) {
    const entry = this.tokens.get(token);
    return entry !== undefined && entry.expiresAt > Date.now() ? entry : undefined;
  }

  /** Serves `GET /token`: Basic credentials required, a random token bound to the requested scopes. */
  serveToken(req: IncomingMessage, res: ServerResponse, url: URL): number {
    const scopes = url.searchParams
      .getAll("scope")
      .flatMap((s) => s.split(" "))
      .filter(Boolean);
    const expected = `Basic ${Buffer.from(`${this.settings.username}:${this.settings.password}`).toString("base64")}`;
    const granted = req.headers.authorization === expected;
    this.issued.push({ scopes, granted });
    if (!granted) {
      res.writeHead(401, {
        "content-type": "application/json",
        "www-authenticate": 'Basic realm="lab-token"',
      });
      res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
      return 401;
    }
    const ttl = this.settings.tokenTtlSeconds ?? 300;
    const token = randomBytes(24).toString("base64url");
    const denied = new Set(this.settings.denied ?? []);
    this.tokens.set(token, { scopes: parseScopes(scopes, denied), expiresAt: Date.now() + ttl * 1000 });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({ token, access_token: token, expires_in: ttl, issued_at: new Date().toISOString() }),
    );
    return 200;
  }

  /** Whether the request's Bearer token is live and covers its repository and actions. */
  allows(authorization: string | undefined, repository: string | undefined, method: string): boolean {
    const token = bearerToken(authorization);
    const entry = token === undefined ? undefined : this.live(token);
    if (!entry) return false;
    if (repository === undefined) return true;
    const actions = entry.scopes.get(repository);
    return neededActions(method).every((a) => actions?.has(a) || actions?.has("*"));
  }
}

function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer (.+)$/i.exec(authorization ?? "")?.[1];
}
