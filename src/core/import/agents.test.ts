import { describe, expect, it } from "vitest";
import { ID, record } from "../../../test/helpers/import-records.js";
import type { KasmServerReport } from "../kasm/agents.js";
import { checkManifestFiles } from "../manifest/validate.js";
import { importAgents, labelValue, placementSelector } from "./agents.js";
import { buildImport } from "./manifests.js";

const server = (
  hostname: string,
  zoneName: string | null,
  extra: Partial<KasmServerReport> = {},
): KasmServerReport => ({
  serverId: `id-${hostname}`,
  hostname,
  serverType: "host",
  enabled: true,
  operationalStatus: "running",
  zoneId: zoneName ? `z-${zoneName}` : null,
  zoneName,
  imageTags: [],
  imageDigests: [],
  lastReported: null,
  ...extra,
});
const SERVERS = [
  server("agent-b.example.com", "Europe West"),
  server("agent-a.example.com", "Europe West"),
  server("Agent-A.other.net", "US"),
  server("rdp-host", "US", { serverType: "desktop" }),
];
const ZONES = [
  { zoneId: "z-Europe West", zoneName: "Europe West" },
  { zoneId: "z-US", zoneName: "US" },
  { zoneId: "z-empty", zoneName: "empty" },
];

describe("importAgents", () => {
  it("writes one Agent per Kasm agent (hosts only), named from the hostname, labelled with the zone", () => {
    expect(importAgents(SERVERS, new Set(["id-agent-b.example.com"]))).toEqual([
      {
        name: "agent-a",
        hostname: "Agent-A.other.net",
        serverId: "id-Agent-A.other.net",
        zone: "US",
        labels: { "kasm-zone": "US" },
      },
      {
        name: "agent-a-2",
        hostname: "agent-a.example.com",
        serverId: "id-agent-a.example.com",
        zone: "Europe West",
        labels: { "kasm-zone": "Europe-West" },
      },
      {
        name: "agent-b",
        hostname: "agent-b.example.com",
        serverId: "id-agent-b.example.com",
        zone: "Europe West",
        labels: { "kasm-zone": "Europe-West", "kasm-server": "agent-b" },
      },
    ]);
  });

  it.each([
    ["default", "default"],
    ["Europe West", "Europe-West"],
    ["Zürich (HQ)", "Zurich-HQ"],
    ["--", undefined],
    ["x".repeat(70), "x".repeat(63)],
  ])("labelValue(%j) = %j", (text, value) => {
    expect(labelValue(text)).toBe(value);
  });
});

describe("placementSelector", () => {
  const agents = importAgents(SERVERS, new Set(["id-agent-b.example.com"]));
  it.each([
    [
      "a zone",
      { restrictToZone: true, zoneId: "z-Europe West" },
      { matchLabels: { "kasm-zone": "Europe-West" } },
    ],
    [
      "a server",
      { restrictToServer: true, serverId: "id-agent-b.example.com" },
      { matchLabels: { "kasm-server": "agent-b" } },
    ],
    ["no restriction", { restrictToZone: false, zoneId: "z-US" }, undefined],
    [
      "a zone Kasm does not list",
      { restrictToZone: true, zoneId: "z-gone" },
      { note: expect.stringContaining("does not list") },
    ],
    [
      "a zone without agents",
      { restrictToZone: true, zoneId: "z-empty" },
      { note: expect.stringContaining('"empty"') },
    ],
    [
      "a server that is no agent",
      { restrictToServer: true, serverId: "id-rdp-host" },
      { note: expect.stringContaining("not one of") },
    ],
  ] as const)("%s", (_name, placement, expected) => {
    expect(placementSelector(placement, agents, ZONES)).toEqual(expected);
  });
});

describe("import with Kasm's agents", () => {
  const input = {
    url: "https://kasm.example.com",
    records: [
      record({ imageId: ID(1), friendlyName: "Zoned", restrictToZone: true, zoneId: "z-Europe West" }),
      record({
        imageId: ID(2),
        friendlyName: "Pinned to b",
        restrictToServer: true,
        serverId: "id-agent-b.example.com",
      }),
      record({ imageId: ID(3), friendlyName: "Anywhere" }),
    ],
    groups: [],
    memberships: [],
  };
  const built = buildImport({ ...input, agents: { servers: SERVERS, zones: ZONES } });
  const file = (path: string) => built.files.find((f) => f.path === path)!.text;

  it("writes the Agents, each with only its Docker address left to fill in, and selectors for the restricted records", () => {
    expect(file("agents.yaml")).toContain(`metadata:
  name: agent-b
  labels:
    kasm-zone: Europe-West
    kasm-server: agent-b
spec:
  docker:
    host: tcp://set-this-docker-host.invalid:2376
  kasm:
    server: agent-b.example.com
    zone: Europe West
`);
    expect(file("agents.yaml").match(/^kind: Agent$/gm)).toHaveLength(3);
    expect(file("workspaces/zoned.yaml")).toContain(
      "  agents:\n    matchLabels: { kasm-zone: Europe-West }\n",
    );
    expect(file("workspaces/pinned-to-b.yaml")).toContain("matchLabels: { kasm-server: agent-b }");
    expect(file("workspaces/anywhere.yaml")).toContain("    placement: any\n");
    expect(file("workspaces/anywhere.yaml")).not.toContain("matchLabels");
    expect(file("README.md")).toContain("Set the Docker address of each Agent in `agents.yaml`");
  });

  it("the output validates with no warning: each selector is one agent or exactly one zone's Agents", () => {
    const { problems } = checkManifestFiles(
      built.files.filter((f) => f.path.endsWith(".yaml")).map((f) => ({ file: f.path, text: f.text })),
    );
    expect(problems).toEqual([]);
  });

  it("a key that may not view agents keeps the template, saying why", () => {
    const refused = buildImport({ ...input, agents: { unreadable: "get_servers answered HTTP 401" } });
    const agents = refused.files.find((f) => f.path === "agents.yaml")!.text;
    expect(agents).toContain("could not see them (get_servers answered HTTP 401)");
    expect(agents.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual([]);
    expect(refused.files.find((f) => f.path === "README.md")!.text).toContain(
      "since Kasm did not let this API key view its agents (get_servers answered HTTP 401)",
    );
    expect(refused.files.find((f) => f.path === "workspaces/zoned.yaml")!.text).not.toContain("placement");
  });
});
