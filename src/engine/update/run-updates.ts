/**
 * One update pass, shared by the daemon's schedule and `kasm-gitops update`: check the Workspaces' policies
 * against their registries, then author and push one commit per candidate, one after another on the tip.
 */
import { EMPTY_SMOKE_STATE } from "../../core/kasm/smoke.js";
import type { ManifestFile } from "../../core/manifest/load.js";
import type { SecretPolicy } from "../../core/manifest/secret-policy.js";
import type { ManifestSet } from "../../core/manifest/types.js";
import { updateBranch, updateCommitMessage } from "../../core/update/message.js";
import { screenFindings } from "../../core/update/screen.js";
import type { GitWriter, SmokeStore } from "../../ports.js";
import { type ImageCommitResult, type WriteBackError, writeBack } from "../authoring/image-commit.js";
import { branchHistory, type HistoryReader } from "./branch-history.js";
import { checkUpdates, type UpdateDeps, type UpdateFinding } from "./check.js";

export type RunUpdatesDeps = UpdateDeps & {
  writer: GitWriter;
  readManifests: (dir: string, root: string) => Promise<ManifestFile[]>;
  secrets?: SecretPolicy;
  /** Smoke results: a candidate whose digest failed this Workspace's smoke test is not proposed again. */
  smoke?: SmokeStore;
};
export type RunUpdatesOptions = {
  branch: string;
  path: string;
  sign: boolean;
  only?: ReadonlySet<string>;
  /** Check and say what would be written, but commit nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
};

/** A Workspace's finding, and what became of its commit when it had a candidate. */
export type UpdateOutcome = {
  finding: UpdateFinding;
  result?: ImageCommitResult;
  error?: WriteBackError;
};

/**
 * The check's findings, each candidate screened against what people did (the branch's automated commits
 * they undid), the smoke results and `suspend`. The branch is read only when there is a candidate.
 */
export async function screenedFindings(
  set: ManifestSet,
  deps: Omit<RunUpdatesDeps, "readManifests">,
  options: Pick<RunUpdatesOptions, "branch" | "only" | "signal"> & { history?: HistoryReader },
): Promise<UpdateFinding[]> {
  const findings = await checkUpdates(set, deps, {
    ...(options.only ? { only: options.only } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (!findings.some((f) => f.status === "candidate")) return findings;
  const history = options.history ?? branchHistory(set, deps.writer, options.branch, options.signal);
  const [undone, smoke] = await Promise.all([history(), deps.smoke?.read()]);
  return screenFindings(findings, set, undone, smoke ?? EMPTY_SMOKE_STATE);
}

/** Checks, then writes back each candidate; one failure never stops the others. */
export async function runUpdates(
  set: ManifestSet,
  deps: RunUpdatesDeps,
  options: RunUpdatesOptions,
): Promise<UpdateOutcome[]> {
  const findings = await screenedFindings(set, deps, options);
  const byName = new Map(set.workspaces.map((w) => [w.metadata.name, w]));
  const outcomes: UpdateOutcome[] = [];
  for (const finding of findings) {
    if (finding.status !== "candidate" || options.dryRun) {
      outcomes.push({ finding });
      continue;
    }
    const update = byName.get(finding.workspace)!.spec.update!;
    const message = updateCommitMessage({
      workspace: finding.workspace,
      previous: finding.current,
      image: finding.image,
      tag: finding.tag,
      digest: finding.digest,
      policy: update,
      ...(finding.previousTag ? { previousTag: finding.previousTag } : {}),
      ...(finding.previousDigest ? { previousDigest: finding.previousDigest } : {}),
    });
    const change = {
      workspace: finding.workspace,
      image: finding.image,
      message,
      ...(update.mode === "branch" ? { branch: updateBranch(finding.workspace, finding.tag) } : {}),
    };
    const written = await writeBack(deps, change, {
      branch: options.branch,
      path: options.path,
      sign: options.sign,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    outcomes.push({ finding, ...written });
  }
  return outcomes;
}

/** Whether a pass did all it should: every check answered, and every candidate pushed or already there. */
export function updatesSucceeded(outcomes: readonly UpdateOutcome[]): boolean {
  return outcomes.every((o) => o.finding.status !== "error" && !o.error && o.result?.status !== "refused");
}
