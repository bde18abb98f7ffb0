import { describe, expect, it } from "vitest";
import { agent, workspace } from "../../../test/helpers/manifests.js";
import { indexLocalImages } from "../image/local.js";
import type { WorkspaceManifest } from "../manifest/types.js";
import type { KasmAction, PullAction } from "../plan/types.js";
import { type AppliedRecord, desiredRecord, fieldsHash, type RegistryAuthInfo } from "./desired.js";
import { type KasmPlanInput, planKasm } from "./plan.js";
import { type KasmMembership, type KasmRecord, markerFor, type UnreadableRecord } from "./types.js";

const H = "reg.test:5000";
const img = (tag: string) => `${H}/kasm/chrome:${tag}`;
const GROUPS = [
  { groupId: "g-all", name: "All Users" },
  { groupId: "g-qa", name: "qa" },
  { groupId: "g-dev", name: "dev" },
  { groupId: "g-ops", name: "ops" },
];
const AGENTS = [
  agent("a1", { ring: "testing" }),
  agent("a2", { ring: "testing" }),
  agent("a3", { ring: "prod" }),
];
const REGISTRIES = new Map<string, RegistryAuthInfo>([
  ["corp", { host: H, username: "ci-bot", fingerprint: "fp1" }],
]);

const ws = (name: string, tag: string, extra: Record<string, unknown> = {}): WorkspaceManifest =>
  workspace(name, {
    image: img(tag),
    registry: "corp",
    agents: { matchLabels: { ring: "testing" } },
    groups: ["qa"],
    ...extra,
  });

/** The record Kasm would hold after kasm-gitops wrote `w` (`pulls: kasm-gitops`), with edits on top. */
function recordOf(w: WorkspaceManifest, imageId: string, edits: Partial<KasmRecord> = {}): KasmRecord {
  const { fields } = desiredRecord(w, "kasm-gitops", REGISTRIES);
  return { ...fields, imageId, dockerTokenSet: false, ...edits };
}
const held = (tag: string) => ({ id: `sha256:${tag}`, repoTags: [img(tag)], repoDigests: [] });
const pull = (agentName: string, tag: string): PullAction => ({
  type: "pull",
  agent: agentName,
  image: img(tag),
  workspaces: ["chrome"],
  reason: "missing",
});
const hashOf = (w: WorkspaceManifest, pulls: "kasm" | "kasm-gitops" = "kasm-gitops") =>
  fieldsHash(desiredRecord(w, pulls, REGISTRIES));

/** One line per action, so a table row reads like the plan. */
function line(a: KasmAction): string {
  switch (a.type) {
    case "kasm-create":
      return `create ${a.workspace} ${a.record.name} after ${a.after}${a.tokenFrom ? ` token ${a.tokenFrom}` : ""}`;
    case "kasm-update":
      return `update ${a.workspace} ${a.imageId} ${a.adopt ? "adopt" : a.reason} ${a.changes.map((c) => `${c.field}=${JSON.stringify(c.to)}`).join(" ")} after ${a.after}`;
    case "kasm-group-add":
    case "kasm-group-remove":
      return `${a.type === "kasm-group-add" ? "+" : "-"}group ${a.workspace} ${a.group} ${a.imageId ?? "new"} after ${a.after}`;
    default:
      return `${a.type} ${a.workspace} ${a.imageId}`;
  }
}

type Case = {
  name: string;
  workspaces: WorkspaceManifest[];
  records?: KasmRecord[];
  memberships?: KasmMembership[];
  images?: Record<string, string[]>;
  planned?: PullAction[];
  pulls?: "kasm" | "kasm-gitops";
  removed?: "disable" | "delete" | "keep";
  applied?: Record<string, AppliedRecord>;
  expect: { actions?: string[]; blocked?: string[]; warnings?: string[] };
};

const chrome = ws("chrome", "2");
const cases: Case[] = [
  {
    name: "create after the pulls that bring the image, then its groups; out of the auto-joined All Users",
    workspaces: [chrome],
    images: { a1: ["1"], a2: ["2"] },
    planned: [pull("a1", "2")],
    expect: {
      actions: [
        "create chrome reg.test:5000/kasm/chrome:2 after 0",
        "+group chrome qa new after 1",
        "-group chrome All Users new after 1",
      ],
    },
  },
  {
    name: "an agent holding an older digest of the tag: the create still waits for its pull",
    workspaces: [chrome],
    images: { a1: ["2"], a2: ["2"] },
    planned: [{ ...pull("a2", "2"), reason: "outdated" }],
    expect: {
      actions: [
        "create chrome reg.test:5000/kasm/chrome:2 after 0",
        "+group chrome qa new after 1",
        "-group chrome All Users new after 1",
      ],
    },
  },
  {
    name: "create held while an agent lacks the image and no pull is planned",
    workspaces: [chrome],
    images: { a1: ["2"], a2: [] },
    expect: { actions: [], blocked: ["kasm-create chrome image-not-on-agents a2"] },
  },
  {
    name: "create held when no reachable agent serves the workspace",
    workspaces: [chrome],
    images: { a3: ["2"] },
    expect: { actions: [], blocked: ["kasm-create chrome image-not-on-agents a1,a2"] },
  },
  {
    name: "a converged record plans nothing",
    workspaces: [chrome],
    records: [recordOf(chrome, "r1")],
    memberships: [{ groupId: "g-qa", imageId: "r1" }],
    images: { a1: ["2"], a2: ["2"] },
    applied: { chrome: { fields: hashOf(chrome) } },
    expect: { actions: [] },
  },
  {
    name: "Git moved the image: update after the pulls, reason changed",
    workspaces: [chrome],
    records: [recordOf(ws("chrome", "1"), "r1")],
    memberships: [{ groupId: "g-qa", imageId: "r1" }],
    images: { a1: ["1", "2"], a2: ["1"] },
    planned: [pull("a2", "2")],
    applied: { chrome: { fields: hashOf(ws("chrome", "1")) } },
    expect: { actions: ['update chrome r1 changed name="reg.test:5000/kasm/chrome:2" after 0'] },
  },
  {
    name: "the switch held keeps the other changes going",
    workspaces: [ws("chrome", "2", { friendlyName: "Chrome 2" })],
    records: [recordOf(ws("chrome", "1"), "r1")],
    memberships: [{ groupId: "g-qa", imageId: "r1" }],
    images: { a1: ["1", "2"], a2: ["1"] },
    expect: {
      actions: ['update chrome r1 changed friendlyName="Chrome 2" after '],
      blocked: ["kasm-update chrome image-not-on-agents a2"],
    },
  },
  {
    name: "edited in Kasm while Git stayed: drift, named fields put back",
    workspaces: [chrome],
    records: [recordOf(chrome, "r1", { cores: 4, categories: ["Games"] })],
    memberships: [{ groupId: "g-qa", imageId: "r1" }],
    images: { a1: ["2"], a2: ["2"] },
    applied: { chrome: { fields: hashOf(chrome) } },
    expect: { actions: ["update chrome r1 drift categories=[] after "] },
  },
  {
    name: "cores in Git are owned; the drifted value is named",
    workspaces: [ws("chrome", "2", { kasm: { cores: 2, memory: "2Gi" } })],
    records: [recordOf(ws("chrome", "2", { kasm: { cores: 2, memory: "2Gi" } }), "r1", { cores: 4 })],
    memberships: [{ groupId: "g-qa", imageId: "r1" }],
    images: { a1: ["2"], a2: ["2"] },
    applied: { chrome: { fields: hashOf(ws("chrome", "2", { kasm: { cores: 2, memory: "2Gi" } })) } },
    expect: { actions: ["update chrome r1 drift cores=2 after "] },
  },
  {
    name: "groups by the pairs that differ (a duplicated row is one pair)",
    workspaces: [ws("chrome", "2", { groups: ["qa", "ops"] })],
    records: [recordOf(ws("chrome", "2", { groups: ["qa", "ops"] }), "r1")],
    memberships: [
      { groupId: "g-qa", imageId: "r1" },
      { groupId: "g-qa", imageId: "r1" },
      { groupId: "g-dev", imageId: "r1" },
    ],
    images: { a1: ["2"], a2: ["2"] },
    expect: { actions: ["+group chrome ops r1 after ", "-group chrome dev r1 after "] },
  },
  {
    name: "a group Kasm lacks is blocked, the others go on",
    workspaces: [ws("chrome", "2", { groups: ["qa", "testers"] })],
    records: [recordOf(ws("chrome", "2", { groups: ["qa", "testers"] }), "r1")],
    images: { a1: ["2"], a2: ["2"] },
    expect: {
      actions: ["+group chrome qa r1 after "],
      blocked: ["kasm-group-add chrome unknown-group testers"],
    },
  },
  {
    name: "managed record whose Workspace left Git: disabled",
    workspaces: [],
    records: [recordOf(chrome, "r1"), recordOf(ws("old", "1"), "r2", { enabled: false })],
    expect: { actions: ["kasm-disable chrome r1"] },
  },
  {
    name: "removed: delete",
    workspaces: [],
    removed: "delete",
    records: [recordOf(chrome, "r1")],
    expect: { actions: ["kasm-delete chrome r1"] },
  },
  {
    name: "removed: keep does nothing; unmarked records are never touched",
    workspaces: [],
    removed: "keep",
    records: [recordOf(chrome, "r1"), recordOf(chrome, "r9", { notes: "by hand" })],
    expect: { actions: [] },
  },
  {
    name: "adoption by kasm.imageId: the marker is added, owned fields put right",
    workspaces: [ws("chrome", "2", { kasm: { imageId: "r9" } })],
    records: [recordOf(chrome, "r9", { notes: "made by hand", hidden: true })],
    memberships: [{ groupId: "g-qa", imageId: "r9" }],
    images: { a1: ["2"], a2: ["2"] },
    expect: {
      actions: [
        'update chrome r9 adopt hidden=false notes="made by hand\\nmanaged-by: kasm-gitops/chrome" after ',
      ],
    },
  },
  {
    name: "an unmarked record with the same image is not taken: a new record, and a warning",
    workspaces: [chrome],
    records: [recordOf(chrome, "r9", { notes: null })],
    images: { a1: ["2"], a2: ["2"] },
    expect: {
      actions: [
        "create chrome reg.test:5000/kasm/chrome:2 after ",
        "+group chrome qa new after 0",
        "-group chrome All Users new after 0",
      ],
      warnings: ["kasm-record-conflict"],
    },
  },
  {
    name: "pulls: kasm carries the registry and writes the token at create, with no wait for agents",
    workspaces: [ws("chrome", "2", { groups: ["All Users"] })],
    pulls: "kasm",
    expect: {
      actions: [
        "create chrome reg.test:5000/kasm/chrome:2 after  token corp",
        "+group chrome All Users new after 0",
      ],
    },
  },
  {
    name: "pulls: kasm rewrites the token only when the credentials' fingerprint changed",
    workspaces: [chrome],
    pulls: "kasm",
    records: [recordOf(chrome, "r1", { dockerRegistry: H, dockerUser: "ci-bot", dockerTokenSet: true })],
    memberships: [{ groupId: "g-qa", imageId: "r1" }],
    applied: { chrome: { fields: hashOf(chrome, "kasm"), token: "fp0" } },
    expect: { actions: ['update chrome r1 changed dockerToken="(from Registry corp)" after '] },
  },
  {
    name: "pulls: kasm with the same fingerprint: nothing",
    workspaces: [chrome],
    pulls: "kasm",
    records: [recordOf(chrome, "r1", { dockerRegistry: H, dockerUser: "ci-bot", dockerTokenSet: true })],
    memberships: [{ groupId: "g-qa", imageId: "r1" }],
    applied: { chrome: { fields: hashOf(chrome, "kasm"), token: "fp1" } },
    expect: { actions: [] },
  },
  {
    name: "pulls: kasm-gitops clears a registry set by hand, so Kasm's agents never pull",
    workspaces: [chrome],
    records: [recordOf(chrome, "r1", { dockerRegistry: H, dockerUser: "u", dockerTokenSet: true })],
    memberships: [{ groupId: "g-qa", imageId: "r1" }],
    images: { a1: ["2"], a2: ["2"] },
    applied: { chrome: { fields: hashOf(chrome) } },
    expect: {
      actions: ['update chrome r1 drift dockerRegistry=null dockerUser=null dockerToken="(none)" after '],
    },
  },
  {
    name: "a managed record left in All Users (a lost create answer, a kill before the group fix) is taken out",
    workspaces: [chrome],
    records: [recordOf(chrome, "r1")],
    memberships: [
      { groupId: "g-qa", imageId: "r1" },
      { groupId: "g-all", imageId: "r1" },
    ],
    images: { a1: ["2"], a2: ["2"] },
    applied: {},
    expect: { actions: ["-group chrome All Users r1 after "] },
  },
  {
    name: "an empty description Kasm cannot clear: no write, said once",
    workspaces: [chrome],
    records: [recordOf(chrome, "r1", { description: "typed in the UI" })],
    memberships: [{ groupId: "g-qa", imageId: "r1" }],
    images: { a1: ["2"], a2: ["2"] },
    applied: { chrome: { fields: hashOf(chrome) } },
    expect: { actions: [], warnings: ["kasm-field-kept"] },
  },
  {
    name: "0 cores set in Kasm and no cores in Git: the image switch goes on without touching cores",
    workspaces: [ws("chrome", "3")],
    records: [recordOf(chrome, "r1", { cores: 0 })],
    memberships: [{ groupId: "g-qa", imageId: "r1" }],
    images: { a1: ["3"], a2: ["3"] },
    applied: { chrome: { fields: hashOf(chrome) } },
    expect: { actions: ['update chrome r1 changed name="reg.test:5000/kasm/chrome:3" after '] },
  },
  {
    name: "pulls: kasm and Kasm's own form of the registry (https://host/): the same registry, nothing to write",
    workspaces: [chrome],
    pulls: "kasm",
    records: [
      recordOf(chrome, "r1", { dockerRegistry: `https://${H}/`, dockerUser: "ci-bot", dockerTokenSet: true }),
    ],
    memberships: [{ groupId: "g-qa", imageId: "r1" }],
    applied: { chrome: { fields: hashOf(chrome, "kasm"), token: "fp1" } },
    expect: { actions: [] },
  },
  {
    name: "pulls: kasm adoption keeps the token Kasm holds: only the marker changes",
    workspaces: [ws("chrome", "2", { kasm: { imageId: "r9" } })],
    pulls: "kasm",
    records: [
      recordOf(chrome, "r9", {
        notes: null,
        dockerRegistry: `https://${H}`,
        dockerUser: "ci-bot",
        dockerTokenSet: true,
      }),
    ],
    memberships: [{ groupId: "g-qa", imageId: "r9" }],
    expect: { actions: ['update chrome r9 adopt notes="managed-by: kasm-gitops/chrome" after '] },
  },
  {
    name: "a disabled workspace's record is disabled without waiting for images",
    workspaces: [ws("chrome", "3", { enabled: false })],
    records: [recordOf(chrome, "r1")],
    memberships: [{ groupId: "g-qa", imageId: "r1" }],
    images: { a1: [], a2: [] },
    expect: { actions: ['update chrome r1 changed name="reg.test:5000/kasm/chrome:3" enabled=false after '] },
  },
];

function input(c: Case): KasmPlanInput {
  const images = c.images ?? {};
  return {
    server: { url: "http://127.0.0.1:1", pulls: c.pulls ?? "kasm-gitops", removed: c.removed ?? "disable" },
    workspaces: c.workspaces,
    agents: AGENTS,
    indexes: new Map(Object.entries(images).map(([a, tags]) => [a, indexLocalImages(tags.map(held))])),
    observed: { reachable: true, records: c.records ?? [], groups: GROUPS, memberships: c.memberships ?? [] },
    registries: REGISTRIES,
    applied: new Map(Object.entries(c.applied ?? {})),
    planned: c.planned ?? [],
  };
}

describe("planKasm", () => {
  it.each(cases)("$name", (c) => {
    const plan = planKasm(input(c));
    const offset = (c.planned ?? []).length;
    expect(plan.actions.map(line)).toEqual(c.expect.actions ?? []);
    const blocked = plan.blocked.map((b) =>
      b.type === "kasm-group-add"
        ? `${b.type} ${b.workspace} ${b.reason} ${b.group}`
        : `${b.type} ${b.workspace} ${b.reason} ${b.agents}`,
    );
    expect(blocked).toEqual(c.expect.blocked ?? []);
    expect(plan.warnings.map((w) => w.code)).toEqual(c.expect.warnings ?? []);
    // `after` only ever points backwards: at pulls, or at a create earlier in this plan.
    plan.actions.forEach((a, i) => {
      for (const n of "after" in a ? a.after : []) expect(n).toBeLessThan(offset + i);
    });
    expect(plan.unknown).toEqual([]);
  });

  it("Kasm unreachable: no Kasm action, a warning, and the plan is incomplete", () => {
    const plan = planKasm({
      ...input(cases[0]!),
      observed: { reachable: false, error: "connect ECONNREFUSED" },
    });
    expect(plan).toMatchObject({ actions: [] });
    expect(plan.unknown).toMatchObject([{ kind: "kasm", reason: "kasm-unreachable" }]);
    expect(plan.warnings[0]).toMatchObject({ code: "kasm-unreachable" });
    expect(plan.warnings[0]!.message).toMatch(/ECONNREFUSED/);
  });

  it("an adoption that keeps Kasm's token says whose credentials it stands for", () => {
    const adoption = cases.find((c) => c.name.startsWith("pulls: kasm adoption keeps the token"))!;
    expect(planKasm(input(adoption)).actions[0]).toMatchObject({ adopt: true, keepsToken: "corp" });
  });

  it("the kept-field warning names the field, the values and where in Kasm to fix it", () => {
    const kept = cases.find((c) => c.name.startsWith("an empty description Kasm cannot clear"))!;
    expect(planKasm(input(kept)).warnings[0]!.message).toBe(
      'Kasm record r1 of workspace "chrome" keeps its description "typed in the UI": Kasm ignores "" there on update, so kasm-gitops writes nothing for it; change it in Kasm\'s admin UI (Admin → Workspaces → Edit → Description), or write the value you want in the Workspace',
    );
  });

  it("a KasmServer that cannot be used as configured is kasm-config, never unreachable", () => {
    const plan = planKasm({
      ...input(cases[0]!),
      observed: {
        reachable: false,
        reason: "kasm-config",
        error:
          'KasmServer "kasm" cannot be used as configured: secret reference {env: KASM_SECRET_X} cannot be resolved',
      },
    });
    expect(plan.unknown).toMatchObject([{ kind: "kasm", reason: "kasm-config" }]);
    expect(plan.warnings.map((w) => w.code)).toEqual(["kasm-config"]);
    expect(plan.warnings[0]!.message).toContain("KASM_SECRET_X");
  });

  it("create carries owned fields only, never a secret, with the marker in its notes", () => {
    const withToken = cases.find((c) => c.name.startsWith("pulls: kasm carries the registry"))!;
    const plan = planKasm(input(withToken));
    const create = plan.actions[0]!;
    expect(create.type).toBe("kasm-create");
    expect(create).toMatchObject({ tokenFrom: "corp", record: { dockerRegistry: H, dockerUser: "ci-bot" } });
    expect(JSON.stringify(create)).not.toMatch(/fp1|password|dockerToken/i);
    expect(create.type === "kasm-create" && create.record.notes).toBe(markerFor("chrome"));
  });
});

describe("planKasm with records Kasm returned that do not decode", () => {
  const firefox = ws("firefox", "1");
  const bad = (
    imageId: string | undefined,
    owner: string | undefined,
    ownerKnown = true,
  ): UnreadableRecord => ({
    ...(imageId ? { imageId } : {}),
    ownerKnown,
    ...(owner ? { owner } : {}),
    problem: 'cores is "two", expected a number',
  });
  it.each([
    {
      name: "a workspace's own record unreadable: that workspace waits, the other is still created",
      workspaces: [chrome, firefox],
      unreadable: [bad("r1", "chrome")],
      actions: [
        "create firefox reg.test:5000/kasm/chrome:1 after ",
        "+group firefox qa new after 0",
        "-group firefox All Users new after 0",
      ],
      unknown: ["chrome"],
      warnings: [],
    },
    {
      name: "the record kasm.imageId adopts is unreadable: no second record is created",
      workspaces: [ws("chrome", "2", { kasm: { imageId: "r9" } })],
      unreadable: [bad("r9", undefined)],
      actions: [],
      unknown: ["chrome"],
      warnings: ["kasm-record-unreadable"],
    },
    {
      name: "notes that cannot be read: a create waits, since the record may be that workspace's",
      workspaces: [chrome],
      unreadable: [bad("r7", undefined, false)],
      actions: [],
      unknown: ["chrome"],
      warnings: [],
    },
    {
      name: "an unmanaged unreadable record is only a warning",
      workspaces: [chrome],
      unreadable: [bad("r5", undefined)],
      actions: [
        "create chrome reg.test:5000/kasm/chrome:2 after ",
        "+group chrome qa new after 0",
        "-group chrome All Users new after 0",
      ],
      unknown: [],
      warnings: ["kasm-record-unreadable"],
    },
    {
      name: "a removed workspace's unreadable record is not disabled blind",
      workspaces: [],
      unreadable: [bad("r3", "gone")],
      actions: [],
      unknown: ["gone"],
      warnings: [],
    },
  ])("$name", (c) => {
    const base = input({
      name: c.name,
      workspaces: c.workspaces,
      images: { a1: ["1", "2"], a2: ["1", "2"] },
      expect: {},
    });
    const observed = {
      ...(base.observed as Extract<KasmPlanInput["observed"], { reachable: true }>),
      unreadable: c.unreadable,
    };
    const plan = planKasm({ ...base, server: { ...base.server, name: "main" }, observed });
    expect(plan.actions.map(line)).toEqual(c.actions);
    expect(plan.warnings.map((w) => w.code)).toEqual(c.warnings);
    expect(plan.unknown.map((u) => [u.kind, u.name, u.reason])).toEqual(
      c.unknown.map(() => ["kasm", "main", "kasm-record-unreadable"]),
    );
    for (const [i, w] of c.unknown.entries()) expect(plan.unknown[i]!.message).toContain(`"${w}"`);
    expect(plan.unknown.map((u) => u.message).join()).not.toMatch(/undefined/);
  });
});

describe("a switch with Kasm's agents in view waits for their reports (zero downtime)", () => {
  const D1 = `sha256:${"1".repeat(64)}`;
  const server = (hostname: string, zone = "z1") => ({
    serverId: `id-${hostname}`,
    hostname,
    serverType: "host",
    enabled: true,
    operationalStatus: "running",
    zoneId: zone,
    zoneName: zone,
    imageTags: [img("1")],
    imageDigests: [],
    lastReported: "2026-01-01T00:00:00.000Z",
  });
  const named = [
    agent("a1", { ring: "testing" }, { kasm: { server: "k1" } }),
    agent("a2", { ring: "testing" }, { kasm: { server: "k2" } }),
    agent("a3", { ring: "prod" }, { kasm: { server: "k3" } }),
  ];
  const observed = (records: KasmRecord[]) => ({
    reachable: true as const,
    records,
    groups: GROUPS,
    memberships: [],
    agents: {
      servers: [server("k1"), server("k2"), server("k3", "z2")],
      zones: [
        { zoneId: "z1", zoneName: "z1" },
        { zoneId: "z2", zoneName: "z2" },
      ],
      readAt: "2026-01-01T00:00:01.000Z",
    },
  });
  const base = (w: WorkspaceManifest, records: KasmRecord[], agents = named): KasmPlanInput => ({
    ...input({ name: "", workspaces: [w], images: { a1: ["1"], a2: ["1"], a3: [] }, expect: {} }),
    agents,
    observed: observed(records),
    planned: [pull("a1", "2"), pull("a2", "2")],
    expected: new Map([[img("2"), D1]]),
  });
  const next = ws("chrome", "2");

  it.each([
    ["a create", [] as KasmRecord[]],
    ["a switch of the record's image", [recordOf(ws("chrome", "1"), "r1")]],
  ])(
    "%s waits, after its pulls, for k1 and k2 to report the record's name among their tags",
    (_, records) => {
      const [action] = planKasm(base(next, records)).actions;
      expect(action).toMatchObject({
        after: [0, 1],
        awaitReports: {
          servers: [
            { serverId: "id-k1", hostname: "k1" },
            { serverId: "id-k2", hostname: "k2" },
          ],
          image: img("2"),
        },
      });
      // For a record without a hash Kasm compares the tag alone: no digest is asked of the reports.
      expect(action).not.toHaveProperty("awaitReports.digest");
    },
  );

  it.each([["no Agent names a Kasm agent: nothing in view, the engines' pulls decide", AGENTS]])(
    "%s",
    (_, agents) => {
      const [action] = planKasm(base(next, [], agents)).actions;
      expect(action).toMatchObject({ type: "kasm-create", after: [0, 1] });
      expect(action).not.toHaveProperty("awaitReports");
    },
  );

  it("a change that points users at no other image (a description) is made at once", () => {
    const w = ws("chrome", "2", { kasm: { description: "new words" } });
    const [action] = planKasm(base(w, [recordOf(next, "r1")])).actions;
    expect(action?.type === "kasm-update" && action.changes.map((c) => c.field)).toContain("description");
    expect(action).not.toHaveProperty("awaitReports");
  });
});
