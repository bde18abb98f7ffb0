import { describe, expect, it } from "vitest";
import { agent, manifestSet, registry, workspace } from "../../../test/helpers/manifests.js";
import type { LocalImage } from "../image/local.js";
import { parseImageReference } from "../image/reference.js";
import type { PruneMode } from "../manifest/types.js";
import { checkManifestFiles, formatProblem } from "../manifest/validate.js";
import { type DesiredImage, desiredState } from "./desired.js";
import { buildPlan } from "./plan.js";
import { type PruneRecord, planRemovals, previousDigests, pruneSettings } from "./prune.js";

const R = "reg.example.com:5000";
const DAY = 86_400_000;
const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const img = (id: string, tags: string[], digests: string[], size = 100): LocalImage => ({
  id: `sha256:${id}`,
  repoTags: tags,
  repoDigests: digests,
  size,
});
const want = (image: string): DesiredImage => {
  const ref = parseImageReference(image);
  return { image: ref.canonical, ref, workspaces: ["w"], pinned: ref.digest !== undefined, schedules: [] };
};
const pull = (workspace: string, image: string, digest: string, time: string): PruneRecord => ({
  agent: "a1",
  image,
  digest,
  workspaces: [workspace],
  time,
});

/** A seeded agent: chrome v3 desired, v2 and v1 ran before, plus everything pruning must leave alone. */
const IMAGES: LocalImage[] = [
  img("current", [`${R}/kasm/chrome:v3`], [`${R}/kasm/chrome@${D(3)}`]),
  img("previous", [`${R}/kasm/chrome:v2`], [`${R}/kasm/chrome@${D(2)}`]),
  img("older", [`${R}/kasm/chrome:v1`], [`${R}/kasm/chrome@${D(1)}`]),
  img("dangling", [], [`${R}/kasm/chrome@${D(4)}`]),
  img("in-session", [`${R}/kasm/firefox:old`], [`${R}/kasm/firefox@${D(5)}`]),
  img("service", ["kasmweb/proxy:1.16.0"], [`kasmweb/proxy@${D(6)}`]),
  img("service-dangling", [], [`kasmweb/agent@${D(7)}`]),
  img("nameless", [], []),
  img("multi-managed", [`${R}/kasm/chrome:rc`, `${R}/kasm/chrome:beta`], [`${R}/kasm/chrome@${D(8)}`]),
  img("multi-hand", [`${R}/kasm/chrome:dev`, "my/chrome:dev"], [`${R}/kasm/chrome@${D(9)}`]),
  img("ours-elsewhere", [`${R}/tools/old:1`], [`${R}/tools/old@${D(10)}`]),
  img("pinned", [], [`${R}/kasm/term@${D(11)}`]),
];
const LEDGER: PruneRecord[] = [
  pull("chrome", `${R}/kasm/chrome:v1`, D(1), "2026-01-01T00:00:00Z"),
  pull("chrome", `${R}/kasm/chrome:v2`, D(2), "2026-02-01T00:00:00Z"),
  pull("chrome", `${R}/kasm/chrome:v3`, D(3), "2026-03-01T00:00:00Z"),
  pull("tools", `${R}/tools/old:1`, D(10), "2025-01-01T00:00:00Z"),
  pull("tools", `${R}/tools/new:2`, D(12), "2025-02-01T00:00:00Z"),
];

const removed = (mode: PruneMode, keepPrevious = 1, containers = ["sha256:in-session"]) =>
  planRemovals({
    agent: "a1",
    settings: { mode, keepPrevious, removedAfterMs: DAY },
    images: IMAGES,
    containerImages: new Set(containers),
    desired: [want(`${R}/kasm/chrome:v3`), want(`${R}/kasm/term@${D(11)}`)],
    workspaceRepositories: new Set([`${R}/kasm/chrome`, `${R}/kasm/firefox`, `${R}/kasm/term`]),
    incoming: new Set(),
    ledger: LEDGER,
  })
    .map((a) => `${a.id.slice(7)} ${a.reason}`)
    .sort();

describe("planRemovals", () => {
  it.each<[string, PruneMode, number, string[]]>([
    ["off removes nothing", "off", 1, []],
    ["dangling removes only untagged managed images", "dangling", 1, ["dangling dangling"]],
    [
      "unused also removes managed images no workspace wants, keeping the previous digest",
      "unused",
      1,
      ["dangling dangling", "multi-managed unused", "older unused", "ours-elsewhere unused"],
    ],
    [
      "keepPrevious 0 lets the previous release go too",
      "unused",
      0,
      [
        "dangling dangling",
        "multi-managed unused",
        "older unused",
        "ours-elsewhere unused",
        "previous unused",
      ],
    ],
    [
      "keepPrevious 2 keeps two releases before the current one (tools left Git: its last two)",
      "unused",
      2,
      ["dangling dangling", "multi-managed unused"],
    ],
  ])("%s", (_name, mode, keep, expected) => {
    expect(removed(mode, keep)).toEqual(expected);
  });

  it.each([
    ["a container's image (running or stopped)", "in-session"],
    ["a service image of a repository no workspace names", "service"],
    ["an untagged service image", "service-dangling"],
    ["an image with no name at all", "nameless"],
    ["a multi-tag image with a hand-made tag of another repository", "multi-hand"],
    ["a digest-pinned desired image", "pinned"],
    ["the desired moving/tagged image", "current"],
  ])("never removes %s", (_name, id) => {
    expect(removed("unused", 0).map((r) => r.split(" ")[0])).not.toContain(id);
  });

  it("removes a stopped container's image only once no container uses it", () => {
    expect(removed("unused", 1, [])).toContain("in-session unused");
  });

  it("keeps an image this cycle's pull is about to tag again (a rollback of a moving tag)", () => {
    const actions = planRemovals({
      agent: "a1",
      settings: { mode: "dangling", keepPrevious: 0, removedAfterMs: DAY },
      images: [img("dangling", [], [`${R}/kasm/chrome@${D(4)}`])],
      containerImages: new Set(),
      desired: [],
      workspaceRepositories: new Set([`${R}/kasm/chrome`]),
      incoming: new Set([`${R}/kasm/chrome@${D(4)}`]),
      ledger: [],
    });
    expect(actions).toEqual([]);
  });

  it("describes a removal with id, bytes, reason and tags", () => {
    const [action] = planRemovals({
      agent: "a1",
      settings: { mode: "unused", keepPrevious: 0, removedAfterMs: DAY },
      images: [IMAGES[8]!],
      containerImages: new Set(),
      desired: [],
      workspaceRepositories: new Set([`${R}/kasm/chrome`]),
      incoming: new Set(),
      ledger: [],
    });
    expect(action).toEqual({
      type: "remove",
      agent: "a1",
      image: `${R}/kasm/chrome:rc`,
      id: "sha256:multi-managed",
      bytes: 100,
      reason: "unused",
      tags: [`${R}/kasm/chrome:rc`, `${R}/kasm/chrome:beta`],
    });
  });
});

describe("previousDigests", () => {
  const chrome = (n: number, time: string) => pull("chrome", `${R}/kasm/chrome:v${n}`, D(n), time);
  it.each<[string, PruneRecord[], string[], number, string[]]>([
    ["nothing before the current one", [chrome(3, "3")], [`${R}/kasm/chrome@${D(3)}`], 1, []],
    [
      "the newest distinct digest before the current one",
      [chrome(1, "1"), chrome(2, "2"), chrome(2, "2b"), chrome(3, "3")],
      [`${R}/kasm/chrome@${D(3)}`],
      1,
      [`${R}/kasm/chrome@${D(2)}`],
    ],
    [
      "ordered by time, not by file order",
      [chrome(2, "2"), chrome(1, "1"), chrome(3, "3")],
      [`${R}/kasm/chrome@${D(3)}`],
      1,
      [`${R}/kasm/chrome@${D(2)}`],
    ],
    [
      "a rolled-back workspace keeps the release it left",
      [chrome(1, "1"), chrome(2, "2"), chrome(1, "3")],
      [`${R}/kasm/chrome@${D(1)}`],
      1,
      [`${R}/kasm/chrome@${D(2)}`],
    ],
    [
      "a workspace that left Git keeps its last ones",
      [chrome(1, "1"), chrome(2, "2")],
      [],
      1,
      [`${R}/kasm/chrome@${D(2)}`],
    ],
    ["none when keepPrevious is 0", [chrome(1, "1"), chrome(2, "2")], [], 0, []],
  ])("%s", (_name, ledger, current, keep, expected) => {
    expect([...previousDigests(ledger, new Set(current), keep)]).toEqual(expected);
  });
});

describe("pruneSettings", () => {
  it.each([
    [
      "nothing set: off, keep 1, 24h",
      undefined,
      undefined,
      { mode: "off", keepPrevious: 1, removedAfterMs: DAY },
    ],
    [
      "Settings only",
      { mode: "dangling" as const, removedAfter: "0s" },
      undefined,
      { mode: "dangling", keepPrevious: 1, removedAfterMs: 0 },
    ],
    [
      "the Agent wins field by field",
      { mode: "unused" as const, keepPrevious: 3, removedAfter: "1h" },
      { mode: "off" as const, removedAfter: "1h30m" },
      { mode: "off", keepPrevious: 3, removedAfterMs: 5_400_000 },
    ],
  ])("%s", (_name, settings, agent, expected) => {
    expect(pruneSettings(settings, agent)).toEqual(expected);
  });
});

describe("buildPlan with pruning", () => {
  const set = manifestSet({
    registries: [registry("corp", R)],
    agents: [agent("a1"), agent("a2", {}, { prune: { mode: "off" } }), agent("a3")],
    workspaces: [workspace("chrome", { image: `${R}/kasm/chrome:v3`, registry: "corp" })],
    settingsSpec: { prune: { mode: "unused", keepPrevious: 0 } },
  });
  const images = [IMAGES[0]!, IMAGES[2]!];
  const plan = buildPlan({
    revision: "r".repeat(40),
    branch: "main",
    set,
    desired: desiredState(set),
    observations: [
      { agent: "a1", reachable: true, images, containers: [] },
      { agent: "a2", reachable: true, images, containers: [] },
      { agent: "a3", reachable: true, images, containersError: "permission denied" },
    ],
    digests: new Map(),
  });

  it.each([
    ["a1 (Settings: unused) loses the old release", "a1", ["sha256:older"]],
    ["a2 (its own mode: off) keeps everything", "a2", []],
    ["a3 (containers unknown) keeps everything", "a3", []],
  ])("%s", (_name, name, ids) => {
    expect(
      plan.actions
        .filter((a) => a.type === "remove" && a.agent === name)
        .map((a) => (a as { id: string }).id),
    ).toEqual(ids);
  });

  it("warns that a3 was not pruned and counts removals and bytes", () => {
    expect(plan.warnings.map((w) => `${w.code} ${w.agent}`)).toEqual(["prune-skipped a3"]);
    expect(plan.summary).toMatchObject({ remove: 1, removeBytes: 100 });
  });

  it("counts a3, whose containers could not be listed, as unknown: the plan is incomplete", () => {
    expect(plan.unknown).toEqual([
      {
        kind: "agent",
        name: "a3",
        reason: "containers-unlisted",
        message:
          'agent "a3": its containers could not be listed, so no image is pruned there: permission denied',
      },
    ]);
    expect(plan.summary).toMatchObject({ unknown: 1, incomplete: true });
  });

  it("needs no container list where pruning is off: a2 without one is not unknown", () => {
    const off = buildPlan({
      revision: "r".repeat(40),
      branch: "main",
      set,
      desired: desiredState(set),
      observations: [{ agent: "a2", reachable: true, images }],
      digests: new Map(),
    });
    expect(off.unknown).toEqual([]);
  });
});

describe("previousDigests with removed workspaces and a rebuilt ledger", () => {
  const key = (n: number) => `${R}/kasm/chrome@${D(n)}`;
  const chrome = (n: number, time: string, workspace = "chrome") =>
    pull(workspace, `${R}/kasm/chrome:v${n}`, D(n), time);
  const rebuilt = (n: number): PruneRecord => ({ ...chrome(n, "9"), rebuilt: true });
  const live = (...names: string[]) => ({ live: new Set(names), lingering: new Set<string>() });
  it.each<[string, PruneRecord[], number[], number, ReturnType<typeof live>, number[]]>([
    [
      "a workspace in Git keeps keepPrevious releases",
      [chrome(1, "1"), chrome(2, "2")],
      [2],
      1,
      live("chrome"),
      [1],
    ],
    ["one that left Git past removedAfter keeps none", [chrome(1, "1"), chrome(2, "2")], [], 1, live(), []],
    [
      "one that left Git within removedAfter keeps its last release and keepPrevious before it",
      [chrome(1, "1"), chrome(2, "2"), chrome(3, "3")],
      [],
      1,
      { live: new Set(), lingering: new Set(["chrome"]) },
      [3, 2],
    ],
    [
      "keepPrevious 0 within removedAfter still keeps the last release",
      [chrome(1, "1"), chrome(2, "2")],
      [],
      0,
      { live: new Set(), lingering: new Set(["chrome"]) },
      [2],
    ],
    [
      "a removed workspace's history does not count for another one in Git",
      [chrome(1, "1", "old"), chrome(2, "2"), chrome(3, "3")],
      [3],
      1,
      live("chrome"),
      [2],
    ],
    [
      "rebuilt digests are one release, all kept",
      [rebuilt(1), rebuilt(2), rebuilt(3)],
      [3],
      1,
      live("chrome"),
      [1, 2],
    ],
    [
      "rebuilt digests are older than every pull",
      [rebuilt(1), rebuilt(2), chrome(3, "0"), chrome(4, "1")],
      [4],
      1,
      live("chrome"),
      [3],
    ],
    [
      "a pull after the rebuild is current: the rebuilt ones are its previous release",
      [rebuilt(1), rebuilt(2), chrome(3, "1")],
      [3],
      1,
      live("chrome"),
      [1, 2],
    ],
    ["keepPrevious 0 keeps no rebuilt digest", [rebuilt(1), rebuilt(2)], [2], 0, live("chrome"), []],
  ])("%s", (_name, ledger, current, keep, retention, expected) => {
    const kept = previousDigests(ledger, new Set(current.map(key)), keep, retention);
    expect([...kept].sort()).toEqual(expected.map(key).sort());
  });
});

describe("buildPlan: removedAfter, the clock and the ledger's coverage", () => {
  const NOW = new Date("2026-12-06T12:00:00Z");
  const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString();
  const set = (removedAfter?: string) =>
    manifestSet({
      registries: [registry("corp", R)],
      agents: [agent("a1")],
      workspaces: [workspace("chrome", { image: `${R}/kasm/chrome:v3`, registry: "corp" })],
      settingsSpec: { prune: { mode: "unused", keepPrevious: 1, ...(removedAfter ? { removedAfter } : {}) } },
    });
  // `firefox` left Git; its last release (D5) and the one before (D4) are on the agent.
  const images = [
    IMAGES[0]!,
    IMAGES[1]!,
    img("ff-last", [`${R}/kasm/firefox:v5`], [`${R}/kasm/firefox@${D(5)}`]),
    img("ff-before", [`${R}/kasm/firefox:v4`], [`${R}/kasm/firefox@${D(4)}`]),
  ];
  const ledger = [
    pull("chrome", `${R}/kasm/chrome:v2`, D(2), "2026-02-01T00:00:00Z"),
    pull("chrome", `${R}/kasm/chrome:v3`, D(3), "2026-03-01T00:00:00Z"),
    pull("firefox", `${R}/kasm/firefox:v4`, D(4), "2026-02-01T00:00:00Z"),
    pull("firefox", `${R}/kasm/firefox:v5`, D(5), "2026-03-01T00:00:00Z"),
  ];
  const plan = (removedAfter: string | undefined, departed: Record<string, string>, covered = ["a1"]) => {
    const s = set(removedAfter);
    return buildPlan({
      revision: "r".repeat(40),
      branch: "main",
      set: s,
      desired: desiredState(s),
      observations: [{ agent: "a1", reachable: true, images, containers: [] }],
      digests: new Map(),
      ledger,
      prune: {
        now: NOW,
        covered: new Set(covered),
        departed: Object.fromEntries(
          Object.entries(departed).map(([w, since]) => [w, { since, revision: "d".repeat(40) }]),
        ),
      },
    });
  };
  const removedIds = (p: ReturnType<typeof plan>) =>
    p.actions.flatMap((a) => (a.type === "remove" ? [a.id.slice(7)] : [])).sort();

  it.each<[string, string | undefined, Record<string, string>, string[]]>([
    ["first seen absent now (default 24h): kept", undefined, {}, []],
    ["absent for 23h of 24h: kept", undefined, { firefox: hoursAgo(23) }, []],
    [
      "absent for 24h of 24h: removed like any unused image",
      undefined,
      { firefox: hoursAgo(24) },
      ["ff-before", "ff-last"],
    ],
    ["removedAfter 0s: removed on the revision that removed it", "0s", {}, ["ff-before", "ff-last"]],
    ["removedAfter 1h, absent 2h: removed", "1h", { firefox: hoursAgo(2) }, ["ff-before", "ff-last"]],
  ])("%s", (_name, removedAfter, departed, expected) => {
    expect(removedIds(plan(removedAfter, departed))).toEqual(expected);
  });

  it("holds every removal on an agent the ledger does not cover, and says so", () => {
    const held = plan("0s", {}, []);
    expect(removedIds(held)).toEqual([]);
    expect(held.warnings).toEqual([
      {
        code: "prune-held",
        agent: "a1",
        message: expect.stringContaining("rebuilds it from the images the agent holds"),
      },
    ]);
  });
});

describe("prune.removedAfter in manifests", () => {
  const settings = (line: string) =>
    ["apiVersion: kasm-gitops/v1", "kind: Settings", "metadata: {name: s}", "spec:", line, ""].join("\n");
  const agentYaml = (line: string) =>
    [
      "apiVersion: kasm-gitops/v1",
      "kind: Agent",
      "metadata: {name: a}",
      "spec:",
      '  docker: {host: "tcp://agent.example.com:2376"}',
      line,
      "",
    ].join("\n");
  const errors = (text: string) =>
    checkManifestFiles([{ file: "fleet.yaml", text }])
      .problems.filter((p) => p.severity === "error")
      .map(formatProblem);
  it.each([
    ["24h in Settings", settings("  prune: {mode: unused, removedAfter: 24h}")],
    ["0s on an Agent", agentYaml("  prune: {removedAfter: 0s}")],
    ["1h30m", settings("  prune: {removedAfter: 1h30m}")],
  ])("accepts %s", (_name, text) => {
    expect(errors(text)).toEqual([]);
  });
  it.each([
    ["a duration in words", settings("  prune: {removedAfter: 1 day}"), "fleet.yaml:5:25"],
    [
      "days, which durations do not have",
      agentYaml("  prune: {mode: unused, removedAfter: 7d}"),
      "fleet.yaml:6:39",
    ],
    ["a number", settings("  prune: {removedAfter: 3600}"), "fleet.yaml:5:25"],
  ])("refuses %s, naming file, line and column", (_name, text, where) => {
    const found = errors(text);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(where);
    expect(found[0]).toContain("removedAfter");
  });
});
