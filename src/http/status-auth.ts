import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** The token a request offers: `Authorization: Bearer TOKEN`, else `?token=TOKEN` (what a browser link or EventSource can carry). */
export function offeredToken(headers: IncomingHttpHeaders, target: string | undefined): string | undefined {
  const auth = headers.authorization;
  const bearer = auth ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth) : null;
  if (bearer) return bearer[1];
  const query = (target ?? "").split("#", 1)[0]!.split("?")[1];
  if (query === undefined) return undefined;
  return new URLSearchParams(query).get("token") ?? undefined;
}

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/** Compares in constant time (over hashes, so neither the token's length nor its prefix leaks). */
export function tokenMatches(expected: string, offered: string | undefined): boolean {
  if (offered === undefined) return false;
  return timingSafeEqual(digest(expected), digest(offered));
}
