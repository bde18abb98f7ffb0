import { describe, expect, it } from "vitest";
import { planOf } from "../../../test/helpers/plans.js";
import { planDecisions } from "./decisions.js";
import type { Plan, PromoteAction, PullAction, PullReason } from "./types.js";

const base: Plan = planOf();
const pull = (agent: string, reason: PullReason): PullAction => ({
  type: "pull",
  agent,
  image: `r/${agent}:1`,
  workspaces: ["w"],
  reason,
});
const promote: PromoteAction = {
  type: "promote",
  image: "r/c:latest",
  workspace: "c",
  source: "r/c:1",
  targetDigest: "sha256:x",
};

describe("planDecisions", () => {
  it.each<[string, Partial<Plan>, Partial<ReturnType<typeof planDecisions>>]>([
    [
      "nothing to do",
      {},
      { pulls: {}, pullsByAgent: {}, promotions: 0, blocked: [], blockedTotal: 0, warnings: {} },
    ],
    [
      "pulls by reason and agent, and a promotion",
      { actions: [pull("a1", "missing"), pull("a1", "outdated"), pull("a2", "missing"), promote] },
      { pulls: { missing: 2, outdated: 1 }, pullsByAgent: { a1: 2, a2: 1 }, promotions: 1 },
    ],
    [
      "blocked promotions listed up to 20, warnings counted by code",
      {
        blocked: Array.from({ length: 25 }, () => ({
          ...promote,
          reason: "not-verified" as const,
          message: "m",
        })),
        warnings: [
          { code: "agent-unreachable", message: "m" },
          { code: "agent-unreachable", message: "m" },
        ],
      },
      { blockedTotal: 25, warnings: { "agent-unreachable": 2 } },
    ],
  ])("%s", (_, plan, expected) => {
    const decisions = planDecisions({ ...base, ...plan });
    expect(decisions).toMatchObject(expected);
    expect(decisions.blocked.length).toBeLessThanOrEqual(20);
  });
});
