/**
 * Bearer tokens by scope set: which cached token covers a repository scope, which scopes still need one, and
 * when a token stops being usable. Pure (the clock is a parameter), so each rule is a table test.
 */

/** Most scopes asked for in one token request, so the token URL stays far below common length limits. */
export const MAX_SCOPES_PER_TOKEN = 40;

/** Docker's token spec: a token without `expires_in` lives 60 s. */
export const DEFAULT_TOKEN_SECONDS = 60;

/** `repository:kasm/chrome:pull,push` → resource `repository:kasm/chrome` and its actions. */
export function parseScope(scope: string): { resource: string; actions: string[] } | undefined {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first <= 0 || last === first || last === scope.length - 1) return undefined;
  return {
    resource: scope.slice(0, last),
    actions: scope
      .slice(last + 1)
      .split(",")
      .filter(Boolean),
  };
}

/** Whether a token issued for `granted` may be used for `needed`: same resource, every action (or `*`). */
export function scopesCover(granted: Iterable<string>, needed: string): boolean {
  const want = parseScope(needed);
  if (!want) return false;
  const have = new Set<string>();
  for (const scope of granted) {
    const parsed = parseScope(scope);
    if (parsed?.resource === want.resource) for (const action of parsed.actions) have.add(action);
  }
  return have.has("*") || want.actions.every((action) => have.has(action));
}

/** Unique scopes in first-seen order, cut into token requests of at most `size` scopes. */
export function scopeBatches(scopes: Iterable<string>, size = MAX_SCOPES_PER_TOKEN): string[][] {
  const unique = [...new Set(scopes)];
  const batches: string[][] = [];
  for (let i = 0; i < unique.length; i += Math.max(1, size)) batches.push(unique.slice(i, i + size));
  return batches;
}

/**
 * When a token fetched at `startedMs` with `expires_in` seconds stops being used: a little early (a tenth of
 * its life, at most 10 s) so it never expires between the cache check and the request it goes with.
 */
export function tokenExpiry(startedMs: number, expiresInSeconds: number): number {
  const lifetimeMs = expiresInSeconds * 1000;
  return startedMs + lifetimeMs - Math.min(10_000, lifetimeMs / 10);
}

type Entry = { scopes: Set<string>; token: string; expiresAt: number };

/** Live tokens of one token service, each with the scopes it was asked for. */
export class TokenCache {
  private entries: Entry[] = [];

  /** A token, live at `now`, whose scopes cover `scope`. */
  find(scope: string, now: number): string | undefined {
    this.entries = this.entries.filter((e) => e.expiresAt > now);
    return this.entries.find((e) => scopesCover(e.scopes, scope))?.token;
  }

  /** The scopes no live token covers at `now`, in order, without repeats. */
  uncovered(scopes: Iterable<string>, now: number): string[] {
    return [...new Set(scopes)].filter((scope) => this.find(scope, now) === undefined);
  }

  put(scopes: readonly string[], token: string, expiresAt: number): void {
    this.entries.push({ scopes: new Set(scopes), token, expiresAt });
  }

  /** The registry refused the token itself (expired, revoked): no scope of it is used again. Returns its scopes. */
  forget(token: string): string[] {
    const scopes = this.entries.filter((e) => e.token === token).flatMap((e) => [...e.scopes]);
    this.entries = this.entries.filter((e) => e.token !== token);
    return scopes;
  }

  /**
   * The registry said the token lacks `scope` (a token service may grant fewer scopes than asked): it stays in
   * use for its other scopes, and `scope` gets a token of its own.
   */
  narrow(token: string, scope: string): void {
    const want = parseScope(scope);
    for (const entry of this.entries) {
      if (entry.token !== token) continue;
      for (const held of entry.scopes)
        if (parseScope(held)?.resource === want?.resource) entry.scopes.delete(held);
    }
  }

  clear(): void {
    this.entries = [];
  }
}
