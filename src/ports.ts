/**
 * Interfaces between the engine and the outside world. Adapters in src/adapters implement them and
 * src/app.ts injects them, so every test can swap one without module mocks.
 */
import type { ImageReference } from "./core/image-ref.js";
import type { TrustVerdict, VerifyMode } from "./core/trust.js";

/** A resolved secret-bearing credential; never logged. */
export type Credentials = { username: string; password: string };

/** The exact commit the manifests were read from. */
export type GitRevision = {
  revision: string;
  branch: string;
  /** Working tree of that commit. */
  checkoutDir: string;
  /** The `--path` folder inside it. */
  manifestDir: string;
};

/** Clones once, fetches afterwards; a failed fetch keeps the previous checkout and throws `git-failed`. */
export interface GitSource {
  sync(signal?: AbortSignal): Promise<GitRevision>;
}

/** Decides whether a fetched revision may be used: its tip commit must carry a good signature by a trusted key. */
export interface RevisionVerifier {
  readonly mode: VerifyMode;
  /** Reads the trusted keys; throws `invalid-trust-file` when they are unusable, so it is run before the first cycle. */
  check(signal?: AbortSignal): Promise<string[]>;
  verify(revision: GitRevision, signal?: AbortSignal): Promise<TrustVerdict>;
}

/** An image as an agent's Docker Engine reports it. */
export type LocalImage = { id: string; repoTags: string[]; repoDigests: string[] };

/** Progress of one pull, for live output and metrics. */
export type PullProgress = { layersDone: number; layersTotal: number; bytesDone: number; bytesTotal: number };

/** One agent's Docker Engine. */
export interface DockerAgent {
  readonly name: string;
  listImages(signal?: AbortSignal): Promise<LocalImage[]>;
  /** Pulls to the end of the stream; an error event rejects. Resolves with the pulled digest when known. */
  pull(
    reference: string,
    options: { auth?: Credentials; signal?: AbortSignal; onProgress?: (progress: PullProgress) => void },
  ): Promise<{ digest?: string }>;
}

/** Rate-limit state a registry last reported. */
export type RateLimit = { remaining?: number; limit?: number; retryAfterMs?: number };

export type ManifestResponse = { digest: string; mediaType: string; body: Buffer };

/** A registry's HTTP API v2, with its credentials already bound. */
export interface RegistryClient {
  readonly host: string;
  /** HEAD on the manifest with every manifest media type accepted; the digest the registry returns. */
  headDigest(ref: ImageReference, signal?: AbortSignal): Promise<{ digest: string; mediaType: string }>;
  getManifest(ref: ImageReference, reference: string, signal?: AbortSignal): Promise<ManifestResponse>;
  /** PUTs the bytes unchanged under `tag`; returns the registry's digest. */
  putManifest(
    ref: ImageReference,
    tag: string,
    body: Buffer,
    mediaType: string,
    signal?: AbortSignal,
  ): Promise<string>;
  rateLimit(): RateLimit;
}

export interface Clock {
  now(): Date;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** A completed pull: proof that a digest was on an agent, for promotion's verification. */
export type LedgerEntry = {
  time: string;
  agent: string;
  image: string;
  digest: string;
  revision: string;
  workspaces: string[];
};

/** Append-only record of completed pulls in the state dir. */
export interface Ledger {
  append(entry: LedgerEntry): Promise<void>;
  entries(): Promise<LedgerEntry[]>;
}
