import { Cron } from "croner";
import { parseDuration } from "../core/duration.js";
import { DEFAULTS, type ManifestSet } from "../core/manifest/types.js";
import { refreshSchedule } from "../core/plan/desired.js";
import type { CycleTrigger } from "./status.js";

/** When cycles run: flags win over the repo's Settings, which win over the defaults (docs/operations.md). */
export type EffectiveSchedule = { intervalMs: number; refreshCron: string; workspaceCrons: string[] };
export type ScheduleOverrides = { intervalMs?: number; refreshCron?: string };

/** Pure: the schedule a manifest set asks for, with the command line's overrides applied. */
export function effectiveSchedule(
  set: ManifestSet | undefined,
  overrides: ScheduleOverrides,
): EffectiveSchedule {
  const settings = set?.settings?.spec;
  const own = (set?.workspaces ?? [])
    .filter((w) => w.spec.enabled !== false)
    .map(refreshSchedule)
    .filter((s): s is string => s !== undefined && s !== "default");
  return {
    intervalMs: overrides.intervalMs ?? parseDuration(settings?.interval ?? DEFAULTS.interval)!,
    refreshCron: overrides.refreshCron ?? settings?.refreshSchedule ?? DEFAULTS.refreshSchedule,
    workspaceCrons: [...new Set(own)].sort(),
  };
}

/** The daemon's timers, recreated only when the effective schedule changes. */
export function createTimers(
  overrides: ScheduleOverrides,
  request: (trigger: CycleTrigger, schedule?: string) => void,
  log: (schedule: { interval: string; refresh: string; workspaceCrons: string[] }) => void,
) {
  let crons: Cron[] = [];
  let current = "";
  return {
    update(set?: ManifestSet) {
      const next = effectiveSchedule(set, overrides);
      const key = JSON.stringify(next);
      if (key === current) return;
      current = key;
      for (const cron of crons) cron.stop();
      const seconds = Math.max(1, Math.round(next.intervalMs / 1000));
      crons = [
        new Cron("* * * * * *", { interval: seconds, protect: true }, () => request("interval")),
        new Cron(next.refreshCron, { protect: true }, () => request("refresh", "default")),
        ...next.workspaceCrons.map(
          (expr) => new Cron(expr, { protect: true }, () => request("refresh", expr)),
        ),
      ];
      log({ interval: `${seconds}s`, refresh: next.refreshCron, workspaceCrons: next.workspaceCrons });
    },
    stop() {
      for (const cron of crons) cron.stop();
      crons = [];
    },
  };
}
