/**
 * The git half of `promote`, behind the checkout port: refuse a state that would commit something other
 * than what was checked, then branch, write, commit and push, undoing the branch and the edit on failure.
 */
import { relative } from "node:path";
import { KasmGitopsError } from "../../core/errors.js";
import type { LocalCheckout } from "../../ports.js";

/**
 * Where the commit goes: a new branch (for a merge request) or the current one; push only with a branch.
 * `sign`: signed with the user's key, so a reconciler with --verify-commits accepts it once merged.
 */
export type PromoteGitOptions = { branch?: string; push: boolean; sign?: boolean };

/** Refuses what would make the commit differ from what was checked, before anything is asked or edited. */
export async function checkGitState(checkout: LocalCheckout, manifestDir: string, flags: PromoteGitOptions) {
  const changes = await checkout.changes(manifestDir);
  if (changes.length > 0) {
    const folder = relative(checkout.root, manifestDir) || ".";
    throw new KasmGitopsError(
      "git-failed",
      `the manifest folder ${folder} has uncommitted changes (${changes.slice(0, 5).join(", ")}${changes.length > 5 ? ", …" : ""}); commit or stash them first, so what is validated is what gets committed`,
      { reason: "dirty" },
    );
  }
  const current = await checkout.currentBranch();
  if (flags.branch !== undefined && (await checkout.branchExists(flags.branch))) {
    throw new KasmGitopsError("git-failed", `branch "${flags.branch}" already exists in ${checkout.root}`, {
      reason: "branch-exists",
    });
  }
  if (flags.branch === undefined && current === undefined) {
    throw new KasmGitopsError(
      "git-failed",
      "HEAD is detached: name a branch to commit on with --branch NAME",
      {
        reason: "detached",
      },
    );
  }
  if (flags.push && !(await checkout.remoteUrl("origin"))) {
    throw new KasmGitopsError("git-failed", `--push: ${checkout.root} has no remote named "origin"`, {
      reason: "no-origin",
    });
  }
  return current ?? (await checkout.head());
}

/** One edited file and the commit that records it. */
export type PromotionCommit = {
  /** Absolute path of the edited file inside the checkout. */
  path: string;
  text: string;
  message: { subject: string; body: string };
};

/**
 * Branches (when asked), writes and commits the edit; on a failed commit the file and branch are put back
 * to `previous`, so no half-done promotion stays. A failed push keeps the commit and says where it is.
 */
export async function commitPromotion(
  checkout: LocalCheckout,
  edit: PromotionCommit,
  flags: PromoteGitOptions & { previous: string },
): Promise<{ commit: string; branch: string }> {
  const { path, message } = edit;
  const previous = flags.previous;
  const original = await checkout.readFile(path);
  if (flags.branch !== undefined) await checkout.createBranch(flags.branch);
  let commit: string;
  try {
    await checkout.writeFile(path, edit.text);
    commit = await checkout.commitFile(
      relative(checkout.root, path),
      message.subject,
      message.body,
      flags.sign ?? false,
    );
  } catch (error) {
    await checkout.writeFile(path, original);
    if (flags.branch !== undefined) await checkout.dropBranch(flags.branch, previous);
    throw error;
  }
  const branch = flags.branch ?? previous;
  if (flags.push) {
    await checkout.push(branch).catch((error: KasmGitopsError) => {
      const where = `commit ${commit.slice(0, 12)} is on local branch "${branch}"; push it yourself once origin is reachable`;
      throw new KasmGitopsError(error.code, `${error.message} (${where})`, error.context, { cause: error });
    });
  }
  return { commit, branch };
}
