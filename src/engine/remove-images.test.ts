import { describe, expect, it } from "vitest";
import type { LocalImage } from "../core/image/local.js";
import type { RemoveAction } from "../core/plan/types.js";
import type { DockerAgent, RemoveOutcome } from "../ports.js";
import { executePlan } from "./executor.js";
import { countsAsFailure, executeRemovals, removalResult } from "./remove-images.js";

const R = "reg.test:5000/kasm/app";
const action = (id: string, tags: string[] = [`${R}:${id}`]): RemoveAction => ({
  type: "remove",
  agent: "a1",
  image: tags[0] ?? `${R}@sha256:${id}`,
  id: `sha256:${id}`,
  bytes: 10,
  reason: tags.length ? "unused" : "dangling",
  tags,
});

/** An agent whose images, containers and removal answers are given; it records what it was asked to remove. */
function agentWith(images: LocalImage[], used: string[] = [], answers: Record<string, RemoveOutcome> = {}) {
  const state = { removed: [] as string[], inFlight: 0, most: 0 };
  const agent: DockerAgent = {
    name: "a1",
    listImages: async () => images,
    listContainers: async () => used.map((imageId, i) => ({ id: `c${i}`, imageId, state: "exited" })),
    imageBytes: async () => 0,
    pull: async () => ({}),
    removeImage: async (name) => {
      state.inFlight++;
      state.most = Math.max(state.most, state.inFlight);
      await new Promise((r) => setImmediate(r));
      state.inFlight--;
      state.removed.push(name);
      return answers[name] ?? { status: "removed", untagged: 1, deleted: 1 };
    },
  };
  return { agent, state };
}
const image = (id: string, tags: string[] = [`${R}:${id}`]): LocalImage => ({
  id: `sha256:${id}`,
  repoTags: tags,
  repoDigests: [],
});
const run = (agent: DockerAgent, actions: RemoveAction[], limit = 2) =>
  executeRemovals(actions, {
    agents: new Map([["a1", agent]]),
    limits: new Map([["a1", limit]]),
    clock: { now: () => new Date(0), sleep: async () => {} },
    emit: () => {},
  });

describe("executeRemovals", () => {
  it.each<[string, LocalImage[], string[], Record<string, RemoveOutcome>, string]>([
    ["removed", [image("x")], [], {}, "ok"],
    ["already gone from the list", [], [], {}, "ok"],
    ["gone when removed", [image("x")], [], { "sha256:x": { status: "gone" } }, "ok"],
    ["used by a container at the re-check", [image("x")], ["sha256:x"], {}, "skipped image-in-use"],
    ["tagged since the plan", [image("x", [`${R}:x`, `${R}:new`])], [], {}, "skipped image-changed"],
    [
      "a 409 in use",
      [image("x")],
      [],
      { "sha256:x": { status: "in-use", message: "m" } },
      "skipped image-in-use",
    ],
    [
      "another 409",
      [image("x")],
      [],
      { "sha256:x": { status: "refused", message: "m" } },
      "skipped image-refused",
    ],
  ])("%s → %s", async (_name, images, used, answers, expected) => {
    const [result] = await run(agentWith(images, used, answers).agent, [action("x")]);
    expect([result!.status, result!.error?.code].filter(Boolean).join(" ")).toBe(expected);
    expect(countsAsFailure(result!)).toBe(false);
  });

  it("untags the extra tags of a multi-tag image, then removes it by id", async () => {
    const tags = [`${R}:rc`, `${R}:beta`];
    const { agent, state } = agentWith([image("m", tags)]);
    expect((await run(agent, [action("m", tags)]))[0]?.status).toBe("ok");
    expect(state.removed).toEqual([`${R}:beta`, "sha256:m"]);
  });

  it("keeps to the agent's limit", async () => {
    const ids = ["a", "b", "c", "d", "e"];
    const { agent, state } = agentWith(ids.map((id) => image(id)));
    const results = await run(
      agent,
      ids.map((id) => action(id)),
      2,
    );
    expect(results.map((r) => r.status)).toEqual(Array(5).fill("ok"));
    expect(state.most).toBe(2);
  });

  it("fails every removal of an agent that does not answer the re-check, as a failure", async () => {
    const { agent } = agentWith([]);
    agent.listContainers = async () => {
      throw new Error("connect ECONNREFUSED");
    };
    const results = await run(agent, [action("x"), action("y")]);
    expect(results.map((r) => r.status)).toEqual(["failed", "failed"]);
    expect(results.every(countsAsFailure)).toBe(true);
  });

  it.each([
    ["ok", "ok"],
    ["skipped", "kept"],
    ["failed", "failed"],
  ] as const)("a %s removal is %s in the metrics", (status, metric) => {
    expect(removalResult(status)).toBe(metric);
  });
});

describe("executePlan with removals", () => {
  it("runs the removals after every pull of the cycle", async () => {
    const { agent, state } = agentWith([image("old")]);
    const order: string[] = [];
    agent.pull = async (reference) => {
      await new Promise((r) => setTimeout(r, 5));
      order.push(`pull ${reference}`);
      return {};
    };
    const removeImage = agent.removeImage;
    agent.removeImage = async (name, signal) => {
      order.push(`remove ${name}`);
      return removeImage(name, signal);
    };
    const pull = {
      type: "pull" as const,
      agent: "a1",
      image: `${R}:new`,
      workspaces: ["w"],
      reason: "missing" as const,
    };
    const results = await executePlan(
      {
        version: 1,
        revision: "r",
        branch: "main",
        actions: [action("old"), pull],
        blocked: [],
        warnings: [],
        unknown: [],
        summary: {
          pull: 1,
          promote: 0,
          blocked: 0,
          unknown: 0,
          incomplete: false,
          remove: 1,
          removeBytes: 10,
        },
      },
      {
        agents: new Map([["a1", agent]]),
        limits: new Map([["a1", 2]]),
        registryFor: () => undefined,
        ledger: { append: async () => {} },
        clock: { now: () => new Date(0), sleep: async () => {} },
        revision: "r",
      },
    );
    expect(order).toEqual([`pull ${R}:new`, "remove sha256:old"]);
    expect(results.map((r) => `${r.action.type} ${r.status}`)).toEqual(["pull ok", "remove ok"]);
    expect(state.removed).toEqual(["sha256:old"]);
  });
});
