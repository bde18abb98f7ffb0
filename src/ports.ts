/**
 * Interfaces between the engine and the outside world. Adapters in src/adapters implement them and
 * src/app.ts injects them, so every test can swap one without module mocks.
 */

import type { CredentialsFingerprint } from "./core/fingerprint.js";
import type { LocalImage } from "./core/image/local.js";
import type { ImageReference } from "./core/image/reference.js";
import type { ImportRecord } from "./core/import/records.js";
import type { KasmServerReport, KasmZone } from "./core/kasm/agents.js";
import type { AppliedRecord } from "./core/kasm/desired.js";
import type { KasmSessionState, SmokeState } from "./core/kasm/smoke.js";
import type {
  KasmGroup,
  KasmImageList,
  KasmMembership,
  KasmOwnedFields,
  KasmRecord,
} from "./core/kasm/types.js";
import type { ManifestFile } from "./core/manifest/load.js";
import type { Departure, HistoryEntry } from "./core/plan/ledger-history.js";
import type { KasmBlockedReason, UnknownKind } from "./core/plan/types.js";
import type { TrustVerdict, VerifyMode } from "./core/revision/trust.js";

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

/** Progress of one pull, for live output and metrics. */
export type PullProgress = { layersDone: number; layersTotal: number; bytesDone: number; bytesTotal: number };

/** A container, running or stopped (a Kasm session): the image it was created from must stay. */
export type ContainerSummary = { id: string; imageId: string; state: string };

/**
 * How a removal ended. Docker answers 409 conflict when an unforced removal would hurt: `in-use` when a
 * container uses the image (it took it meanwhile), `refused` for its other reasons (dependent child images…).
 */
export type RemoveOutcome =
  | { status: "removed"; untagged: number; deleted: number }
  | { status: "in-use" | "refused"; message: string }
  | { status: "gone" };

/** The one level the adapters and the planner log at: what an operator turns on to follow a cycle. */
export type DebugLogger = { debug: (fields: object, message: string) => void };

/** One agent's Docker Engine. */
export interface DockerAgent {
  readonly name: string;
  listImages(signal?: AbortSignal): Promise<LocalImage[]>;
  /** Every container, stopped ones included. */
  listContainers(signal?: AbortSignal): Promise<ContainerSummary[]>;
  /** Removes an image by id or reference; never forced, and its unused parents go too (noprune false). */
  removeImage(image: string, signal?: AbortSignal): Promise<RemoveOutcome>;
  /** Bytes of the agent's image layers on disk (Docker's disk usage, GET /system/df). */
  imageBytes(signal?: AbortSignal): Promise<number>;
  /** Pulls to the end of the stream; an error event rejects. Resolves with the pulled digest when known. */
  pull(
    reference: string,
    options: {
      auth?: Credentials;
      signal?: AbortSignal;
      onProgress?: (progress: PullProgress) => void;
      /** The workspaces the pull is for: only named in logs. */
      workspaces?: readonly string[];
    },
  ): Promise<{ digest?: string }>;
}

/** Rate-limit state a registry last reported. */
export type RateLimit = { remaining?: number; limit?: number; retryAfterMs?: number };

export type ManifestResponse = { digest: string; mediaType: string; body: Buffer };

/** A registry's HTTP API v2, with its credentials already bound. */
/** A page of `GET /v2/<name>/tags/list`; `next` is the path (with its query) of the following page. */
export type TagPage = { tags: string[]; next?: string };

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
  /**
   * One page of a repository's tags and the path of the next (the `Link` header); optional so fakes that
   * never list tags need not say so. The caller loops and retries per page.
   */
  tagPage?(
    ref: ImageReference,
    options: { pageSize: number; next?: string },
    signal?: AbortSignal,
  ): Promise<TagPage>;
  /**
   * Optional: about to check `refs` (a refresh), so learn the auth scheme and fetch one token for all their
   * repositories up front. Never throws; each reference's own request reports what failed.
   */
  prepare?(refs: readonly ImageReference[], signal?: AbortSignal): Promise<void>;
}

export interface Clock {
  now(): Date;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Every record import could read (leniently: one odd record does not stop the rest), and why the others could not be. */
export type ImportImages = { records: ImportRecord[]; unreadable: { imageId: string; reason: string }[] };

/** What `import` reads of a Kasm deployment: the records, the groups and each group's rows. */
export interface KasmImportSource {
  readonly url: string;
  readImportImages(signal?: AbortSignal): Promise<ImportImages>;
  listGroups(signal?: AbortSignal): Promise<{ groupId: string; name: string }[]>;
  listGroupImages(groupId: string, signal?: AbortSignal): Promise<{ groupId: string; imageId: string }[]>;
  listServers(signal?: AbortSignal): Promise<KasmServerReport[]>;
  listZones(signal?: AbortSignal): Promise<KasmZone[]>;
}

/**
 * A completed pull: proof that a digest was on an agent, for promotion's verification and prune's history;
 * or (`rebuilt`) a digest an agent held when the ledger was rebuilt, history but no proof.
 */
export type LedgerEntry = HistoryEntry;

/** What the ledger holds: its entries, the agents whose history it holds whole, and the workspaces that left Git. */
export type LedgerState = {
  entries: LedgerEntry[];
  /** Agent → when the ledger was rebuilt from its images; prune holds removals on any agent not here. */
  covered: Record<string, string>;
  departed: Record<string, Departure>;
};

/** What a cycle learned for the ledger: a rebuild from agents' images, and when workspaces left Git. */
export type LedgerUpdate = {
  rebuilt?: LedgerEntry[];
  covered?: string[];
  departed?: Record<string, Departure>;
};

/** The record of completed pulls in the state dir, compacted so it stays bounded. */
export interface Ledger {
  append(entry: LedgerEntry): Promise<void>;
  entries(): Promise<LedgerEntry[]>;
  read(): Promise<LedgerState>;
  update(change: LedgerUpdate): Promise<void>;
}

/** The last revision that validated, kept in the state dir so a restart on a bad tip still has one. */
export type SavedRevision = {
  revision: string;
  branch: string;
  time: string;
  /** The manifest files too, so a restart on an invalid tip still knows the fleet it must hold. */
  files: ManifestFile[];
  /** With --verify-commits: the key that signed it; a revision saved without one is not used then. */
  signedBy?: string;
};

/** Where the daemon keeps its SavedRevision across restarts. */
export type RevisionStore = {
  read(): Promise<SavedRevision | undefined>;
  write(saved: SavedRevision): Promise<void>;
};

/**
 * How a cycle ended; `invalid-revision` (manifests invalid) and `untrusted-revision` (tip commit not signed by a
 * trusted key): the new commit was refused and the last good one stays in force.
 */
export type CycleResult = "ok" | "failed" | "invalid-revision" | "untrusted-revision";
/** Why a fetched revision was refused. */
export type RefusalReason = Extract<CycleResult, "invalid-revision" | "untrusted-revision">;

export type PullResult = "ok" | "failed";
export type PromotionResult = "ok" | "failed" | "blocked";
/** `kept`: the image was in use or re-tagged by the time it was to go. */
export type RemovalResult = "ok" | "failed" | "kept";
export type NotificationResult = "sent" | "retried" | "failed" | "dropped";

/** The daemon's Prometheus metrics; typed methods so callers cannot misspell a label. */
export type Metrics = {
  cycleFinished(result: CycleResult, durationMs: number): void;
  pullFinished(agent: string, result: PullResult, durationMs: number): void;
  /** `status` is the HTTP status, or "error" when no response arrived (connection refused, timeout). */
  registryRequest(host: string, method: string, status: number | "error"): void;
  /** Info-style gauge: exactly one series, for the revision in force. */
  setAppliedRevision(revision: string): void;
  setAgents(reachable: number, total: number): void;
  promotionFinished(result: PromotionResult): void;
  /** A smoke test in Kasm ended: pass, fail (a verdict), or error (no verdict: a key or network fault, a stop). */
  smokeFinished(result: "pass" | "fail" | "error", durationMs: number): void;
  /** `status`: ok, failed, or skipped (held after a failed pull, or stopping). */
  kasmActionFinished(type: string, status: "ok" | "failed" | "skipped"): void;
  /** Managed Kasm records, and those edited in Kasm found by the last plan. */
  /** `held`: the Kasm changes the plan held, by reason. */
  setKasmRecords(managed: number, drift: number, held?: Partial<Record<KasmBlockedReason, number>>): void;
  /** A prune removal finished; `bytes` is what an ok removal freed (Docker's image size). */
  removalFinished(agent: string, result: RemovalResult, bytes: number): void;
  /** The agent's image bytes on disk, as Docker's disk usage reports them. */
  setAgentImageBytes(agent: string, bytes: number): void;
  /** 1 only when the last cycle verified everything; unknown checks counted by kind. */
  setConverged(converged: boolean, unknown: Partial<Record<UnknownKind, number>>): void;
  notification(name: string, type: string, result: NotificationResult): void;
  /** One Workspace's update check ended: `ok` (the registry answered) or `error` (or a whole pass failed). */
  updateChecked(result: "ok" | "error"): void;
  /** What became of an automated commit: pushed, branch-exists, unchanged, refused, error, blocked. */
  automationProposal(workspace: string, kind: "update" | "promote", result: string): void;
  /** The candidate tag waiting for a Workspace (one series, value 1), or none. */
  setUpdateCandidate(workspace: string, tag: string | undefined): void;
  render(): Promise<{ contentType: string; body: string }>;
};

/** Who an automated commit is by: from flags or the environment, never from the manifests. */
export type GitIdentity = { name: string; email: string };

/** What a push said: done, or refused by the remote (not a fast-forward, a hook, a protected branch). */
export type PushOutcome = { pushed: true } | { pushed: false; refused: string };

/**
 * The daemon's and `update`'s own clone of the manifest repo (in the state dir), for automated commits: fetch a
 * branch's tip, commit one file on it, push it. Failures other than a refused push are `git-failed`, no secrets.
 */
export type GitWriter = {
  /** Fetches `branch` and checks its tip out, clean; returns the tip and the clone's top folder. */
  checkout(branch: string, signal?: AbortSignal): Promise<{ commit: string; root: string }>;
  /** Whether `branch` exists on the remote now (one `ls-remote`). */
  remoteBranchExists(branch: string, signal?: AbortSignal): Promise<boolean>;
  /** Writes `text` to `path` (relative to the clone) and commits exactly that file on the checked-out tip. */
  commitFile(path: string, text: string, message: string, options: { sign: boolean }): Promise<string>;
  /** Pushes HEAD to `branch` on the remote, never forced. */
  push(branch: string, signal?: AbortSignal): Promise<PushOutcome>;
  /**
   * The automated commits on `branch` (those whose message has the automation trailer), newest first, at
   * most `limit`: the record of what automation proposed and what became of it.
   */
  automatedCommits(
    branch: string,
    limit: number,
    signal?: AbortSignal,
  ): Promise<{ commit: string; message: string }[]>;
};

/**
 * An administrator's own checkout of the manifest repo: what `promote` needs to edit one file, commit it
 * and push a branch for a merge request. Failures are `git-failed` with git's words, no secrets.
 */
export type LocalCheckout = {
  /** The working tree's top folder. */
  root: string;
  /** `git status --porcelain` lines for uncommitted (or untracked) changes under `path`. */
  changes(path: string): Promise<string[]>;
  /** The checked-out branch, or undefined on a detached HEAD. */
  currentBranch(): Promise<string | undefined>;
  /** The commit HEAD points at. */
  head(): Promise<string>;
  branchExists(name: string): Promise<boolean>;
  remoteUrl(name: string): Promise<string | undefined>;
  /** Creates `name` at HEAD and checks it out (uncommitted changes elsewhere come along, as with `git switch -c`). */
  createBranch(name: string): Promise<void>;
  /** Undoes createBranch after a failed commit: back to `previous` (a branch or commit), `name` deleted. */
  dropBranch(name: string, previous: string): Promise<void>;
  /**
   * Commits exactly this file (other staged changes stay staged) and returns the new commit; `sign` signs it
   * with the user's configured key (`git commit -S`: user.signingkey, gpg.format), failing when git cannot.
   */
  commitFile(path: string, subject: string, body: string, sign?: boolean): Promise<string>;
  /** The text of a file in the working tree (absolute path). */
  readFile(path: string): Promise<string>;
  /** Replaces a file in the working tree (absolute path). */
  writeFile(path: string, text: string): Promise<void>;
  /** Pushes the local branch to `origin` under the same name, setting it as upstream. */
  push(branch: string): Promise<void>;
};

/**
 * The fields kasm-gitops writes. An absent field is left as Kasm has it. `dockerToken`: a string replaces
 * the stored token, null clears it, absent keeps it.
 */
export type KasmImageFields = Partial<KasmOwnedFields> & { dockerToken?: string | null };

/** What a new record needs at least: the image and the name users see. */
export type KasmImageCreate = KasmImageFields & { name: string; friendlyName: string };

/**
 * The Kasm Web App's Workspace records and their groups, in the core's types. Failures throw
 * KasmGitopsError with a `kasm-*` code; no key, secret or token ever appears in one.
 */
export interface KasmApi {
  readonly url: string;
  /** Every record, disabled ones included; a record that does not decode is set aside, not fatal to the read. */
  readImages(signal?: AbortSignal): Promise<KasmImageList>;
  listGroups(signal?: AbortSignal): Promise<KasmGroup[]>;
  listGroupImages(groupId: string, signal?: AbortSignal): Promise<KasmMembership[]>;
  createImage(record: KasmImageCreate, signal?: AbortSignal): Promise<KasmRecord>;
  /** Reads the record just before writing it back whole, with `fields` laid over it. */
  updateImage(imageId: string, fields: KasmImageFields, signal?: AbortSignal): Promise<KasmRecord>;
  /** Refused while a session uses the image. */
  deleteImage(imageId: string, signal?: AbortSignal): Promise<void>;
  /** Adds the pair only when the group has no row for it yet; true when a row was added. */
  addImageToGroup(groupId: string, imageId: string, signal?: AbortSignal): Promise<boolean>;
  /** Removes every row of the pair; true when rows were removed. */
  removeImageFromGroup(groupId: string, imageId: string, signal?: AbortSignal): Promise<boolean>;
  /** Kasm's servers (agents are those of type host) with the images each last reported; needs AGENTS_VIEW. */
  listServers(signal?: AbortSignal): Promise<KasmServerReport[]>;
  /** Kasm's deployment zones; needs ZONES_VIEW. */
  listZones(signal?: AbortSignal): Promise<KasmZone[]>;
  /** The user_id of a Kasm username (get_user); a `kasm-refused` error when Kasm has no such user. */
  findUserId(username: string, signal?: AbortSignal): Promise<string>;
  /** Starts a session of a record as `userId` (request_kasm; the key needs USER and USERS_AUTH_SESSION): its kasm_id. */
  requestSession(imageId: string, userId: string, signal?: AbortSignal): Promise<string>;
  /** Where a session is: not running yet (Kasm's "currently <status>"), or reported with its agent and container. */
  sessionState(kasmId: string, userId: string, signal?: AbortSignal): Promise<KasmSessionState>;
  /** Destroys a session of `userId` (destroy_kasm); done only when Kasm answers `{}`. */
  destroySession(kasmId: string, userId: string, signal?: AbortSignal): Promise<void>;
  /** Every session Kasm has (get_kasms): their ids and owners. */
  listSessions(signal?: AbortSignal): Promise<{ kasmId: string; userId: string }[]>;
}

/** What kasm-gitops last wrote to Kasm, kept in the state dir: never a secret, only fingerprints. */
export type KasmWritten = {
  /** Per workspace: a hash of the owned fields from Git, and the fingerprint of the token written. */
  records: Record<string, AppliedRecord>;
  /** Group names Workspaces have named: their memberships are read every cycle. */
  groups: string[];
};

export interface KasmWrittenStore {
  read(): Promise<KasmWritten>;
  write(written: KasmWritten): Promise<void>;
  /** Fingerprints under a random key kept in the state dir (created on first use), never a bare hash of a secret. */
  fingerprinter(): Promise<CredentialsFingerprint>;
}

/** Smoke results by digest, and the sessions started and not yet seen destroyed, in the state dir. */
export interface SmokeStore {
  read(): Promise<SmokeState>;
  write(state: SmokeState): Promise<void>;
}

/** One auto-promotion the daemon proposed: where it went, and when. */
export type ProposedPromotion = {
  workspace: string;
  digest: string;
  branch: string;
  commit?: string;
  at: string;
};

/** The auto-promotions proposed, by workspace@digest, in the state dir: a digest is proposed once, ever. */
export interface AutoPromotionStore {
  read(): Promise<Record<string, ProposedPromotion>>;
  add(key: string, proposal: ProposedPromotion): Promise<void>;
}

/** Sends one notification body to one endpoint; rejects on a network error, a timeout or a non-2xx answer. */
export type NotificationSender = (url: string, body: unknown, signal: AbortSignal) => Promise<void>;
