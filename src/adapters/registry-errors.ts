/**
 * Turns registry answers into typed errors that say what to fix, so callers switch on codes, retry only
 * what is transient, and never see a credential in a message.
 */
import { KasmGitopsError } from "../core/errors.js";
import { parseRetryAfter } from "./registry-headers.js";

/** What a request was about; every registry error carries it as context. */
export type RegistryErrorContext = {
  host: string;
  repository: string;
  reference: string;
  /** The Registry manifest's name, so a message can say which one to fix. */
  registryName?: string;
};

export type ResponseFacts = {
  status: number;
  headers: Headers;
  /** Whether credentials went with the final attempt (never the credentials themselves). */
  credentialsSent: boolean;
  access: "pull" | "push";
  /** First error of a registry's JSON error body, when it had one. */
  detail?: string;
  /** The `error` of a 401's Bearer challenge: `insufficient_scope` when a token was sent without the access. */
  challengeError?: string;
  now?: number;
};

function registryLabel(context: RegistryErrorContext): string {
  return context.registryName
    ? `the Registry "${context.registryName}" (${context.host})`
    : `the Registry for ${context.host}`;
}

function target(context: RegistryErrorContext): string {
  if (context.reference === "") return `${context.host}/${context.repository}`;
  const separator = context.reference.includes(":") ? "@" : ":";
  return `${context.host}/${context.repository}${separator}${context.reference}`;
}

/** Maps a non-success status to the error an operator can act on. */
export function errorForResponse(context: RegistryErrorContext, facts: ResponseFacts): KasmGitopsError {
  const { status } = facts;
  const where = target(context);
  const detail = facts.detail ? ` (${facts.detail})` : "";
  const ctx = { ...context, status };
  if (status === 401 && facts.challengeError === "insufficient_scope") {
    // Docker Hub's answer for a repository that does not exist or that the account may not read.
    const right = facts.access === "push" ? "push to" : "pull from";
    const who = facts.credentialsSent
      ? `the account of ${registryLabel(context)} may not ${right} it`
      : `it needs spec.auth on ${registryLabel(context)}`;
    return new KasmGitopsError(
      "registry-unauthorized",
      `${where}: unauthorized (HTTP 401): the token service granted no ${facts.access} access to ${context.repository} (insufficient_scope): the repository does not exist, or ${who}`,
      ctx,
    );
  }
  if (status === 401) {
    const hint = facts.credentialsSent
      ? `the credentials were sent and rejected; fix spec.auth of ${registryLabel(context)}`
      : `no credentials were sent; add spec.auth to ${registryLabel(context)}`;
    return new KasmGitopsError("registry-unauthorized", `${where}: unauthorized (HTTP 401): ${hint}`, ctx);
  }
  if (status === 403) {
    const right = facts.access === "push" ? "push to" : "pull from";
    return new KasmGitopsError(
      "registry-forbidden",
      `${where}: forbidden (HTTP 403): the account of ${registryLabel(context)} may not ${right} ${context.repository}${detail}`,
      ctx,
    );
  }
  if (status === 404 && context.reference === "") {
    return new KasmGitopsError(
      "registry-not-found",
      `${where}: repository ${context.repository} not found on ${context.host}${detail}`,
      ctx,
    );
  }
  if (status === 404) {
    const what = context.reference.includes(":") ? "manifest" : "tag";
    return new KasmGitopsError(
      "registry-not-found",
      `${where}: ${what} "${context.reference}" not found in repository ${context.repository} on ${context.host}${detail}`,
      ctx,
    );
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(facts.headers.get("retry-after"), facts.now);
    const wait = retryAfterMs === undefined ? "" : `; retry after ${Math.ceil(retryAfterMs / 1000)} s`;
    return new KasmGitopsError("registry-rate-limited", `${where}: rate limited (HTTP 429)${wait}`, {
      ...ctx,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (status >= 500) {
    const retryAfterMs = parseRetryAfter(facts.headers.get("retry-after"), facts.now);
    return new KasmGitopsError(
      "registry-unavailable",
      `${where}: registry unavailable (HTTP ${status})${detail}`,
      { ...ctx, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
    );
  }
  return new KasmGitopsError("registry-error", `${where}: unexpected HTTP ${status}${detail}`, ctx);
}

/** A failure before any answer: refused connection, DNS, TLS, or our own timeout. */
export function errorForNetwork(
  context: RegistryErrorContext,
  cause: unknown,
  timeoutMs?: number,
): KasmGitopsError {
  const reason =
    timeoutMs !== undefined
      ? `no answer within ${timeoutMs} ms`
      : describeNetworkCause(cause) || "network error";
  return new KasmGitopsError(
    "registry-unavailable",
    `${target(context)}: cannot reach ${context.host}: ${reason}`,
    { ...context, status: 0 },
    { cause },
  );
}

/** fetch wraps the useful part (ECONNREFUSED, ENOTFOUND) in `cause`; surface it. */
function describeNetworkCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause ?? "");
  const inner = cause.cause as { code?: string; message?: string } | undefined;
  return [cause.message, inner?.code ?? inner?.message].filter(Boolean).join(": ");
}

/** The first `{errors: [{code, message}]}` entry of a registry's error body, short and secret-free. */
export function registryErrorDetail(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { errors?: { code?: string; message?: string }[] };
    const first = parsed.errors?.[0];
    if (!first) return undefined;
    return [first.code, first.message].filter(Boolean).join(": ").slice(0, 200) || undefined;
  } catch {
    return undefined;
  }
}
