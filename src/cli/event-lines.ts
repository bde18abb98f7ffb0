import { formatBytes } from "../core/bytes.js";
import { actionSubject } from "../core/plan/render.js";
import type { Action } from "../core/plan/types.js";
import type { ExecutorEvent } from "../engine/executor.js";

/** `pull a1 registry:5000/app:v1`, `promote registry:5000/app:latest` or `kasm-update web`: what an event is about. */
export const describeAction = (action: Action) =>
  action.type === "pull" ? `pull ${action.agent} ${action.image}` : `${action.type} ${actionSubject(action)}`;

/** Why an action runs, in the start line's parentheses: only a promotion moves a tag. */
export function startReason(action: Action): string {
  switch (action.type) {
    case "pull":
    case "remove":
      return action.reason;
    case "promote":
      return "moving tag";
    case "kasm-create":
      return `new record for ${action.record.name}`;
    case "kasm-update":
      return `${action.adopt ? "adopt" : action.reason} record ${action.imageId}`;
    case "kasm-disable":
    case "kasm-delete":
      return `record ${action.imageId}: its Workspace left Git`;
    case "kasm-group-add":
      return "assigned in Git, not yet in Kasm";
    case "kasm-group-remove":
      return "assigned in Kasm, not in Git";
    case "smoke":
      return `${action.reason} digest ${action.digest}`;
  }
}

/** Seconds for people: `0.4s`, `12s`, `3m05s`. */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

const shortDigest = (digest: string) => digest.replace(/^(sha256:.{12}).*$/, "$1");

/**
 * One plain line per event, for a CI job log (stdout is not a terminal): start, retry, done with
 * duration and bytes, failed or skipped with the reason. Progress is folded into the done line.
 */
export function eventLines(write: (line: string) => void) {
  const bytes = new Map<string, number>();
  const key = (action: Action) => describeAction(action);
  return (event: ExecutorEvent) => {
    switch (event.type) {
      case "progress": {
        const p = event.progress;
        bytes.set(key(event.action), Math.max(p.bytesTotal, p.bytesDone));
        return;
      }
      case "start": {
        const reason = startReason(event.action);
        const attempt = event.attempt > 1 ? `, attempt ${event.attempt}` : "";
        return write(`start   ${describeAction(event.action)} (${reason}${attempt})\n`);
      }
      case "retry":
        return write(
          `retry   ${describeAction(event.action)}: attempt ${event.attempt + 1} in ${formatDuration(event.delayMs)} after: ${event.error}\n`,
        );
      case "registry-paused":
        return write(`paused  registry ${event.registry} for ${formatDuration(event.ms)} (rate limited)\n`);
      case "done": {
        const r = event.result;
        const what = describeAction(r.action);
        if (r.status === "ok") {
          const size = r.action.type === "pull" ? `, ${formatBytes(bytes.get(key(r.action)) ?? 0)}` : "";
          const digest = r.digest ? ` → ${shortDigest(r.digest)}` : "";
          return write(`done    ${what} in ${formatDuration(r.durationMs)}${size}${digest}\n`);
        }
        const attempts = r.attempts > 1 ? ` after ${r.attempts} attempts` : "";
        const label = r.status === "failed" ? "failed " : "skipped";
        return write(`${label} ${what}${attempts}: ${r.error?.message ?? r.status}\n`);
      }
    }
  };
}
