/**
 * What an agent holds, read from Docker's image list. Docker reports Docker Hub names short (`ubuntu:22.04`,
 * `ubuntu@sha256:…`), so every tag and digest is normalised before it is compared with a canonical reference.
 */

import { type ImageReference, parseImageReference } from "./reference.js";

/** An image as an agent's Docker Engine reports it. */
export type LocalImage = {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  /** Bytes, as Docker reports the image's size; what pruning it frees at most. */
  size?: number;
};

/** Docker's raw image summary fields that matter here. */
export type DockerImageSummary = {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Size?: number;
};

/** Docker's placeholders for untagged or digest-less images. */
const isPlaceholder = (entry: string) => entry.startsWith("<none>");

/** Converts Docker's summary to a LocalImage, dropping `<none>:<none>` and `<none>@<none>` entries. */
export function toLocalImage(summary: DockerImageSummary): LocalImage {
  return {
    id: summary.Id,
    repoTags: (summary.RepoTags ?? []).filter((tag) => !isPlaceholder(tag)),
    repoDigests: (summary.RepoDigests ?? []).filter((digest) => !isPlaceholder(digest)),
    ...(summary.Size !== undefined ? { size: summary.Size } : {}),
  };
}

/** Parses an entry Docker reported; undefined for anything Docker's own parser would not produce. */
function parseLocal(entry: string): ImageReference | undefined {
  try {
    return parseImageReference(entry);
  } catch {
    return undefined;
  }
}

const repositoryOf = (ref: ImageReference) => `${ref.registry}/${ref.repository}`;

/** An agent's images indexed once, so the planner answers each reference in constant time. */
export type LocalImageIndex = {
  /** The local image that carries the reference's tag (`:latest` when untagged). */
  taggedImage(reference: ImageReference): LocalImage | undefined;
  /**
   * Digests held for the reference: for a digest-pinned one, that digest when any local image has it in the
   * repository; for a tag, the repo digests of the image carrying the tag. Empty when missing. Shared: read only.
   */
  digestsFor(reference: ImageReference): readonly string[];
};

/** `registry/repository:tag` of a reference, reusing the cached canonical form when it is exactly that. */
const tagKey = (ref: ImageReference) =>
  ref.digest === undefined ? ref.canonical : `${repositoryOf(ref)}:${ref.tag ?? "latest"}`;
/** `registry/repository@digest`: the canonical form of a digest-only reference. */
const digestKey = (ref: ImageReference) =>
  ref.tag === undefined ? ref.canonical : `${repositoryOf(ref)}@${ref.digest}`;

const NONE: readonly string[] = Object.freeze([]);

/** The distinct digests among an image's repo digests in the reference's repository, in Docker's order. */
function digestsIn(repoDigests: readonly string[], ref: ImageReference): readonly string[] {
  let same: string[] | undefined;
  for (const entry of repoDigests) {
    const d = parseLocal(entry);
    if (!d?.digest || d.registry !== ref.registry || d.repository !== ref.repository) continue;
    if (!same) same = [d.digest];
    else if (!same.includes(d.digest)) same.push(d.digest);
  }
  return same ?? NONE;
}

/** `registry/repository@digest` of every repo digest the images hold. */
function heldDigests(images: readonly LocalImage[]): Set<string> {
  const held = new Set<string>();
  for (const image of images) {
    for (const entry of image.repoDigests) {
      const parsed = parseLocal(entry);
      if (parsed?.digest) held.add(digestKey(parsed));
    }
  }
  return held;
}

/**
 * Indexes tags once (the parser caches what a fleet repeats; entries Docker's own parser would not produce
 * are ignored) and reads digests only when asked, so indexing hundreds of agents keeps one map entry per
 * tag and no more: a fleet's plan holds every agent's index at once.
 */
export function indexLocalImages(images: readonly LocalImage[]): LocalImageIndex {
  const byTag = new Map<string, LocalImage>();
  for (const image of images) {
    for (const tag of image.repoTags) {
      const parsed = parseLocal(tag);
      if (!parsed) continue;
      const key = tagKey(parsed);
      if (!byTag.has(key)) byTag.set(key, image);
    }
  }
  let held: Set<string> | undefined;
  return {
    taggedImage: (reference) => byTag.get(tagKey(reference)),
    digestsFor(reference) {
      if (reference.digest !== undefined) {
        held ??= heldDigests(images);
        return held.has(digestKey(reference)) ? [reference.digest] : NONE;
      }
      const image = byTag.get(tagKey(reference));
      return image ? digestsIn(image.repoDigests, reference) : NONE;
    },
  };
}
