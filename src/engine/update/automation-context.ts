/**
 * What automation needs to know beyond the registry before it proposes anything: the followed branch's
 * automated commits read back (what people undid) and the smoke results. Read once per pass.
 */
import { EMPTY_SMOKE_STATE, type SmokeState } from "../../core/kasm/smoke.js";
import type { ManifestSet } from "../../core/manifest/types.js";
import {
  type AutomationHistory,
  parseAutomatedCommit,
  readAutomationHistory,
} from "../../core/update/history.js";
import type { GitWriter, SmokeStore } from "../../ports.js";

/** How far back the branch is read: years of updates of a fleet, bounded all the same. */
export const HISTORY_LIMIT = 2000;

export type AutomationContext = { history: AutomationHistory; smoke: SmokeState };

/** Reads the branch's automated commits and the smoke results; a Git failure throws (nothing is proposed blind). */
export async function readAutomationContext(
  set: ManifestSet,
  deps: { writer: Pick<GitWriter, "automatedCommits">; smoke?: SmokeStore },
  branch: string,
  signal?: AbortSignal,
): Promise<AutomationContext> {
  const [commits, smoke] = await Promise.all([
    deps.writer.automatedCommits(branch, HISTORY_LIMIT, signal),
    deps.smoke?.read(),
  ]);
  const parsed = commits.flatMap(({ commit, message }) => parseAutomatedCommit(commit, message) ?? []);
  return { history: readAutomationHistory(set, parsed), smoke: smoke ?? EMPTY_SMOKE_STATE };
}
