/**
 * Pure parsers for the headers a registry answers with: auth challenges, Retry-After and rate limits.
 * Kept apart from the HTTP code so each rule is a table test.
 */

/** Every manifest media type, most specific first; schema1 last because it is deprecated but still seen. */
export const MANIFEST_MEDIA_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
] as const;

/** The Accept header every manifest request sends, so a registry never converts an index to a manifest. */
export const MANIFEST_ACCEPT = MANIFEST_MEDIA_TYPES.join(", ");

/** One challenge of a `WWW-Authenticate` header; parameter names are lower-case. */
export type Challenge = { scheme: string; params: Record<string, string> };

const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;
/** token68 (RFC 7235) adds "/" and "=" to the token characters. */
const TOKEN68_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z/=-]/;

/**
 * Parses `WWW-Authenticate` into its challenges (RFC 7235): several per header, quoted values with
 * commas and escapes, unquoted values, and any spacing. Malformed input yields what could be read.
 */
export function parseChallenges(header: string | null | undefined): Challenge[] {
  const text = header ?? "";
  const challenges: Challenge[] = [];
  let pos = 0;
  const skip = (chars: RegExp) => {
    while (pos < text.length && chars.test(text[pos]!)) pos++;
  };
  const token = (chars: RegExp = TOKEN_CHAR) => {
    const start = pos;
    while (pos < text.length && chars.test(text[pos]!)) pos++;
    return text.slice(start, pos);
  };
  const quoted = () => {
    let value = "";
    pos++; // opening quote
    while (pos < text.length && text[pos] !== '"') {
      if (text[pos] === "\\" && pos + 1 < text.length) pos++;
      value += text[pos];
      pos++;
    }
    pos++; // closing quote
    return value;
  };
  while (pos < text.length) {
    skip(/[\s,]/);
    const scheme = token();
    if (scheme === "") {
      if (pos < text.length) pos++; // an unexpected character: step over it
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    for (;;) {
      const save = pos;
      skip(/[\s,]/);
      const name = token();
      skip(/[ \t]/);
      // `abc==` followed by a comma or the end is a token68 credential, not a parameter.
      if (name === "" || text[pos] !== "=" || /^=+\s*(?:,|$)/.test(text.slice(pos))) {
        pos = save;
        break;
      }
      pos++;
      skip(/[ \t]/);
      challenge.params[name.toLowerCase()] = text[pos] === '"' ? quoted() : token(TOKEN68_CHAR);
    }
    // A token68 credential (`Negotiate abc==`) has no name=value shape; step over it.
    skip(/[ \t]/);
    if (pos < text.length && text[pos] !== ",") token(TOKEN68_CHAR);
  }
  return challenges;
}

/** The challenge a client can answer: Bearer (with its realm) before Basic; `error` says why a token was refused. */
export type AuthChallenge =
  | { scheme: "bearer"; realm: string; service?: string; scope?: string; error?: string }
  | { scheme: "basic" };

/** Picks the challenge to answer from a `WWW-Authenticate` header; undefined when there is none we speak. */
export function authChallenge(header: string | null | undefined): AuthChallenge | undefined {
  const challenges = parseChallenges(header);
  const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
  if (bearer) {
    const { realm, service, scope, error } = bearer.params;
    return {
      scheme: "bearer",
      realm: realm!,
      ...(service === undefined ? {} : { service }),
      ...(scope === undefined ? {} : { scope }),
      ...(error === undefined ? {} : { error }),
    };
  }
  return challenges.some((c) => c.scheme === "basic") ? { scheme: "basic" } : undefined;
}

/** `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date; undefined when absent or invalid. */
export function parseRetryAfter(
  header: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  if (!/[a-z]/i.test(value)) return undefined; // "-1", "1.5": neither seconds nor a date
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The count in `ratelimit-remaining`/`ratelimit-limit`, Docker Hub's `100;w=21600` form included. */
export function parseRateLimitValue(header: string | null | undefined): number | undefined {
  const match = /^\s*(\d+)\s*(?:[;,].*)?$/.exec(header ?? "");
  return match ? Number(match[1]) : undefined;
}

/** The `repository:<name>:<actions>` scope a token must carry for a read or a write. */
export function repositoryScope(repository: string, access: "pull" | "push"): string {
  return `repository:${repository}:${access === "push" ? "pull,push" : "pull"}`;
}

/**
 * The next page of a paginated list from its `Link` header (`</v2/x/tags/list?last=a&n=50>; rel="next"`), as a
 * path with its query, resolved against `base`; undefined when there is none or it names another origin.
 */
export function nextPageLink(header: string | null | undefined, base: string): string | undefined {
  for (const part of (header ?? "").split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (!match || !/;\s*rel="?next"?(?:\s*;|\s*$)/i.test(match[2]!)) continue;
    let url: URL;
    try {
      url = new URL(match[1]!, base);
    } catch {
      return undefined;
    }
    return url.origin === new URL(base).origin ? `${url.pathname}${url.search}` : undefined;
  }
  return undefined;
}
