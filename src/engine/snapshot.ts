/** A revision as the cycle uses it: fetched, its signature checked when asked, its manifests validated. */
import { KasmGitopsError } from "../core/errors.js";
import type { ManifestFile } from "../core/manifest/load.js";
import type { SecretPolicy } from "../core/manifest/secret-policy.js";
import type { ManifestSet, Problem } from "../core/manifest/types.js";
import { checkManifestFiles } from "../core/manifest/validate.js";
import { type TrustVerdict, untrustedMessage } from "../core/revision/trust.js";
import type { GitRevision, RevisionVerifier } from "../ports.js";
import type { ReconcileDeps } from "./cycle.js";

/** A revision read and validated: what the fleet should look like, and the files it came from. */
export type Snapshot = {
  revision: GitRevision;
  set: ManifestSet;
  problems: Problem[];
  files: ManifestFile[];
  /** With --verify-commits: the fingerprint of the trusted key that signed the tip. */
  signedBy?: string;
};

/** Reads and validates a set of manifest files; an invalid set is refused whole with every problem. */
export function acceptManifests(
  files: ManifestFile[],
  where: string,
  revision?: string,
  secrets?: SecretPolicy,
): Pick<Snapshot, "set" | "problems"> {
  const { set, problems } = checkManifestFiles(
    files,
    secrets ? { secrets: { policy: secrets, severity: "error" } } : {},
  );
  const errors = problems.filter((p) => p.severity === "error");
  if (errors.length > 0) {
    throw new KasmGitopsError("invalid-manifest", `${errors.length} error(s) in the manifests at ${where}`, {
      problems,
      ...(revision ? { revision } : {}),
    });
  }
  return { set, problems };
}

/** Refuses a revision whose tip commit is not signed by a trusted key, naming the commit, key and reason. */
export async function checkTrust(revision: GitRevision, verifier: RevisionVerifier, signal?: AbortSignal) {
  let verdict: TrustVerdict;
  try {
    verdict = await verifier.verify(revision, signal);
  } catch (error) {
    // A key file that became unreadable since startup: the revision cannot be checked, so it is not used.
    if (!(error instanceof KasmGitopsError && error.code === "invalid-trust-file")) throw error;
    verdict = { trusted: false, reason: "cannot-check", detail: error.message };
  }
  if (verdict.trusted) return verdict;
  throw new KasmGitopsError(
    "untrusted-revision",
    untrustedMessage(revision.revision, revision.branch, verdict),
    {
      revision: revision.revision,
      reason: verdict.reason,
      ...(verdict.key ? { key: verdict.key } : {}),
      ...(verdict.signer ? { signer: verdict.signer } : {}),
    },
  );
}

/** Fetches the branch, checks its signature when asked to, and validates its manifests. */
export async function loadSnapshot(deps: ReconcileDeps, signal?: AbortSignal): Promise<Snapshot> {
  const revision = await deps.git.sync(signal);
  const trusted = deps.verifier ? await checkTrust(revision, deps.verifier, signal) : undefined;
  const files = await deps.readManifests(revision.manifestDir, revision.checkoutDir);
  const where = `${revision.branch}@${revision.revision.slice(0, 12)}`;
  return {
    revision,
    files,
    ...acceptManifests(files, where, revision.revision, deps.secrets),
    ...(trusted ? { signedBy: trusted.key } : {}),
  };
}
