/**
 * Turns Kasm API answers into typed errors that say what to fix. Kasm reports a refused request as HTTP 200
 * with `error_message`, an unknown field as an HTML 500, and a bad key as 403 (401 is expiry or a missing
 * permission); callers switch on the codes and retry only what is transient.
 */
import { type ErrorCode, type ErrorContexts, KasmGitopsError } from "../core/errors.js";
import { SESSION_FUNCTIONS, SESSION_PERMISSIONS } from "./kasm-keys.js";

/** Calls acting as the smoke user: a 401 there names the permissions sessions need. */
const SESSION_CALLS: ReadonlySet<string> = new Set([
  SESSION_FUNCTIONS.request,
  SESSION_FUNCTIONS.status,
  SESSION_FUNCTIONS.destroy,
]);

/** What a call was about; every Kasm error carries it as context (never the key or secret). */
export type KasmCallContext = {
  /** The Kasm web app's URL as the KasmServer manifest writes it. */
  url: string;
  /** The API function, e.g. update_image. */
  fn: string;
  /** The KasmServer manifest's name, so a message can say which one to fix. */
  server?: string;
  /** The keys a write's target_image carried (never their values). */
  sentKeys?: string[];
};

/** An HTTP answer as read off the wire. */
export type KasmAnswer = { status: number; contentType: string; text: string };

export type KasmOutcome = { ok: true; body: Record<string, unknown> } | { ok: false; error: KasmGitopsError };

/** Gateway failures that a retry can fix; a 500 is Kasm refusing the request and is not retried. */
const TRANSIENT_STATUS = new Set([502, 503, 504]);

const label = (ctx: KasmCallContext) => (ctx.server ? `KasmServer "${ctx.server}"` : "the KasmServer");

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Kasm's own words, one line and short: enough to act on, never a whole page. */
function kasmMessage(body: Record<string, unknown> | undefined): string | undefined {
  const message = body?.error_message ?? body?.message ?? body?.error;
  if (typeof message !== "string" || message.trim() === "") return undefined;
  const line = message.replaceAll(/\s+/g, " ").trim();
  return line.length > 300 ? `${line.slice(0, 297)}…` : line;
}

/** Success is HTTP 200 with a JSON object and no `error_message`; everything else becomes an error. */
export function classifyKasmAnswer(ctx: KasmCallContext, answer: KasmAnswer): KasmOutcome {
  const { status } = answer;
  const body = parseJsonObject(answer.text);
  const said = kasmMessage(body);
  const saidPart = said ? ` (Kasm says: ${said})` : "";
  const where = `Kasm ${ctx.url} ${ctx.fn}`;
  const fail = (code: KasmErrorCode, message: string, extra: { transient?: boolean } = {}) => ({
    ok: false as const,
    error: kasmError(code, message, { ...ctx, status, ...(said ? { kasmMessage: said } : {}), ...extra }),
  });
  if (status === 200) {
    if (!body)
      return fail(
        "kasm-error",
        `${where}: the answer is not JSON (${describeType(answer.contentType)}): check that spec.url of ${label(ctx)} is the address of the Kasm web app`,
      );
    if ("error_message" in body && body.error_message !== null && body.error_message !== "")
      return fail("kasm-refused", `${where} was refused: ${said ?? String(body.error_message)}`);
    return { ok: true, body };
  }
  if (status === 401 && SESSION_CALLS.has(ctx.fn))
    return fail(
      "kasm-unauthorized",
      `${where}: unauthorized (HTTP 401): the API key lacks a permission smoke tests need${saidPart}: grant it ${SESSION_PERMISSIONS.join(" and ")} (to start, watch and destroy a session as the smoke user) in Kasm's admin UI (Settings → Developers → API Keys), or reference another key in spec.apiKey and spec.apiKeySecret of ${label(ctx)}`,
    );
  if (status === 401)
    return fail(
      "kasm-unauthorized",
      `${where}: unauthorized (HTTP 401): the API key has expired or lacks a permission${saidPart}; in Kasm's admin UI (Settings → Developers → API Keys) extend its expiry or grant it the image and group permissions, or reference a new key in spec.apiKey and spec.apiKeySecret of ${label(ctx)}`,
    );
  if (status === 403)
    return fail(
      "kasm-forbidden",
      `${where}: forbidden (HTTP 403): the API key or secret is wrong; check that spec.apiKey and spec.apiKeySecret of ${label(ctx)} reference the key and its secret as Kasm issued them`,
    );
  if (status === 404)
    return fail(
      "kasm-error",
      `${where}: not found (HTTP 404): this server has no API function ${ctx.fn}; check that spec.url of ${label(ctx)} is the address of the Kasm web app`,
    );
  if (TRANSIENT_STATUS.has(status))
    return fail("kasm-unavailable", `${where}: Kasm is unavailable (HTTP ${status})${saidPart}`, {
      transient: true,
    });
  if (status === 500) {
    const sent = ctx.sentKeys?.length
      ? `; the request's target_image carried ${ctx.sentKeys.join(", ")}`
      : "";
    return fail(
      "kasm-rejected-request",
      body
        ? `${where}: Kasm failed on the request (HTTP 500)${saidPart}${sent}`
        : `${where}: Kasm failed with an unhandled error (HTTP 500, an error page: ${describeType(answer.contentType)}): its log says why${sent}. Kasm 1.15 answers so for a key its write function does not take, a list where it wants text, a value that is not a number, or an unknown group or image id`,
    );
  }
  return fail("kasm-error", `${where}: unexpected HTTP ${status}${saidPart}`);
}

function describeType(contentType: string): string {
  const type = contentType.split(";")[0]?.trim();
  return type ? type : "no content type";
}

/** Certificate failures: a retry cannot fix them, the operator's CA setting can. */
const CERTIFICATE_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** A failure before any answer: refused connection, DNS, our own timeout (transient), or an untrusted certificate. */
export function kasmNetworkError(ctx: KasmCallContext, cause: unknown, timeoutMs?: number): KasmGitopsError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (timeoutMs === undefined && code && CERTIFICATE_CODES.has(code))
    return kasmError(
      "kasm-error",
      `Kasm ${ctx.url} ${ctx.fn}: Kasm's TLS certificate is not trusted (${networkReason(cause)}): set spec.tls.ca of ${label(ctx)} to the CA certificate that signed it, e.g. {file: /etc/kasm-gitops/kasm-ca.pem}`,
      { ...ctx, status: 0, reason: code },
      cause,
    );
  const reason = timeoutMs !== undefined ? `no answer within ${timeoutMs} ms` : networkReason(cause);
  return kasmError(
    "kasm-unavailable",
    `Kasm ${ctx.url} ${ctx.fn}: cannot reach Kasm: ${reason}`,
    { ...ctx, status: 0, transient: true },
    cause,
  );
}

/** A call not made because an earlier one of the same cycle got no answer in time: a hung Kasm costs one timeout. */
export function kasmSkippedError(ctx: KasmCallContext, timedOut: KasmGitopsError): KasmGitopsError {
  return kasmError(
    "kasm-unavailable",
    `Kasm ${ctx.url} ${ctx.fn}: not asked, since ${timedOut.message.replace(/^Kasm \S+ /, "")}`,
    { ...ctx, status: 0 },
    timedOut,
  );
}

function networkReason(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause ?? "network error");
  const code = (cause as NodeJS.ErrnoException).code;
  return code && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message;
}

/** A `kasm-*` error. */
type KasmErrorCode = Extract<ErrorCode, `kasm-${string}`>;

export function kasmError<C extends KasmErrorCode>(
  code: C,
  message: string,
  context: ErrorContexts[C],
  cause?: unknown,
): KasmGitopsError<C> {
  return new KasmGitopsError(code, message, context, cause === undefined ? {} : { cause });
}

/**
 * Blanks every occurrence of the given secrets in an error's message, context and cause chain: Kasm may echo
 * a request back in its error text, and nothing we throw may carry the key, the secret or a token.
 */
export function scrubSecrets<E extends Error>(error: E, secrets: readonly string[]): E {
  const live = secrets.filter((s) => s.length >= 4);
  if (live.length === 0) return error;
  const scrub = (text: string) => live.reduce((t, s) => t.split(s).join("[redacted]"), text);
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    const fixed = current;
    // Only what holds a secret is rewritten (a DOMException's message is read-only, and holds none).
    const rewrite = (key: "message" | "stack") => {
      const text = fixed[key];
      if (typeof text === "string" && scrub(text) !== text)
        Object.defineProperty(fixed, key, { value: scrub(text), writable: true, configurable: true });
    };
    rewrite("message");
    rewrite("stack");
    if (fixed instanceof KasmGitopsError) {
      const context = JSON.stringify(fixed.context);
      if (scrub(context) !== context) Object.assign(fixed, { context: JSON.parse(scrub(context)) });
    }
    current = fixed.cause;
  }
  return error;
}
