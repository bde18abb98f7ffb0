/** The updater's own reporter: each pass's outcomes as log lines with stable fields, one per Workspace. */
import type { DaemonLogger } from "../cycle-log.js";
import type { UpdateOutcome } from "./run-updates.js";

/** One line an outcome says: its level, fields and message; nothing for a Workspace that is up to date. */
export function outcomeLine(
  o: UpdateOutcome,
): { level: "info" | "warn" | "error"; fields: Record<string, unknown>; message: string } | undefined {
  const f = o.finding;
  const base = { workspace: f.workspace, image: f.current };
  if (f.status === "error")
    return { level: "warn", fields: { ...base, code: f.code }, message: `update check failed: ${f.error}` };
  if (f.status !== "candidate") return undefined;
  const to = {
    ...base,
    tag: f.tag,
    digest: f.digest,
    ...(f.previousTag ? { previousTag: f.previousTag } : {}),
  };
  if (o.error)
    return {
      level: "error",
      fields: { ...to, code: o.error.code },
      message: `update not written: ${o.error.message}`,
    };
  const r = o.result;
  if (!r)
    return {
      level: "info",
      fields: to,
      message: `update available: ${f.workspace} ${f.previousTag ?? f.current} → ${f.tag}`,
    };
  switch (r.status) {
    case "pushed":
      return {
        level: "info",
        fields: { ...to, commit: r.commit, branch: r.branch, attempts: r.attempts },
        message: `update pushed: ${f.workspace} → ${f.tag} on ${r.branch}`,
      };
    case "branch-exists":
      return {
        level: "info",
        fields: { ...to, branch: r.branch },
        message: `update branch ${r.branch} is already pushed; not pushed again`,
      };
    case "unchanged":
      return {
        level: "info",
        fields: { ...to, tip: r.tip },
        message: `update already on the branch tip: ${f.workspace} → ${f.tag}`,
      };
    case "refused":
      return {
        level: "error",
        fields: { ...to, branch: r.branch, attempts: r.attempts },
        message: `update push refused twice (${r.branch}): ${r.reason}`,
      };
  }
}

/** Writes a pass to the daemon's log; a pass that failed as a whole is one error line. */
export function createUpdateReporter(logger: DaemonLogger) {
  return (outcomes: UpdateOutcome[] | { error: string }, schedule: string) => {
    if (!Array.isArray(outcomes)) return logger.error({ schedule }, `update check failed: ${outcomes.error}`);
    for (const o of outcomes) {
      const line = outcomeLine(o);
      if (line) logger[line.level]({ ...line.fields, schedule }, line.message);
    }
  };
}
