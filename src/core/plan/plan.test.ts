import { describe, expect, it } from "vitest";
import { agent, manifestSet, registry, workspace } from "../../../test/helpers/manifests.js";
import type { ManifestSet } from "../manifest/types.js";
import { desiredState, refsToCheck } from "./desired.js";
import { type AgentObservation, buildPlan } from "./plan.js";
import type { DigestResult, PullRecord } from "./promotion.js";

const H = "reg.test:5000";
const d = (c: string) => `sha256:${c.repeat(64)}`;
const A = d("a");
const B = d("b");
const C = d("c");

const base = (extra: Partial<ManifestSet> = {}) =>
  manifestSet({
    registries: [registry("corp", H)],
    agents: [agent("a1", { ring: "testing" }), agent("a2", { ring: "production" })],
    ...extra,
  });

const seen = (name: string, images: { tags?: string[]; digests?: string[] }[] = []): AgentObservation => ({
  agent: name,
  reachable: true,
  images: images.map((i, n) => ({ id: `sha256:${n}`, repoTags: i.tags ?? [], repoDigests: i.digests ?? [] })),
});

type Case = {
  name: string;
  set: ManifestSet;
  observations?: AgentObservation[];
  digests?: Record<string, DigestResult>;
  ledger?: PullRecord[];
  branch?: string;
  only?: string[];
  expect: {
    pulls?: string[];
    promotes?: string[];
    blocked?: string[];
    warnings?: string[];
    /** `kind name reason` per cause the plan could not verify. */
    unknown?: string[];
  };
};

const chrome = `${H}/kasm/chrome`;
const cases: Case[] = [
  {
    name: "missing image on every agent when there is no selector",
    set: base({ workspaces: [workspace("chrome", { image: `${chrome}:1`, registry: "corp" })] }),
    digests: { [`${chrome}:1`]: { digest: A } },
    expect: { pulls: [`a1 ${chrome}:1 missing → ${A}`, `a2 ${chrome}:1 missing → ${A}`] },
  },
  {
    name: "selector picks only matching agents",
    set: base({
      workspaces: [
        workspace("chrome-testing", {
          image: `${chrome}:2`,
          registry: "corp",
          agents: { matchLabels: { ring: "testing" } },
        }),
      ],
    }),
    expect: { pulls: [`a1 ${chrome}:2 missing → ?`] },
  },
  {
    name: "pre-pulled image at the registry's digest is not planned",
    set: base({ workspaces: [workspace("chrome", { image: `${chrome}:1`, registry: "corp" })] }),
    observations: [
      seen("a1", [{ tags: [`${chrome}:1`], digests: [`${chrome}@${A}`] }]),
      seen("a2", [{ tags: [`${chrome}:1`], digests: [`${chrome}@${B}`, `${chrome}@${A}`] }]),
    ],
    digests: { [`${chrome}:1`]: { digest: A } },
    expect: { pulls: [] },
  },
  {
    name: "tag moved in the registry: outdated with both digests",
    set: base({ workspaces: [workspace("chrome", { image: `${chrome}:1`, registry: "corp" })] }),
    observations: [seen("a1", [{ tags: [`${chrome}:1`], digests: [`${chrome}@${A}`] }]), seen("a2")],
    digests: { [`${chrome}:1`]: { digest: B } },
    expect: { pulls: [`a1 ${chrome}:1 outdated ${A} → ${B}`, `a2 ${chrome}:1 missing → ${B}`] },
  },
  {
    name: "no refresh: a present tag is never outdated",
    set: base({ workspaces: [workspace("chrome", { image: `${chrome}:1`, registry: "corp" })] }),
    observations: [seen("a1", [{ tags: [`${chrome}:1`], digests: [`${chrome}@${A}`] }]), seen("a2")],
    expect: { pulls: [`a2 ${chrome}:1 missing → ?`] },
  },
  {
    name: "digest-pinned image present by digest is not planned, missing one is",
    set: base({ workspaces: [workspace("pinned", { image: `${chrome}@${C}`, registry: "corp" })] }),
    observations: [seen("a1", [{ digests: [`${chrome}@${C}`] }]), seen("a2")],
    expect: { pulls: [`a2 ${chrome}@${C} missing → ${C}`] },
  },
  {
    name: "workspace without a registry: a warning and no pull",
    set: base({ workspaces: [workspace("loose", { image: "kasmweb/terminal:1.16.0" })] }),
    expect: { pulls: [], warnings: ["no-registry"] },
  },
  {
    name: "a revision with no Agent: a no-agents warning beside its workspace's",
    set: manifestSet({
      registries: [registry("corp", H)],
      agents: [],
      workspaces: [workspace("chrome", { image: `${chrome}:1`, registry: "corp" })],
    }),
    expect: { pulls: [], warnings: ["no-agents", "no-matching-agent"] },
  },
  {
    name: "a revision with no Agent and no Workspace still warns",
    set: manifestSet({ registries: [registry("corp", H)], agents: [], workspaces: [] }),
    expect: { pulls: [], warnings: ["no-agents"] },
  },
  {
    name: "disabled workspace is not pulled",
    set: base({ workspaces: [workspace("off", { image: `${chrome}:1`, registry: "corp", enabled: false })] }),
    expect: { pulls: [] },
  },
  {
    name: "disabled agent is drained with a warning",
    set: manifestSet({
      registries: [registry("corp", H)],
      agents: [agent("a1"), agent("a2", {}, { enabled: false })],
      workspaces: [workspace("chrome", { image: `${chrome}:1`, registry: "corp" })],
    }),
    expect: { pulls: [`a1 ${chrome}:1 missing → ?`], warnings: ["agent-disabled"] },
  },
  {
    name: "unreachable agent: a warning and a plan for the others",
    set: base({ workspaces: [workspace("chrome", { image: `${chrome}:1`, registry: "corp" })] }),
    observations: [{ agent: "a1", reachable: false, error: "connect ENOENT" }, seen("a2")],
    expect: {
      pulls: [`a2 ${chrome}:1 missing → ?`],
      warnings: ["agent-unreachable"],
      unknown: ["agent a1 agent-unreachable"],
    },
  },
  {
    name: "registry error: a warning, missing still pulled, no outdated guess",
    set: base({ workspaces: [workspace("chrome", { image: `${chrome}:1`, registry: "corp" })] }),
    observations: [seen("a1", [{ tags: [`${chrome}:1`], digests: [`${chrome}@${A}`] }]), seen("a2")],
    digests: { [`${chrome}:1`]: { error: "HTTP 503", code: "registry-unavailable" } },
    expect: {
      pulls: [`a2 ${chrome}:1 missing → ?`],
      warnings: ["registry-error"],
      unknown: ["registry corp registry-unavailable"],
    },
  },
  {
    name: "wrong password with the image already everywhere: no pull, but the plan is incomplete",
    set: base({ workspaces: [workspace("chrome", { image: `${chrome}:1`, registry: "corp" })] }),
    observations: ["a1", "a2"].map((a) => seen(a, [{ tags: [`${chrome}:1`], digests: [`${chrome}@${A}`] }])),
    digests: { [`${chrome}:1`]: { error: "HTTP 401", code: "registry-unauthorized" } },
    expect: { pulls: [], unknown: ["registry corp registry-unauthorized"] },
  },
  {
    name: "a tag the registry does not know (404) is unknown, not converged",
    set: base({ workspaces: [workspace("chrome", { image: `${chrome}:1`, registry: "corp" })] }),
    observations: ["a1", "a2"].map((a) => seen(a, [{ tags: [`${chrome}:1`], digests: [`${chrome}@${A}`] }])),
    digests: { [`${chrome}:1`]: { error: "manifest unknown", code: "registry-not-found" } },
    expect: { pulls: [], unknown: ["registry corp registry-not-found"] },
  },
  {
    name: "two workspaces on one image: one pull naming both",
    set: base({
      workspaces: [
        workspace("x", { image: `${chrome}:1`, registry: "corp" }),
        workspace("y", {
          image: `${chrome}:1`,
          registry: "corp",
          agents: { matchLabels: { ring: "testing" } },
        }),
      ],
    }),
    expect: { pulls: [`a1 ${chrome}:1 missing → ? [x,y]`, `a2 ${chrome}:1 missing → ? [x]`] },
  },
  {
    name: "--agent limits the plan",
    set: base({ workspaces: [workspace("chrome", { image: `${chrome}:1`, registry: "corp" })] }),
    only: ["a2"],
    expect: { pulls: [`a2 ${chrome}:1 missing → ?`] },
  },
  {
    name: "Docker Hub images match Docker's familiar local names",
    set: base({
      workspaces: [workspace("hub", { image: "kasmweb/chrome:1.16.0", registry: "hub" })],
      registries: [registry("hub", "docker.io")],
    }),
    observations: [
      seen("a1", [{ tags: ["kasmweb/chrome:1.16.0"], digests: [`kasmweb/chrome@${A}`] }]),
      seen("a2", [{ tags: ["kasmweb/chrome:1.16.0"], digests: [`kasmweb/chrome@${B}`] }]),
    ],
    digests: { "docker.io/kasmweb/chrome:1.16.0": { digest: A } },
    expect: { pulls: [`a2 docker.io/kasmweb/chrome:1.16.0 outdated ${B} → ${A}`] },
  },
];

const promoted = (extra: Partial<ManifestSet> = {}) =>
  base({
    workspaces: [
      workspace("chrome-testing", {
        image: `${chrome}:new`,
        registry: "corp",
        agents: { matchLabels: { ring: "testing" } },
      }),
      workspace("chrome", {
        image: `${chrome}:new`,
        registry: "corp",
        agents: { matchLabels: { ring: "production" } },
        promotion: { from: "chrome-testing", movingTags: ["latest"] },
      }),
    ],
    ...extra,
  });
const tested = [
  seen("a1", [{ tags: [`${chrome}:new`], digests: [`${chrome}@${B}`] }]),
  seen("a2", [{ tags: [`${chrome}:latest`], digests: [`${chrome}@${A}`] }]),
];

cases.push(
  {
    name: "verified promotion: promote, then pull the moving tag at the new digest",
    set: promoted(),
    observations: tested,
    digests: { [`${chrome}:new`]: { digest: B }, [`${chrome}:latest`]: { digest: A } },
    expect: {
      promotes: [`${chrome}:latest ${A} → ${B}`],
      pulls: [
        `a2 ${chrome}:latest outdated ${A} → ${B} [chrome]`,
        `a2 ${chrome}:new missing → ${B} [chrome]`,
      ],
    },
  },
  {
    name: "unverified digest is blocked and latest stays",
    set: promoted(),
    observations: [seen("a1"), tested[1]!],
    digests: { [`${chrome}:new`]: { digest: B }, [`${chrome}:latest`]: { digest: A } },
    expect: {
      promotes: [],
      blocked: ["not-verified"],
      pulls: [`a1 ${chrome}:new missing → ${B}`, `a2 ${chrome}:new missing → ${B}`],
    },
  },
  {
    name: "verified through the ledger",
    set: promoted(),
    observations: [seen("a1"), tested[1]!],
    ledger: [{ agent: "a1", image: `${chrome}:new`, digest: B, workspaces: ["chrome-testing"] }],
    digests: { [`${chrome}:new`]: { digest: B }, [`${chrome}:latest`]: { digest: A } },
    expect: { promotes: [`${chrome}:latest ${A} → ${B}`] },
  },
  {
    name: "a ledger record of a repository that merely shares the prefix does not verify",
    set: promoted(),
    observations: [seen("a1"), tested[1]!],
    ledger: [{ agent: "a1", image: `${chrome}-beta:new`, digest: B, workspaces: ["chrome-testing"] }],
    digests: { [`${chrome}:new`]: { digest: B }, [`${chrome}:latest`]: { digest: A } },
    expect: { promotes: [], blocked: ["not-verified"] },
  },
  {
    name: "a ledger record for another workspace does not verify",
    set: promoted(),
    observations: [seen("a1"), tested[1]!],
    ledger: [{ agent: "a2", image: `${chrome}:new`, digest: B, workspaces: ["chrome"] }],
    digests: { [`${chrome}:new`]: { digest: B }, [`${chrome}:latest`]: { digest: A } },
    expect: { promotes: [], blocked: ["not-verified"] },
  },
  {
    name: "not on the promotion branch: blocked",
    set: promoted(),
    branch: "feature",
    observations: tested,
    digests: { [`${chrome}:new`]: { digest: B }, [`${chrome}:latest`]: { digest: A } },
    expect: { promotes: [], blocked: ["not-on-promotion-branch"] },
  },
  {
    name: "moving tag already at the digest: no promotion (repeat is a no-op)",
    set: promoted(),
    observations: tested,
    digests: { [`${chrome}:new`]: { digest: B }, [`${chrome}:latest`]: { digest: B } },
    expect: { promotes: [], blocked: [] },
  },
  {
    name: "latest pushed out of band at an untested digest, agent lacks it: the pull is blocked, not planned",
    set: promoted(),
    observations: [seen("a1"), seen("a2")],
    digests: { [`${chrome}:new`]: { digest: B }, [`${chrome}:latest`]: { digest: C } },
    expect: {
      promotes: [],
      blocked: ["not-verified", `moving-tag-untested a2 ${chrome}:latest → ${C}`],
      pulls: [`a1 ${chrome}:new missing → ${B}`, `a2 ${chrome}:new missing → ${B}`],
    },
  },
  {
    name: "latest moved out of band past the digest the agent holds: the outdated pull is blocked",
    set: promoted(),
    observations: [seen("a1"), tested[1]!],
    digests: { [`${chrome}:new`]: { digest: A }, [`${chrome}:latest`]: { digest: C } },
    expect: {
      promotes: [],
      blocked: ["not-verified", `moving-tag-untested a2 ${chrome}:latest → ${C}`],
      pulls: [`a1 ${chrome}:new missing → ${A}`, `a2 ${chrome}:new missing → ${A}`],
    },
  },
  {
    name: "not on the promotion branch: an untested latest is not pulled either",
    set: promoted(),
    branch: "feature",
    observations: [tested[0]!, seen("a2")],
    digests: { [`${chrome}:new`]: { digest: B }, [`${chrome}:latest`]: { digest: C } },
    expect: {
      blocked: ["not-on-promotion-branch", `moving-tag-untested a2 ${chrome}:latest → ${C}`],
      pulls: [`a2 ${chrome}:new missing → ${B}`],
    },
  },
  {
    name: "latest already at the workspace image's digest: pulled, nothing blocked",
    set: promoted(),
    observations: [tested[0]!, seen("a2")],
    digests: { [`${chrome}:new`]: { digest: B }, [`${chrome}:latest`]: { digest: B } },
    expect: {
      blocked: [],
      pulls: [`a2 ${chrome}:latest missing → ${B}`, `a2 ${chrome}:new missing → ${B}`],
    },
  },
  {
    name: "no refresh: a missing moving tag at an unknown digest is blocked, not pulled blind",
    set: promoted(),
    observations: [seen("a1"), seen("a2")],
    expect: {
      blocked: [`moving-tag-untested a2 ${chrome}:latest → ?`],
      pulls: [`a1 ${chrome}:new missing → ?`, `a2 ${chrome}:new missing → ?`],
    },
  },
  {
    name: "the workspace image's digest unanswered: its moving tag is not pulled",
    set: promoted(),
    observations: [seen("a1"), seen("a2")],
    digests: {
      [`${chrome}:new`]: { error: "HTTP 503", code: "registry-unavailable" },
      [`${chrome}:latest`]: { digest: C },
    },
    expect: {
      blocked: [`moving-tag-untested a2 ${chrome}:latest → ${C}`],
      pulls: [`a1 ${chrome}:new missing → ?`, `a2 ${chrome}:new missing → ?`],
      unknown: ["registry corp registry-unavailable"],
    },
  },
  {
    name: "a digest-pinned promoted image: its moving tag is not pulled at another digest",
    set: promoted({
      workspaces: [
        workspace("chrome-testing", {
          image: `${chrome}:new`,
          registry: "corp",
          agents: { matchLabels: { ring: "testing" } },
        }),
        workspace("chrome", {
          image: `${chrome}@${B}`,
          registry: "corp",
          agents: { matchLabels: { ring: "production" } },
          promotion: { from: "chrome-testing", movingTags: ["latest"] },
        }),
      ],
    }),
    observations: [seen("a1", [{ tags: [`${chrome}:new`], digests: [`${chrome}@${A}`] }]), seen("a2")],
    digests: { [`${chrome}:new`]: { digest: A }, [`${chrome}:latest`]: { digest: C } },
    expect: {
      blocked: ["not-verified", `moving-tag-untested a2 ${chrome}:latest → ${C}`],
      pulls: [`a2 ${chrome}@${B} missing → ${B}`],
    },
  },
  {
    name: "moving tag that does not exist yet is created",
    set: promoted(),
    observations: tested,
    digests: {
      [`${chrome}:new`]: { digest: B },
      [`${chrome}:latest`]: { error: "manifest unknown", code: "registry-not-found" },
    },
    expect: { promotes: [`${chrome}:latest ? → ${B}`], warnings: [], unknown: [] },
  },
  {
    name: "moving tag that does not exist yet, promotion blocked: no pull that must fail, one warning",
    set: promoted(),
    digests: {
      [`${chrome}:new`]: { digest: B },
      [`${chrome}:latest`]: { error: "manifest unknown", code: "registry-not-found" },
    },
    expect: {
      promotes: [],
      blocked: ["not-verified"],
      pulls: [`a1 ${chrome}:new missing → ${B}`, `a2 ${chrome}:new missing → ${B}`],
      warnings: ["moving-tag-not-created"],
    },
  },
  {
    name: "moving tag that does not exist yet and its source neither: still no pull of the moving tag",
    set: promoted(),
    digests: {
      [`${chrome}:new`]: { error: "manifest unknown", code: "registry-not-found" },
      [`${chrome}:latest`]: { error: "manifest unknown", code: "registry-not-found" },
    },
    expect: {
      promotes: [],
      blocked: [],
      pulls: [`a1 ${chrome}:new missing → ?`, `a2 ${chrome}:new missing → ?`],
      warnings: ["moving-tag-not-created", "registry-error"],
      // The workspace's own image could not be checked: that one is unknown, the moving tag is not.
      unknown: ["registry corp registry-not-found"],
    },
  },
);

const describePull = (
  a: {
    agent: string;
    image: string;
    reason: string;
    currentDigest?: string;
    targetDigest?: string;
    workspaces: string[];
  },
  withWs: boolean,
) =>
  `${a.agent} ${a.image} ${a.reason}${a.currentDigest ? ` ${a.currentDigest}` : ""} → ${a.targetDigest ?? "?"}${withWs ? ` [${a.workspaces.join(",")}]` : ""}`;

describe("buildPlan", () => {
  it.each(cases)("$name", (c) => {
    const desired = desiredState(c.set, c.only);
    const observations = c.observations ?? desired.agents.map((a) => seen(a.agent));
    const plan = buildPlan({
      revision: "f".repeat(40),
      branch: c.branch ?? "main",
      set: c.set,
      desired,
      observations,
      digests: new Map(Object.entries(c.digests ?? {})),
      ledger: c.ledger ?? [],
    });
    const pulls = plan.actions.filter((a) => a.type === "pull");
    if (c.expect.pulls) {
      const withWs = c.expect.pulls.some((p) => p.includes("["));
      expect(pulls.map((p) => describePull(p, withWs))).toEqual(c.expect.pulls);
    }
    if (c.expect.promotes) {
      expect(
        plan.actions
          .filter((a) => a.type === "promote")
          .map((p) => `${p.image} ${p.currentDigest ?? "?"} → ${p.targetDigest}`),
      ).toEqual(c.expect.promotes);
    }
    if (c.expect.blocked) {
      const describeBlocked = (b: (typeof plan.blocked)[number]) =>
        b.type === "pull" ? `${b.reason} ${b.agent} ${b.image} → ${b.targetDigest ?? "?"}` : b.reason;
      expect(plan.blocked.map(describeBlocked)).toEqual(c.expect.blocked);
      for (const b of plan.blocked.filter((x) => x.type === "pull")) {
        expect(b.message).toMatch(/untested|unknown/);
        expect(b.message).toContain(b.agent);
      }
    }
    if (c.expect.warnings) expect(plan.warnings.map((w) => w.code)).toEqual(c.expect.warnings);
    expect(plan.unknown.map((u) => `${u.kind} ${u.name} ${u.reason}`)).toEqual(c.expect.unknown ?? []);
    expect(plan.summary).toEqual({
      pull: pulls.length,
      promote: plan.actions.length - pulls.length,
      blocked: plan.blocked.length,
      remove: 0,
      removeBytes: 0,
      unknown: plan.unknown.length,
      incomplete: plan.unknown.length > 0,
    });
    // Promotions always come before pulls, so a moving tag is moved before agents pull it.
    const firstPull = plan.actions.findIndex((a) => a.type === "pull");
    expect(
      plan.actions.slice(firstPull === -1 ? plan.actions.length : firstPull).every((a) => a.type === "pull"),
    ).toBe(true);
  });

  it("is deterministic whatever the input order", () => {
    const set = base({
      workspaces: [
        workspace("b", { image: `${chrome}:b`, registry: "corp" }),
        workspace("a", { image: `${chrome}:a`, registry: "corp" }),
      ],
    });
    const reversed = { ...set, agents: [...set.agents].reverse(), workspaces: [...set.workspaces].reverse() };
    const plans = [set, reversed].map((s) => {
      const desired = desiredState(s);
      return buildPlan({
        revision: "r",
        branch: "main",
        set: s,
        desired,
        observations: desired.agents.map((a) => seen(a.agent)),
        digests: new Map(),
      });
    });
    expect(plans[0]).toEqual(plans[1]);
  });
});

describe("refsToCheck", () => {
  it.each([
    [
      "one ref per unique image across agents and workspaces",
      [
        workspace("x", { image: `${chrome}:1`, registry: "corp" }),
        workspace("y", { image: `${chrome}:1`, registry: "corp" }),
      ],
      [`${chrome}:1`],
    ],
    ["pinned images are never checked", [workspace("p", { image: `${chrome}@${A}`, registry: "corp" })], []],
    ["registry-less images are never checked", [workspace("n", { image: `${chrome}:1` })], []],
    [
      "refresh: never is not checked",
      [workspace("n", { image: `${chrome}:1`, registry: "corp", refresh: "never" })],
      [],
    ],
    [
      "moving tags are checked",
      [
        workspace("m", {
          image: `${chrome}:1`,
          registry: "corp",
          promotion: { from: "x", movingTags: ["latest"] },
        }),
      ],
      [`${chrome}:1`, `${chrome}:latest`],
    ],
  ])("%s", (_, workspaces, expected) => {
    expect(refsToCheck(desiredState(base({ workspaces }))).map((r) => r.ref.canonical)).toEqual(expected);
  });

  const nightly = "0 3 * * *";
  const mixed = [
    workspace("hourly", { image: `${chrome}:h`, registry: "corp" }),
    workspace("explicit-default", { image: `${chrome}:d`, registry: "corp", refresh: "default" }),
    workspace("nightly", { image: `${chrome}:n`, registry: "corp", refresh: nightly }),
    workspace("shared-nightly", { image: `${chrome}:h`, registry: "corp", refresh: nightly }),
    workspace("frozen", { image: `${chrome}:f`, registry: "corp", refresh: "never" }),
  ];
  it.each([
    ["all", "all" as const, [`${chrome}:d`, `${chrome}:h`, `${chrome}:n`]],
    ["the default schedule", new Set(["default"]), [`${chrome}:d`, `${chrome}:h`]],
    ["a workspace's own cron", new Set([nightly]), [`${chrome}:h`, `${chrome}:n`]],
    ["both", new Set(["default", nightly]), [`${chrome}:d`, `${chrome}:h`, `${chrome}:n`]],
    ["a schedule nobody follows", new Set(["*/5 * * * *"]), []],
  ])("scope %s", (_, scope, expected) => {
    expect(refsToCheck(desiredState(base({ workspaces: mixed })), scope).map((r) => r.ref.canonical)).toEqual(
      expected,
    );
  });
});
