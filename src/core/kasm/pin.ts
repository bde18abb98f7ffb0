/**
 * `kasm.pinDigest`: the record's `hash` carries the digest kasm-gitops verified, in the form Docker lists it in
 * an agent's RepoDigests (`registry.example.com/kasm/chrome@sha256:…`), which is what Kasm requires an agent to
 * hold before it starts a session there. Pure: the workspace, the digests the registry named this cycle and
 * the agents' images in, the hash (or why none is known) out.
 */
import type { LocalImageIndex } from "../image/local.js";
import { familiarReference, type ImageReference } from "../image/reference.js";
import type { AgentManifest } from "../manifest/types.js";

/** The RepoDigests entry of `ref`'s repository at `digest`. */
export const repoDigestEntry = (ref: ImageReference, digest: string) =>
  familiarReference({ ...ref, digest }, "digest");

/**
 * The hash a pinned record should carry: the image's own digest when it is pinned so; else the digest the
 * registry named for the tag this cycle (or a promotion moves it to); else the one digest every reachable
 * agent serving the workspace holds under the tag (between refreshes, what was verified and pulled). Agents
 * that disagree, or none to ask, leave it unknown: never a guess.
 */
export function pinnedHash(
  ref: ImageReference,
  expected: ReadonlyMap<string, string> | undefined,
  serving: readonly AgentManifest[],
  indexes: ReadonlyMap<string, LocalImageIndex>,
): { hash: string; digest: string } | { unknown: string } {
  const pin = (digest: string) => ({ hash: repoDigestEntry(ref, digest), digest });
  if (ref.digest) return pin(ref.digest);
  const named = expected?.get(ref.canonical);
  if (named) return pin(named);
  let common: string[] | undefined;
  for (const agent of serving) {
    const index = indexes.get(agent.metadata.name);
    if (!index) continue;
    const held = index.taggedImage(ref) ? index.digestsFor(ref) : [];
    common = common ? common.filter((d) => held.includes(d)) : [...held];
  }
  if (common?.length === 1) return pin(common[0]!);
  return {
    unknown:
      common === undefined
        ? `no registry check of ${ref.canonical} this cycle and no reachable agent to read its digest from`
        : `no registry check of ${ref.canonical} this cycle and its agents do not hold one same digest of it`,
  };
}
