/**
 * The one write-back of automation: a commit that changes only one Workspace's image line, on the tip of the
 * followed branch, pushed to that branch (`mode: commit`) or to a branch of its own (`mode: branch`). The
 * update check uses it; auto-promotion authors the same kind of commit with another message.
 */
import { join, posix } from "node:path";
import { describeError, KasmGitopsError } from "../../core/errors.js";
import { parseImageReference } from "../../core/image/reference.js";
import type { ManifestFile } from "../../core/manifest/load.js";
import type { SecretPolicy } from "../../core/manifest/secret-policy.js";
import type { GitWriter } from "../../ports.js";
import { acceptManifests } from "../snapshot.js";
import { editPromotion } from "./promote-check.js";

/** One Workspace's image, as it will be written, and how the commit says so. */
export type ImageChange = {
  workspace: string;
  image: string;
  /** The whole commit message, trailer included. */
  message: string;
  /** `mode: branch`: push here (for a merge request) instead of the followed branch; never pushed twice. */
  branch?: string;
};

export type ImageCommitOptions = {
  /** The followed branch: the commit is made on its tip. */
  branch: string;
  /** The manifest folder inside the repository ("" for the root). */
  path: string;
  sign: boolean;
  readManifests: (dir: string, root: string) => Promise<ManifestFile[]>;
  secrets?: SecretPolicy;
  signal?: AbortSignal;
};

export type ImageCommitResult =
  | { status: "pushed"; commit: string; branch: string; attempts: number; file: string }
  /** `mode: branch` and the branch is on the remote already (an open merge request): nothing pushed. */
  | { status: "branch-exists"; branch: string }
  /** The tip already has this image (a person, or an earlier push, got there first). */
  | { status: "unchanged"; tip: string }
  /** Refused on the tip and again on the new tip: the remote's words. */
  | { status: "refused"; branch: string; attempts: number; reason: string };

/**
 * Edits, commits and pushes one image change. A refused push (a protected branch, another push first) is
 * tried once more on the new tip, edited afresh there; a second refusal is the result, not an exception.
 * An invalid tip, or an edit that would make it invalid, throws `invalid-manifest` and nothing is committed.
 */
export async function pushImageChange(
  writer: GitWriter,
  change: ImageChange,
  options: ImageCommitOptions,
): Promise<ImageCommitResult> {
  const target = change.branch ?? options.branch;
  let reason = "";
  for (let attempt = 1; attempt <= 2; attempt++) {
    if (change.branch && (await writer.remoteBranchExists(change.branch, options.signal))) {
      return { status: "branch-exists", branch: change.branch };
    }
    const tip = await writer.checkout(options.branch, options.signal);
    const manifestDir = options.path ? join(tip.root, options.path) : tip.root;
    const files = await options.readManifests(manifestDir, tip.root);
    const where = `${options.branch}@${tip.commit.slice(0, 12)}`;
    const { set } = acceptManifests(files, where, tip.commit, options.secrets);
    const workspace = set.workspaces.find((w) => w.metadata.name === change.workspace);
    if (!workspace) {
      throw new KasmGitopsError(
        "invalid-manifest",
        `workspace "${change.workspace}" is no longer in ${where}`,
        { revision: tip.commit },
      );
    }
    if (parseImageReference(workspace.spec.image).canonical === parseImageReference(change.image).canonical) {
      return { status: "unchanged", tip: tip.commit };
    }
    const edited = editPromotion(files, { workspace, image: change.image }, where);
    const file = posix.join(options.path, edited.file);
    const commit = await writer.commitFile(file, edited.text, change.message, { sign: options.sign });
    const pushed = await writer.push(target, options.signal);
    if (pushed.pushed) return { status: "pushed", commit, branch: target, attempts: attempt, file };
    reason = pushed.refused;
  }
  return { status: "refused", branch: target, attempts: 2, reason };
}

/** Why a write-back failed (git unreachable, the tip invalid, a check refused): nothing was pushed. */
export type WriteBackError = { code: string; message: string };
export const writeBackError = (error: unknown): WriteBackError => ({
  code: error instanceof KasmGitopsError ? error.code : "internal",
  message: describeError(error),
});

/** Where automation writes: the followed branch and folder, signing, and the writer that pushes. */
export type WriteBackDeps = Pick<ImageCommitOptions, "readManifests" | "secrets"> & { writer: GitWriter };
export type WriteBackOptions = Pick<ImageCommitOptions, "branch" | "path" | "sign" | "signal">;

/** pushImageChange for automation: a failure is the result (`error`), never an exception, so the others go on. */
export async function writeBack(
  deps: WriteBackDeps,
  change: ImageChange,
  options: WriteBackOptions,
): Promise<{ result: ImageCommitResult; error?: undefined } | { result?: undefined; error: WriteBackError }> {
  try {
    const result = await pushImageChange(deps.writer, change, {
      ...options,
      readManifests: deps.readManifests,
      ...(deps.secrets ? { secrets: deps.secrets } : {}),
    });
    return { result };
  } catch (error) {
    return { error: writeBackError(error) };
  }
}
