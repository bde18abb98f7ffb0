import { describe, expect, it } from "vitest";
import { type JsonSchema, KIND_VALIDATORS, SCHEMAS } from "../src/core/manifest/schemas.js";
import {
  type AgentManifest,
  type AgentSpec,
  API_VERSION,
  DEFAULTS,
  type KasmServerManifest,
  type KasmServerSpec,
  type KasmWorkspaceSpec,
  type Metadata,
  NOTIFICATION_EVENTS,
  type NotificationManifest,
  type NotificationSpec,
  type PruneSpec,
  type RegistryManifest,
  type RegistrySpec,
  type SecretRef,
  type SettingsManifest,
  type SettingsSpec,
  type UpdateSpec,
  type WorkspaceManifest,
  type WorkspaceSpec,
} from "../src/core/manifest/types.js";

/**
 * The schemas are the source of truth and src/core/manifest/types.ts mirrors them. Each key list below must name
 * exactly the keys of its TypeScript type (`satisfies Record<keyof T, true>` fails type checking on a
 * missing or extra key), and the test compares it with the schema's properties: a field added on one side
 * only fails either `npm run lint` or this test.
 */
type AllKeys<T> = T extends unknown ? keyof T : never;
type Doc = Omit<RegistryManifest, "source">;
const keys = (record: Record<string, true>) => Object.keys(record).sort();

const TYPE_KEYS = {
  document: keys({ apiVersion: true, kind: true, metadata: true, spec: true } satisfies Record<
    keyof Doc,
    true
  >),
  metadata: keys({ name: true, labels: true } satisfies Record<keyof Metadata, true>),
  secretRef: keys({ env: true, file: true } satisfies Record<AllKeys<SecretRef>, true>),
  registry: keys({ host: true, insecure: true, auth: true } satisfies Record<keyof RegistrySpec, true>),
  registryAuth: keys({ username: true, password: true } satisfies Record<
    keyof NonNullable<RegistrySpec["auth"]>,
    true
  >),
  agent: keys({
    docker: true,
    maxConcurrentPulls: true,
    enabled: true,
    prune: true,
    kasm: true,
  } satisfies Record<keyof AgentSpec, true>),
  agentKasm: keys({ server: true, zone: true } satisfies Record<keyof NonNullable<AgentSpec["kasm"]>, true>),
  agentDocker: keys({ host: true, tls: true } satisfies Record<keyof AgentSpec["docker"], true>),
  agentTls: keys({ ca: true, cert: true, key: true } satisfies Record<
    keyof NonNullable<AgentSpec["docker"]["tls"]>,
    true
  >),
  workspace: keys({
    friendlyName: true,
    image: true,
    registry: true,
    agents: true,
    groups: true,
    enabled: true,
    refresh: true,
    promotion: true,
    smoke: true,
    kasm: true,
    update: true,
  } satisfies Record<keyof WorkspaceSpec, true>),
  workspaceUpdate: keys({
    policy: true,
    range: true,
    filter: true,
    schedule: true,
    mode: true,
    suspend: true,
  } satisfies Record<keyof UpdateSpec, true>),
  workspaceUpdateFilter: keys({ pattern: true, extract: true } satisfies Record<
    keyof NonNullable<UpdateSpec["filter"]>,
    true
  >),
  workspaceKasm: keys({
    imageId: true,
    description: true,
    thumbnail: true,
    categories: true,
    cores: true,
    memory: true,
    hidden: true,
    runConfig: true,
    execConfig: true,
    volumeMappings: true,
    resolution: true,
    gpus: true,
    persistentProfilePath: true,
    sessionTimeLimit: true,
    launchConfig: true,
    restrictNetworks: true,
    allowNetworkSelection: true,
    cpuAllocationMethod: true,
    placement: true,
    pinDigest: true,
  } satisfies Record<keyof KasmWorkspaceSpec, true>),
  kasmServer: keys({
    url: true,
    apiKey: true,
    apiKeySecret: true,
    tls: true,
    pulls: true,
    removed: true,
    timeout: true,
    smoke: true,
  } satisfies Record<keyof KasmServerSpec, true>),
  kasmServerTls: keys({ ca: true } satisfies Record<keyof NonNullable<KasmServerSpec["tls"]>, true>),
  workspaceAgents: keys({ matchLabels: true } satisfies Record<
    keyof NonNullable<WorkspaceSpec["agents"]>,
    true
  >),
  workspacePromotion: keys({ from: true, movingTags: true, auto: true } satisfies Record<
    keyof NonNullable<WorkspaceSpec["promotion"]>,
    true
  >),
  settings: keys({
    interval: true,
    refreshSchedule: true,
    maxConcurrentPulls: true,
    promotionBranch: true,
    prune: true,
  } satisfies Record<keyof SettingsSpec, true>),
  notification: keys({ type: true, url: true, events: true } satisfies Record<keyof NotificationSpec, true>),
  prune: keys({ mode: true, keepPrevious: true, removedAfter: true } satisfies Record<keyof PruneSpec, true>),
};

const props = (schema: JsonSchema | undefined, ...path: string[]): string[] => {
  let node = schema;
  for (const name of path) node = node?.properties?.[name];
  return Object.keys(node?.properties ?? {}).sort();
};
const common = SCHEMAS.common.definitions!;

const SCHEMA_KEYS: Record<keyof typeof TYPE_KEYS, string[]> = {
  document: props(SCHEMAS.Registry),
  metadata: props(common.metadata),
  secretRef: props(common.secretRef),
  registry: props(SCHEMAS.Registry, "spec"),
  registryAuth: props(SCHEMAS.Registry, "spec", "auth"),
  agent: props(SCHEMAS.Agent, "spec"),
  agentDocker: props(SCHEMAS.Agent, "spec", "docker"),
  agentTls: props(SCHEMAS.Agent, "spec", "docker", "tls"),
  agentKasm: props(SCHEMAS.Agent, "spec", "kasm"),
  workspace: props(SCHEMAS.Workspace, "spec"),
  workspaceAgents: props(SCHEMAS.Workspace, "spec", "agents"),
  workspacePromotion: props(SCHEMAS.Workspace, "spec", "promotion"),
  workspaceUpdate: props(SCHEMAS.Workspace, "spec", "update"),
  workspaceUpdateFilter: props(SCHEMAS.Workspace, "spec", "update", "filter"),
  workspaceKasm: props(SCHEMAS.Workspace, "spec", "kasm"),
  kasmServer: props(SCHEMAS.KasmServer, "spec"),
  kasmServerTls: props(SCHEMAS.KasmServer, "spec", "tls"),
  settings: props(SCHEMAS.Settings, "spec"),
  notification: props(SCHEMAS.Notification, "spec"),
  prune: props(common.prune),
};

/** A document of each kind with every optional field set, typed by manifest.ts. */
const SAMPLES = {
  Registry: {
    apiVersion: API_VERSION,
    kind: "Registry",
    metadata: { name: "corp", labels: { tier: "core" } },
    spec: {
      host: "registry.example.com:5000",
      insecure: false,
      auth: { username: { env: "U" }, password: { file: "/run/p" } },
    },
  } satisfies Omit<RegistryManifest, "source">,
  Agent: {
    apiVersion: API_VERSION,
    kind: "Agent",
    metadata: { name: "agent-1" },
    spec: {
      docker: {
        host: "tcp://10.0.0.5:2376",
        tls: { ca: { file: "/ca.pem" }, cert: { file: "/c.pem" }, key: { env: "KEY" } },
      },
      maxConcurrentPulls: 3,
      enabled: false,
      prune: { mode: "unused", keepPrevious: 2 },
      kasm: { server: "agent-1.example.com", zone: "default" },
    },
  } satisfies Omit<AgentManifest, "source">,
  Workspace: {
    apiVersion: API_VERSION,
    kind: "Workspace",
    metadata: { name: "chrome" },
    spec: {
      friendlyName: "Chrome",
      image: "registry.example.com:5000/kasm/chrome:1",
      registry: "corp",
      agents: { matchLabels: { ring: "production" } },
      groups: ["all-users"],
      enabled: true,
      refresh: "0 6 * * *",
      promotion: { from: "chrome-testing", movingTags: ["latest"] },
      kasm: {
        imageId: "3f2a9c0e5b7d4e1f8a6b2c3d4e5f6a7b",
        description: "Chrome browser",
        thumbnail: "img/thumbnails/chrome.png",
        categories: ["Browser"],
        cores: 2,
        memory: "2768M",
        hidden: false,
        runConfig: { hostname: "kasm" },
        execConfig: {},
        volumeMappings: { "/mnt/share": { bind: "/share", mode: "rw" } },
        resolution: { width: 1920, height: 1080 },
        gpus: 1,
        persistentProfilePath: "/mnt/kasm_profiles/{image_id}/{username}",
        sessionTimeLimit: "2h",
        launchConfig: { fields: [] },
        restrictNetworks: ["kasm-lab"],
        allowNetworkSelection: false,
        cpuAllocationMethod: "Quotas",
        placement: "any",
        pinDigest: true,
      },
    },
  } satisfies Omit<WorkspaceManifest, "source">,
  Settings: {
    apiVersion: API_VERSION,
    kind: "Settings",
    metadata: { name: "default" },
    spec: {
      interval: "30s",
      refreshSchedule: "0 * * * *",
      maxConcurrentPulls: 2,
      promotionBranch: "main",
      prune: { mode: "dangling", keepPrevious: 1 },
    },
  } satisfies Omit<SettingsManifest, "source">,
  KasmServer: {
    apiVersion: API_VERSION,
    kind: "KasmServer",
    metadata: { name: "kasm" },
    spec: {
      url: "https://kasm.example.com",
      apiKey: { env: "KASM_SECRET_KASM_API_KEY" },
      apiKeySecret: { file: "/run/secrets/kasm-api-key-secret" },
      tls: { ca: { file: "/etc/kasm-gitops/kasm-ca.pem" } },
      pulls: "kasm",
      removed: "delete",
    },
  } satisfies Omit<KasmServerManifest, "source">,
  Notification: {
    apiVersion: API_VERSION,
    kind: "Notification",
    metadata: { name: "chat" },
    spec: { type: "slack", url: { env: "KASM_SECRET_CHAT_URL" }, events: [...NOTIFICATION_EVENTS] },
  } satisfies Omit<NotificationManifest, "source">,
};

describe("schemas/ and src/core/manifest/types.ts agree", () => {
  it.each(Object.keys(TYPE_KEYS) as (keyof typeof TYPE_KEYS)[])(
    "%s has the same fields on both sides",
    (name) => {
      expect(SCHEMA_KEYS[name].length).toBeGreaterThan(0);
      expect(TYPE_KEYS[name]).toEqual(SCHEMA_KEYS[name]);
    },
  );

  it("lists the same notification events on both sides", () => {
    const events = SCHEMAS.Notification.properties!.spec!.properties!.events!.items as { enum: string[] };
    expect([...NOTIFICATION_EVENTS].sort()).toEqual([...events.enum].sort());
  });

  it.each(["Agent", "Workspace", "Settings", "KasmServer", "Notification"] as const)(
    "every kind's document has the same top-level fields (%s)",
    (kind) => {
      expect(props(SCHEMAS[kind])).toEqual(TYPE_KEYS.document);
    },
  );

  it.each(Object.entries(SAMPLES))(
    "a %s typed by manifest.ts with every field set passes its schema",
    (kind, sample) => {
      const validate = KIND_VALIDATORS[kind as keyof typeof KIND_VALIDATORS];
      expect(validate(sample), JSON.stringify(validate.errors)).toBe(true);
    },
  );

  it("writes the same defaults as DEFAULTS", () => {
    const spec = SCHEMAS.Settings.properties!.spec!.properties!;
    expect({
      interval: spec.interval!.default,
      refreshSchedule: spec.refreshSchedule!.default,
      maxConcurrentPulls: spec.maxConcurrentPulls!.default,
      promotionBranch: spec.promotionBranch!.default,
    }).toEqual({
      interval: DEFAULTS.interval,
      refreshSchedule: DEFAULTS.refreshSchedule,
      maxConcurrentPulls: DEFAULTS.maxConcurrentPulls,
      promotionBranch: DEFAULTS.promotionBranch,
    });
    const prune = common.prune!.properties!;
    expect([prune.mode!.default, prune.keepPrevious!.default, prune.removedAfter!.default]).toEqual([
      DEFAULTS.pruneMode,
      DEFAULTS.keepPrevious,
      DEFAULTS.pruneRemovedAfter,
    ]);
    const kasm = SCHEMAS.KasmServer.properties!.spec!.properties!;
    expect([kasm.pulls!.default, kasm.removed!.default]).toEqual([DEFAULTS.kasmPulls, DEFAULTS.kasmRemoved]);
  });
});
