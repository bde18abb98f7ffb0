/**
 * `kasm-gitops import` end to end: the built CLI against the Kasm API stand-in seeded with a realistic
 * deployment, then the imported repo validated, planned and applied against the same Kasm and the lab's
 * real Docker engines and registries.
 */
import { mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Plan } from "../src/core/plan/types.js";
import { type KasmSeed, type KasmStandIn, startKasmStandIn } from "../src/lab/kasm-stand-in.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../src/lab/registry-proxy.js";
import { type CliResult, inRepo, kasmGitops } from "./helpers/cli.js";
import { fleetYaml, prePull, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, tempDir } from "./helpers/git-repos.js";
import {
  DEPLOYMENT,
  type DeploymentImages,
  type DeploymentRegistries,
  deploymentImages,
  deploymentSeed,
  IDS,
} from "./helpers/kasm-deployment.js";
import { startTlsFront } from "./helpers/tls-front.js";

const lab = inject("lab");
const engines = lab.engines.slice(0, 2);

let kasm: KasmStandIn;
let proxy: RegistryProxy;
let registries: DeploymentRegistries;
let images: DeploymentImages;
/** The import every test reads, done once. */
let out: string;
let imported: CliResult;

/** The key pair under the names the imported KasmServer reads, so one setting serves import and the sync. */
const keys = () => ({
  KASM_SECRET_KASM_API_KEY: kasm.apiKey,
  KASM_SECRET_KASM_API_KEY_SECRET: kasm.apiKeySecret,
});
/** Every name import reads the key pair from, empty. */
const noKeys = {
  KASM_SECRET_KASM_API_KEY: "",
  KASM_SECRET_KASM_API_KEY_SECRET: "",
  KASM_GITOPS_KASM_API_KEY: "",
  KASM_GITOPS_KASM_API_KEY_SECRET: "",
};
const runImport = (dir: string, extra: string[] = [], env: Record<string, string> = keys()) =>
  kasmGitops(["import", "--kasm-url", kasm.url, "--out", dir, ...extra], { env });
const secrets = () => [kasm.apiKey, kasm.apiKeySecret, registries.auth.password];
const port = (host: string) => host.split(":")[1]!;
const registryName = (host: string) => `127-0-0-1-${port(host)}`;
const passwordEnv = (host: string) => `KASM_SECRET_127_0_0_1_${port(host)}_PASSWORD`;

async function filesUnder(dir: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    found[relative(dir, path)] = await readFile(path, "utf8");
  }
  return found;
}

beforeAll(async () => {
  proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
  const auth = lab.registries.auth;
  registries = {
    plain: lab.registries.plain.host,
    auth: { host: auth.host, username: auth.auth!.username, password: auth.auth!.password },
    proxy: proxy.host,
  };
  images = deploymentImages(registries);
  kasm = await startKasmStandIn({ seed: deploymentSeed(registries, images) });
  out = join(await tempDir("import"), "manifests");
  imported = await runImport(out);
});
afterAll(async () => {
  await kasm?.close();
  await proxy?.close();
});

describe("kasm-gitops import", () => {
  it("writes a file per record and registry, the KasmServer, the Agent template and a README, and says so", async () => {
    expect(imported.stderr).toBe("");
    expect(imported.code).toBe(0);
    const files = Object.keys(await filesUnder(out)).sort();
    expect(files.filter((f) => f.startsWith("workspaces/"))).toHaveLength(DEPLOYMENT.records);
    expect(files).toEqual(
      expect.arrayContaining([
        "README.md",
        "agents.yaml",
        "kasm-server.yaml",
        `registries/${registryName(registries.plain)}.yaml`,
        `registries/${registryName(registries.auth.host)}.yaml`,
        `registries/${registryName(registries.proxy)}.yaml`,
        "workspaces/chrome.yaml",
        "workspaces/chrome-2.yaml",
        "workspaces/firefox-editeur.yaml",
        "workspaces/firefox-esr.yaml",
        "workspaces/tools-utils-more.yaml",
        "workspaces/mega-tools.yaml",
        "workspaces/spaces-everywhere.yaml",
        "workspaces/cafe-bar-emulateur.yaml",
        "workspaces/legacy.yaml",
      ]),
    );
    expect(files).toHaveLength(DEPLOYMENT.records + 3 + 3);
    for (const file of files) expect(imported.stdout).toContain(`wrote ${out}/${file}\n`);
    expect(imported.stdout).toContain(
      `Imported ${DEPLOYMENT.records} records from ${kasm.url}: ${DEPLOYMENT.records - DEPLOYMENT.held} adopted, ${DEPLOYMENT.held} held back, 3 registries (pulls: kasm).`,
    );
    expect(imported.stdout).toMatch(/ {2}\S+\/workspaces\/edge\.yaml: the image "kasmweb\/edge" has no tag/);
    expect(imported.stdout).toMatch(
      / {2}\S+\/workspaces\/broken-config\.yaml: Kasm's run_config is not a JSON object/,
    );
    expect(imported.stdout).toMatch(/ {2}\S+\/workspaces\/server-desktop\.yaml: Kasm's image_type is Server/);
  });

  it("writes the records' owned fields exactly", async () => {
    const files = await filesUnder(out);
    expect(files["workspaces/chrome.yaml"]).toBe(`# Imported from Kasm record ${IDS.chrome} ("Chrome").

apiVersion: kasm-gitops/v1
kind: Workspace
metadata:
  name: chrome
spec:
  friendlyName: Chrome
  image: ${images.chrome}
  registry: ${registryName(registries.plain)}
  groups:
    - All Users
  enabled: true
  # Kasm's record: Git owns these fields; kasm.imageId adopts the existing record.
  kasm:
    imageId: ${IDS.chrome}
    description: Chrome browser
    thumbnail: img/thumbnails/chrome.png
    categories:
      - Browser
    cores: 2
    memory: 2768M
    hidden: false
    runConfig: {}
    execConfig: {}
    volumeMappings: {}
`);
    expect(
      files["workspaces/firefox-editeur.yaml"],
    ).toBe(`# Imported from Kasm record ${IDS.firefox} ("Firefox Éditeur").

apiVersion: kasm-gitops/v1
kind: Workspace
metadata:
  name: firefox-editeur
spec:
  friendlyName: Firefox Éditeur
  image: ${images.firefox}
  registry: ${registryName(registries.plain)}
  groups:
    - All Users
    - dev
  enabled: true
  # Kasm's record: Git owns these fields; kasm.imageId adopts the existing record.
  kasm:
    imageId: ${IDS.firefox}
    description: ""
    thumbnail: ""
    categories:
      - Browser
      - Dev
    cores: 1.5
    memory: 3G
    hidden: false
    runConfig:
      hostname: kasm
      environment:
        LANG: fr_FR.UTF-8
    execConfig: {}
    volumeMappings: {}
`);
    expect(files[`registries/${registryName(registries.auth.host)}.yaml`]).toBe(
      `# The registry ${registries.auth.host}, which Kasm's records name in docker_registry (in Kasm's own form,
# kept as it is). Workspaces refer to it by metadata.name.

apiVersion: kasm-gitops/v1
kind: Registry
metadata:
  name: ${registryName(registries.auth.host)}
spec:
  host: ${registries.auth.host}
  # Plain HTTP: Kasm names it with http:// or it is on a loopback address.
  insecure: true
  # Kasm shows its stored token masked, so it is not copied here: set
  # ${passwordEnv(registries.auth.host)} to the registry password or token where kasm-gitops runs
  # (or write { file: /run/secrets/… }).
  auth:
    username: ${registries.auth.username}
    password: { env: ${passwordEnv(registries.auth.host)} }
`,
    );
    expect(files["workspaces/zoned-app.yaml"]).toMatch(
      /^# Imported from Kasm record a1c0+200 \("Zoned App"\)\.\n# - Kasm runs this workspace only in zone zone-eu; kasm-gitops pulls its image on every agent the\n# {3}workspace selects: add spec\.agents\.matchLabels naming that zone's agents\n\napiVersion:/,
    );
    expect(files["workspaces/edge.yaml"]!.split("\n").slice(0, 5)).toEqual([
      `# Imported from Kasm record ${IDS.edge} ("Edge").`,
      "# HELD BACK: this document is commented out, so apply leaves the record alone, until you fix what",
      "# follows and uncomment it:",
      '# - the image "kasmweb/edge" has no tag or digest (Kasm would leave it Installing forever;',
      "#   kasm-gitops requires one): set the tag the agents run, e.g. kasmweb/edge:<tag>",
    ]);
    const readme = files["README.md"]!;
    expect(readme).toContain(`Set \`${passwordEnv(registries.auth.host)}\` to the password or token`);
    expect(readme).toContain(
      `- \`workspaces/broken-config.yaml\` (\`${IDS.broken}\`, "Broken Config"): Kasm's run_config`,
    );
  });

  it("puts no key, secret or registry token in any file or output", async () => {
    const files = await filesUnder(out);
    for (const secret of secrets()) {
      for (const text of [...Object.values(files), imported.stdout, imported.stderr])
        expect(text).not.toContain(secret);
    }
    expect(Object.values(files).join("\n")).not.toContain("**********");
  });

  it("round trip: the output validates; the first apply only adds the marker, pulls nothing; the next plan has no changes", async () => {
    const validated = await kasmGitops(["validate", out]);
    expect(validated.stdout + validated.stderr).toBe(`${DEPLOYMENT.records + 5} files valid\n`);
    expect(validated.code).toBe(0);

    // The operator fills in what the README lists: the agents, and the variables.
    for (const image of Object.values(images))
      for (const engine of engines) await pushAndPull(image, engine.host);
    const files = await filesUnder(out);
    files["agents.yaml"] = fleetYaml({
      registries: [],
      agents: engines.map((e, i) => ({ name: `agent-${i + 1}`, host: e.host })),
      workspaces: [],
    });
    const repo = await commitImport(files);
    const state = await stateDir();
    const env = {
      KASM_SECRET_KASM_API_KEY: kasm.apiKey,
      KASM_SECRET_KASM_API_KEY_SECRET: kasm.apiKeySecret,
      [passwordEnv(registries.auth.host)]: registries.auth.password,
    };
    // As the README says, the record whose run_config is not JSON is fixed in Kasm: until then the sync
    // cannot read Kasm at all (it refuses a record it cannot decode), so nothing would be planned.
    const broken = kasm.state().images.find((i) => i.image_id === IDS.broken)!;
    kasm.seed({ images: [{ ...broken, run_config: "{}" }] });
    const before = kasm.state();
    kasm.clearCalls();

    const planned = await inRepo("plan", repo.bare, state, ["--json"], { env });
    expect(planned.stderr).toBe("");
    const plan = JSON.parse(planned.stdout) as Plan;
    expect(plan.summary.pull).toBe(0);
    const kasmActions = plan.actions.filter((a) => a.type.startsWith("kasm-"));
    expect(kasmActions).toHaveLength(DEPLOYMENT.records - DEPLOYMENT.held - DEPLOYMENT.marked);
    for (const action of kasmActions) {
      expect(action).toMatchObject({ type: "kasm-update", adopt: true });
      // Kasm's registry forms name the Registries, and the token Kasm holds is kept on adoption.
      const { changes } = action as unknown as { changes: { field: string }[] };
      expect(changes.map((c) => c.field)).toEqual(["notes"]);
    }

    const applied = await inRepo("apply", repo.bare, state, ["--json"], { env });
    expect(applied.code).toBe(0);
    const after = kasm.state();
    expect(
      kasm
        .writes()
        .map((c) => c.fn)
        .every((fn) => fn === "update_image"),
    ).toBe(true);
    // Held records are not touched, nor is the record already marked (its workspace kept its name).
    const held = new Set<string>([IDS.edge, IDS.broken, IDS.server]);
    for (const old of before.images) {
      const now = after.images.find((i) => i.image_id === old.image_id)!;
      if (held.has(old.image_id) || old.image_id === IDS.legacy) {
        expect(now).toEqual(old);
        continue;
      }
      const { notes, ...rest } = now;
      const { notes: oldNotes, ...oldRest } = old;
      expect(rest).toEqual(oldRest);
      expect(notes).toMatch(/(^|\n)managed-by: kasm-gitops\/[a-z0-9-]+$/);
      expect(notes!.replace(/\n?managed-by: kasm-gitops\/[a-z0-9-]+$/, "")).toBe(oldNotes ?? "");
    }
    const pairs = (s: typeof before) => s.groupImages.map((g) => `${g.group_id}/${g.image_id}`).sort();
    expect(pairs(after)).toEqual(pairs(before));
    expect(after.images.find((i) => i.image_id === IDS.chrome)!.notes).toBe(
      "Ticket OPS-12: keep in sync with IT\nmanaged-by: kasm-gitops/chrome",
    );

    const again = await inRepo("plan", repo.bare, state, [], { env });
    expect(again.stdout).toContain("No changes.");
    for (const secret of secrets())
      for (const text of [planned.stdout, applied.stdout, applied.stderr, again.stdout, again.stderr])
        expect(text).not.toContain(secret);
  });

  it("refuses a non-empty folder without --force, reading nothing from Kasm", async () => {
    const dir = await tempDir("import-full");
    await writeFile(join(dir, "notes.txt"), "mine\n");
    kasm.clearCalls();
    const result = await runImport(dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `kasm-gitops: usage error: ${dir} is not empty (notes.txt): import writes into an empty folder; pass --force to add only the files that do not exist yet (it never overwrites one)\n`,
    );
    expect(await readdir(dir)).toEqual(["notes.txt"]);
    expect(kasm.calls()).toEqual([]);
  });

  it("with --force writes only the files that do not exist, and reports the conflict", async () => {
    const dir = await tempDir("import-force");
    await mkdir(join(dir, "workspaces"));
    await writeFile(join(dir, "workspaces", "chrome.yaml"), "# my own chrome\n");
    const result = await runImport(dir, ["--force"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `kasm-gitops: conflict: ${dir}/workspaces/chrome.yaml already exists and was left as it is\n`,
    );
    expect(await readFile(join(dir, "workspaces", "chrome.yaml"), "utf8")).toBe("# my own chrome\n");
    expect(Object.keys(await filesUnder(dir))).toHaveLength(DEPLOYMENT.records + 6);
    expect(result.stdout).toContain(`wrote ${dir}/workspaces/chrome-2.yaml\n`);
  });

  it.each<[string, (out: string, outside: string) => Promise<void>, string]>([
    ["a sub-folder", (o, x) => symlink(x, join(o, "workspaces")), "workspaces"],
    [
      "a file",
      async (o, x) => {
        await mkdir(join(o, "workspaces"));
        await symlink(join(x, "chrome.yaml"), join(o, "workspaces", "chrome.yaml"));
      },
      "workspaces/chrome.yaml",
    ],
  ])(
    "--force never writes through %s linked to outside --out: refused by name, nothing written anywhere",
    async (_, link, linked) => {
      const base = await tempDir("import-link");
      const [dir, outside] = [join(base, "out"), join(base, "outside")];
      await mkdir(dir);
      await mkdir(outside);
      await writeFile(join(outside, "chrome.yaml"), "# not import's\n");
      await link(dir, outside);
      const before = await readdir(dir, { recursive: true });
      const result = await runImport(dir, ["--force"]);
      expect(result.code).toBe(1);
      const target = linked === "workspaces" ? outside : join(outside, "chrome.yaml");
      expect(result.stderr).toBe(
        `kasm-gitops: usage error: ${dir}/${linked} is a symbolic link (to ${target}): import never writes through a link, which could lead outside the output folder; remove the link or choose another --out\n`,
      );
      expect(result.stdout).toBe("");
      expect(await readdir(dir, { recursive: true })).toEqual(before);
      expect(await readdir(outside)).toEqual(["chrome.yaml"]);
      expect(await readFile(join(outside, "chrome.yaml"), "utf8")).toBe("# not import's\n");
    },
  );

  it.each([
    [
      "a wrong secret",
      () => ({ ...keys(), KASM_SECRET_KASM_API_KEY_SECRET: "0".repeat(32) }),
      /Kasm at http:\/\/127\.0\.0\.1:\d+ refused the API key \(HTTP 403\): the key or its secret is wrong; import used the key from KASM_SECRET_KASM_API_KEY and its secret from KASM_SECRET_KASM_API_KEY_SECRET/,
    ],
    [
      "no key at all",
      () => ({ ...noKeys }),
      /usage error: KASM_SECRET_KASM_API_KEY is not set: import reads the Kasm API key pair from KASM_SECRET_KASM_API_KEY and KASM_SECRET_KASM_API_KEY_SECRET, the variables the KasmServer it writes names/,
    ],
    [
      "a key without its secret",
      () => ({ ...noKeys, KASM_SECRET_KASM_API_KEY: kasm.apiKey }),
      /usage error: KASM_SECRET_KASM_API_KEY_SECRET is not set: import reads .* from KASM_SECRET_KASM_API_KEY and KASM_SECRET_KASM_API_KEY_SECRET/,
    ],
  ])("%s: a clear error and nothing written", async (_, env, message) => {
    const dir = join(await tempDir("import-bad"), "out");
    const result = await runImport(dir, [], env());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe("");
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
    for (const secret of secrets()) expect(result.stderr).not.toContain(secret);
  });

  it("reads the key pair from files and named variables", async () => {
    const dir = await tempDir("import-keyfile");
    await writeFile(join(dir, "key"), `${kasm.apiKey}\n`);
    const result = await kasmGitops(
      [
        "import",
        "--kasm-url",
        kasm.url,
        "--out",
        join(dir, "out"),
        "--kasm-api-key-file",
        join(dir, "key"),
        "--kasm-api-key-secret-env",
        "MY_SECRET",
      ],
      { env: { ...noKeys, MY_SECRET: kasm.apiKeySecret } },
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  it("still reads the old variable names, with a warning naming the new ones", async () => {
    const dir = join(await tempDir("import-old-names"), "out");
    const result = await runImport(dir, [], {
      ...noKeys,
      KASM_GITOPS_KASM_API_KEY: kasm.apiKey,
      KASM_GITOPS_KASM_API_KEY_SECRET: kasm.apiKeySecret,
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      [
        "kasm-gitops: warning: KASM_GITOPS_KASM_API_KEY is an old name: set KASM_SECRET_KASM_API_KEY instead (the variable the imported KasmServer reads, so one setting serves import and the sync)",
        "kasm-gitops: warning: KASM_GITOPS_KASM_API_KEY_SECRET is an old name: set KASM_SECRET_KASM_API_KEY_SECRET instead (the variable the imported KasmServer reads, so one setting serves import and the sync)",
        "",
      ].join("\n"),
    );
    expect(await readFile(join(dir, "kasm-server.yaml"), "utf8")).toContain(
      "apiKey: { env: KASM_SECRET_KASM_API_KEY }",
    );
  });

  it("an unreachable Kasm: a clear error naming it, nothing written", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port: free } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const dir = join(await tempDir("import-down"), "out");
    const result = await kasmGitops(["import", "--kasm-url", `http://127.0.0.1:${free}`, "--out", dir], {
      env: keys(),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`kasm-gitops: error: .*http://127\\.0\\.0\\.1:${free}`));
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
  });

  it("an https Kasm signed by a private CA: trusted with --kasm-ca-file, named in the KasmServer; refused without", async () => {
    const dir = await tempDir("import-tls");
    const front = await startTlsFront(kasm.url, dir);
    try {
      const untrusted = await kasmGitops(["import", "--kasm-url", front.url, "--out", join(dir, "no")], {
        env: keys(),
      });
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr).toMatch(
        /Kasm at https:\/\/127\.0\.0\.1:\d+: its TLS certificate is not trusted \(.+\): pass --kasm-ca-file/,
      );
      await expect(readdir(join(dir, "no"))).rejects.toThrow(/ENOENT/);

      const trusted = await kasmGitops(
        ["import", "--kasm-url", front.url, "--out", join(dir, "out"), "--kasm-ca-file", front.ca],
        { env: keys() },
      );
      expect(trusted.stderr).toBe("");
      expect(trusted.code).toBe(0);
      const server = await readFile(join(dir, "out", "kasm-server.yaml"), "utf8");
      expect(server).toContain(`  url: ${front.url}\n`);
      expect(server).toContain(`  tls:\n    ca: { file: ${front.ca} }\n`);
    } finally {
      await front.close();
    }
  });

  it("refuses plain http to a host that is not loopback, before sending the key", async () => {
    const result = await kasmGitops(["import", "--kasm-url", "http://kasm.example.com", "--out", "x"], {
      env: keys(),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "is plain http to kasm.example.com: the API key would cross the network in clear",
    );
  });
});

type SeedImage = NonNullable<KasmSeed["images"]>[number];

describe("kasm-gitops import of a typical install", () => {
  const HUB = "https://index.docker.io/v1/";
  const ID = {
    chrome: "b2c0000000000000000000000000c001",
    firefox: "b2c0000000000000000000000000f001",
    app: "b2c00000000000000000000000000a99",
    edge: "b2c00000000000000000000000000ed9",
  };
  let typical: KasmStandIn;
  let auth: DeploymentRegistries["auth"];
  beforeAll(async () => {
    const lab = inject("lab").registries.auth;
    auth = { host: lab.host, username: lab.auth!.username, password: lab.auth!.password };
    const image = (over: SeedImage): SeedImage => ({
      enabled: true,
      cores: 2,
      memory: 2_768_000_000,
      ...over,
    });
    typical = await startKasmStandIn({
      seed: {
        groups: [{ name: "qa" }],
        // Kasm's default Workspaces on Docker Hub, as Kasm writes them; a private registry with a token.
        images: [
          image({
            image_id: ID.chrome,
            friendly_name: "Chrome",
            name: "kasmweb/chrome:1.15.0",
            docker_registry: HUB,
          }),
          image({
            image_id: ID.firefox,
            friendly_name: "Firefox",
            name: "kasmweb/firefox:1.15.0",
            docker_registry: HUB,
          }),
          image({
            image_id: ID.app,
            friendly_name: "Payroll",
            name: `${auth.host}/${uniqueRepo("payroll")}:1.0`,
            docker_registry: `https://${auth.host}`,
            docker_user: auth.username,
            docker_token: auth.password,
            notes: "Owner: finance",
          }),
          image({ image_id: ID.edge, friendly_name: "Edge", name: "kasmweb/edge", docker_registry: HUB }),
        ],
        groupImages: [
          { image_id: ID.chrome, group_name: "All Users" },
          { image_id: ID.firefox, group_name: "All Users" },
          { image_id: ID.firefox, group_name: "qa" },
          { image_id: ID.app, group_name: "qa" },
        ],
      },
    });
  });
  afterAll(async () => {
    await typical?.close();
  });

  it("adopts every taggable record whatever the form of its registry; apply changes only the marker and keeps the token; the next plan has No changes.", async () => {
    const dir = join(await tempDir("import-typical"), "out");
    const keyEnv = {
      KASM_SECRET_KASM_API_KEY: typical.apiKey,
      KASM_SECRET_KASM_API_KEY_SECRET: typical.apiKeySecret,
    };
    const result = await kasmGitops(["import", "--kasm-url", typical.url, "--out", dir], {
      env: { ...noKeys, ...keyEnv },
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `Imported 4 records from ${typical.url}: 3 adopted, 1 held back, 2 registries (pulls: kasm).`,
    );
    expect(result.stdout).toMatch(/ {2}\S+\/workspaces\/edge\.yaml: the image "kasmweb\/edge" has no tag/);
    const files = await filesUnder(dir);
    expect(files["registries/docker-io.yaml"]).toContain("  host: docker.io\n");
    expect(files["workspaces/chrome.yaml"]).toContain("  registry: docker-io\n");
    expect(files["workspaces/payroll.yaml"]).toContain(`  registry: ${registryName(auth.host)}\n`);
    expect(files["kasm-server.yaml"]).toContain("  pulls: kasm\n");
    expect(files["README.md"]).toContain("## Who pulls: `pulls: kasm`, and moving to `pulls: kasm-gitops`");

    // The operator commits the import as it is: no agents yet (Kasm's agents pull, pulls: kasm).
    const repo = await commitImport(files);
    const state = await stateDir();
    const env = { ...keyEnv, [passwordEnv(auth.host)]: auth.password };
    const before = typical.state();
    typical.clearCalls();

    const applied = await inRepo("apply", repo.bare, state, [], { env });
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(typical.writes().map((c) => c.fn)).toEqual(["update_image", "update_image", "update_image"]);
    const after = typical.state();
    for (const old of before.images) {
      const now = after.images.find((i) => i.image_id === old.image_id)!;
      if (old.image_id === ID.edge) {
        expect(now).toEqual(old);
        continue;
      }
      // Only the marker line is new: Kasm's form of the registry, its user and its token are as they were.
      const { notes, ...rest } = now;
      const { notes: oldNotes, ...oldRest } = old;
      expect(rest).toEqual(oldRest);
      expect(notes).toMatch(/(^|\n)managed-by: kasm-gitops\/(chrome|firefox|payroll)$/);
    }
    const payroll = after.images.find((i) => i.image_id === ID.app)!;
    expect([payroll.docker_registry, payroll.docker_user, payroll.docker_token]).toEqual([
      `https://${auth.host}`,
      auth.username,
      auth.password,
    ]);
    expect(payroll.notes).toBe("Owner: finance\nmanaged-by: kasm-gitops/payroll");
    const pairs = (s: typeof before) => s.groupImages.map((g) => `${g.group_id}/${g.image_id}`).sort();
    expect(pairs(after)).toEqual(pairs(before));

    typical.clearCalls();
    const again = await inRepo("plan", repo.bare, state, ["--detailed-exitcode"], { env });
    expect(again.stderr).toBe("");
    expect(again.stdout).toContain("No changes.");
    expect(again.code).toBe(0);
    expect(typical.writes()).toEqual([]);
    for (const secret of [typical.apiKey, typical.apiKeySecret, auth.password])
      for (const text of [result.stdout, applied.stdout, applied.stderr, again.stdout])
        expect(text).not.toContain(secret);
  });
});

describe("kasm-gitops import with Kasm's agents in view", () => {
  const ID = {
    full: "a9e00000000000000000000000000f01",
    eu: "a9e00000000000000000000000000e01",
    pinned: "a9e00000000000000000000000000b01",
    zone: "a9e000000000000000000000000020e1",
    serverB: "a9e000000000000000000000000005b1",
  };
  let withAgents: KasmStandIn;
  beforeAll(async () => {
    withAgents = await startKasmStandIn({
      seed: {
        zones: [{ zone_id: ID.zone, zone_name: "eu" }],
        servers: [
          { hostname: "kasm-a.example.com", zone_name: "eu" },
          { server_id: ID.serverB, hostname: "kasm-b.example.com", zone_name: "default" },
        ],
        images: [
          // Every writable field set, each away from Kasm's default for a new record.
          {
            image_id: ID.full,
            friendly_name: "Full Record",
            name: "kasmweb/chrome:1.16.0",
            description: "every field",
            image_src: "img/thumbnails/chrome.png",
            categories: ["Browser", "Dev"],
            cores: 3,
            memory: 3_000_000_000,
            hidden: true,
            run_config: { hostname: "full" },
            exec_config: { first_launch: { cmd: "echo hi" } },
            volume_mappings: { "/mnt/share": { bind: "/share", mode: "ro" } },
            x_res: 1920,
            y_res: 1080,
            gpu_count: 1,
            persistent_profile_path: "/profiles/{username}",
            session_time_limit: 7200,
            launch_config: { fields: [{ name: "url" }] },
            restrict_to_network: true,
            restrict_network_names: ["kasm-lab"],
            allow_network_selection: true,
            cpu_allocation_method: "Quotas",
            notes: "owner: it",
          },
          {
            image_id: ID.eu,
            friendly_name: "EU App",
            name: "kasmweb/firefox:1.16.0",
            restrict_to_zone: true,
            zone_id: ID.zone,
          },
          {
            image_id: ID.pinned,
            friendly_name: "On B",
            name: "kasmweb/terminal:1.16.0",
            restrict_to_server: true,
            server_id: ID.serverB,
          },
        ],
      },
    });
  });
  afterAll(async () => {
    await withAgents?.close();
  });

  it("writes one Agent per Kasm agent and selectors for restricted records; filled in and applied, the next plan has No changes.", async () => {
    const keyEnv = {
      KASM_SECRET_KASM_API_KEY: withAgents.apiKey,
      KASM_SECRET_KASM_API_KEY_SECRET: withAgents.apiKeySecret,
    };
    const dir = join(await tempDir("import-agents"), "out");
    const run = (to: string) =>
      kasmGitops(["import", "--kasm-url", withAgents.url, "--out", to], { env: { ...noKeys, ...keyEnv } });
    const result = await run(dir);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Kasm's agents: 2 Agents in ${dir}/agents.yaml`);
    const files = await filesUnder(dir);
    expect(files["agents.yaml"]).toContain("  kasm:\n    server: kasm-a.example.com\n    zone: eu\n");
    expect(files["agents.yaml"]).toContain("  labels:\n    kasm-zone: default\n    kasm-server: kasm-b\n");
    expect(files["workspaces/eu-app.yaml"]).toContain("matchLabels: { kasm-zone: eu }");
    expect(files["workspaces/on-b.yaml"]).toContain("matchLabels: { kasm-server: kasm-b }");
    expect(files["workspaces/full-record.yaml"]).toContain(`    resolution:
      width: 1920
      height: 1080
    gpus: 1
    persistentProfilePath: /profiles/{username}
    sessionTimeLimit: 2h
    launchConfig:
      fields:
        - name: url
    restrictNetworks:
      - kasm-lab
    allowNetworkSelection: true
    cpuAllocationMethod: Quotas
    placement: any
`);
    const validated = await kasmGitops(["validate", "--strict", dir]);
    expect(validated.stdout + validated.stderr).toBe("5 files valid\n");

    // The operator fills in the one thing left, each Agent's Docker address, and commits.
    let n = 0;
    files["agents.yaml"] = files["agents.yaml"]!.replace(
      /host: tcp:\/\/set-this-docker-host\.invalid:2376/g,
      () => `host: "${engines[n++]!.host}"`,
    );
    const repo = await commitImport(files);
    const state = await stateDir();
    const before = withAgents.state();
    withAgents.clearCalls();
    const applied = await inRepo("apply", repo.bare, state, [], { env: keyEnv });
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    // Only the marker is new on each record: every field, the placements included, is as Kasm had it.
    const after = withAgents.state();
    for (const old of before.images) {
      const { notes, ...rest } = after.images.find((i) => i.image_id === old.image_id)!;
      const { notes: oldNotes, ...oldRest } = old;
      expect(rest).toEqual(oldRest);
      expect(notes).toMatch(/(^|\n)managed-by: kasm-gitops\/[a-z-]+$/);
    }
    withAgents.clearCalls();
    const again = await inRepo("plan", repo.bare, state, ["--detailed-exitcode"], { env: keyEnv });
    expect(again.stderr).toBe("");
    expect(again.stdout).toContain("No changes.");
    expect(again.code).toBe(0);
    expect(withAgents.writes()).toEqual([]);

    // A key Kasm does not let view its agents keeps the template, and says why.
    withAgents.addFault({ fn: "get_servers", status: 401 });
    const refused = await run(join(await tempDir("import-agents-401"), "out"));
    expect(refused.code).toBe(0);
    expect(refused.stdout).toContain(
      "Kasm's agents: not visible to this API key (get_servers answered HTTP 401)",
    );
  });
});

/** A manifest repo whose only commit is the imported files, as an operator commits them. */
async function commitImport(files: Record<string, string>) {
  const repo = await createTestRepo();
  await rm(join(repo.work, "manifests", "a.yaml"));
  await repo.commit(
    Object.fromEntries(Object.entries(files).map(([path, text]) => [`manifests/${path}`, text])),
    "kasm-gitops import",
  );
  return repo;
}

/** Pushes an image of the deployment to its lab registry (once) and pulls it on an engine. */
const pushed = new Set<string>();
async function pushAndPull(image: string, host: string): Promise<void> {
  const [hostPort, ...rest] = image.split("/");
  const [repository, tag] = rest.join("/").split(":") as [string, string];
  const auth =
    hostPort === registries.auth.host
      ? { username: registries.auth.username, password: registries.auth.password }
      : undefined;
  if (!pushed.has(image)) {
    await pushRandomImage({ url: `http://${hostPort}`, repository, tag, ...(auth ? { auth } : {}) });
    pushed.add(image);
  }
  await prePull(host, image, auth);
}
