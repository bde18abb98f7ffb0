import { parseImageReference } from "../image/reference.js";
import { compareText, type ManifestSet } from "../manifest/types.js";
import { movingTagRefs } from "./desired.js";
import { type DigestResult, shortDigest } from "./promotion.js";
import type { BlockedPull, PullAction } from "./types.js";

/** For each moving tag of a promoted workspace: the digest it may be pulled at, per workspace (undefined: unknown). */
export type MovingTagGuard = ReadonlyMap<string, ReadonlyMap<string, string | undefined>>;

/** The digest each promoted workspace's moving tags must have before an agent pulls them: its image's. */
export function movingTagGuard(set: ManifestSet, digests: ReadonlyMap<string, DigestResult>): MovingTagGuard {
  const guard = new Map<string, Map<string, string | undefined>>();
  for (const w of set.workspaces) {
    if (!w.spec.promotion || w.spec.enabled === false || !w.spec.registry) continue;
    const source = parseImageReference(w.spec.image);
    const result = source.digest ? { digest: source.digest } : digests.get(source.canonical);
    const digest = result && "digest" in result ? result.digest : undefined;
    for (const tag of movingTagRefs(w)) {
      const byWorkspace = guard.get(tag.canonical) ?? new Map<string, string | undefined>();
      byWorkspace.set(w.metadata.name, digest);
      guard.set(tag.canonical, byWorkspace);
    }
  }
  return guard;
}

/**
 * A pull of a moving tag is allowed only at the digest its promoted workspaces run: a tag
 * pushed out of band, or one whose digest is unknown, would put an untested image on their agents.
 */
export function guardMovingTag(pull: PullAction, guard: MovingTagGuard): BlockedPull | undefined {
  const owners = guard.get(pull.image);
  if (!owners) return undefined;
  const target = pull.targetDigest;
  const names = [...owners.keys()].filter((n) => pull.workspaces.includes(n)).sort(compareText);
  const wrong = names.filter((n) => target === undefined || owners.get(n) !== target);
  if (wrong.length === 0) return undefined;
  const expected = wrong
    .map((n) => {
      const digest = owners.get(n);
      return `workspace "${n}" runs ${digest ? shortDigest(digest) : "a digest the registry did not report"}`;
    })
    .join(", ");
  const where = target
    ? `the registry's tag points at ${shortDigest(target)}, which is untested`
    : "the registry's digest for the tag is unknown (not checked or not answered), so it may be untested";
  const { reason: _missingOrOutdated, ...rest } = pull;
  return {
    ...rest,
    reason: "moving-tag-untested" as const,
    message: `${pull.image} on agent ${pull.agent}: ${where}; ${expected}, and a moving tag is pulled only at that digest`,
  };
}
