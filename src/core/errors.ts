/** Machine-readable error codes: reasons as constants, so callers and tests switch on them, not on text. */
export type ErrorCode =
  | "usage"
  | "invalid-manifest"
  | "manifest-path-not-found"
  | "invalid-image-reference"
  | "git-failed"
  | "untrusted-revision"
  | "invalid-trust-file"
  | "agent-unreachable"
  | "registry-unauthorized"
  | "registry-forbidden"
  | "registry-not-found"
  | "registry-rate-limited"
  | "registry-unavailable"
  | "registry-error"
  | "secret-unresolved"
  | "stale-plan"
  | "pull-failed"
  | "promotion-failed"
  | "not-verified"
  | "listen-failed"
  | "kasm-unauthorized"
  | "kasm-forbidden"
  | "kasm-refused"
  | "kasm-rejected-request"
  | "kasm-unavailable"
  | "kasm-not-found"
  | "kasm-error"
  | "internal";

/** An error with a code and context that never carries a secret; only the CLI turns it into an exit code. */
export class KasmGitopsError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly context: Record<string, unknown> = {},
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = "KasmGitopsError";
  }
}

/** One line for a human: the message, and the cause's message when it adds something. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message}: ${cause}` : error.message;
}
