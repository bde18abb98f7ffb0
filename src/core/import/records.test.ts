import { describe, expect, it } from "vitest";
import { corp, ID, record } from "../../../test/helpers/import-records.js";
import { namesRegistry, registryHost } from "../kasm/registry-form.js";
import { type ImportRecord, modelImport } from "./records.js";

describe("registryHost", () => {
  it.each([
    ["registry.example.com:5000", "registry.example.com:5000", false],
    ["https://registry.example.com:5000/", "registry.example.com:5000", false],
    ["https://index.docker.io/v1/", "docker.io", false],
    ["registry-1.docker.io", "docker.io", false],
    ["http://registry.lan", "registry.lan", true],
    ["127.0.0.1:5000", "127.0.0.1:5000", true],
    ["localhost:5000", "localhost:5000", true],
    ["  Registry.Example.com  ", "registry.example.com", false],
  ])("%j → %s (insecure %s)", (written, host, insecure) => {
    expect(registryHost(written)).toEqual({ host, insecure });
  });
});

describe("namesRegistry: Kasm's forms of a registry compare equal to the host they name", () => {
  it.each([
    ["https://index.docker.io/v1/", "docker.io", true],
    ["index.docker.io", "docker.io", true],
    ["https://registry.example.com:5000", "registry.example.com:5000", true],
    ["http://registry.example.com:5000/", "registry.example.com:5000", true],
    ["registry.example.com:5000", "registry.example.com:5000", true],
    ["registry.example.com", "registry.example.com:5000", false],
    ["https://other.example.com", "registry.example.com", false],
    [null, "docker.io", false],
    ["", "docker.io", false],
  ])("%j names %s: %s", (written, host, same) => {
    expect(namesRegistry(written, host)).toBe(same);
  });
});

describe("modelImport: which records are held back, and why", () => {
  it.each<[string, Partial<ImportRecord>, RegExp | undefined]>([
    ["a plain record", {}, undefined],
    ["a disabled, hidden record", { enabled: false, hidden: true }, undefined],
    ["a digest-pinned image", { name: `kasmweb/chrome@sha256:${"a".repeat(64)}` }, undefined],
    ["a record on its registry with its credentials", corp, undefined],
    ["no tag", { name: "kasmweb/firefox" }, /has no tag or digest.*kasmweb\/firefox:<tag>/],
    ["an invalid reference", { name: "Not An Image:1" }, /not a valid image reference/],
    ["a Server record", { imageType: "Server" }, /image_type is Server, not Container/],
    [
      "a run_config that is not JSON",
      { invalidConfigs: [{ field: "runConfig", text: "{oops" }] },
      /run_config is not a JSON object \("\{oops"\).*spec\.kasm\.runConfig/,
    ],
    ["an empty friendly name", { friendlyName: " " }, /friendly name " " is not 1 to 255/],
    ["a category twice", { categories: ["Browser", "Browser"] }, /category twice/],
    [
      "a registry written as an https URL",
      { ...corp, dockerRegistry: "https://registry.example.com:5000/" },
      undefined,
    ],
    [
      "a registry written as an http URL",
      { ...corp, dockerRegistry: "http://registry.example.com:5000" },
      undefined,
    ],
    [
      "Kasm's default Docker Hub form",
      { name: "kasmweb/chrome:1.15.0", dockerRegistry: "https://index.docker.io/v1/" },
      undefined,
    ],
    [
      "Docker Hub with credentials",
      {
        name: "docker.io/acme/app:2",
        dockerRegistry: "index.docker.io",
        dockerUser: "acme",
        dockerTokenSet: true,
      },
      undefined,
    ],
    [
      "a registry on another port than the image's",
      { ...corp, dockerRegistry: "https://registry.example.com" },
      /not under Kasm's docker_registry "https:\/\/registry\.example\.com"/,
    ],
    [
      "a token without a user",
      { ...corp, dockerUser: null },
      /registry token for registry\.example\.com:5000 without a user/,
    ],
    [
      "an image outside its registry",
      { ...corp, name: "kasmweb/chrome:1.0" },
      /not under Kasm's docker_registry .* pulls it from docker\.io/,
    ],
    [
      "a token without a registry",
      { dockerTokenSet: true },
      /registry credentials for this record but no docker_registry: apply would clear them/,
    ],
  ])("%s", (_, over, held) => {
    const [w] = modelImport([record(over)], [], []).workspaces;
    if (held) expect(w!.held.join("\n")).toMatch(held);
    else expect(w!.held).toEqual([]);
  });

  it("holds the records of a host whose user or token differs from the Registry's", () => {
    const model = modelImport(
      [
        record({ ...corp, imageId: ID(1), friendlyName: "A" }),
        record({ ...corp, imageId: ID(2), friendlyName: "B" }),
        record({ ...corp, imageId: ID(3), friendlyName: "C", dockerUser: "other" }),
        record({ ...corp, imageId: ID(4), friendlyName: "D", dockerTokenSet: false }),
      ],
      [],
      [],
    );
    expect(model.registries).toEqual([
      {
        name: "registry-example-com-5000",
        host: "registry.example.com:5000",
        insecure: false,
        username: "ci",
        passwordEnv: "KASM_SECRET_REGISTRY_EXAMPLE_COM_5000_PASSWORD",
      },
    ]);
    expect(model.workspaces.map((w) => [w.name, w.held.length > 0])).toEqual([
      ["a", false],
      ["b", false],
      ["c", true],
      ["d", true],
    ]);
    expect(model.workspaces[2]!.held[0]).toMatch(/registry user is "other" but Registry .* uses "ci"/);
    expect(model.workspaces[3]!.held[0]).toMatch(/no registry token .* apply would write/);
  });

  it.each<[string, Partial<ImportRecord>[], "kasm" | "kasm-gitops"]>([
    ["no record carries a registry", [{}, { imageId: ID(2) }], "kasm-gitops"],
    ["a record carries one", [{}, { imageId: ID(2), ...corp }], "kasm"],
    ["only a held record carries one", [{}, { imageId: ID(2), ...corp, name: "x" }], "kasm-gitops"],
    [
      "Kasm's default Workspaces name Docker Hub",
      [{ name: "kasmweb/chrome:1.15.0", dockerRegistry: "https://index.docker.io/v1/" }],
      "kasm",
    ],
  ])("pulls when %s: %s", (_, overs, pulls) => {
    expect(
      modelImport(
        overs.map((o) => record(o)),
        [],
        [],
      ).pulls,
    ).toBe(pulls);
  });

  it("adopts a typical install: Docker Hub's default form and a private registry as a URL, one Registry each", () => {
    const hub = { dockerRegistry: "https://index.docker.io/v1/" };
    const model = modelImport(
      [
        record({ imageId: ID(1), friendlyName: "Chrome", name: "kasmweb/chrome:1.15.0", ...hub }),
        record({ imageId: ID(2), friendlyName: "Firefox", name: "kasmweb/firefox:1.15.0", ...hub }),
        record({
          imageId: ID(3),
          friendlyName: "App",
          ...corp,
          dockerRegistry: "https://registry.example.com:5000",
        }),
        record({ imageId: ID(4), friendlyName: "Edge", name: "kasmweb/edge", ...hub }),
      ],
      [],
      [],
    );
    expect(model.registries).toEqual([
      { name: "docker-io", host: "docker.io", insecure: false },
      {
        name: "registry-example-com-5000",
        host: "registry.example.com:5000",
        insecure: false,
        username: "ci",
        passwordEnv: "KASM_SECRET_REGISTRY_EXAMPLE_COM_5000_PASSWORD",
      },
    ]);
    expect(model.workspaces.map((w) => [w.name, w.registry?.name, w.held.length])).toEqual([
      ["app", "registry-example-com-5000", 0],
      ["chrome", "docker-io", 0],
      ["edge", "docker-io", 1],
      ["firefox", "docker-io", 0],
    ]);
    expect(model.pulls).toBe("kasm");
  });

  it("names workspaces from friendly names, unique, and groups by name", () => {
    const model = modelImport(
      [
        record({ imageId: ID(3), friendlyName: "Éditeur  (dev)" }),
        record({ imageId: ID(1), friendlyName: "Chrome" }),
        record({ imageId: ID(2), friendlyName: "Chrome" }),
        record({ imageId: ID(4), friendlyName: "日本語", name: "kasmweb/terminal:1.16" }),
      ],
      [
        { groupId: "g1", name: "All Users" },
        { groupId: "g2", name: "qa" },
      ],
      [
        { groupId: "g2", imageId: ID(1) },
        { groupId: "g1", imageId: ID(1) },
        { groupId: "g1", imageId: ID(1) },
        { groupId: "gone", imageId: ID(1) },
      ],
    );
    expect(model.workspaces.map((w) => [w.name, w.record.imageId, w.groups])).toEqual([
      ["chrome", ID(1), ["All Users", "qa"]],
      ["chrome-2", ID(2), []],
      ["editeur-dev", ID(3), []],
      ["terminal", ID(4), []],
    ]);
  });

  it("keeps a marker's name, holds records whose marker cannot be kept, and then keeps removed records", () => {
    const marked = (name: string) => `Owner: IT\nmanaged-by: kasm-gitops/${name}`;
    const model = modelImport(
      [
        record({ imageId: ID(1), friendlyName: "Chrome", notes: marked("browser") }),
        record({ imageId: ID(2), friendlyName: "Browser" }),
        record({ imageId: ID(3), friendlyName: "Chrome copy", notes: marked("browser") }),
        record({ imageId: ID(4), friendlyName: "Odd", notes: marked("Not A Name") }),
      ],
      [],
      [],
    );
    expect(model.workspaces.map((w) => [w.name, w.record.imageId, w.held.length])).toEqual([
      ["browser-3", ID(2), 0],
      ["browser", ID(1), 0],
      ["browser-2", ID(3), 1],
      ["odd", ID(4), 1],
    ]);
    expect(model.workspaces[2]!.held[0]).toMatch(
      /managed by workspace "browser", as they mark another record/,
    );
    expect(model.workspaces[3]!.held[0]).toMatch(/managed by "Not A Name", which is not a workspace name/);
    // The sync would disable the held records, marked for workspaces that are not in Git.
    expect(model.removed).toBe("keep");
    expect(modelImport([record({ notes: "managed-by: kasm-gitops/chrome" })], [], []).removed).toBe(
      "disable",
    );
  });

  it("notes a zone or server restriction without holding the record", () => {
    const [w] = modelImport(
      [record({ restrictedZone: "eu-west", restrictedServer: "s1" })],
      [],
      [],
    ).workspaces;
    expect(w!.held).toEqual([]);
    expect(w!.notes.join("\n")).toMatch(/only in zone eu-west.*\n.*only on server s1/);
  });
});
