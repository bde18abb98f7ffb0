import { describe, expect, it } from "vitest";
import { agent, workspace } from "../../../test/helpers/manifests.js";
import { indexLocalImages, type LocalImage } from "../image/local.js";
import { parseImageReference } from "../image/reference.js";
import type { WorkspaceManifest } from "../manifest/types.js";
import type { PullAction } from "../plan/types.js";
import { type AppliedRecord, desiredRecord, fieldsHash, type RegistryAuthInfo } from "./desired.js";
import { pinnedHash, repoDigestEntry } from "./pin.js";
import { type KasmPlanInput, planKasm } from "./plan.js";
import type { KasmRecord } from "./types.js";

const H = "reg.test:5000";
const D = (c: string) => `sha256:${c.repeat(64)}`;
const img = (tag: string) => `${H}/kasm/chrome:${tag}`;
const entry = (c: string) => `${H}/kasm/chrome@${D(c)}`;
/** An agent's image of tag `tag` whose repo digests are `digests` (one char each). */
const image = (tag: string, ...digests: string[]): LocalImage => ({
  id: `sha256:${tag}${digests.join("")}`,
  repoTags: [img(tag)],
  repoDigests: digests.map(entry),
});
const AGENTS = [agent("a1", { ring: "t" }), agent("a2", { ring: "t" }), agent("a3", { ring: "p" })];
const REGISTRIES = new Map<string, RegistryAuthInfo>([["corp", { host: H }]]);
const ws = (tag: string, kasm: Record<string, unknown> = { pinDigest: true }): WorkspaceManifest =>
  workspace("chrome", { image: img(tag), registry: "corp", agents: { matchLabels: { ring: "t" } }, kasm });

describe("repoDigestEntry: the form Docker lists in RepoDigests", () => {
  it.each([
    ["reg.test:5000/kasm/chrome:2", `reg.test:5000/kasm/chrome@${D("a")}`],
    ["kasmweb/chrome:1.15.0", `kasmweb/chrome@${D("a")}`],
    ["docker.io/library/ubuntu:22.04", `ubuntu@${D("a")}`],
  ])("%s", (reference, expected) => {
    expect(repoDigestEntry(parseImageReference(reference), D("a"))).toBe(expected);
  });
});

describe("pinnedHash", () => {
  const ref = parseImageReference(img("2"));
  const indexes = (byAgent: Record<string, readonly LocalImage[]>) =>
    new Map(Object.entries(byAgent).map(([a, images]) => [a, indexLocalImages(images)]));
  it.each([
    ["the image's own digest", `${H}/kasm/chrome@${D("c")}`, undefined, {}, entry("c")],
    ["the registry's digest this cycle", img("2"), D("b"), { a1: [image("2", "a")] }, entry("b")],
    [
      "the one digest every agent holds",
      img("2"),
      undefined,
      { a1: [image("2", "a")], a2: [image("2", "a", "b")] },
      entry("a"),
    ],
    [
      "agents that disagree",
      img("2"),
      undefined,
      { a1: [image("2", "a")], a2: [image("2", "b")] },
      undefined,
    ],
    ["no agent reachable", img("2"), undefined, {}, undefined],
  ] as const)("%s", (_name, reference, named, byAgent, expected) => {
    const r = reference === img("2") ? ref : parseImageReference(reference);
    const found = pinnedHash(
      r,
      named ? new Map([[r.canonical, named]]) : undefined,
      AGENTS.slice(0, 2),
      indexes(byAgent),
    );
    if (expected) expect(found).toMatchObject({ hash: expected });
    else expect(found).toHaveProperty("unknown");
  });
});

type Case = {
  name: string;
  w: WorkspaceManifest;
  record?: Partial<KasmRecord>;
  images: Record<string, LocalImage[]>;
  expected?: string;
  planned?: PullAction[];
  applied?: AppliedRecord;
  actions: string[];
  blocked?: string[];
};

const pull = (a: string): PullAction => ({
  type: "pull",
  agent: a,
  image: img("2"),
  workspaces: ["chrome"],
  reason: "outdated",
  targetDigest: D("b"),
});
const both = (...images: LocalImage[]) => ({ a1: images, a2: images });
const CASES: Case[] = [
  {
    name: "create: pinned to the registry's digest, after the pulls",
    w: ws("2"),
    images: both(image("2", "a")),
    expected: D("b"),
    planned: [pull("a1"), pull("a2")],
    actions: [`create hash=${entry("b")} after 0,1`],
  },
  {
    name: "the tag moved: the hash moves at the switch, after the pulls (changed)",
    w: ws("2"),
    record: { hash: entry("a") },
    images: both(image("2", "a")),
    expected: D("b"),
    planned: [pull("a1"), pull("a2")],
    applied: { hash: entry("a") },
    actions: [`update changed hash="${entry("b")}" after 0,1`],
  },
  {
    name: "the image moved to a new tag: name and hash in the same update",
    w: ws("3"),
    record: { name: img("2"), hash: entry("a") },
    images: both(image("2", "a"), image("3", "c")),
    applied: { hash: entry("a") },
    actions: [`update changed name="${img("3")}" hash="${entry("c")}" after `],
  },
  {
    name: "a hash edited in Kasm is drift, put back",
    w: ws("2"),
    record: { hash: entry("f") },
    images: both(image("2", "a")),
    applied: { hash: entry("a") },
    actions: [`update drift hash="${entry("a")}" after `],
  },
  {
    name: "converged: nothing",
    w: ws("2"),
    record: { hash: entry("a") },
    images: both(image("2", "a")),
    applied: { hash: entry("a") },
    actions: [],
  },
  {
    name: "the new digest not on an agent and no pull planned: the move is held, users keep the pinned one",
    w: ws("2"),
    record: { hash: entry("a") },
    images: both(image("2", "a")),
    expected: D("b"),
    applied: { hash: entry("a") },
    actions: [],
    blocked: ["kasm-update image-not-on-agents"],
  },
  {
    name: "no verified digest: the create is held (digest-unknown)",
    w: ws("2"),
    images: { a1: [image("2", "a")], a2: [image("2", "b")] },
    actions: [],
    blocked: ["kasm-create digest-unknown"],
  },
  {
    name: "without pinDigest the hash is Kasm's: never compared",
    w: ws("2", {}),
    record: { hash: entry("f") },
    images: both(image("2", "a")),
    actions: [],
  },
];

describe("planKasm with kasm.pinDigest", () => {
  it.each(CASES)("$name", (c) => {
    const desired = desiredRecord(c.w, "kasm-gitops", REGISTRIES);
    const applied = { fields: fieldsHash(desired), ...c.applied };
    const records: KasmRecord[] = c.record
      ? [{ ...desired.fields, name: img("2"), imageId: "r1", dockerTokenSet: false, ...c.record }]
      : [];
    const input: KasmPlanInput = {
      server: { url: "http://127.0.0.1:1", pulls: "kasm-gitops", removed: "disable" },
      workspaces: [c.w],
      agents: AGENTS,
      indexes: new Map(Object.entries(c.images).map(([a, images]) => [a, indexLocalImages(images)])),
      observed: { reachable: true, records, groups: [], memberships: [] },
      registries: REGISTRIES,
      applied: new Map([["chrome", applied]]),
      planned: c.planned ?? [],
      ...(c.expected ? { expected: new Map([[img("2"), c.expected]]) } : {}),
    };
    const plan = planKasm(input);
    const lines = plan.actions.map((a) =>
      a.type === "kasm-create"
        ? `create hash=${a.record.hash} after ${a.after}`
        : a.type === "kasm-update"
          ? `update ${a.reason} ${a.changes.map((ch) => `${ch.field}=${JSON.stringify(ch.to)}`).join(" ")} after ${a.after}`
          : a.type,
    );
    expect(lines).toEqual(c.actions);
    expect(plan.blocked.map((b) => `${b.type} ${b.reason}`)).toEqual(c.blocked ?? []);
  });
});
