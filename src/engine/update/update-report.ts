/** The updater's own reporter: each pass's outcomes as log lines with stable fields, one per Workspace. */

import type { ImageCommitResult } from "../authoring/image-commit.js";
import type { DaemonLogger } from "../cycle-log.js";
import type { AutoPromotionOutcome } from "./auto-promote.js";
import type { UpdateOutcome } from "./run-updates.js";

type Line = { level: "info" | "warn" | "error"; fields: Record<string, unknown>; message: string };

/** One line an outcome says: its level, fields and message; nothing for a Workspace that is up to date. */
export function outcomeLine(o: UpdateOutcome): Line | undefined {
  const f = o.finding;
  const base = { workspace: f.workspace, image: f.current };
  if (f.status === "error")
    return { level: "warn", fields: { ...base, code: f.code }, message: `update check failed: ${f.error}` };
  if (f.status === "skipped")
    return {
      level: "info",
      fields: { ...base, tag: f.tag, digest: f.digest, reason: f.reason },
      message: `update skipped (${f.reason}): ${f.workspace} ${f.previousTag ?? f.current} → ${f.tag}: ${f.detail}`,
    };
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
  if (!o.result)
    return {
      level: "info",
      fields: to,
      message: `update available: ${f.workspace} ${f.previousTag ?? f.current} → ${f.tag}`,
    };
  return resultLine("update", o.result, to, `${f.workspace} → ${f.tag}`);
}

/** What a pushed (or not pushed) automated commit says: `noun` is update or promotion. */
function resultLine(
  noun: "update" | "promotion",
  r: ImageCommitResult,
  to: Record<string, unknown>,
  what: string,
): Line {
  switch (r.status) {
    case "pushed":
      return {
        level: "info",
        fields: { ...to, commit: r.commit, branch: r.branch, attempts: r.attempts },
        message: `${noun} pushed: ${what} on ${r.branch}`,
      };
    case "branch-exists":
      return {
        level: "info",
        fields: { ...to, branch: r.branch },
        message: `${noun} branch ${r.branch} is already pushed; not pushed again`,
      };
    case "unchanged":
      return {
        level: "info",
        fields: { ...to, tip: r.tip },
        message: `${noun} already on the branch tip: ${what}`,
      };
    case "refused":
      return {
        level: "error",
        fields: { ...to, branch: r.branch, attempts: r.attempts },
        message: `${noun} push refused twice (${r.branch}): ${r.reason}`,
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

/** One line an auto-promotion says; nothing while it waits for a smoke test, or was proposed already. */
export function promotionLine(o: AutoPromotionOutcome): Line | undefined {
  const d = o.decision;
  if (d.status !== "due") return undefined;
  const base = { workspace: d.workspace, from: d.from, digest: d.digest, image: d.image };
  if (o.error)
    return {
      level: o.error.code.startsWith("smoke-") || o.error.code === "not-verified" ? "info" : "error",
      fields: { ...base, code: o.error.code },
      message: `auto-promotion not written: ${o.error.message}`,
    };
  return resultLine("promotion", o.result!, base, `${d.workspace} → ${d.image}`);
}

/** Writes an auto-promotion pass to the daemon's log. */
export function createPromotionReporter(logger: DaemonLogger) {
  return (outcomes: AutoPromotionOutcome[] | { error: string }) => {
    if (!Array.isArray(outcomes)) return logger.error({}, `auto-promotion failed: ${outcomes.error}`);
    for (const o of outcomes) {
      const line = promotionLine(o);
      if (line) logger[line.level](line.fields, line.message);
    }
  };
}
