/**
 * Automation read back from Git: the automated commits on the followed branch (their trailer says so), and
 * which of them a person has since undone. Git is the durable record: a state dir can be lost, the branch's
 * history is what people see and review. Pure: commits in, decisions out.
 */
import { parseImageReference } from "../image/reference.js";
import { compareText, type ManifestSet, type WorkspaceManifest } from "../manifest/types.js";
import { AUTOMATION_TRAILER, type AutomationKind } from "./message.js";
import { compilePolicy } from "./policy.js";

/** One automated commit: what it moved, read from the lines its message always has. */
export type AutomatedCommit = {
  commit: string;
  kind: AutomationKind;
  workspace: string;
  previous: string;
  image: string;
  /** The digest it wrote or verified, when its message names one. */
  digest?: string;
};

const TRAILER = new RegExp(`^${AUTOMATION_TRAILER}:[ \\t]*(update|promote)[ \\t]*$`, "mi");

/**
 * Reads an automated commit's message; undefined for a person's commit. The trailer may stand anywhere, so a
 * squash merge that folds the automated message into its own still counts.
 */
export function parseAutomatedCommit(commit: string, message: string): AutomatedCommit | undefined {
  const kind = TRAILER.exec(message)?.[1]?.toLowerCase() as AutomationKind | undefined;
  const workspace = /^Workspace: (\S+)/m.exec(message)?.[1];
  const image = /^Image: (\S+) -> (\S+)[ \t]*$/m.exec(message);
  if (!kind || !workspace || !image) return undefined;
  const digest = /^Digest: (?:\S+ -> )?(sha256:[0-9a-f]{64})[ \t]*$/m.exec(message)?.[1];
  return { commit, kind, workspace, previous: image[1]!, image: image[2]!, ...(digest ? { digest } : {}) };
}

/** An automated change a person has undone since: not proposed again (a tag: until a newer one appears). */
export type Undone = { commit: string; image: string; tag?: string; digest?: string };

export type AutomationHistory = {
  /** Per Workspace with an update policy: the newest automated tag that Git no longer holds. */
  revertedUpdates: Map<string, Undone>;
  /** Per Workspace with `promotion.auto`: the last automated promotion, when Git no longer holds its image. */
  revertedPromotions: Map<string, Undone>;
  /** Per Workspace: every digest an automated promotion in history wrote, so none is proposed twice. */
  promotedDigests: Map<string, Set<string>>;
};

const sameRepository = (a: string, b: string) => {
  const x = parseImageReference(a);
  const y = parseImageReference(b);
  return x.registry === y.registry && x.repository === y.repository;
};

/** The newest automated tag of `w`'s repository that is newer, by its policy, than the tag Git holds now. */
function revertedUpdate(w: WorkspaceManifest, commits: readonly AutomatedCommit[]): Undone | undefined {
  const policy = compilePolicy(w.spec.update!);
  const now = parseImageReference(w.spec.image).tag;
  const nowKey = now === undefined ? undefined : policy.keyOf(now, true);
  let found: { undone: Undone; key: NonNullable<ReturnType<typeof policy.keyOf>> } | undefined;
  for (const c of commits) {
    if (!sameRepository(c.image, w.spec.image)) continue;
    const tag = parseImageReference(c.image).tag;
    const key = tag === undefined ? undefined : policy.keyOf(tag, true);
    if (key === undefined || tag === now) continue;
    // A tag Git moved past since (a later update, or a person going further) was not undone.
    if (nowKey !== undefined && policy.compare(key, nowKey) <= 0) continue;
    if (!found || policy.compare(key, found.key) > 0) {
      found = {
        key,
        undone: { commit: c.commit, image: c.image, tag, ...(c.digest ? { digest: c.digest } : {}) },
      };
    }
  }
  return found?.undone;
}

/**
 * What the branch's automated commits (newest first, as `git log` lists them) say of the Workspaces as Git
 * has them now: an update whose tag is newer than Git's was undone by a person; so was the last automated
 * promotion of a Workspace whose image has changed since.
 */
export function readAutomationHistory(
  set: ManifestSet,
  commits: readonly AutomatedCommit[],
): AutomationHistory {
  const history: AutomationHistory = {
    revertedUpdates: new Map(),
    revertedPromotions: new Map(),
    promotedDigests: new Map(),
  };
  const workspaces = [...set.workspaces].sort((a, b) => compareText(a.metadata.name, b.metadata.name));
  for (const w of workspaces) {
    const name = w.metadata.name;
    const mine = commits.filter((c) => c.workspace === name);
    if (w.spec.update) {
      const undone = revertedUpdate(
        w,
        mine.filter((c) => c.kind === "update"),
      );
      if (undone) history.revertedUpdates.set(name, undone);
    }
    const promotions = mine.filter((c) => c.kind === "promote");
    if (promotions.length === 0) continue;
    history.promotedDigests.set(name, new Set(promotions.flatMap((c) => (c.digest ? [c.digest] : []))));
    const last = promotions[0]!;
    if (parseImageReference(last.image).canonical !== parseImageReference(w.spec.image).canonical) {
      history.revertedPromotions.set(name, {
        commit: last.commit,
        image: last.image,
        ...(last.digest ? { digest: last.digest } : {}),
      });
    }
  }
  return history;
}

export const EMPTY_HISTORY: AutomationHistory = {
  revertedUpdates: new Map(),
  revertedPromotions: new Map(),
  promotedDigests: new Map(),
};
