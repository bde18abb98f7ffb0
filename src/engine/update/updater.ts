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
import { type AutoPromoteDeps, type AutoPromotionOutcome, runAutoPromotions } from "./auto-promote.js";
import { type RunUpdatesDeps, runUpdates, type UpdateOutcome } from "./run-updates.js";

/** Update checks need the registry and Git; auto-promotion also the promote command's checks and its record. */
export type UpdaterDeps = RunUpdatesDeps & Partial<Omit<AutoPromoteDeps, keyof RunUpdatesDeps>>;

export type UpdaterOptions = {
  branch: string;
  path: string;
  sign: boolean;
  /** `--kasm-only`: auto-promotions are verified from Kasm (a passed smoke session), not from engines. */
  kasmOnly?: boolean;
  /** `--refresh`: the default schedule of updates too. */
  refreshCron?: string;
  /** Hears each pass's outcomes (or why the pass failed): the updater's own reporter. */
  report: (outcomes: UpdateOutcome[] | { error: string }, schedule: string) => void;
  /** Hears each auto-promotion pass's outcomes (or why it failed). */
  reportPromotions?: (outcomes: AutoPromotionOutcome[] | { error: string }) => void;
  /** Told after a commit was pushed to the followed branch, so the daemon reconciles it now. */
  onPushed: () => void;
};

export type Updater = {
  /** Follows the revision in force: its Workspaces' update schedules become timers. */
  configure(snapshot: Snapshot | undefined): void;
  /** Runs the pass of one schedule now (what its timer does); resolves with its outcomes. */
  run(schedule: string): Promise<UpdateOutcome[]>;
  /**
   * Writes the auto-promotions now due (the daemon asks after each cycle, as smoke results land there);
   * nothing without the deps auto-promotion needs.
   */
  promote(): Promise<AutoPromotionOutcome[]>;
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

/** The deps auto-promotion needs, when all were given. */
function autoDeps(deps: UpdaterDeps): AutoPromoteDeps | undefined {
  const { agentFor, ledger, autoPromotions } = deps;
  return agentFor && ledger && autoPromotions ? { ...deps, agentFor, ledger, autoPromotions } : undefined;
}

export function createUpdater(deps: UpdaterDeps, options: UpdaterOptions): Updater {
  let snapshot: Snapshot | undefined;
  let schedules = new Map<string, string[]>();
  let crons: Cron[] = [];
  let key = "";
  let stopped = false;
  let chain: Promise<unknown> = Promise.resolve();
  const stop = new AbortController();

  const target = () => ({
    branch: options.branch,
    path: options.path,
    sign: options.sign,
    signal: stop.signal,
    ...(options.kasmOnly ? { kasmOnly: true } : {}),
  });
  const pass = async (schedule: string): Promise<UpdateOutcome[]> => {
    const names = schedules.get(schedule);
    if (!snapshot || !names || stopped) return [];
    try {
      const outcomes = await runUpdates(snapshot.set, deps, { ...target(), only: new Set(names) });
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
  const promotions = async (): Promise<AutoPromotionOutcome[]> => {
    const auto = autoDeps(deps);
    if (!snapshot || !auto || stopped) return [];
    try {
      const outcomes = await runAutoPromotions(snapshot.set, auto, target());
      options.reportPromotions?.(outcomes);
      if (outcomes.some((o) => o.result?.status === "pushed" && o.result.branch === options.branch))
        options.onPushed();
      return outcomes;
    } catch (error) {
      options.reportPromotions?.({ error: describeError(error) });
      return [];
    }
  };
  /** Passes run one at a time: two would commit on the same tip. */
  const queue = <T>(work: () => Promise<T>): Promise<T> => {
    const next = chain.then(work);
    chain = next.catch(() => undefined);
    return next;
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
    run: (schedule) => queue(() => pass(schedule)),
    promote: () => queue(promotions),
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
