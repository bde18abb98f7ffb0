import { Cron } from "croner";

/** Refreshing more often than this asks the registry for every tag more than 12 times an hour: a warning. */
export const REFRESH_WARNING_MS = 5 * 60_000;
/** Refreshing more often than this is self-inflicted load on the registry (and its rate limits): an error. */
export const REFRESH_ERROR_MS = 60_000;
/** Upcoming runs compared: enough to cross the hour and day boundaries of a pattern's busiest stretch. */
const RUNS = 120;
/** Beyond a year ahead a pattern only repeats itself (cron has no year field). */
const HORIZON_MS = 400 * 24 * 3_600_000;

/**
 * The shortest time between two consecutive runs of `expression` among its next runs after `from`, or
 * undefined when it runs fewer than twice. Pure: the clock is the caller's; stops at the first gap under
 * `stopBelowMs`, since nothing shorter changes the verdict.
 */
export function minimumCronGap(
  expression: string,
  from: Date,
  stopBelowMs = REFRESH_ERROR_MS,
): number | undefined {
  const cron = new Cron(expression, { paused: true });
  let previous = cron.nextRun(from);
  let gap: number | undefined;
  for (let n = 1; previous && n < RUNS; n++) {
    const run = cron.nextRun(previous);
    if (!run || run.getTime() - from.getTime() > HORIZON_MS) break;
    const ms = run.getTime() - previous.getTime();
    if (gap === undefined || ms < gap) gap = ms;
    if (gap < stopBelowMs) break;
    previous = run;
  }
  return gap;
}

const human = (ms: number) =>
  ms < 60_000 ? `${ms / 1000} s` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`;

/** Too-frequent refreshes: an error under a minute between runs, a warning under five; undefined otherwise. */
export function refreshFrequencyProblem(
  expression: string,
  from: Date,
  /** What the schedule drives: a digest refresh (a HEAD per tag) or an update check (a tag listing per repository). */
  kind: "refresh" | "update" = "refresh",
): { severity: "error" | "warning"; message: string } | undefined {
  const gap = minimumCronGap(expression, from);
  if (gap === undefined || gap >= REFRESH_WARNING_MS) return undefined;
  const cost = kind === "update" ? "one tag listing per repository" : "one registry request per tag";
  const what = kind === "update" ? "update schedule" : "refresh";
  const load = `${what} "${expression}" runs as often as every ${human(gap)}, ${cost} each time`;
  return gap < REFRESH_ERROR_MS
    ? {
        severity: "error",
        message: `${load}: ${kind === "update" ? "check" : "refresh"} at most once a minute (every 5 minutes or less often is best)`,
      }
    : { severity: "warning", message: `${load}: every 5 minutes or less often is kinder to the registry` };
}
