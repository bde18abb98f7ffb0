import { describe, expect, it } from "vitest";
import { agent, workspace } from "../../../test/helpers/manifests.js";
import {
  type KasmServerReport,
  launchSet,
  placementFor,
  reportedImages,
  sees,
  unmatchedAgents,
} from "./agents.js";

const server = (hostname: string, zone: string, over: Partial<KasmServerReport> = {}): KasmServerReport => ({
  serverId: `id-${hostname}`,
  hostname,
  serverType: "host",
  enabled: true,
  operationalStatus: "running",
  zoneId: `z-${zone}`,
  zoneName: zone,
  imageTags: [],
  imageDigests: [],
  lastReported: "2026-01-01T00:00:00.000Z",
  ...over,
});
const zones = [
  { zoneId: "z-testing", zoneName: "testing" },
  { zoneId: "z-prod", zoneName: "prod" },
];
const servers = [
  server("t1", "testing"),
  server("t2", "testing"),
  server("p1", "prod"),
  server("p2", "prod"),
];
const mapped = (name: string, ring: string, host: string, zone?: string) =>
  agent(name, { ring }, { kasm: { server: host, ...(zone ? { zone } : {}) } });
const AGENTS = [
  mapped("a1", "testing", "t1"),
  mapped("a2", "testing", "id-t2"),
  mapped("a3", "prod", "P1"),
  mapped("a4", "prod", "p2"),
  mapped("a5", "canary", "p2"),
];
const ws = (labels?: Record<string, string>) =>
  workspace("w", { image: "reg:5000/w:1", ...(labels ? { agents: { matchLabels: labels } } : {}) });

describe("placementFor: the restriction the selected agents call for", () => {
  it.each<[string, Record<string, string> | undefined, string, boolean]>([
    [
      "exactly the testing zone's agents (by hostname and by server_id)",
      { ring: "testing" },
      "zone testing",
      false,
    ],
    ["one agent: its server", { ring: "canary" }, "server p2", false],
    ["one zone's agents and more: no zone", undefined, "any", true],
    ["part of a zone: no zone", { ring: "nowhere" }, "any", true],
  ])("%s → %s", (_name, labels, expected, warned) => {
    const found = placementFor(ws(labels), AGENTS, { servers, zones })!;
    const p = found.placement;
    expect(
      p.kind === "zone" ? `zone ${p.zoneName}` : p.kind === "server" ? `server ${p.hostname}` : "any",
    ).toBe(expected);
    expect(found.mismatch !== undefined).toBe(warned);
  });

  it.each([
    ["the zone, for a record restricted to neither", "any", "zone solo"],
    ["the zone, for a record restricted to it", "zone", "zone solo"],
    ["the server, for a record restricted to it", "server", "server s1"],
  ] as const)("one agent alone in its zone: %s", (_name, current, expected) => {
    const solo = {
      servers: [...servers, server("s1", "solo")],
      zones: [...zones, { zoneId: "z-solo", zoneName: "solo" }],
    };
    const p = placementFor(ws({ ring: "solo" }), [mapped("s", "solo", "s1")], solo, current)!.placement;
    expect(
      p.kind === "zone" ? `zone ${p.zoneName}` : p.kind === "server" ? `server ${p.hostname}` : "any",
    ).toBe(expected);
  });

  it("a selected Agent Kasm does not list: no restriction, and says which", () => {
    const found = placementFor(ws({ ring: "testing" }), [...AGENTS, mapped("a6", "testing", "gone")], {
      servers,
      zones,
    })!;
    expect(found.placement).toEqual({ kind: "any" });
    expect(found.mismatch).toContain("a6");
  });

  it("no Agent naming a Kasm agent: nothing known, nothing owned", () => {
    expect(placementFor(ws(), [agent("a1")], { servers, zones })).toBeUndefined();
  });
});

describe("launchSet: the Kasm agents a switch must wait for", () => {
  it.each<[string, Parameters<typeof launchSet>[0], string[]]>([
    ["a zone", { kind: "zone", zoneId: "z-prod", zoneName: "prod" }, ["p1", "p2"]],
    ["a server", { kind: "server", serverId: "id-t1", hostname: "t1" }, ["t1"]],
    ["anywhere, but not a stopped or disabled agent", { kind: "any" }, ["t1", "p1", "p2"]],
  ])("%s", (_name, placement, hosts) => {
    const fleet = [...servers.slice(0, 1), server("t2", "testing", { enabled: false }), ...servers.slice(2)];
    fleet.push(server("p3", "prod", { operationalStatus: "stopped" }));
    expect(launchSet(placement, fleet).map((s) => s.hostname)).toEqual(hosts);
  });
});

describe("reportedImages: what Kasm sees on each agent, and how old that is", () => {
  it("canonical tags, the report's age, and only agents (servers of type host)", () => {
    const reports = reportedImages(
      [
        server("t1", "testing", {
          imageTags: ["ubuntu:22.04", "reg:5000/w:1"],
          lastReported: "2026-01-01T00:00:00Z",
        }),
        server("t2", "testing", { lastReported: null }),
        server("rdp", "testing", { serverType: "Desktop" }),
      ],
      "2026-01-01T00:01:30Z",
    );
    expect(reports.map((r) => [r.hostname, r.reportAgeMs])).toEqual([
      ["t1", 90_000],
      ["t2", null],
    ]);
    expect(sees(reports[0]!, "docker.io/library/ubuntu:22.04")).toBe(true);
    expect(sees(reports[0]!, "reg:5000/w:2")).toBe(false);
  });
});

describe("unmatchedAgents", () => {
  it("names an Agent whose Kasm agent or zone Kasm lacks, or whose zone differs", () => {
    const agents = [
      mapped("ok", "x", "t1", "testing"),
      mapped("gone", "x", "nope"),
      mapped("nozone", "x", "t1", "mars"),
      mapped("moved", "x", "p1", "testing"),
    ];
    expect(unmatchedAgents(agents, { servers, zones }).map((p) => p.agent)).toEqual([
      "gone",
      "nozone",
      "moved",
    ]);
  });
});
