/**
 * The prune step of a cycle: remove actions run after the pulls, per agent under its limit, never forced.
 * Just before, the agent is looked at again: an image that gained a tag or a container since the plan stays,
 * and an engine that answers 409 (a container took the image meanwhile) makes the removal skipped, not failed.
 */
import { describeError, KasmGitopsError } from "../core/errors.js";
import { parseImageReference } from "../core/image/reference.js";
import type { RemoveAction } from "../core/plan/types.js";
import type { Clock, DockerAgent, RemovalResult } from "../ports.js";
import type { ActionResult, ExecutorEvent } from "./executor.js";
import { mapLimit } from "./observe.js";

export type RemoveDeps = {
  agents: ReadonlyMap<string, DockerAgent>;
  limits: ReadonlyMap<string, number>;
  clock: Clock;
  signal?: AbortSignal;
  drain?: AbortSignal;
  emit: (event: ExecutorEvent) => void;
};

/** What the agent holds right before its removals: image tags by id, and the ids containers use. */
type Now = { tags: Map<string, string[]>; used: Set<string> };

export async function executeRemovals(removals: readonly RemoveAction[], deps: RemoveDeps) {
  const byAgent = new Map<string, RemoveAction[]>();
  for (const r of removals) byAgent.set(r.agent, [...(byAgent.get(r.agent) ?? []), r]);
  const results = await Promise.all([...byAgent].map(([agent, queue]) => removeOnAgent(agent, queue, deps)));
  return results.flat();
}

async function removeOnAgent(name: string, queue: RemoveAction[], deps: RemoveDeps): Promise<ActionResult[]> {
  const agent = deps.agents.get(name);
  const finish = (
    action: RemoveAction,
    started: number,
    status: ActionResult["status"],
    error?: ActionResult["error"],
  ) => {
    const result: ActionResult = {
      action,
      status,
      attempts: status === "skipped" ? 0 : 1,
      durationMs: deps.clock.now().getTime() - started,
      ...(error ? { error } : {}),
    };
    deps.emit({ type: "done", result });
    return result;
  };
  let now: Now;
  const started = deps.clock.now().getTime();
  try {
    if (!agent) throw new KasmGitopsError("agent-unreachable", `no agent named "${name}"`);
    const [images, containers] = await Promise.all([
      agent.listImages(deps.signal),
      agent.listContainers(deps.signal),
    ]);
    now = {
      tags: new Map(images.map((i) => [i.id, i.repoTags])),
      used: new Set(containers.map((c) => c.imageId)),
    };
  } catch (error) {
    const code = error instanceof KasmGitopsError ? error.code : "internal";
    return queue.map((action) => finish(action, started, "failed", { code, message: describeError(error) }));
  }
  const limit = Math.max(1, deps.limits.get(name) ?? 2);
  let inFlight = 0;
  return mapLimit(queue, limit, async (action) => {
    const begun = deps.clock.now().getTime();
    const skip = (code: string, message: string) => finish(action, begun, "skipped", { code, message });
    if (deps.signal?.aborted || deps.drain?.aborted)
      return skip("skipped", "stopping: the removal was not started");
    const tags = now.tags.get(action.id);
    if (tags === undefined) return finish(action, begun, "ok");
    if (now.used.has(action.id))
      return skip("image-in-use", `${action.image} is used by a container now; kept`);
    const added = tags.filter((t) => !action.tags.includes(parseImageReference(t).canonical));
    if (added.length > 0)
      return skip("image-changed", `${action.image} was tagged ${added.join(", ")} since the plan; kept`);
    inFlight++;
    deps.emit({ type: "start", action, attempt: 1, inFlight, queued: 0 });
    try {
      // Docker refuses an unforced removal by id of an image with several tags: untag all but one first.
      for (const name of [...action.tags.slice(1), action.id]) {
        const outcome = await agent!.removeImage(name, deps.signal);
        if (outcome.status === "in-use")
          return skip("image-in-use", `${action.image} is in use: ${outcome.message}`);
        if (outcome.status === "refused") return skip("image-refused", `${action.image}: ${outcome.message}`);
      }
      return finish(action, begun, "ok");
    } catch (error) {
      const code = error instanceof KasmGitopsError ? error.code : "internal";
      return finish(action, begun, "failed", { code, message: describeError(error) });
    } finally {
      inFlight--;
    }
  });
}

/** Whether a result makes a cycle (or apply) fail: a removal kept because it was in use is reported, not failed. */
export const countsAsFailure = (result: ActionResult) =>
  result.status === "failed" || (result.status === "skipped" && result.action.type !== "remove");

/** A removal's outcome for metrics: skipped means the image was kept (in use, re-tagged, or a stop came). */
export const removalResult = (status: ActionResult["status"]): RemovalResult =>
  status === "ok" ? "ok" : status === "skipped" ? "kept" : "failed";
