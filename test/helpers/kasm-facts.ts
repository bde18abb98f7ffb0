/**
 * Kasm 1.15's facts (test/fixtures/kasm-1.15.json) for tests, and an image record exactly as its get_images
 * returns one: every read key, the derived ones and `server`/`server_pool` included, JSON fields as objects.
 */
import { readFileSync } from "node:fs";

export type KasmFacts = {
  servers: {
    keys: string[];
    agentType: string;
    zoneKeys: string[];
    reportedImage: { tagsKey: string; digestsKey: string; tagMatch: string };
    reportMaxAgeSeconds: number;
  };
  auth: Record<string, { status: number; error_message: string }> & {
    bodyKeys: string[];
    headerKeys: string[];
  };
  unhandled: { status: number; body: string };
  image: {
    readKeys: string[];
    derivedReadKeys: string[];
    writeKeys: string[];
    rejectedWriteKeys: string[];
    jsonStringKeys: string[];
    newlineJoinedKeys: string[];
    numberKeys: string[];
    ignoredValues: Record<string, unknown[]>;
    resetWhenAbsent: Record<string, unknown>;
    maskedToken: string;
    defaultGroup: string;
    defaultGroupSetting: string;
    deleteRefused: string;
  };
  groups: { groupImageKeys: string[]; removeUnknown: string; addUnknownStatus: number };
};

export const KASM_FACTS = JSON.parse(
  readFileSync(new URL("../fixtures/kasm-1.15.json", import.meta.url), "utf8"),
) as KasmFacts;

/** A record as Kasm 1.15's get_images shows it, with every read key; `overrides` changes some. */
export function kasmReadRecord(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const record: Record<string, unknown> = {
    image_id: "0123456789abcdef0123456789abcdef",
    cores: 2,
    description: "browser",
    docker_registry: "https://index.docker.io/v1/",
    docker_token: KASM_FACTS.image.maskedToken,
    docker_user: "ci-bot",
    enabled: true,
    friendly_name: "Chrome",
    hash: null,
    memory: 2_768_000_000,
    name: "kasmweb/chrome:1.15.0",
    x_res: 1920,
    y_res: 1080,
    imageAttributes: [{ attr_id: "a1", category: "general", name: "lang", value: "en" }],
    restrict_to_network: false,
    restrict_network_names: [],
    restrict_to_server: false,
    server_id: null,
    persistent_profile_config: {},
    volume_mappings: { "/data": { bind: "/home/kasm-user/data", mode: "rw" } },
    run_config: { hostname: "kasm" },
    image_src: "img/thumbnails/chrome.png",
    available: true,
    exec_config: {},
    restrict_to_zone: false,
    zone_id: null,
    zone_name: null,
    persistent_profile_path: "/profiles/{username}",
    filter_policy_id: null,
    filter_policy_name: null,
    filter_policy_force_disabled: false,
    session_time_limit: 7200,
    categories: ["Browser", "Dev"],
    default_category: "Browser",
    allow_network_selection: false,
    require_gpu: false,
    gpu_count: 1,
    hidden: false,
    notes: "managed-by: kasm-gitops/chrome",
    image_type: "Container",
    server_pool_id: null,
    link_url: null,
    cpu_allocation_method: "Inherit",
    uncompressed_size_mb: 2048,
    launch_config: {},
    server: {},
    server_pool: {},
  };
  return { ...record, ...overrides };
}
