import { describe, expect, it } from "vitest";
import { planOf } from "../../../test/helpers/plans.js";
import { checkManifestFiles } from "../manifest/validate.js";
import { desiredState } from "../plan/desired.js";
import type { AgentObservation } from "../plan/plan.js";
import type { Plan } from "../plan/types.js";
import {
  type CellState,
  fleetView,
  kasmRecordViews,
  type PromotionState,
  promotionViews,
} from "./fleet-view.js";

const R = "r.test";
const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const doc = (kind: string, name: string, spec: string, labels = "{}") =>
  `apiVersion: kasm-gitops/v1\nkind: ${kind}\nmetadata: {name: ${name}, labels: ${labels}}\nspec: ${spec}\n`;
/** a1 (testing) and a2 (production); app on both, beta on testing only, app promoted from app-testing. */
const { set } = checkManifestFiles([
  {
    file: "fleet.yaml",
    text: [
      doc("Registry", "corp", `{host: "${R}"}`),
      doc("Agent", "a1", `{docker: {host: "unix:///a1.sock"}}`, "{ring: testing}"),
      doc("Agent", "a2", `{docker: {host: "unix:///a2.sock"}}`, "{ring: production}"),
      doc("Workspace", "app", `{image: "${R}/app:1.0", registry: corp, friendlyName: "<b>App</b>"}`),
      doc(
        "Workspace",
        "beta",
        `{image: "${R}/beta:1.0", registry: corp, agents: {matchLabels: {ring: testing}}}`,
      ),
      doc(
        "Workspace",
        "app-prod",
        `{image: "${R}/app:2.0", registry: corp, agents: {matchLabels: {ring: production}}, promotion: {from: app, movingTags: [latest]}}`,
      ),
    ].join("---\n"),
  },
]);
const desired = desiredState(set);
const held = (agent: string, ...refs: string[]): AgentObservation => ({
  agent,
  reachable: true,
  images: refs.map((ref, i) => ({
    id: `sha256:${String(i).repeat(64)}`,
    repoTags: [ref],
    repoDigests: [`${ref.slice(0, ref.lastIndexOf(":"))}@${D1}`],
  })),
});
const everything = [
  held("a1", `${R}/app:1.0`, `${R}/beta:1.0`),
  held("a2", `${R}/app:1.0`, `${R}/app:2.0`, `${R}/app:latest`),
];
const at = new Date("2026-11-27T10:00:00Z");
const pull = (agent: string, image: string, workspaces: string[]): Plan["actions"][number] => ({
  type: "pull",
  agent,
  image: `${R}/${image}`,
  workspaces,
  reason: "missing",
  targetDigest: D2,
});

describe("fleetView", () => {
  it.each<[string, Partial<Plan>, AgentObservation[], Record<string, Record<string, CellState>>]>([
    [
      "every image held: held cells; beta is not selected on a2",
      {},
      everything,
      { a1: { app: "held", beta: "held" }, a2: { app: "held", "app-prod": "held" } },
    ],
    [
      "a planned pull is pending",
      { actions: [pull("a1", "beta:1.0", ["beta"])] },
      everything,
      { a1: { app: "held", beta: "pending" }, a2: { app: "held", "app-prod": "held" } },
    ],
    [
      "an unreachable agent: every cell unknown",
      {},
      [everything[0]!, { agent: "a2", reachable: false, error: "ENOENT" }],
      { a1: { app: "held", beta: "held" }, a2: { app: "unknown", "app-prod": "unknown" } },
    ],
    [
      "a registry check that failed: unknown where the image is wanted",
      {
        unknown: [
          {
            kind: "registry",
            name: "corp",
            reason: "registry-unauthorized",
            message: "401",
            image: `${R}/app:1.0`,
          },
        ],
      },
      everything,
      { a1: { app: "unknown", beta: "held" }, a2: { app: "unknown", "app-prod": "held" } },
    ],
    [
      "a moving tag held back: the workspace's cell is blocked, worse than its own image held",
      {
        blocked: [
          {
            type: "pull",
            agent: "a2",
            image: `${R}/app:latest`,
            workspaces: ["app-prod"],
            reason: "moving-tag-untested",
            message: "untested",
          },
        ],
      },
      everything,
      { a1: { app: "held", beta: "held" }, a2: { app: "held", "app-prod": "blocked" } },
    ],
  ])("%s", (_, plan, observations, expected) => {
    const view = fleetView({ set, desired, plan: planOf(plan), observations, at });
    const states = Object.fromEntries(
      Object.entries(view.cells).map(([agent, row]) => [
        agent,
        Object.fromEntries(Object.entries(row).map(([w, c]) => [w, c.state])),
      ]),
    );
    expect(states).toEqual(expected);
    expect(view.agents.map((a) => [a.name, a.labels.ring])).toEqual([
      ["a1", "testing"],
      ["a2", "production"],
    ]);
  });

  it("names the workspace's own image and its held digest; keeps the friendly name as data", () => {
    const view = fleetView({ set, desired, plan: planOf(), observations: everything, at });
    expect(view.cells.a2!["app-prod"]).toEqual({ state: "held", image: `${R}/app:2.0`, digest: D1 });
    expect(view.workspaces.find((w) => w.name === "app")?.friendlyName).toBe("<b>App</b>");
    expect(view.kasmRecords).toBeUndefined();
  });
});

describe("promotionViews", () => {
  const promote = {
    type: "promote" as const,
    image: `${R}/app:latest`,
    workspace: "app-prod",
    source: `${R}/app:2.0`,
    targetDigest: D2,
  };
  it.each<[string, Partial<Plan>, PromotionState]>([
    ["nothing planned: done", {}, "done"],
    ["a promotion planned: pending", { actions: [promote] }, "pending"],
    [
      "a digest nobody tested: blocked",
      { blocked: [{ ...promote, reason: "not-verified", message: "never verified" }] },
      "blocked",
    ],
    [
      "the moving tag could not be checked: unknown",
      {
        unknown: [
          {
            kind: "registry",
            name: "corp",
            reason: "registry-unavailable",
            message: "503",
            image: `${R}/app:latest`,
          },
        ],
      },
      "unknown",
    ],
  ])("%s", (_, plan, state) => {
    expect(promotionViews(set, planOf(plan)).map((p) => [p.workspace, p.state])).toEqual([
      ["app-prod", state],
    ]);
  });
});

describe("kasmRecordViews", () => {
  it.each<[string, Partial<Plan>, Record<string, string>]>([
    ["nothing to change: in sync", {}, { app: "in-sync", beta: "in-sync", "app-prod": "in-sync" }],
    [
      "an edit in Kasm: drift with the field names; a held switch",
      {
        actions: [
          {
            type: "kasm-update",
            workspace: "app",
            imageId: "i1",
            reason: "drift",
            changes: [{ field: "cores", from: 1, to: 2 }],
            after: [],
          },
        ],
        blocked: [
          {
            type: "kasm-update",
            workspace: "beta",
            image: `${R}/beta:1.0`,
            agents: ["a1"],
            reason: "image-not-on-agents",
            message: "waits",
          },
        ],
      },
      { app: "drift:cores", beta: "held", "app-prod": "in-sync" },
    ],
    [
      "Kasm unreadable: unknown",
      { unknown: [{ kind: "kasm", name: "kasm", reason: "kasm-unreachable", message: "ECONNREFUSED" }] },
      { app: "unknown", beta: "unknown", "app-prod": "unknown" },
    ],
  ])("%s", (_, plan, expected) => {
    const views = kasmRecordViews(set, planOf(plan));
    const states = Object.fromEntries(
      Object.entries(views).map(([w, v]) => [w, v.fields ? `${v.state}:${v.fields.join(",")}` : v.state]),
    );
    expect(states).toEqual(expected);
  });
});
