/**
 * The daemon's update checks, on their own schedule beside the reconciler's cycles: each Workspace's
 * `update.schedule` (default the refresh schedule) is a timer; when it fires, the Workspaces on it are checked
 * against the revision in force and their candidates written back. A push asks the daemon for a cycle, so
 * the new commit is reconciled at once. Its results go to the log and metrics through `report`.
 */
import { Cron } from "croner";
import { describeError } from "../../core/errors.js";
import { DEFAULTS, type ManifestSet } from "../../core/manifest/types.js";
import type { Snapshot } from "../snapshot.js";
import { type RunUpdatesDeps, runUpdates, type UpdateOutcome } from "./run-updates.js";

export type UpdaterOptions = {
  branch: string;
  path: string;
  sign: boolean;
  /** `--refresh`: the default schedule of updates too. */
  refreshCron?: string;
  /** Hears each pass's outcomes (or why the pass failed): the updater's own reporter. */
  report: (outcomes: UpdateOutcome[] | { error: string }, schedule: string) => void;
  /** Told after a commit was pushed to the followed branch, so the daemon reconciles it now. */
  onPushed: () => void;
};

export type Updater = {
  /** Follows the revision in force: its Workspaces' update schedules become timers. */
  configure(snapshot: Snapshot | undefined): void;
  /** Runs the pass of one schedule now (what its timer does); resolves with its outcomes. */
  run(schedule: string): Promise<UpdateOutcome[]>;
  stop(): Promise<void>;
};

/** Pure: each update schedule and the Workspaces on it. */
export function updateSchedules(set: ManifestSet | undefined, refreshCron?: string): Map<string, string[]> {
  const fallback = refreshCron ?? set?.settings?.spec.refreshSchedule ?? DEFAULTS.refreshSchedule;
  const schedules = new Map<string, string[]>();
  for (const w of set?.workspaces ?? []) {
    if (!w.spec.update || w.spec.enabled === false) continue;
    const cron = w.spec.update.schedule ?? fallback;
    schedules.set(cron, [...(schedules.get(cron) ?? []), w.metadata.name]);
  }
  return schedules;
}

export function createUpdater(deps: RunUpdatesDeps, options: UpdaterOptions): Updater {
  let snapshot: Snapshot | undefined;
  let schedules = new Map<string, string[]>();
  let crons: Cron[] = [];
  let key = "";
  let stopped = false;
  /** Passes run one at a time: two would commit on the same tip. */
  let chain: Promise<unknown> = Promise.resolve();
  const stop = new AbortController();

  const pass = async (schedule: string): Promise<UpdateOutcome[]> => {
    const names = schedules.get(schedule);
    if (!snapshot || !names || stopped) return [];
    try {
      const outcomes = await runUpdates(snapshot.set, deps, {
        branch: options.branch,
        path: options.path,
        sign: options.sign,
        only: new Set(names),
        signal: stop.signal,
      });
      options.report(outcomes, schedule);
      const pushed = outcomes.some(
        (o) => o.result?.status === "pushed" && o.result.branch === options.branch,
      );
      if (pushed) options.onPushed();
      return outcomes;
    } catch (error) {
      options.report({ error: describeError(error) }, schedule);
      return [];
    }
  };
  const updater: Updater = {
    configure(next) {
      snapshot = next;
      schedules = updateSchedules(next?.set, options.refreshCron);
      const nextKey = JSON.stringify([...schedules.keys()].sort());
      if (nextKey === key || stopped) return;
      key = nextKey;
      for (const cron of crons) cron.stop();
      crons = [...schedules.keys()].map(
        (expr) => new Cron(expr, { protect: true }, () => void updater.run(expr)),
      );
    },
    run(schedule) {
      const next = chain.then(() => pass(schedule));
      chain = next.catch(() => undefined);
      return next;
    },
    async stop() {
      stopped = true;
      for (const cron of crons) cron.stop();
      crons = [];
      stop.abort();
      await chain;
    },
  };
  return updater;
}
