/**
 * The one place registry requests get a deadline and network failures become typed errors, shared by the
 * manifest calls and the token service.
 */
import { KasmGitopsError } from "../core/errors.js";
import { errorForNetwork, type RegistryErrorContext } from "./registry-errors.js";

/** What `onRequest` hears about each HTTP exchange: never headers, query strings or credentials. */
export type RegistryRequestInfo = {
  method: string;
  host: string;
  path: string;
  /** HTTP status, or 0 when no answer came (network error, timeout). */
  status: number;
  durationMs: number;
};

export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Runs `fn` (a fetch and its body read) under one deadline. A caller's abort is passed through as is
 * (the caller asked for it); a timeout or network failure becomes `registry-unavailable`.
 */
export async function withDeadline<T>(
  context: RegistryErrorContext,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
  try {
    return await fn(combined);
  } catch (error) {
    if (error instanceof KasmGitopsError) throw error;
    if (signal?.aborted) throw signal.reason;
    throw errorForNetwork(context, error, deadline.aborted ? timeoutMs : undefined);
  }
}

/** `Basic` authorization for a user and password; kept here so nothing else formats credentials. */
export function basicAuthorization(credentials: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}
