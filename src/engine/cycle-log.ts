import { parseImageReference } from "../core/image/reference.js";
import { actionSubject } from "../core/plan/render.js";
import type { Action, BlockedAction } from "../core/plan/types.js";
import type { Metrics } from "../ports.js";
import type { ExecutorEvent } from "./executor.js";
import { removalResult } from "./remove-images.js";

/** The structured logger the daemon writes to (pino's shape). */
export type DaemonLogger = {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
};

/**
 * The fields that say what an action is about, with stable names for log queries: `agent`, `workspace`
 * (several joined by commas), `image`. A promotion is a registry write, so it names its `registry`, not an agent.
 */
export function actionFields(action: Action | BlockedAction): Record<string, string> {
  switch (action.type) {
    case "pull":
      return { agent: action.agent, workspace: action.workspaces.join(","), image: action.image };
    case "promote":
      return {
        registry: parseImageReference(action.image).registry,
        workspace: action.workspace,
        image: action.image,
        source: action.source,
        targetDigest: action.targetDigest,
      };
    case "remove":
      return { agent: action.agent, image: action.image };
    case "kasm-create":
    case "kasm-update":
      return { workspace: action.workspace, ...("image" in action ? { image: action.image } : {}) };
    default:
      return { workspace: action.workspace, subject: actionSubject(action as Action) };
  }
}

/**
 * Logs what the executor does in one cycle (start, retry, done, failed, skipped) with the cycle, revision and
 * the action's fields, and counts finished actions in the metrics.
 */
export function cycleEventLogger(logger: DaemonLogger, metrics: Metrics, cycle: string, revision: string) {
  return (event: ExecutorEvent) => {
    if (event.type === "start") {
      const { action, attempt } = event;
      if (action.type !== "pull" && action.type !== "promote") return;
      logger.info(
        { cycle, revision, action: action.type, ...actionFields(action), attempt },
        `${action.type} started`,
      );
      return;
    }
    if (event.type === "retry") {
      const { action, attempt, delayMs, error } = event;
      logger.warn(
        { cycle, revision, action: action.type, ...actionFields(action), attempt, delayMs, error },
        `${action.type} failed, retrying`,
      );
      return;
    }
    if (event.type !== "done") return;
    const { action, status, durationMs, error, attempts } = event.result;
    if (action.type.startsWith("kasm-")) metrics.kasmActionFinished(action.type, status);
    else if (action.type === "promote") metrics.promotionFinished(status === "ok" ? "ok" : "failed");
    else if (action.type === "smoke" && status !== "skipped")
      metrics.smokeFinished(
        status === "ok" ? "pass" : error?.code === "smoke-failed" ? "fail" : "error",
        durationMs,
      );
    else if (action.type === "remove")
      metrics.removalFinished(action.agent, removalResult(status), action.bytes);
    else if (action.type === "pull")
      metrics.pullFinished(action.agent, status === "ok" ? "ok" : "failed", durationMs);
    const log = {
      cycle,
      revision,
      action: action.type,
      ...actionFields(action),
      status,
      durationMs,
      attempts,
    };
    if (status === "ok") logger.info(log, `${action.type} done`);
    else logger.error({ ...log, error }, `${action.type} ${status}`);
  };
}

/** One warning per blocked pull or promotion, with the same fields as the executor's lines. */
export function logBlocked(logger: DaemonLogger, cycle: string, revision: string, blocked: BlockedAction) {
  logger.warn(
    { cycle, revision, action: blocked.type, ...actionFields(blocked), reason: blocked.reason },
    blocked.message,
  );
}
