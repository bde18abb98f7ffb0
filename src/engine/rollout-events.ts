import type { NotificationEvent } from "../core/notification.js";
import { actionSubject } from "../core/plan/render.js";
import type { PromoteAction } from "../core/plan/types.js";
import type { ActionResult } from "./executor.js";
import { countsAsFailure } from "./remove-images.js";

type Context = { revision: string; branch: string; at: Date };

const event = (c: Context, kind: NotificationEvent["event"], message: string, details: object) => ({
  event: kind,
  revision: c.revision,
  branch: c.branch,
  time: c.at.toISOString(),
  message,
  details: details as Record<string, unknown>,
});

/** What a finished rollout tells people: each promotion, then rollout-done or rollout-failed. */
export function rolloutEvents(c: Context, results: readonly ActionResult[]): NotificationEvent[] {
  if (results.length === 0) return [];
  const events: NotificationEvent[] = [];
  for (const r of results) {
    if (r.status !== "ok" || r.action.type !== "promote") continue;
    const a = r.action as PromoteAction;
    events.push(
      event(c, "promoted", `${a.image} now points at ${a.targetDigest}, the tested digest of ${a.source}`, {
        image: a.image,
        source: a.source,
        digest: a.targetDigest,
      }),
    );
  }
  // A removal kept because a container took the image is reported, not a failed rollout.
  const failed = results.filter(countsAsFailure);
  if (failed.length > 0) {
    const lines = failed.map(
      (r) =>
        `${r.action.type} ${r.action.type === "pull" || r.action.type === "remove" ? `${r.action.agent} ` : ""}${actionSubject(r.action)}: ${r.error?.message ?? r.status}`,
    );
    events.push(
      event(
        c,
        "rollout-failed",
        `${failed.length} of ${results.length} action(s) failed: ${lines.join("; ")}`,
        {
          failed: lines,
        },
      ),
    );
  } else {
    const pulled = results.filter((r) => r.action.type === "pull").length;
    const promoted = results.filter((r) => r.action.type === "promote").length;
    // Kasm record and group changes are counted apart, and named only when there were some.
    const removed = results.filter((r) => r.action.type === "remove").length;
    const kasm = results.length - pulled - promoted - removed;
    const message = `${pulled} pull(s) and ${promoted} promotion(s)${kasm > 0 ? ` and ${kasm} Kasm change(s)` : ""} done`;
    events.push(event(c, "rollout-done", message, { pulled, promoted, ...(kasm > 0 ? { kasm } : {}) }));
  }
  return events;
}
