/**
 * `kasm-gitops import` end to end: the built CLI against the Kasm API stand-in seeded with a realistic
 * deployment, then the imported repo validated, planned and applied against the same Kasm and the lab's
 * real Docker engines and registries. What import accepts and refuses is in import-options.test.ts; other
 * installs (Docker Hub records, Kasm's agents in view) in import-adoption.test.ts.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Plan } from "../src/core/plan/types.js";
import type { KasmStandIn } from "../src/lab/kasm-stand-in.js";
import { type CliResult, inRepo, kasmGitops } from "./helpers/cli.js";
import { fleetYaml, stateDir } from "./helpers/fleet.js";
import { tempDir } from "./helpers/git-repos.js";
import {
  commitImport,
  type Deployment,
  filesUnder,
  passwordEnv,
  registryName,
  startDeployment,
} from "./helpers/import-cli.js";
import {
  DEPLOYMENT,
  type DeploymentImages,
  type DeploymentRegistries,
  IDS,
} from "./helpers/kasm-deployment.js";

const lab = inject("lab");
const engines = lab.engines.slice(0, 2);

let deployment: Deployment;
let kasm: KasmStandIn;
let registries: DeploymentRegistries;
let images: DeploymentImages;
/** The import every test reads, done once. */
let out: string;
let imported: CliResult;
const secrets = () => deployment.secrets();
const pushAndPull = (image: string, host: string) => deployment.pushAndPull(image, host);

beforeAll(async () => {
  deployment = await startDeployment();
  ({ kasm, registries, images } = deployment);
  out = join(await tempDir("import"), "manifests");
  imported = await deployment.runImport(out);
});
afterAll(async () => {
  await deployment?.close();
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
});
