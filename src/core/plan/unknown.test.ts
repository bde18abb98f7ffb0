import { describe, expect, it } from "vitest";
import type { UnknownCause } from "./types.js";
import { describeUnknown } from "./unknown.js";

const cause = (kind: UnknownCause["kind"], name: string, reason: string): UnknownCause => ({
  kind,
  name,
  reason,
  message: "m",
});

describe("describeUnknown", () => {
  it.each<[string, UnknownCause[], string]>([
    ["nothing", [], ""],
    [
      "an unreachable agent and a registry",
      [cause("agent", "a2", "agent-unreachable"), cause("registry", "corp", "registry-unauthorized")],
      "1 registry check failed (corp: registry-unauthorized), 1 agent unreachable (a2)",
    ],
    [
      "an agent that answered but whose containers could not be listed is not called unreachable",
      [cause("agent", "a1", "containers-unlisted"), cause("agent", "a2", "agent-unreachable")],
      "1 agent unreachable (a2), 1 agent check failed (a1: containers-unlisted)",
    ],
  ])("%s", (_, causes, expected) => {
    expect(describeUnknown(causes)).toBe(expected);
  });
});
