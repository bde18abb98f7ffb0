/**
 * Agents whose selectors match the same workspaces share one desired image list. These tests prove the
 * sharing changes nothing a plan says: explicit plans for fleets built to share, and random fleets checked
 * against a straightforward per-agent reference (one list per agent, as the planner built it before).
 */
import { describe, expect, it } from "vitest";
import { agent, manifestSet, registry, workspace } from "../../../test/helpers/manifests.js";
import { parseImageReference } from "../image/reference.js";
import { selectorMatches } from "../manifest/selectors.js";
import { compareText, DEFAULTS, type ManifestSet, type WorkspaceSpec } from "../manifest/types.js";
import {
  type DesiredImage,
  type DesiredState,
  desiredState,
  movingTagRefs,
  refreshSchedule,
} from "./desired.js";
import { type AgentObservation, buildPlan } from "./plan.js";
import type { DigestResult } from "./promotion.js";
import type { PlanWarning, PullAction } from "./types.js";

const H = "reg.test:5000";
const d = (c: string) => `sha256:${c.repeat(64)}`;
const [A, B, C] = [d("a"), d("b"), d("c")];
const chrome = `${H}/kasm/chrome`;
const edge = `${H}/kasm/edge`;

/** A warning as `code subject`: what the reference checks (the wording is the planner's own). */
const warningLine = (w: PlanWarning) => `${w.code} ${w.workspace ?? w.agent}${w.image ? ` ${w.image}` : ""}`;

/**
 * The reference: every agent gets its own list, every workspace matched against every agent; its
 * warnings as warningLine writes them.
 */
function referenceDesired(set: ManifestSet, onlyAgents?: readonly string[]) {
  const warnings: string[] = [];
  const workspaces = [...set.workspaces]
    .filter((w) => w.spec.enabled !== false)
    .sort((a, b) => compareText(a.metadata.name, b.metadata.name));
  const matches = (w: (typeof workspaces)[number], labels?: Record<string, string>) =>
    selectorMatches(w.spec.agents?.matchLabels, labels);
  for (const w of workspaces) {
    const name = w.metadata.name;
    if (!w.spec.registry) warnings.push(`no-registry ${name} ${parseImageReference(w.spec.image).canonical}`);
    if (!set.agents.some((a) => matches(w, a.metadata.labels))) warnings.push(`no-matching-agent ${name}`);
  }
  const agents = set.agents
    .filter((a) => !onlyAgents?.length || onlyAgents.includes(a.metadata.name))
    .sort((a, b) => compareText(a.metadata.name, b.metadata.name))
    .map((a) => {
      // Per image: the matching workspaces that want it (in name order), the first registry they name.
      const matched = workspaces.filter((w) => matches(w, a.metadata.labels));
      const refsOf = (w: (typeof workspaces)[number]) => [
        parseImageReference(w.spec.image),
        ...movingTagRefs(w),
      ];
      const refs = new Map(matched.flatMap(refsOf).map((ref) => [ref.canonical, ref]));
      const images: DesiredImage[] = [...refs.values()].map((ref) => {
        const wanting = matched.filter((w) => refsOf(w).some((r) => r.canonical === ref.canonical));
        const registry = wanting.find((w) => w.spec.registry)?.spec.registry;
        const schedules = wanting.map(refreshSchedule).filter((x): x is string => x !== undefined);
        return {
          image: ref.canonical,
          ref,
          workspaces: [...new Set(wanting.map((w) => w.metadata.name))],
          ...(registry ? { registry } : {}),
          pinned: ref.digest !== undefined,
          schedules: [...new Set(schedules)],
        };
      });
      const enabled = a.spec.enabled !== false;
      if (!enabled && images.length > 0) warnings.push(`agent-disabled ${a.metadata.name}`);
      return {
        agent: a.metadata.name,
        enabled,
        maxConcurrentPulls:
          a.spec.maxConcurrentPulls ?? set.settings?.spec.maxConcurrentPulls ?? DEFAULTS.maxConcurrentPulls,
        images: enabled ? images.sort((x, y) => compareText(x.image, y.image)) : [],
      };
    });
  return { agents, warnings };
}

/** The same lists, limits and order as the reference, and the same warnings about the same things. */
function expectReference(desired: DesiredState, reference: ReturnType<typeof referenceDesired>) {
  expect(desired.agents).toEqual(reference.agents);
  expect(desired.warnings.map(warningLine)).toEqual(reference.warnings);
}

/** Freezes the desired state all the way down, so a planner that wrote into a shared list would throw. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

const seen = (name: string, images: { tags?: string[]; digests?: string[] }[] = []): AgentObservation => ({
  agent: name,
  reachable: true,
  images: images.map((i, n) => ({ id: `sha256:${n}`, repoTags: i.tags ?? [], repoDigests: i.digests ?? [] })),
});

const pullLine = (p: Pick<PullAction, "agent" | "image" | "reason" | "currentDigest" | "targetDigest">) =>
  `${p.agent} ${p.image} ${p.reason}${p.currentDigest ? ` ${p.currentDigest}` : ""} → ${p.targetDigest ?? "?"}`;

type Case = {
  name: string;
  set: ManifestSet;
  observations: AgentObservation[];
  digests: Record<string, DigestResult>;
  only?: string[];
  /** Agents expected to share one image list. */
  sharing: string[][];
  pulls: string[];
  limits?: Record<string, number>;
};

const fleet = (agents: ManifestSet["agents"], workspaces: ManifestSet["workspaces"]) =>
  manifestSet({ registries: [registry("corp", H)], agents, workspaces });
const ws = (name: string, spec: Partial<WorkspaceSpec> & { image: string }) =>
  workspace(name, { registry: "corp", ...spec });
const testing = { matchLabels: { ring: "testing" } };

const cases: Case[] = [
  {
    name: "same labels share a list; each agent's own images decide its pulls",
    set: fleet(
      [agent("a1", { ring: "testing" }), agent("a2", { ring: "testing" }), agent("a3", { ring: "testing" })],
      [ws("chrome", { image: `${chrome}:1` }), ws("edge", { image: `${edge}:1`, agents: testing })],
    ),
    observations: [
      seen("a1", [{ tags: [`${chrome}:1`], digests: [`${chrome}@${A}`] }]),
      seen("a2", [
        { tags: [`${chrome}:1`], digests: [`${chrome}@${B}`] },
        { tags: [`${edge}:1`], digests: [`${edge}@${C}`] },
      ]),
      seen("a3"),
    ],
    digests: { [`${chrome}:1`]: { digest: A }, [`${edge}:1`]: { digest: C } },
    sharing: [["a1", "a2", "a3"]],
    pulls: [
      `a1 ${edge}:1 missing → ${C}`,
      `a2 ${chrome}:1 outdated ${B} → ${A}`,
      `a3 ${chrome}:1 missing → ${A}`,
      `a3 ${edge}:1 missing → ${C}`,
    ],
  },
  {
    name: "different labels, selectors by label: each ring gets its own list",
    set: fleet(
      [
        agent("t1", { ring: "testing" }),
        agent("p1", { ring: "production" }),
        agent("p2", { ring: "production" }),
      ],
      [
        ws("chrome", { image: `${chrome}:1` }),
        ws("chrome-testing", { image: `${chrome}:2`, agents: testing }),
      ],
    ),
    observations: [
      seen("t1"),
      seen("p1"),
      seen("p2", [{ tags: [`${chrome}:1`], digests: [`${chrome}@${A}`] }]),
    ],
    digests: { [`${chrome}:1`]: { digest: A }, [`${chrome}:2`]: { digest: B } },
    sharing: [["p1", "p2"], ["t1"]],
    pulls: [
      `p1 ${chrome}:1 missing → ${A}`,
      `t1 ${chrome}:1 missing → ${A}`,
      `t1 ${chrome}:2 missing → ${B}`,
    ],
  },
  {
    name: "labels no selector reads (zone) do not split the list",
    set: fleet(
      [agent("a1", { ring: "testing", zone: "z1" }), agent("a2", { ring: "testing", zone: "z2" })],
      [ws("edge", { image: `${edge}:1`, agents: testing })],
    ),
    observations: [seen("a1"), seen("a2", [{ tags: [`${edge}:1`], digests: [`${edge}@${A}`] }])],
    digests: { [`${edge}:1`]: { digest: B } },
    sharing: [["a1", "a2"]],
    pulls: [`a1 ${edge}:1 missing → ${B}`, `a2 ${edge}:1 outdated ${A} → ${B}`],
  },
  {
    name: "per-agent overrides stay per agent: limits, a drained twin, a plan for one agent",
    set: fleet(
      [
        agent("a1", { ring: "testing" }, { maxConcurrentPulls: 5 }),
        agent("a2", { ring: "testing" }),
        agent("a3", { ring: "testing" }, { enabled: false }),
        agent("a4", { ring: "testing" }),
      ],
      [ws("chrome", { image: `${chrome}:1`, agents: testing })],
    ),
    observations: ["a1", "a2", "a3"].map((a) => seen(a)),
    digests: { [`${chrome}:1`]: { digest: A } },
    only: ["a1", "a2", "a3"],
    sharing: [["a1", "a2"]],
    pulls: [`a1 ${chrome}:1 missing → ${A}`, `a2 ${chrome}:1 missing → ${A}`],
    limits: { a1: 5, a2: DEFAULTS.maxConcurrentPulls, a3: DEFAULTS.maxConcurrentPulls },
  },
  {
    name: "a pinned digest is checked against each agent's own digests",
    set: fleet(
      [agent("a1"), agent("a2"), agent("a3")],
      [ws("pinned", { image: `${chrome}@${C}` }), ws("moving", { image: `${chrome}:1` })],
    ),
    observations: [
      seen("a1", [{ digests: [`${chrome}@${C}`] }]),
      seen("a2", [{ tags: [`${chrome}:1`], digests: [`${chrome}@${A}`] }]),
      seen("a3", [{ tags: [`${chrome}:1`], digests: [`${chrome}@${C}`, `${chrome}@${A}`] }]),
    ],
    digests: { [`${chrome}:1`]: { digest: A } },
    sharing: [["a1", "a2", "a3"]],
    pulls: [`a1 ${chrome}:1 missing → ${A}`, `a2 ${chrome}@${C} missing → ${C}`],
  },
];

describe("shared desired image lists", () => {
  it.each(cases)("$name", (c) => {
    const desired = deepFreeze(desiredState(c.set, c.only));
    expectReference(desired, referenceDesired(c.set, c.only));
    const byName = new Map(desired.agents.map((a) => [a.agent, a]));
    for (const group of c.sharing) {
      for (const name of group) expect(byName.get(name)!.images).toBe(byName.get(group[0]!)!.images);
    }
    const plan = buildPlan({
      revision: "0".repeat(40),
      branch: "main",
      set: c.set,
      desired,
      observations: c.observations,
      digests: new Map(Object.entries(c.digests)),
    });
    expect(plan.actions.filter((a) => a.type === "pull").map(pullLine)).toEqual(c.pulls);
    for (const [name, limit] of Object.entries(c.limits ?? {})) {
      expect(byName.get(name)!.maxConcurrentPulls).toBe(limit);
    }
  });
});

/** A small seeded generator (mulberry32), so a failing fleet can be rebuilt from its seed. */
function random(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    int,
    pick: <T>(items: readonly T[]) => items[int(items.length)]!,
    chance: (p: number) => next() < p,
  };
}

const SELECTORS: (Record<string, string> | undefined)[] = [
  undefined,
  {},
  { ring: "testing" },
  { ring: "production" },
  { zone: "z1" },
  { ring: "testing", zone: "z2" },
  { gpu: "yes" },
];
const DIGESTS = [A, B, C, d("e"), d("f")];

/** A random fleet where many agents share labels, and its observations and registry answers. */
function randomFleet(seed: number) {
  const r = random(seed);
  const agents = Array.from({ length: 2 + r.int(12) }, (_, i) => {
    const labels: Record<string, string> = { ring: r.pick(["testing", "production"]) };
    if (r.chance(0.6)) labels.zone = r.pick(["z1", "z2"]);
    if (r.chance(0.2)) labels.gpu = "yes";
    return agent(`a${i}`, labels, {
      ...(r.chance(0.2) ? { maxConcurrentPulls: 1 + r.int(4) } : {}),
      ...(r.chance(0.1) ? { enabled: false } : {}),
    });
  });
  const repos = [chrome, edge, `${H}/kasm/term`, "kasmweb/desktop"];
  const workspaces = Array.from({ length: 1 + r.int(10) }, (_, i) => {
    const repo = r.pick(repos);
    const image = r.chance(0.2) ? `${repo}@${r.pick(DIGESTS)}` : `${repo}:${r.pick(["1", "2", "latest"])}`;
    const selector = r.pick(SELECTORS);
    return workspace(`w${i}`, {
      image,
      ...(r.chance(0.85) ? { registry: "corp" } : {}),
      ...(selector ? { agents: { matchLabels: selector } } : {}),
      ...(r.chance(0.15) ? { enabled: false } : {}),
      ...(r.chance(0.2) ? { refresh: r.pick(["never", "0 3 * * *"]) } : {}),
      ...(i > 0 && !image.includes("@") && r.chance(0.2)
        ? { promotion: { from: `w${r.int(i)}`, movingTags: ["stable"] } }
        : {}),
    });
  });
  // Pruning reads each agent's desired list too, so some fleets prune.
  const modes = ["unused", "dangling"] as const;
  const prune = r.chance(0.4) ? { mode: r.pick(modes), keepPrevious: r.int(2) } : undefined;
  const set = manifestSet({
    registries: [registry("corp", H)],
    agents,
    workspaces,
    ...(prune ? { settingsSpec: { prune } } : {}),
  });
  const canonical = [
    ...new Set(workspaces.flatMap((w) => [w.spec.image, ...movingTagRefs(w).map((t) => t.canonical)])),
  ]
    .map((i) => parseImageReference(i))
    .filter((ref) => ref.digest === undefined);
  const digests = new Map<string, DigestResult>();
  for (const ref of canonical) {
    if (r.chance(0.1)) digests.set(ref.canonical, { error: "HTTP 503", code: "registry-unavailable" });
    else if (r.chance(0.85)) digests.set(ref.canonical, { digest: r.pick(DIGESTS) });
  }
  const observations: AgentObservation[] = agents.map((a) => {
    if (r.chance(0.1)) return { agent: a.metadata.name, reachable: false, error: "connect ENOENT" };
    const held = canonical.filter(() => r.chance(0.5));
    const images = held.map((ref) => ({
      tags: [ref.canonical],
      digests: [`${ref.registry}/${ref.repository}@${r.pick(DIGESTS)}`],
    }));
    // An untagged earlier release, and containers listed or not: what pruning decides on.
    if (r.chance(0.5)) images.push({ tags: [], digests: [`${r.pick([chrome, edge])}@${r.pick(DIGESTS)}`] });
    return { ...seen(a.metadata.name, images), ...(r.chance(0.8) ? { containers: [] } : {}) };
  });
  const only = r.chance(0.2) ? agents.filter(() => r.chance(0.5)).map((a) => a.metadata.name) : undefined;
  return { set, digests, observations, only };
}

describe("random fleets: sharing changes nothing a plan says", () => {
  const seeds = Array.from({ length: 150 }, (_, i) => i + 1);

  it.each(seeds)("seed %i", (seed) => {
    const { set, digests, observations, only } = randomFleet(seed);
    const desired = deepFreeze(desiredState(set, only));
    const reference = referenceDesired(set, only);
    expectReference(desired, reference);
    const input = { revision: "0".repeat(40), branch: "main", set, observations, digests };
    const plan = buildPlan({ ...input, desired });
    expect(plan).toEqual(buildPlan({ ...input, desired: { ...reference, warnings: desired.warnings } }));
    // No agent's pulls or removals leak into another's: each agent planned alone, with a list of its own, gets the same.
    for (const one of reference.agents) {
      const alone = buildPlan({ ...input, desired: { agents: [one], warnings: [] } });
      const actionsOf = (p: typeof plan) => p.actions.filter((a) => "agent" in a && a.agent === one.agent);
      expect(actionsOf(plan)).toEqual(actionsOf(alone));
    }
  });

  it("the random fleets do share lists and do plan pulls (the check above is not vacuous)", () => {
    let shared = 0;
    let pulls = 0;
    let removals = 0;
    for (const seed of seeds) {
      const { set, digests, observations, only } = randomFleet(seed);
      const desired = desiredState(set, only);
      const lists = desired.agents.filter((a) => a.enabled && a.images.length > 0).map((a) => a.images);
      shared += lists.length - new Set(lists).size;
      const plan = buildPlan({
        revision: "0".repeat(40),
        branch: "main",
        set,
        desired,
        observations,
        digests,
      });
      pulls += plan.summary.pull;
      removals += plan.summary.remove ?? 0;
    }
    expect(shared).toBeGreaterThan(100);
    expect(pulls).toBeGreaterThan(300);
    expect(removals).toBeGreaterThan(20);
  });
});
