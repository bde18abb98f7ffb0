import type { Problem } from "./manifest/types.js";
import type { UntrustedReason, VerifyMode } from "./revision/trust.js";

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
  | "secret-not-allowed"
  | "state-locked"
  | "stale-plan"
  | "pull-failed"
  | "promotion-failed"
  | "not-verified"
  | "smoke-missing"
  | "smoke-failed"
  | "listen-failed"
  | "state-file"
  | "kasm-unauthorized"
  | "kasm-forbidden"
  | "kasm-refused"
  | "kasm-rejected-request"
  | "kasm-unavailable"
  | "kasm-not-found"
  | "kasm-not-taken"
  | "kasm-config"
  | "kasm-error"
  | "kasm-report-stale"
  | "notification-failed"
  | "stopped"
  | "internal";

/** Which part of an image reference is wrong, so editors and logs can point at it. */
export type ImageReferencePart = "reference" | "registry" | "repository" | "tag" | "digest";

/** What a registry request was about; every registry error carries it. */
type RegistryContext = {
  host: string;
  repository: string;
  reference: string;
  /** The Registry manifest's name, so a message can say which one to fix. */
  registryName?: string;
  /** The HTTP status, 0 when no response arrived. */
  status?: number;
  retryAfterMs?: number;
  realm?: string;
  expected?: string;
  actual?: string;
};

/** Why a failure is what it is, and whether retrying may help (pulls classify the engine's words). */
type Classified = { reason?: string; transient?: boolean; retryAfterMs?: number };

/** What a Kasm API call was about, never the key or secret. */
type KasmContext = Classified & {
  /** The Kasm web app's URL as the KasmServer manifest writes it. */
  url?: string;
  /** The API function, e.g. update_image. */
  fn: string;
  /** The KasmServer manifest's name. */
  server?: string;
  /** The HTTP status, 0 when no answer arrived. */
  status?: number;
  /** Kasm's own words, one line. */
  kasmMessage?: string;
  imageId?: string;
  /** The keys a write's target_image carried (never values), for an HTML 500. */
  sentKeys?: string[];
};

/** The context each code carries, so a handler reads named fields instead of guessing at a bag of values. */
export type ErrorContexts = {
  usage: {
    path?: string;
    branch?: string;
    listen?: string;
    workspace?: string;
    host?: string;
    url?: string;
    file?: string;
  };
  "invalid-manifest": { problems?: Problem[]; revision?: string };
  "manifest-path-not-found": { dir: string };
  "invalid-image-reference": Partial<RegistryContext> & { input?: string; part?: ImageReferencePart };
  "git-failed": { reason?: string; dir?: string; repo?: string; branch?: string; revision?: string };
  "untrusted-revision": { revision: string; reason: UntrustedReason; key?: string; signer?: string };
  "invalid-trust-file": { file: string; mode: VerifyMode };
  "agent-unreachable": { agent?: string; host?: string };
  "registry-unauthorized": RegistryContext;
  "registry-forbidden": RegistryContext;
  "registry-not-found": RegistryContext;
  "registry-rate-limited": RegistryContext;
  "registry-unavailable": RegistryContext;
  "registry-error": RegistryContext;
  "secret-unresolved": { reference?: string; repo?: string };
  "secret-not-allowed": { reference: string };
  "state-locked": { stateDir: string; pid?: number; host?: string };
  "stale-plan": Record<string, never>;
  "pull-failed": Classified & { agent?: string; image?: string; aborted?: boolean };
  "promotion-failed": Classified & { image?: string; tag?: string };
  "not-verified": { workspace: string; image: string; digest: string; warnings: string[] };
  /** A promotion whose testing workspace has smoke tests, and no passed one of this digest. */
  "smoke-missing": { workspace: string; image: string; digest: string };
  /** A failed smoke test: `message` is Kasm's words or what was seen. */
  "smoke-failed": { workspace: string; image?: string; digest: string };
  "listen-failed": { listen: string; code?: string };
  "state-file": { file: string };
  "kasm-unauthorized": KasmContext;
  "kasm-forbidden": KasmContext;
  "kasm-refused": KasmContext;
  "kasm-rejected-request": KasmContext;
  "kasm-unavailable": KasmContext;
  "kasm-not-found": KasmContext;
  /** A write Kasm answered without taking these fields (ours, camelCase). */
  "kasm-not-taken": KasmContext & { fields: string[] };
  /** The KasmServer cannot be used as configured (a secret that does not resolve); nothing was asked of Kasm. */
  "kasm-config": { server?: string; url?: string; reference?: string };
  "kasm-error": KasmContext;
  /** A switch whose Kasm agents did not report its image in time: held, the next cycle tries again. */
  "kasm-report-stale": { image?: string };
  /** Work a stop (SIGTERM, SIGINT) cut off: not a fault of what it worked on. */
  stopped: Record<string, never>;
  /** Only the Notification's name: the URL is a secret. */
  "notification-failed": { notification?: string; status?: number };
  internal: Partial<RegistryContext>;
};

/** An error with a code and context that never carries a secret; only the CLI turns it into an exit code. */
export class KasmGitopsError<C extends ErrorCode = ErrorCode> extends Error {
  constructor(
    readonly code: C,
    message: string,
    readonly context: ErrorContexts[C] = {} as ErrorContexts[C],
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = "KasmGitopsError";
  }
}

/** Narrows an unknown error to one of `codes`, with that code's typed context. */
export function hasCode<C extends ErrorCode>(error: unknown, ...codes: C[]): error is KasmGitopsError<C> {
  return error instanceof KasmGitopsError && (codes as ErrorCode[]).includes(error.code);
}

const TRANSIENT_CODES = new Set<ErrorCode>(["registry-rate-limited", "registry-unavailable"]);

/** True for failures worth trying again: rate limits, 5xx, timeouts, dropped connections. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof KasmGitopsError)) return false;
  return TRANSIENT_CODES.has(error.code) || (error.context as Classified).transient === true;
}

/** One line for a human: the message, and the cause's message when it adds something. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !alreadySaid(error.message, cause) ? `${error.message}: ${cause}` : error.message;
}

/** True when every line of `cause` is in `message` already (as git's words are, cleaned of `fatal:`). */
function alreadySaid(message: string, cause: string): boolean {
  return cause
    .split("\n")
    .map((line) =>
      line
        .trim()
        .replace(/^(fatal|error):\s*/i, "")
        .replace(/\.$/, ""),
    )
    .filter(Boolean)
    .every((line) => message.includes(line));
}
