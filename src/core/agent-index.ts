import { parseImageReference } from "./image-ref.js";

/** The subset of Docker's image list the planner reads. */
export type ObservedImage = { repoTags: string[]; repoDigests: string[] };

/** What one agent holds, keyed the way the planner asks: by canonical tag and by repository@digest. */
export type AgentIndex = {
  /** Canonical tag reference → digests of the local image carrying that tag, for that repository. */
  tags: Map<string, string[]>;
  /** `registry/repository@digest` of every local image. */
  digests: Set<string>;
};

function normalise(reference: string) {
  try {
    return parseImageReference(reference);
  } catch {
    // Docker lists `<none>:<none>` and similar for dangling images: nothing the plan can use.
    return undefined;
  }
}

/**
 * Indexes an agent's images. Docker writes Docker Hub references in familiar form (`ubuntu:latest`,
 * `ubuntu@sha256:…`), so every entry goes through the same normalisation as the manifests.
 */
export function indexAgentImages(images: readonly ObservedImage[]): AgentIndex {
  const tags = new Map<string, string[]>();
  const digests = new Set<string>();
  for (const image of images) {
    const repoDigests = image.repoDigests.map(normalise).filter((r) => r?.digest !== undefined);
    for (const r of repoDigests) digests.add(`${r!.registry}/${r!.repository}@${r!.digest}`);
    for (const tag of image.repoTags) {
      const ref = normalise(tag);
      if (!ref?.tag) continue;
      const same = repoDigests.filter(
        (r) => r!.registry === ref.registry && r!.repository === ref.repository,
      );
      tags.set(
        ref.canonical,
        same.map((r) => r!.digest!),
      );
    }
  }
  return { tags, digests };
}

/** True when the agent holds `digest` for the repository of `canonical` (any tag, or none). */
export function holdsDigest(
  index: AgentIndex,
  registry: string,
  repository: string,
  digest: string,
): boolean {
  return index.digests.has(`${registry}/${repository}@${digest}`);
}
