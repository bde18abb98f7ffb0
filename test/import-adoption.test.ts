/**
 * `kasm-gitops import` of installs other than the deployment: a typical one (Kasm's default Workspaces on
 * Docker Hub, a private registry with a token) and one with Kasm's agents and zones in view. Each imported
 * repo is applied against its Kasm stand-in and the lab's engines: only the marker is new, then No changes.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type KasmSeed, type KasmStandIn, startKasmStandIn } from "../src/lab/kasm-stand-in.js";
import { inRepo, kasmGitops } from "./helpers/cli.js";
import { stateDir, uniqueRepo } from "./helpers/fleet.js";
import { tempDir } from "./helpers/git-repos.js";
import { commitImport, filesUnder, noKeys, passwordEnv, registryName } from "./helpers/import-cli.js";
import type { DeploymentRegistries } from "./helpers/kasm-deployment.js";

const engines = inject("lab").engines.slice(0, 2);

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
