import { describe, expect, it } from "vitest";
import type { DockerAgent } from "../ports.js";
import { observeAgents } from "./observe.js";

/** An agent whose container list fails the way a Docker Engine refusing the call would. */
const agent = (containers: "ok" | "fails"): DockerAgent => ({
  name: "a1",
  listImages: async () => [],
  listContainers: async () => {
    if (containers === "fails") throw new Error("permission denied");
    return [];
  },
  removeImage: async () => ({ status: "removed" }) as never,
  imageBytes: async () => 0,
  pull: async () => ({}),
});

describe("observeAgents", () => {
  it.each<[string, "ok" | "fails", boolean, object]>([
    ["containers listed where pruning is on", "ok", true, { containers: [] }],
    ["a failed container list keeps its error", "fails", true, { containersError: "permission denied" }],
    ["no container list asked where pruning is off", "fails", false, {}],
  ])("%s", async (_, containers, pruning, expected) => {
    const [seen] = await observeAgents([agent(containers)], undefined, {
      ...(pruning ? { containersOf: new Set(["a1"]) } : {}),
    });
    expect(seen).toEqual({ agent: "a1", reachable: true, images: [], ...expected });
  });
});
