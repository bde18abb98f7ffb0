/**
 * A Kasm deployment as one grows in real life, for the import tests: two dozen records over three lab
 * registries (one with credentials; named in Kasm's forms `http://host`, `https://host/`, `host`) and Docker Hub, disabled and hidden ones, groups with "All Users",
 * friendly names with spaces, accents, punctuation and duplicates, and the records import must hold
 * back (no tag, a config that is not JSON, a Server workspace).
 */
import type { KasmSeed } from "../../src/lab/kasm-stand-in.js";
import { uniqueRepo } from "./fleet.js";

export type DeploymentRegistries = {
  plain: string;
  auth: { host: string; username: string; password: string };
  proxy: string;
};

export const IDS = {
  chrome: "a1c0000000000000000000000000c001",
  chromeTesting: "a1c0000000000000000000000000c002",
  chromeOld: "a1c0000000000000000000000000c003",
  firefox: "a1c0000000000000000000000000f001",
  secret: "a1c00000000000000000000000005ec1",
  edge: "a1c00000000000000000000000000ed9",
  broken: "a1c00000000000000000000000000b0c",
  server: "a1c000000000000000000000000005e5",
  zoned: "a1c00000000000000000000000000200",
  legacy: "a1c000000000000000000000000001e9",
} as const;

/** The images of the registries, to push and pre-pull; Docker Hub ones are never pulled (no registry). */
export function deploymentImages(r: DeploymentRegistries) {
  const prefix = uniqueRepo("kasm").split("/")[0]!;
  return {
    chrome: `${r.plain}/${prefix}/chrome:1.0`,
    firefox: `${r.plain}/${prefix}/firefox:2.0`,
    secret: `${r.auth.host}/${prefix}/secret-app:3.1`,
    tools: `${r.proxy}/${prefix}/tools:4`,
  };
}
export type DeploymentImages = ReturnType<typeof deploymentImages>;

type Image = NonNullable<KasmSeed["images"]>[number];
const hub = (friendly: string, name: string, extra: Partial<Image> = {}): Image => ({
  friendly_name: friendly,
  name,
  enabled: true,
  cores: 2,
  memory: 2_768_000_000,
  ...extra,
});

export function deploymentSeed(r: DeploymentRegistries, images: DeploymentImages): KasmSeed {
  // Kasm keeps a registry as the administrator typed it: a URL (either scheme) or a bare host.
  const plain = { docker_registry: `http://${r.plain}` };
  const auth = {
    docker_registry: `https://${r.auth.host}/`,
    docker_user: r.auth.username,
    docker_token: r.auth.password,
  };
  const proxy = { docker_registry: r.proxy };
  return {
    groups: [{ name: "qa" }, { name: "dev" }, { name: "finance" }],
    images: [
      hub("Chrome", images.chrome, {
        image_id: IDS.chrome,
        ...plain,
        description: "Chrome browser",
        image_src: "img/thumbnails/chrome.png",
        categories: ["Browser"],
        notes: "Ticket OPS-12: keep in sync with IT",
      }),
      hub("Chrome (testing)", images.chrome, { image_id: IDS.chromeTesting, ...plain, hidden: true }),
      hub("Chrome", images.chrome, { image_id: IDS.chromeOld, ...plain, enabled: false, description: "old" }),
      hub("Firefox Éditeur", images.firefox, {
        image_id: IDS.firefox,
        ...plain,
        categories: ["Browser", "Dev"],
        cores: 1.5,
        memory: 3_000_000_000,
        run_config: JSON.stringify({ hostname: "kasm", environment: { LANG: "fr_FR.UTF-8" } }),
      }),
      hub("Firefox – ESR", images.firefox, { ...plain, enabled: false }),
      hub("Secret App", images.secret, { image_id: IDS.secret, ...auth, categories: ["Finance"] }),
      hub("Secret App (QA)", images.secret, { ...auth, hidden: true }),
      hub("Tools/Utils & More!", images.tools, { ...proxy }),
      hub("Ωmega Tools", images.tools, { ...proxy, memory: 1_500_000_001 }),
      hub("Terminal", "kasmweb/terminal:1.16.0", { categories: ["Development"] }),
      hub("VS Code", "kasmweb/vs-code:1.16.0", {
        cores: 4,
        memory: 4 * 2 ** 30,
        run_config: JSON.stringify({ hostname: "vscode" }),
      }),
      hub("Ubuntu Desktop", "kasmweb/ubuntu-jammy-desktop:1.16.0", {
        exec_config: JSON.stringify({ first_launch: { cmd: "bash -c 'echo hi'" } }),
        volume_mappings: JSON.stringify({ "/mnt/share": { bind: "/home/kasm-user/share", mode: "rw" } }),
      }),
      hub("Slack", "kasmweb/slack:1.16.0", { enabled: false }),
      hub("Zoom", "kasmweb/zoom:1.16.0", { hidden: true }),
      hub("GIMP", "kasmweb/gimp:1.16.0", { categories: ["Graphics", "Art"] }),
      hub("LibreOffice", "kasmweb/libre-office:1.16.0"),
      hub("Signal", "kasmweb/signal:1.16.0", { enabled: false }),
      hub("Tor Browser", "kasmweb/tor-browser:1.16.0", { description: "Anonymous browsing" }),
      hub("Café Bar Émulateur", "kasmweb/retroarch:1.16.0"),
      hub("  Spaces   Everywhere  ", "kasmweb/remmina:1.16.0"),
      hub("Legacy Chrome", images.chrome, {
        image_id: IDS.legacy,
        ...plain,
        notes: "managed-by: kasm-gitops/legacy",
      }),
      hub("Zoned App", "kasmweb/brave:1.16.0", {
        image_id: IDS.zoned,
        restrict_to_zone: true,
        zone_id: "zone-eu",
      }),
      hub("Edge", "kasmweb/edge", { image_id: IDS.edge }),
      hub("Broken Config", "kasmweb/chromium:1.16.0", { image_id: IDS.broken, run_config: "{not json" }),
      hub("Server Desktop", "rdp-host-01", { image_id: IDS.server, image_type: "Server" }),
    ],
    groupImages: [
      { image_id: IDS.chrome, group_name: "All Users" },
      { image_id: IDS.chromeTesting, group_name: "qa" },
      { image_id: IDS.firefox, group_name: "All Users" },
      { image_id: IDS.firefox, group_name: "dev" },
      { image_id: IDS.secret, group_name: "finance" },
      { image_id: IDS.secret, group_name: "Administrators" },
      { image_id: IDS.zoned, group_name: "All Users" },
      { image_id: IDS.edge, group_name: "All Users" },
    ],
  };
}

/**
 * How many records the seed has, how many import holds back (Edge, Broken Config, Server Desktop), and
 * how many kasm-gitops already manages (Legacy Chrome, marked for workspace `legacy`).
 */
export const DEPLOYMENT = { records: 25, held: 3, marked: 1 } as const;
