import { describe, expect, it } from "vitest";
import { incompleteLine, renderPlan, summaryLine } from "./render.js";
import type { Plan } from "./types.js";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;
const img = "reg.test:5000/kasm/chrome";

const plan = (
  actions: Plan["actions"],
  blocked: Plan["blocked"] = [],
  warnings: Plan["warnings"] = [],
  unknown: Plan["unknown"] = [],
): Plan => ({
  version: 1,
  revision: "0123456789abcdef0123456789abcdef01234567",
  branch: "main",
  actions,
  blocked,
  warnings,
  unknown,
  summary: {
    pull: actions.filter((a) => a.type === "pull").length,
    promote: actions.filter((a) => a.type === "promote").length,
    blocked: blocked.length,
    unknown: unknown.length,
    incomplete: unknown.length > 0,
  },
});

const pull = (agent: string, image: string, reason: "missing" | "outdated" = "missing") => ({
  type: "pull" as const,
  agent,
  image,
  workspaces: ["chrome"],
  reason,
  ...(reason === "outdated" ? { currentDigest: A } : {}),
  targetDigest: B,
});
const promote = {
  type: "promote" as const,
  image: `${img}:latest`,
  workspace: "chrome",
  source: `${img}:new`,
  currentDigest: A,
  targetDigest: B,
};

const agentDown = { kind: "agent" as const, name: "a2", reason: "agent-unreachable", message: "ENOENT" };
const registryDown = (name: string, reason: string) => ({
  kind: "registry" as const,
  name,
  reason,
  message: "m",
  image: `${img}:1`,
});
const { reason: _reason, ...latestPull } = pull("a2", `${img}:latest`);
const heldPull = {
  ...latestPull,
  reason: "moving-tag-untested" as const,
  message: "points at an untested digest",
};

describe("summaryLine", () => {
  it.each([
    [plan([]), "No changes."],
    [plan([pull("a1", `${img}:1`)]), "Plan: 1 pull on 1 agent."],
    [
      plan([pull("a1", `${img}:1`), pull("a1", `${img}:2`), pull("a2", `${img}:1`)]),
      "Plan: 3 pulls on 2 agents.",
    ],
    [plan([promote, pull("a2", `${img}:latest`)]), "Plan: 1 pull on 1 agent, 1 promotion."],
    [plan([], [{ ...promote, reason: "not-verified", message: "m" }]), "No changes. 1 promotion blocked."],
    [plan([], [], [], [agentDown]), "No changes in what could be checked."],
    [
      plan([], [{ ...promote, reason: "not-verified", message: "m" }, heldPull]),
      "No changes. 1 promotion, 1 pull blocked.",
    ],
  ])("%#: %s", (p, line) => {
    expect(summaryLine(p)).toBe(line);
  });
});

describe("incompleteLine", () => {
  it.each([
    [[], undefined],
    [[agentDown], "Plan incomplete: 1 agent unreachable (a2)."],
    [
      [registryDown("corp", "registry-unauthorized")],
      "Plan incomplete: 1 registry check failed (corp: registry-unauthorized).",
    ],
    [
      [registryDown("corp", "registry-unavailable"), registryDown("corp", "registry-unavailable"), agentDown],
      "Plan incomplete: 2 registry checks failed (corp: registry-unavailable), 1 agent unreachable (a2).",
    ],
  ])("%#", (unknown, start) => {
    const line = incompleteLine(plan([], [], [], unknown));
    if (start === undefined) expect(line).toBeUndefined();
    else expect(line?.startsWith(start)).toBe(true);
  });

  it("closes the rendered plan", () => {
    const text = renderPlan(plan([], [], [], [agentDown]), { color: false });
    expect(text.trimEnd().split("\n").at(-1)).toMatch(/^Plan incomplete: 1 agent unreachable \(a2\)\./);
  });
});

describe("renderPlan", () => {
  const full = plan(
    [
      promote,
      pull("a1", `${img}:1`),
      pull("a1", "docker.io/library/ubuntu:22.04", "outdated"),
      pull("a2", `${img}:1`),
    ],
    [{ ...promote, image: `${img}:stable`, reason: "not-verified", message: "never verified" }, heldPull],
    [{ code: "no-registry", message: 'workspace "t" has no registry', workspace: "t" }],
  );

  it.each([
    ["header with branch and short revision", /^kasm-gitops plan: main @ 0123456789ab\n/],
    [
      "promotion with both digests",
      /~ reg\.test:5000\/kasm\/chrome:latest {2}\(workspace chrome\)\n {6}sha256:aaaaaaaaaaaa → sha256:bbbbbbbbbbbb/,
    ],
    [
      "agents in order, registries inside",
      /agent a1\n {2}reg\.test:5000\n {4}\+ kasm\/chrome:1 {2}missing → sha256:bbbbbbbbbbbb {2}\(chrome\)\n {2}docker\.io\n {4}~ library\/ubuntu:22\.04 {2}outdated sha256:aaaaaaaaaaaa → sha256:bbbbbbbbbbbb/,
    ],
    ["second agent", /agent a2\n {2}reg\.test:5000\n {4}\+ kasm\/chrome:1/],
    ["blocked with reason", /! promote reg\.test:5000\/kasm\/chrome:stable \[not-verified\]: never verified/],
    [
      "blocked pull names the agent",
      /! pull reg\.test:5000\/kasm\/chrome:latest on a2 \[moving-tag-untested\]: points at an untested digest/,
    ],
    ["warnings", /- no-registry: workspace "t" has no registry/],
    [
      "one summary line at the end",
      /\nPlan: 3 pulls on 2 agents, 1 promotion\. 1 promotion, 1 pull blocked\.\n$/,
    ],
  ])("%s", (_, pattern) => {
    expect(renderPlan(full, { color: false })).toMatch(pattern);
  });

  it.each([
    [false, false],
    [true, true],
  ])("colour %s → escape codes %s", (color, escapes) => {
    expect(renderPlan(full, { color }).includes("\x1b[")).toBe(escapes);
  });
});

describe("the kasm section", () => {
  const create = {
    type: "kasm-create" as const,
    workspace: "chrome-testing",
    after: [0],
    record: {
      name: `${img}:2`,
      friendlyName: "Chrome",
      description: "",
      thumbnail: "",
      categories: [],
      cores: 2,
      memory: 2e9,
      enabled: true,
      hidden: false,
      runConfig: {},
      execConfig: {},
      volumeMappings: {},
      dockerRegistry: null,
      dockerUser: null,
      notes: "managed-by: kasm-gitops/chrome-testing",
    },
  };
  const kasmPlan = (actions: Plan["actions"], blocked: Plan["blocked"] = []): Plan => ({
    ...plan(actions, blocked),
    summary: {
      ...plan(actions, blocked).summary,
      kasm: actions.filter((a) => a.type.startsWith("kasm-")).length,
    },
    kasm: { url: "https://kasm.test" },
  });
  it.each([
    [
      "create after its pull, and a group",
      kasmPlan([
        pull("a1", `${img}:2`),
        create,
        { type: "kasm-group-add", workspace: "chrome-testing", group: "qa", groupId: "g1", after: [1] },
      ]),
      [
        "kasm https://kasm.test",
        `  + chrome-testing  new record for ${img}:2  (after 1 pull)`,
        "  + chrome-testing  group qa",
        "Plan: 1 pull on 1 agent, 2 Kasm changes.",
      ],
    ],
    [
      "drift names the fields, from → to",
      kasmPlan([
        {
          type: "kasm-update",
          workspace: "chrome",
          imageId: "r1",
          reason: "drift",
          changes: [{ field: "cores", from: 4, to: 2 }],
          after: [],
        },
        { type: "kasm-disable", workspace: "old", imageId: "r2" },
      ]),
      [
        "  ~ chrome  drift (record r1)",
        "      cores: 4 → 2",
        "  - old  disable (record r2): its Workspace left Git",
        "Plan: 2 Kasm changes.",
      ],
    ],
    [
      "a held switch",
      kasmPlan(
        [],
        [
          {
            type: "kasm-create",
            workspace: "chrome",
            image: `${img}:2`,
            agents: ["a2"],
            reason: "image-not-on-agents",
            message: "not on a2",
          },
        ],
      ),
      ["  ! kasm-create chrome [image-not-on-agents]: not on a2", "No changes. 1 Kasm change held."],
    ],
  ])("%s", (_name, p, lines) => {
    const text = renderPlan(p, { color: false });
    for (const l of lines) expect(text.split("\n")).toContain(l);
  });

  it("Kasm unread is a kasm unknown cause: the closing lines say so and name the KasmServer", () => {
    const cause = { kind: "kasm" as const, name: "lab", reason: "kasm-unreachable", message: "401" };
    const p = plan([], [], [], [cause]);
    expect(summaryLine(p)).toBe("No changes in what could be checked.");
    expect(incompleteLine(p)).toMatch(/^Plan incomplete: 1 Kasm check failed \(lab: kasm-unreachable\)\. /);
  });
});
