import { describe, expect, it } from "vitest";
import { agent, manifestSet, registry, workspace } from "../../../test/helpers/manifests.js";
import { compactLedger, type HistoryEntry, nextDepartures, rebuildEntries } from "./ledger-history.js";

const R = "reg.example.com:5000";
const D = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
const entry = (
  n: number,
  workspaces: string[],
  agentName = "a1",
  extra: Partial<HistoryEntry> = {},
): HistoryEntry => ({
  time: `2026-01-01T00:00:${String(n % 60).padStart(2, "0")}.${String(n).padStart(3, "0")}Z`,
  agent: agentName,
  image: `${R}/kasm/chrome:v${n}`,
  digest: D(n),
  revision: "a".repeat(40),
  workspaces,
  ...extra,
});
const digestsOf = (entries: HistoryEntry[]) =>
  entries.map((e) => `${e.digest.slice(-2)} ${e.workspaces.join(",")}`);

describe("compactLedger", () => {
  it.each<[string, HistoryEntry[], number, string[]]>([
    ["nothing to drop", [entry(1, ["w"]), entry(2, ["w"])], 3, ["01 w", "02 w"]],
    [
      "one entry per workspace and digest: the newest (many agents pulled it)",
      [entry(1, ["w"], "a1"), { ...entry(1, ["w"], "a2"), time: "2026-02-01T00:00:00Z" }, entry(2, ["w"])],
      3,
      ["02 w", "01 w"],
    ],
    [
      "the newest `keep` digests per workspace",
      [1, 2, 3, 4, 5].map((n) => entry(n, ["w"])),
      2,
      ["04 w", "05 w"],
    ],
    [
      "an entry for two workspaces keeps only the one it still counts for",
      [entry(1, ["w", "x"]), entry(2, ["w"]), entry(3, ["w"])],
      2,
      ["01 x", "02 w", "03 w"],
    ],
    [
      "entries naming no workspace: the newest `keep` per repository",
      [entry(1, []), entry(2, []), entry(3, [])],
      2,
      ["02 ", "03 "],
    ],
    [
      "rebuilt entries are the oldest history, dropped first and superseded by a pull",
      [
        entry(5, ["w"], "a1", { rebuilt: true }),
        entry(1, ["w"]),
        entry(2, ["w"]),
        { ...entry(1, ["w"]), rebuilt: true },
      ],
      2,
      ["01 w", "02 w"],
    ],
    ["an unreadable image is of no use to anyone", [{ ...entry(1, ["w"]), image: "NOT AN IMAGE" }], 3, []],
  ])("%s", (_name, entries, keep, expected) => {
    expect(digestsOf(compactLedger(entries, keep))).toEqual(expected);
  });

  it("bounds 4,000 pulls by 200 agents of 20 releases to 20 entries", () => {
    const entries = Array.from({ length: 4000 }, (_, i) => entry(Math.floor(i / 200), ["w"], `a${i % 200}`));
    expect(compactLedger(entries)).toHaveLength(20);
  });
});

describe("rebuildEntries", () => {
  const set = manifestSet({
    registries: [registry("corp", R)],
    agents: [agent("a1"), agent("a2"), agent("a3")],
    workspaces: [
      workspace("chrome", { image: `${R}/kasm/chrome:v3`, registry: "corp" }),
      workspace("chrome-beta", { image: `${R}/kasm/chrome:beta`, registry: "corp" }),
    ],
  });
  const images = [
    { id: "sha256:1", repoTags: [`${R}/kasm/chrome:v2`], repoDigests: [`${R}/kasm/chrome@${D(2)}`] },
    { id: "sha256:2", repoTags: ["kasmweb/proxy:1"], repoDigests: [`kasmweb/proxy@${D(9)}`] },
    { id: "sha256:3", repoTags: [], repoDigests: [] },
  ];
  const now = new Date("2026-12-06T12:00:00Z");

  it("records each digest of a repository a workspace names, on every reachable agent not covered yet", () => {
    const { agents, entries } = rebuildEntries(
      set,
      [
        { agent: "a2", reachable: true, images },
        { agent: "a1", reachable: true, images },
        { agent: "a3", reachable: false },
      ],
      new Set(["a1"]),
      now,
      "r".repeat(40),
    );
    expect(agents).toEqual(["a2"]);
    expect(entries).toEqual([
      {
        time: now.toISOString(),
        agent: "a2",
        image: `${R}/kasm/chrome@${D(2)}`,
        digest: D(2),
        revision: "r".repeat(40),
        workspaces: ["chrome", "chrome-beta"],
        rebuilt: true,
      },
    ]);
  });

  it("covers an agent holding nothing of a managed repository, with no entry", () => {
    expect(rebuildEntries(set, [{ agent: "a1", reachable: true, images: [] }], new Set(), now, "r")).toEqual({
      agents: ["a1"],
      entries: [],
    });
  });
});

describe("nextDepartures", () => {
  const set = manifestSet({
    registries: [registry("corp", R)],
    workspaces: [workspace("chrome", { image: `${R}/kasm/chrome:v3`, registry: "corp" })],
  });
  const now = new Date("2026-12-06T12:00:00Z");
  const before = { since: "2026-12-01T00:00:00.000Z", revision: "b".repeat(40) };
  it.each<[string, string[], Record<string, typeof before>, Record<string, typeof before>]>([
    ["nothing left Git", ["chrome"], {}, {}],
    [
      "first seen absent: now, in this revision",
      ["chrome", "old"],
      {},
      { old: { since: now.toISOString(), revision: "r" } },
    ],
    ["already on record: the first time stays", ["old"], { old: before }, { old: before }],
    ["back in Git: dropped", ["chrome"], { chrome: before }, {}],
    ["no longer in the ledger: dropped", [], { gone: before }, {}],
  ])("%s", (_name, known, previous, expected) => {
    expect(nextDepartures([{ workspaces: known }], set, previous, now, "r")).toEqual(expected);
  });
});
