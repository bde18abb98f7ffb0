import { formatBytes } from "../core/bytes.js";
import { actionSubject } from "../core/plan/render.js";
import type { BlockedKasm, Plan } from "../core/plan/types.js";
import { describeUnknown } from "../core/plan/unknown.js";
import type { ActionResult, ExecutorEvent } from "../engine/executor.js";
import { countsAsFailure } from "../engine/remove-images.js";
import type { PullProgress } from "../ports.js";
import { eventLines } from "./event-lines.js";
import type { CliIo } from "./io.js";
import { progressMode, progressRow, type RunningView } from "./progress-rows.js";

/** Sizes for people; the plan renders them too, so the function lives in core. */
export { formatBytes };

type AgentLine = { running: Map<string, RunningView>; queued: number; ok: number; failed: number };

const shortImage = (image: string) => image.replace(/^[^/]+\//, "");

/** One JSON object per line: for logs, CI and anything that parses apply's output. */
export function jsonLines(io: CliIo, now: () => Date = () => new Date()) {
  const lastProgress = new Map<string, string>();
  return (event: ExecutorEvent) => {
    if (event.type === "progress") {
      // Docker repeats identical progress lines; only a change is worth a line.
      const key = `${event.action.agent} ${event.action.image}`;
      const value = JSON.stringify(event.progress);
      if (lastProgress.get(key) === value) return;
      lastProgress.set(key, value);
    }
    const { type, ...rest } = event;
    const body =
      event.type === "done"
        ? {
            ...event.result.action,
            status: event.result.status,
            durationMs: event.result.durationMs,
            attempts: event.result.attempts,
            ...(event.result.digest ? { digest: event.result.digest } : {}),
            ...(event.result.error ? { error: event.result.error } : {}),
          }
        : "action" in rest
          ? { ...rest.action, ...rest, action: undefined }
          : rest;
    io.stdout(`${JSON.stringify({ time: now().toISOString(), event: type, ...body })}\n`);
  };
}

/**
 * Live rows per agent on a terminal (pulls running, percentage, queue), redrawn in place and fitted to the
 * width; one line per event instead when the terminal is narrow, dumb or of unknown width. A resize starts
 * a fresh block below the old one: the terminal may have re-wrapped the old rows, so moving up is unsafe.
 */
export function terminalProgress(io: CliIo) {
  const agents = new Map<string, AgentLine>();
  const mode = () => progressMode(io.columns?.(), io.env.TERM);
  let current = mode();
  let drawn = 0;
  let last = 0;
  const lines = eventLines((text) => {
    if (current === "lines") io.stdout(text);
  });
  const line = (name: string): AgentLine => {
    let entry = agents.get(name);
    if (!entry) {
      entry = { running: new Map(), queued: 0, ok: 0, failed: 0 };
      agents.set(name, entry);
    }
    return entry;
  };
  const draw = (force = false) => {
    const time = Date.now();
    if (current !== "live" || agents.size === 0 || (!force && time - last < 100)) return;
    last = time;
    const columns = io.columns?.() ?? 80;
    const rows = [...agents].map(
      ([name, a]) => `\x1b[2K${progressRow({ name, ...a, running: [...a.running.values()] }, columns)}`,
    );
    io.stdout(`${drawn > 0 ? `\x1b[${drawn}A` : ""}${rows.join("\n")}\n`);
    drawn = rows.length;
  };
  const stopResize = io.onResize?.(() => {
    current = mode();
    drawn = 0;
    draw(true);
  });
  return {
    onEvent(event: ExecutorEvent) {
      lines(event);
      if (event.type === "registry-paused") return;
      const action = event.type === "done" ? event.result.action : event.action;
      const a = line(
        action.type === "pull" || action.type === "remove"
          ? action.agent
          : action.type === "promote"
            ? "registry"
            : "kasm",
      );
      // Keyed by the full reference (two registries may hold the same path); shown without the registry.
      const key = actionSubject(action);
      const subject = shortImage(key);
      if (event.type === "start") {
        a.running.set(key, { subject, state: "starting" });
        a.queued = event.queued;
      } else if (event.type === "progress") {
        a.running.set(key, { subject, ...progressState(event.progress) });
      } else if (event.type === "retry") {
        a.running.set(key, {
          subject,
          state: `retry ${event.attempt} in ${Math.round(event.delayMs / 1000)}s`,
        });
      } else {
        a.running.delete(key);
        if (event.result.status === "ok") a.ok++;
        else a.failed++;
      }
      draw(event.type === "done");
    },
    /** Stops following resizes once apply is done. */
    close() {
      stopResize?.();
    },
  };
}

/** A pull's state for its row: the percentage (bytes beside it when room allows), or layers when sizes are unknown. */
function progressState(p: PullProgress): Omit<RunningView, "subject"> {
  if (p.bytesTotal <= 0) return { state: `${p.layersDone}/${p.layersTotal} layers` };
  const percent = Math.min(100, Math.floor((p.bytesDone / p.bytesTotal) * 100));
  return { state: `${percent}%`, bytes: `${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}` };
}

/** The closing lines of apply: counts, one line per failure with its reason, held Kasm changes, and what was not checked. */
/** `blocking`: why the fleet is not converged although nothing failed (a promotion blocked as untested). */
export function applySummary(
  results: ActionResult[],
  plan: Pick<Plan, "unknown" | "blocked">,
  blocking: readonly string[] = [],
): string {
  const count = (type: string, status: string) =>
    results.filter((r) => r.action.type === type && r.status === status).length;
  const parts = [`${count("pull", "ok")} pulled`];
  if (results.some((r) => r.action.type === "promote")) parts.push(`${count("promote", "ok")} promoted`);
  const kasm = results.filter((r) => r.action.type.startsWith("kasm-"));
  if (kasm.length > 0) parts.push(`${kasm.filter((r) => r.status === "ok").length} Kasm change(s) made`);
  const prune = pruneTotals(results);
  if (results.some((r) => r.action.type === "remove")) {
    parts.push(`${prune.removed} removed (${formatBytes(prune.freedBytes)} freed)`, `${prune.kept} kept`);
  }
  const failed = results.filter(countsAsFailure);
  parts.push(`${failed.length} failed`);
  const kept = results.filter((r) => r.action.type === "remove" && r.status === "skipped");
  const lines = [...failed, ...kept].map((r) => {
    const where = r.action.type === "pull" || r.action.type === "remove" ? `${r.action.agent} ` : "";
    const mark = r.status === "failed" || r.action.type !== "remove" ? "✗" : "~";
    return `  ${mark} ${r.action.type} ${where}${actionSubject(r.action)}: ${r.error?.message ?? r.status}`;
  });
  const held = plan.blocked.filter((b): b is BlockedKasm => b.type.startsWith("kasm-"));
  for (const b of held) lines.push(`  ! ${b.type} ${b.workspace} [${b.reason}]: ${b.message}`);
  const head =
    failed.length > 0
      ? `Apply finished with failures: ${parts.join(", ")}.`
      : plan.unknown.length > 0
        ? `Apply incomplete: ${parts.join(", ")}.`
        : held.length > 0 || blocking.length > 0
          ? `Apply finished, not converged: ${parts.join(", ")}.`
          : `Apply complete: ${parts.join(", ")}.`;
  for (const reason of blocking) lines.push(`Not converged: ${reason}`);
  if (plan.unknown.length > 0)
    lines.push(`Not converged: ${describeUnknown(plan.unknown)}; fix the cause and apply again.`);
  return `${[head, ...lines].join("\n")}\n`;
}

/** Pruning's outcome: images removed, bytes they freed (Docker's sizes), images kept because in use meanwhile. */
export function pruneTotals(results: readonly ActionResult[]) {
  const removals = results.filter((r) => r.action.type === "remove");
  const removed = removals.filter((r) => r.status === "ok");
  return {
    removed: removed.length,
    freedBytes: removed.reduce((sum, r) => sum + (r.action.type === "remove" ? r.action.bytes : 0), 0),
    kept: removals.filter((r) => r.status === "skipped").length,
  };
}
