/** What an update check found for one Workspace, as data the updater, the plan and `/status` all read. */

/** Why a candidate is not proposed: a person undid it, its digest failed a smoke test, or updates are held. */
export const UPDATE_SKIPPED = {
  reverted: "reverted",
  smokeFailed: "smoke-failed",
  suspended: "suspended",
} as const;
export type UpdateSkipReason = (typeof UPDATE_SKIPPED)[keyof typeof UPDATE_SKIPPED];

/** The newer tag a policy allows, as it would be written. */
export type UpdateCandidate = {
  /** The image as it will be written: the same name with the candidate's tag (and digest when Git pins one). */
  image: string;
  tag: string;
  previousTag?: string;
  digest: string;
  /** The digest of the image in Git, when it is pinned or its tag could be read. */
  previousDigest?: string;
  /** Tags that passed the filter and the policy; `listed` is every tag of the repository. */
  considered: number;
  listed: number;
};

export type UpdateFinding = {
  workspace: string;
  /** The image as written in Git. */
  current: string;
} & (
  | ({ status: "candidate" } & UpdateCandidate)
  /** A candidate held back: `detail` says why in a sentence (which commit undid it, which smoke test failed). */
  | ({ status: "skipped"; reason: UpdateSkipReason; detail: string } & UpdateCandidate)
  | { status: "up-to-date"; newest: string; considered: number; listed: number }
  /** No tag passes the filter and the policy: every one of `listed` was filtered out. */
  | { status: "no-match"; considered: 0; listed: number }
  | { status: "error"; code: string; error: string }
);
