/** Pure parts of `kasm-gitops promote`: which image a workspace moves to, and how the commit describes it. */
import { KasmGitopsError } from "../errors.js";
import { ImageReferenceError, parseImageReference } from "../image/reference.js";
import type { ManifestSet, WorkspaceManifest } from "../manifest/types.js";
import { shortDigest } from "../plan/promotion.js";
import { didYouMean } from "../suggest.js";

/** What `promote WORKSPACE [--tag TAG]` would write: the workspace, its `promotion.from`, and the new image. */
export type PromotionTarget = {
  workspace: WorkspaceManifest;
  from: WorkspaceManifest;
  /** The image as written now, and as it will be written. */
  current: string;
  image: string;
  /** True when the workspace already has that image: nothing to edit. */
  upToDate: boolean;
};

/**
 * The image `written` with its tag and digest replaced, keeping the name exactly as the author wrote it
 * (`kasmweb/chrome` stays short rather than becoming `docker.io/kasmweb/chrome`).
 */
export function retag(written: string, version: { tag?: string; digest?: string }): string {
  const name = written.split("@")[0]!;
  const colon = name.lastIndexOf(":");
  const bare = colon > name.lastIndexOf("/") ? name.slice(0, colon) : name;
  return `${bare}${version.tag ? `:${version.tag}` : ""}${version.digest ? `@${version.digest}` : ""}`;
}

const where = (w: WorkspaceManifest) => `${w.source.file}:${w.source.line}:${w.source.col}`;

/**
 * Finds the workspace and the image to promote it to: TAG when given, otherwise the version `promotion.from`
 * runs now (its tag, its digest, or both, as written there).
 */
export function promotionTarget(set: ManifestSet, name: string, tag?: string): PromotionTarget {
  const byName = new Map(set.workspaces.map((w) => [w.metadata.name, w]));
  const workspace = byName.get(name);
  if (!workspace) {
    throw new KasmGitopsError(
      "usage",
      `no Workspace named "${name}" in the manifests${didYouMean(name, byName.keys())}`,
      { workspace: name },
    );
  }
  const fromName = workspace.spec.promotion?.from;
  if (!fromName) {
    throw new KasmGitopsError(
      "usage",
      `workspace "${name}" (${where(workspace)}) has no promotion.from: promote moves a workspace to the image tested on its promotion.from workspace`,
      { workspace: name },
    );
  }
  // The validator guarantees `from` exists and shares the repository; checked again for a clear message.
  const from = byName.get(fromName);
  if (!from)
    throw new KasmGitopsError("invalid-manifest", `promotion.from "${fromName}" of "${name}" does not exist`);
  const source = parseImageReference(from.spec.image);
  const version = tag === undefined ? { tag: source.tag, digest: source.digest } : { tag };
  const image = retag(workspace.spec.image, {
    ...(version.tag ? { tag: version.tag } : {}),
    ...(version.digest ? { digest: version.digest } : {}),
  });
  let target: string;
  try {
    target = parseImageReference(image).canonical;
  } catch (error) {
    if (!(error instanceof ImageReferenceError)) throw error;
    throw new KasmGitopsError(
      "usage",
      `--tag "${tag}" is not a valid image tag: ${error.message}`,
      {},
      { cause: error },
    );
  }
  const current = workspace.spec.image;
  return { workspace, from, current, image, upToDate: parseImageReference(current).canonical === target };
}

/** The version part of an image for a human: its tag, else its short digest. */
export const versionOf = (image: string) => {
  const ref = parseImageReference(image);
  return ref.tag ?? shortDigest(ref.digest!);
};

export type PromotionRecord = {
  workspace: string;
  from: string;
  file: string;
  previous: string;
  image: string;
  digest: string;
  /** Where the digest was seen: `agent NAME` or `ledger (pulled on NAME)` (see verifiedOn). */
  verifiedOn: string;
  movingTags: readonly string[];
};

/** A commit message a reviewer can approve from: subject with the digest, body with the evidence. */
export function promotionCommitMessage(p: PromotionRecord): { subject: string; body: string } {
  const subject = `Promote ${p.workspace} to ${versionOf(p.image)} (${shortDigest(p.digest)} verified on ${p.from})`;
  const body = [
    `Workspace: ${p.workspace} (${p.file})`,
    `Image: ${p.previous} -> ${p.image}`,
    `Digest: ${p.digest}`,
    `Verified on: workspace ${p.from}, ${p.verifiedOn}`,
    p.movingTags.length
      ? `Moving tags that will follow once merged: ${p.movingTags.join(", ")}`
      : "Moving tags: none",
    "",
    "Written by kasm-gitops promote.",
  ].join("\n");
  return { subject, body };
}
