/**
 * The status page's part of the status reducer: the fleet matrix, promotions, Kasm records and prune results
 * as a plan draws them and the executor's events move them, and the recent-events feed. Pure; never mutates.
 */
import type { FleetCell, FleetView, KasmRecordView, PromotionView } from "../core/status/fleet-view.js";
import { appendFeed, type FeedEntry, type PruneView } from "../core/status/status-view.js";
import { describeFailed, failedActions } from "./cycle-health.js";
import type { ActionResult, ExecutorEvent } from "./executor.js";
import { removalResult } from "./remove-images.js";

/** The fields of the daemon's status this module reads and writes. */
export type FleetStatus = {
  running?: { id: string };
  fleet?: FleetView;
  prune?: Record<string, PruneView>;
  events: FeedEntry[];
};

/** A cell failed before keeps its error while the new plan only plans the same pull again. */
function carryCell(before: FleetCell | undefined, after: FleetCell): FleetCell {
  if (before?.state === "failed" && after.state === "pending" && before.image === after.image)
    return { ...after, state: "failed", ...(before.why ? { why: before.why } : {}) };
  return after;
}

const DONE_RECORDS = new Set<KasmRecordView["state"]>(["created", "updated", "repaired", "removed"]);

/** A new plan's view, keeping what only the last writes knew: failures retried, digests promoted, records repaired. */
export function mergePlanned(before: FleetView | undefined, next: FleetView): FleetView {
  if (!before) return next;
  const cells: FleetView["cells"] = {};
  for (const [agent, row] of Object.entries(next.cells)) {
    const old = before.cells[agent];
    cells[agent] = old
      ? Object.fromEntries(Object.entries(row).map(([w, c]) => [w, carryCell(old[w], c)]))
      : row;
  }
  const promotions = next.promotions.map((p) => {
    const old = before.promotions.find((o) => o.workspace === p.workspace);
    return p.state === "done" && !p.digest && old?.digest && old.state === "done"
      ? { ...p, digest: old.digest }
      : p;
  });
  let kasmRecords = next.kasmRecords;
  if (kasmRecords && before.kasmRecords) {
    const old = before.kasmRecords;
    kasmRecords = Object.fromEntries(
      Object.entries(kasmRecords).map(([w, r]) => {
        const last = old[w];
        return [w, r.state === "in-sync" && last && DONE_RECORDS.has(last.state) ? last : r];
      }),
    );
  }
  return { ...next, cells, promotions, ...(kasmRecords ? { kasmRecords } : {}) };
}

/** Sets the cells of `workspaces` on `agent` for `image`; a cell about another image changes only for worse news. */
function setCells(
  fleet: FleetView,
  agent: string,
  workspaces: readonly string[],
  image: string,
  cell: (before: FleetCell) => FleetCell,
): FleetView {
  const row = fleet.cells[agent];
  if (!row) return fleet;
  const next = { ...row };
  for (const w of workspaces) {
    const before = next[w];
    if (!before) continue;
    const after = cell(before);
    if (before.image === image || after.state === "failed") next[w] = after;
  }
  return { ...fleet, cells: { ...fleet.cells, [agent]: next } };
}

function setPromotion(fleet: FleetView, workspace: string, change: Partial<PromotionView>): FleetView {
  const promotions = fleet.promotions.map((p) => (p.workspace === workspace ? { ...p, ...change } : p));
  return { ...fleet, promotions };
}

function setRecord(fleet: FleetView, workspace: string, record: KasmRecordView): FleetView {
  if (!fleet.kasmRecords?.[workspace]) return fleet;
  return { ...fleet, kasmRecords: { ...fleet.kasmRecords, [workspace]: record } };
}

/** The fleet after one finished action. */
function afterResult(fleet: FleetView, result: ActionResult): FleetView {
  const { action, status } = result;
  const error = result.error?.message ?? status;
  switch (action.type) {
    case "pull":
      return setCells(fleet, action.agent, action.workspaces, action.image, () =>
        status === "ok"
          ? { state: "held", image: action.image, ...(result.digest ? { digest: result.digest } : {}) }
          : { state: status === "skipped" ? "pending" : "failed", image: action.image, why: error },
      );
    case "promote":
      return setPromotion(
        fleet,
        action.workspace,
        status === "ok"
          ? { state: "done", digest: result.digest ?? action.targetDigest }
          : { state: "failed", message: error },
      );
    case "remove":
      return fleet;
    case "kasm-create":
    case "kasm-update": {
      const before = fleet.kasmRecords?.[action.workspace];
      const done =
        action.type === "kasm-create" ? "created" : action.reason === "drift" ? "repaired" : "updated";
      const fields = before?.fields ? { fields: before.fields } : {};
      return setRecord(
        fleet,
        action.workspace,
        status === "ok" ? { state: done, ...fields } : { state: "failed", ...fields, message: error },
      );
    }
    default:
      if (status === "ok") return fleet;
      return setRecord(fleet, action.workspace, { state: "failed", message: `${action.type}: ${error}` });
  }
}

/** An agent's prune results: a new cycle starts them afresh. */
function afterRemoval(
  prune: Record<string, PruneView> | undefined,
  result: ActionResult,
  at: string,
  cycle: string | undefined,
): Record<string, PruneView> {
  if (result.action.type !== "remove") return prune ?? {};
  const { agent, bytes } = result.action;
  const last = prune?.[agent];
  const base: PruneView =
    last && last.cycle === cycle
      ? last
      : { at, ...(cycle ? { cycle } : {}), removed: 0, freedBytes: 0, kept: 0, failed: 0 };
  const outcome = removalResult(result.status);
  const next: PruneView = {
    ...base,
    at,
    removed: base.removed + (outcome === "ok" ? 1 : 0),
    freedBytes: base.freedBytes + (outcome === "ok" ? bytes : 0),
    kept: base.kept + (outcome === "kept" ? 1 : 0),
    failed: base.failed + (outcome === "failed" ? 1 : 0),
    ...(outcome === "failed" && !base.error ? { error: result.error?.message ?? "failed" } : {}),
  };
  return { ...prune, [agent]: next };
}

/** The feed line of a finished action, or none for the quiet ones (a removal that went as planned is counted). */
function resultLine(result: ActionResult, at: string): FeedEntry | undefined {
  const failed = failedActions([result])[0];
  if (failed) return { at, level: "error", message: describeFailed(failed) };
  const { action } = result;
  if (result.status !== "ok") return undefined;
  switch (action.type) {
    case "pull":
      return {
        at,
        level: "info",
        message: `pull ${action.image} on ${action.agent} done${result.digest ? ` (${result.digest.slice(7, 19)})` : ""}`,
      };
    case "promote":
      return {
        at,
        level: "info",
        message: `promoted ${action.image} to ${action.targetDigest.slice(7, 19)} (workspace ${action.workspace})`,
      };
    case "remove":
      return { at, level: "info", message: `removed ${action.image} from ${action.agent}` };
    default:
      return { at, level: "info", message: `${action.type} of workspace ${action.workspace} done` };
  }
}

/** Applies one executor event: a pull starting or progressing, an action done, a retry. */
export function applyExecutorEvent<S extends FleetStatus>(status: S, event: ExecutorEvent, at: Date): S {
  const when = at.toISOString();
  const fleet = status.fleet;
  switch (event.type) {
    case "start": {
      const { action } = event;
      if (action.type === "pull" && fleet) {
        const progress = { bytesDone: 0, bytesTotal: 0, layersDone: 0, layersTotal: 0 };
        const cell = (before: FleetCell): FleetCell => ({
          state: "pulling",
          image: action.image,
          ...(action.targetDigest ? { digest: action.targetDigest } : {}),
          progress,
          ...(before.state === "failed" && before.why ? { why: `retrying; last: ${before.why}` } : {}),
        });
        return { ...status, fleet: setCells(fleet, action.agent, action.workspaces, action.image, cell) };
      }
      return status;
    }
    case "progress": {
      const { action, progress } = event;
      if (!fleet) return status;
      const cell = (before: FleetCell): FleetCell => ({
        ...before,
        state: "pulling",
        progress: { ...progress },
      });
      return { ...status, fleet: setCells(fleet, action.agent, action.workspaces, action.image, cell) };
    }
    case "retry":
      return {
        ...status,
        events: appendFeed(status.events, {
          at: when,
          level: "warn",
          message: `${event.action.type} ${"image" in event.action ? event.action.image : event.action.workspace} failed, retrying (attempt ${event.attempt}): ${event.error}`,
        }),
      };
    case "registry-paused":
      return {
        ...status,
        events: appendFeed(status.events, {
          at: when,
          level: "warn",
          message: `registry ${event.registry} asked to slow down: paused ${Math.round(event.ms / 1000)} s`,
        }),
      };
    case "done": {
      const line = resultLine(event.result, when);
      return {
        ...status,
        ...(fleet ? { fleet: afterResult(fleet, event.result) } : {}),
        ...(event.result.action.type === "remove"
          ? { prune: afterRemoval(status.prune, event.result, when, status.running?.id) }
          : {}),
        events: line ? appendFeed(status.events, line) : status.events,
      };
    }
  }
}
