import { describe, expect, it } from "vitest";
import { corp, ID, record } from "../../../test/helpers/import-records.js";
import { desiredRecord, recordChanges } from "../kasm/desired.js";
import { checkManifestFiles } from "../manifest/validate.js";
import { buildImport, type ImportInput, wrap } from "./manifests.js";

const input: ImportInput = {
  url: "https://kasm.example.com",
  records: [
    record({
      imageId: ID(1),
      friendlyName: "Chrome (testing)",
      description: "Chrome browser",
      thumbnail: "img/thumbnails/chrome.png",
      categories: ["Browser", "Dev tools"],
      cores: 1.5,
      memory: 2_147_483_648,
      hidden: true,
      runConfig: { hostname: "kasm", environment: { LANG: "fr_FR.UTF-8" } },
      volumeMappings: { "/mnt/share": { bind: "/home/kasm-user/share", mode: "rw" } },
      ...corp,
    }),
    record({
      imageId: ID(2),
      friendlyName: "Terminal: root",
      name: "kasmweb/terminal:1.16.0",
      enabled: false,
    }),
    record({ imageId: ID(3), friendlyName: "Firefox", name: "kasmweb/firefox" }),
  ],
  groups: [
    { groupId: "g1", name: "All Users" },
    { groupId: "g2", name: "qa" },
  ],
  memberships: [
    { groupId: "g2", imageId: ID(1) },
    { groupId: "g1", imageId: ID(2) },
  ],
};
const files = () => buildImport(input).files;
const text = (path: string) => files().find((f) => f.path === path)?.text;

describe("buildImport", () => {
  it("writes one file per record, registry, the KasmServer, the Agent template and a README", () => {
    expect(files().map((f) => f.path)).toEqual([
      "kasm-server.yaml",
      "agents.yaml",
      "registries/registry-example-com-5000.yaml",
      "workspaces/chrome-testing.yaml",
      "workspaces/firefox.yaml",
      "workspaces/terminal-root.yaml",
      "README.md",
    ]);
  });

  it("passes validate, with the held-back record invisible to it, and gives the same bytes every time", () => {
    const yaml = files()
      .filter((f) => f.path.endsWith(".yaml"))
      .map((f) => ({ file: f.path, text: f.text }));
    const result = checkManifestFiles(yaml);
    expect(result.problems).toEqual([]);
    expect(result.set.workspaces.map((w) => w.metadata.name)).toEqual(["chrome-testing", "terminal-root"]);
    expect(result.set.registries.map((r) => r.metadata.name)).toEqual(["registry-example-com-5000"]);
    expect(result.set.kasmServer?.spec.pulls).toBe("kasm");
    expect(result.set.agents).toEqual([]);
    expect(buildImport(input)).toEqual(buildImport(input));
  });

  it("writes every owned field of a record, memory as a quantity, configs as mappings", () => {
    expect(
      text("workspaces/chrome-testing.yaml"),
    ).toBe(`# Imported from Kasm record ${ID(1)} ("Chrome (testing)").

apiVersion: kasm-gitops/v1
kind: Workspace
metadata:
  name: chrome-testing
spec:
  friendlyName: Chrome (testing)
  image: registry.example.com:5000/kasm/chrome:1.0
  registry: registry-example-com-5000
  groups:
    - qa
  enabled: true
  # Kasm's record: Git owns these fields; kasm.imageId adopts the existing record.
  kasm:
    imageId: ${ID(1)}
    description: Chrome browser
    thumbnail: img/thumbnails/chrome.png
    categories:
      - Browser
      - Dev tools
    cores: 1.5
    memory: 2Gi
    hidden: true
    runConfig:
      hostname: kasm
      environment:
        LANG: fr_FR.UTF-8
    execConfig: {}
    volumeMappings:
      /mnt/share:
        bind: /home/kasm-user/share
        mode: rw
`);
  });

  it("keeps a disabled record disabled, and quotes what YAML would misread", () => {
    expect(
      text("workspaces/terminal-root.yaml"),
    ).toBe(`# Imported from Kasm record ${ID(2)} ("Terminal: root").

apiVersion: kasm-gitops/v1
kind: Workspace
metadata:
  name: terminal-root
spec:
  friendlyName: "Terminal: root"
  image: kasmweb/terminal:1.16.0
  groups:
    - All Users
  # Disabled in Kasm: kept disabled, and its image is not pulled.
  enabled: false
  # Kasm's record: Git owns these fields; kasm.imageId adopts the existing record.
  kasm:
    imageId: ${ID(2)}
    description: ""
    thumbnail: ""
    categories: []
    cores: 2
    memory: 2768M
    hidden: false
    runConfig: {}
    execConfig: {}
    volumeMappings: {}
`);
  });

  it("writes a held-back record commented out, the reason on top", () => {
    const held = text("workspaces/firefox.yaml")!;
    expect(held.split("\n").slice(0, 6)).toEqual([
      `# Imported from Kasm record ${ID(3)} ("Firefox").`,
      "# HELD BACK: this document is commented out, so apply leaves the record alone, until you fix what",
      "# follows and uncomment it:",
      '# - the image "kasmweb/firefox" has no tag or digest (Kasm would leave it Installing forever;',
      "#   kasm-gitops requires one): set the tag the agents run, e.g. kasmweb/firefox:<tag>",
      "#",
    ]);
    expect(held).toContain("\n# kind: Workspace\n");
    expect(held).toContain("\n#   image: kasmweb/firefox\n");
    expect(held.split("\n").every((l) => l === "" || l.startsWith("#"))).toBe(true);
  });

  it("writes the registry's credentials as a reference and says which variable to set", () => {
    expect(
      text("registries/registry-example-com-5000.yaml"),
    ).toBe(`# The registry registry.example.com:5000, which Kasm's records name in docker_registry (in Kasm's
# own form, kept as it is). Workspaces refer to it by metadata.name.

apiVersion: kasm-gitops/v1
kind: Registry
metadata:
  name: registry-example-com-5000
spec:
  host: registry.example.com:5000
  # Kasm shows its stored token masked, so it is not copied here: set
  # KASM_SECRET_REGISTRY_EXAMPLE_COM_5000_PASSWORD to the registry password or token where
  # kasm-gitops runs (or write { file: /run/secrets/… }).
  auth:
    username: ci
    password: { env: KASM_SECRET_REGISTRY_EXAMPLE_COM_5000_PASSWORD }
`);
  });

  it("lists what is left to fill in and what was held back in the README", () => {
    const readme = text("README.md")!;
    expect(readme).toContain("3 records, 2 adopted as Workspaces, 1 held back; 1 registry");
    expect(readme).toContain("`KASM_SECRET_KASM_API_KEY` and `KASM_SECRET_KASM_API_KEY_SECRET`");
    expect(readme).toContain("Set `KASM_SECRET_REGISTRY_EXAMPLE_COM_5000_PASSWORD`");
    expect(readme).toMatch(
      /- `workspaces\/firefox\.yaml` \(`3f2a0+3`, "Firefox"\): the image "kasmweb\/firefox" has no tag/,
    );
  });

  it.each<[string, ImportInput["records"], boolean]>([
    ["records carry a registry (pulls: kasm)", input.records, true],
    ["no record carries one (pulls: kasm-gitops)", [record({ name: "kasmweb/terminal:1.16.0" })], false],
  ])("says how to move to pulls: kasm-gitops, and what changes, when %s", (_, records, told) => {
    const readme = buildImport({ ...input, records }).files.find((f) => f.path === "README.md")!.text;
    const section = readme.split("## Who pulls")[1]?.split("\n## ")[0] ?? "";
    expect(section !== "").toBe(told);
    if (!told) return;
    expect(section).toContain("1 adopted record carries a registry");
    expect(section).toContain("write `pulls: kasm-gitops` in `kasm-server.yaml`");
    expect(section).toMatch(
      /clears the registry fields .*Kasm's registry user and token; Kasm's agents stop pulling/,
    );
    expect(section).toMatch(/only once every agent it selects holds that image \(the zero-downtime switch\)/);
    expect(readme).toContain("The first apply keeps the token Kasm holds");
  });

  it("names the CA file in the KasmServer when import was given one", () => {
    const server = buildImport({ ...input, caFile: "/etc/kasm-ca.pem" }).files[0]!.text;
    expect(server).toContain("  tls:\n    ca: { file: /etc/kasm-ca.pem }\n");
  });
});

describe("a round trip through import loses no field of a record", () => {
  const full = record({
    description: "d",
    categories: ["Dev"],
    xRes: 1920,
    yRes: 1080,
    gpuCount: 1,
    persistentProfilePath: "s3://bucket/{username}/",
    sessionTimeLimit: 5400,
    launchConfig: { fields: [{ name: "x" }] },
    restrictToNetwork: true,
    restrictNetworkNames: ["lab"],
    allowNetworkSelection: true,
    cpuAllocationMethod: "Shares",
  });

  it("writes every field that differs from Kasm's defaults, and the first apply changes only the notes", () => {
    const out = buildImport({
      url: "https://kasm.example.com",
      records: [full],
      groups: [],
      memberships: [],
    });
    const file = out.files.find((f) => f.path === "workspaces/chrome.yaml")!;
    expect(file.text).toContain(
      [
        "    resolution:",
        "      width: 1920",
        "      height: 1080",
        "    gpus: 1",
        "    persistentProfilePath: s3://bucket/{username}/",
        "    sessionTimeLimit: 1h30m",
      ].join("\n"),
    );
    const { set, problems } = checkManifestFiles(
      out.files.filter((f) => f.path.endsWith(".yaml")).map((f) => ({ file: f.path, text: f.text })),
    );
    expect(problems).toEqual([]);
    const desired = desiredRecord(set.workspaces[0]!, "kasm-gitops", new Map());
    expect(recordChanges(full, desired, undefined, true).changes.map((c) => c.field)).toEqual(["notes"]);
  });

  it("writes none of them for a record at Kasm's defaults", () => {
    const plain = record({ xRes: 800, yRes: 600, gpuCount: 0, cpuAllocationMethod: "Inherit" });
    const out = buildImport({
      url: "https://kasm.example.com",
      records: [plain],
      groups: [],
      memberships: [],
    });
    const text = out.files.find((f) => f.path === "workspaces/chrome.yaml")!.text;
    for (const key of ["resolution", "gpus", "sessionTimeLimit", "restrictNetworks", "cpuAllocationMethod"])
      expect(text).not.toContain(key);
  });
});

describe("wrap", () => {
  it.each([
    ["short", 100, " short"],
    ["one two three", 10, " one two\n three"],
    ["- item one two three", 12, " - item one\n   two\n   three"],
    ["a\n\nb", 100, " a\n\n b"],
  ])("%j at %i", (textIn, width, out) => {
    expect(wrap(textIn, width)).toBe(out);
  });
});
