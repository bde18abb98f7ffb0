/**
 * What people did with automation, read back from the followed branch: its automated commits, parsed, as the
 * history of core/update/history.ts. Read lazily and at most once per pass, and only when something is a
 * candidate or due: a Git failure then throws, so nothing is proposed blind.
 */
import type { ManifestSet } from "../../core/manifest/types.js";
import {
  type AutomationHistory,
  parseAutomatedCommit,
  readAutomationHistory,
} from "../../core/update/history.js";
import type { GitWriter } from "../../ports.js";

/** How far back the branch is read: years of updates of a fleet, bounded all the same. */
export const HISTORY_LIMIT = 2000;

/** The branch's history, read on the first call and shared by every later one. */
export type HistoryReader = () => Promise<AutomationHistory>;

export function branchHistory(
  set: ManifestSet,
  writer: Pick<GitWriter, "automatedCommits">,
  branch: string,
  signal?: AbortSignal,
): HistoryReader {
  let read: Promise<AutomationHistory> | undefined;
  return () => {
    read ??= writer.automatedCommits(branch, HISTORY_LIMIT, signal).then((commits) =>
      readAutomationHistory(
        set,
        commits.flatMap(({ commit, message }) => parseAutomatedCommit(commit, message) ?? []),
      ),
    );
    return read;
  };
}
