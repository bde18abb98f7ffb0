import { describe, expect, it } from "vitest";
import { planOf } from "../../test/helpers/plans.js";
import type { Action, Plan, UnknownCause } from "../core/plan/types.js";
import { agentStatuses, degradedReasons, failedActions, failedSummary, kasmSummary } from "./cycle-health.js";
import type { ActionResult } from "./executor.js";

const pull: Action = {
  type: "pull",
  agent: "a1",
  image: "r.test/app:v1",
  workspaces: ["app", "app-2"],
  reason: "missing",
};
const promote: Action = {
  type: "promote",
  image: "r.test/app:latest",
  workspace: "app",
  source: "r.test/app:v1",
  targetDigest: "sha256:1",
};
const remove: Action = {
  type: "remove",
  agent: "a1",
  image: "old",
  id: "x",
  bytes: 1,
  reason: "unused",
  tags: [],
};
const result = (action: Action, status: ActionResult["status"], message?: string): ActionResult => ({
  action,
  status,
  attempts: 1,
  durationMs: 1,
  ...(message ? { error: { code: "x", message } } : {}),
});
const unknownAgent = { kind: "agent" as const, name: "a2", reason: "agent-unreachable", message: "ENOENT" };

describe("failedActions", () => {
  it.each<[string, ActionResult[], ReturnType<typeof failedActions>]>([
    ["none failed", [result(pull, "ok")], []],
    [
      "a failed pull names agent, workspaces and image",
      [result(pull, "failed", "HTTP 404")],
      [{ type: "pull", agent: "a1", workspace: "app,app-2", image: "r.test/app:v1", error: "HTTP 404" }],
    ],
    [
      "a held pull counts, a removal kept in use does not",
      [result(promote, "failed", "PUT 500"), result(remove, "skipped", "in use")],
      [{ type: "promote", workspace: "app", image: "r.test/app:latest", error: "PUT 500" }],
    ],
  ])("%s", (_, results, expected) => {
    expect(failedActions(results)).toEqual(expected);
  });
});

describe("failedSummary and degradedReasons", () => {
  const failed = failedActions([result(pull, "failed", "HTTP 404"), result(promote, "failed", "PUT 500")]);
  it.each<[string, Parameters<typeof degradedReasons>[0], string[]]>([
    ["nothing wrong", { failed: [], unknown: [] }, []],
    [
      "a refusal and failed actions, each named",
      { refused: "revision b refused: bad", failed, unknown: [] },
      [
        "revision b refused: bad",
        "pull r.test/app:v1 on a1 failed: HTTP 404",
        "promote r.test/app:latest failed: PUT 500",
      ],
    ],
    [
      "unknown checks, a blocked promotion and an --agent the revision lacks",
      {
        failed: [],
        blocked: ["promotion blocked (workspace app): never verified"],
        missingAgents: "agent nosuch is not defined",
        unknown: [
          unknownAgent,
          { kind: "agent", name: "a1", reason: "containers-unlisted", message: "EPERM" },
          { kind: "registry", name: "corp", reason: "registry-unauthorized", message: "HTTP 401" },
        ],
      },
      [
        "agent nosuch is not defined",
        "promotion blocked (workspace app): never verified",
        "agent a2 unreachable: ENOENT",
        "agent a1: containers-unlisted: EPERM",
        "registry corp: registry-unauthorized: HTTP 401",
      ],
    ],
  ])("degradedReasons: %s", (_, input, expected) => {
    expect(degradedReasons(input)).toEqual(expected);
  });

  it.each<[number, RegExp]>([
    [0, /^$/],
    [2, /^2 action\(s\) failed: pull r\.test\/app:v1 on a1 failed: HTTP 404; promote/],
    [7, /^7 action\(s\) failed: .*; and 2 more \(see lastError\.failed\)$/],
  ])("failedSummary of %i failures", (n, expected) => {
    const many = Array.from({ length: n }, (_, i) => failed[i % 2]!);
    expect(failedSummary(many)).toMatch(expected);
  });
});

describe("agentStatuses", () => {
  const plan = (unknown: UnknownCause[], actions: Action[] = []): Plan => planOf({ unknown, actions });
  const seen = { agent: "a1", reachable: true as const, images: [] };
  const unlisted: UnknownCause = { kind: "agent", name: "a1", reason: "containers-unlisted", message: "m" };
  it.each<[string, Plan, object]>([
    ["nothing pending: converged", plan([]), { reachable: true, converged: true, pending: 0 }],
    ["a pull pending: not converged", plan([], [pull]), { reachable: true, converged: false, pending: 1 }],
    [
      "containers not listed where pruning needs them: not converged",
      plan([unlisted]),
      { reachable: true, converged: false, pending: 0 },
    ],
  ])("%s", (_, p, expected) => {
    expect(agentStatuses([seen], p)).toEqual({ a1: expected });
  });
});

describe("kasmSummary", () => {
  const set = { registries: [], agents: [], workspaces: [] };
  it.each([
    ["no kept field: no list", [], undefined],
    [
      "a value Kasm ignores is shown in /status, with where to fix it",
      [{ code: "kasm-field-kept" as const, workspace: "chrome", message: "keeps its description" }],
      [{ workspace: "chrome", message: "keeps its description" }],
    ],
    [
      "other warnings are not Kasm's kept fields",
      [{ code: "no-registry" as const, message: "x" }],
      undefined,
    ],
  ])("%s", (_name, warnings, kept) => {
    const plan = planOf({ warnings, kasm: { url: "https://kasm.test" } });
    expect(
      kasmSummary(set, plan, { reachable: true, records: [], groups: [], memberships: [] })?.kept,
    ).toEqual(kept);
  });
  it("shows per agent which images Kasm sees, as the plan found them", () => {
    const agents = [
      { agent: "a1", server: "host-a1", zone: "testing", reportAgeMs: 5, seen: ["x:1"], unseen: [] },
    ];
    const plan = planOf({ kasm: { url: "https://kasm.test", agents } });
    const observed = { reachable: true as const, records: [], groups: [], memberships: [] };
    expect(kasmSummary(set, plan, observed)?.agents).toEqual(agents);
    expect(
      kasmSummary(set, planOf({ kasm: { url: "https://kasm.test" } }), observed)?.agents,
    ).toBeUndefined();
  });
});
