/**
 * Manifest types of `apiVersion: kasm-gitops/v1` (docs/manifests.md). schemas/*.json are the source of truth;
 * test/schema-types.test.ts keeps these types and the schemas from drifting apart.
 */

export const API_VERSION = "kasm-gitops/v1";
export type Kind = "Registry" | "Agent" | "Workspace" | "Settings" | "KasmServer" | "Notification";
export const KINDS: readonly Kind[] = [
  "Registry",
  "Agent",
  "Workspace",
  "Settings",
  "KasmServer",
  "Notification",
];

/** Where a node stands in the manifest repo, 1-based like editors count. */
export type Position = { file: string; line: number; col: number };

/** Secrets never sit in Git: a reference to an environment variable or a file. */
export type SecretRef = { env: string } | { file: string };
/** A field that may be a literal (not secret, like a user name) or a reference. */
export type ValueOrRef = string | SecretRef;

export type Metadata = { name: string; labels?: Record<string, string> };

export type RegistrySpec = {
  host: string;
  insecure?: boolean;
  auth?: { username: ValueOrRef; password: SecretRef };
};

export type AgentSpec = {
  docker: { host: string; tls?: { ca?: SecretRef; cert?: SecretRef; key?: SecretRef } };
  maxConcurrentPulls?: number;
  enabled?: boolean;
  prune?: PruneSpec;
  kasm?: AgentKasmSpec;
};

/** The Kasm agent a Docker host runs: its hostname or server_id as get_servers lists it, and its zone's name. */
export type AgentKasmSpec = { server?: string; zone?: string };

/** Which images are removed from an agent; see core/plan/prune.ts. */
export type PruneMode = "off" | "dangling" | "unused";
/** `removedAfter`: a duration (`24h`, `0s`) a Workspace removed from Git keeps its images. */
export type PruneSpec = { mode?: PruneMode; keepPrevious?: number; removedAfter?: string };

export type WorkspaceSpec = {
  friendlyName?: string;
  image: string;
  registry?: string;
  agents?: { matchLabels?: Record<string, string> };
  groups?: string[];
  enabled?: boolean;
  /** `default` | `never` | a cron expression. */
  refresh?: string;
  /** `auto`: the daemon writes the promotion itself once the digest passed its smoke test (docs/automation.md). */
  promotion?: { from: string; movingTags?: string[]; auto?: UpdateMode };
  /** A smoke test in Kasm of each new digest (`true`: the defaults); see core/kasm/smoke.ts. */
  smoke?: true | WorkspaceSmokeSpec;
  kasm?: KasmWorkspaceSpec;
  update?: UpdateSpec;
};

/** How an update policy orders a repository's tags (docs/automation.md). */
export type UpdatePolicyKind = "semver" | "numerical" | "alphabetical";
/** Where an automated update goes: a commit on the followed branch, or a branch for a merge request. */
export type UpdateMode = "commit" | "branch";
/** Which new tags of its repository a Workspace moves to, and when they are looked for. */
export type UpdateSpec = {
  policy: UpdatePolicyKind;
  /** A semver range (`>=1.16 <2`), for policy semver only; default any release. */
  range?: string;
  /** Tags that match `pattern` pass, and `extract` (default: the whole tag) is what the policy orders. */
  filter?: { pattern: string; extract?: string };
  /** A cron expression; default the refresh schedule. */
  schedule?: string;
  mode?: UpdateMode;
  /** Checked and shown, but nothing proposed (a person holds the Workspace where it is). */
  suspend?: boolean;
};

/** Durations: how long a session may take to run, and how long it is held running. */
export type WorkspaceSmokeSpec = { timeout?: string; hold?: string };

/** A JSON object Kasm keeps as a JSON-encoded string (run_config, exec_config, volume_mappings). */
export type JsonObject = Record<string, unknown>;

/** The Git-owned fields of a workspace's Kasm record; `memory` is a quantity such as 2768M or 1Gi. */
export type KasmWorkspaceSpec = {
  imageId?: string;
  description?: string;
  thumbnail?: string;
  categories?: string[];
  cores?: number;
  memory?: string;
  hidden?: boolean;
  runConfig?: JsonObject;
  execConfig?: JsonObject;
  volumeMappings?: JsonObject;
  resolution?: { width: number; height: number };
  gpus?: number;
  persistentProfilePath?: string;
  /** A duration (`2h`); `0s` for no limit. */
  sessionTimeLimit?: string;
  launchConfig?: JsonObject;
  /** Docker networks a session may join; `[]` for no restriction. */
  restrictNetworks?: string[];
  allowNetworkSelection?: boolean;
  cpuAllocationMethod?: KasmCpuAllocation;
  /** `auto`: restrict the record to the zone or agent the selector names; `any`: accept any agent, quietly. */
  placement?: KasmPlacementMode;
  /** Write the verified digest into the record's `hash`, so Kasm launches only on agents holding it. */
  pinDigest?: boolean;
};

/** How Kasm enforces a session's cores. */
export type KasmCpuAllocation = "Inherit" | "Quotas" | "Shares";
export type KasmPlacementMode = "auto" | "any";

/** Who pulls workspace images once Kasm records are managed. */
export type KasmPulls = "kasm-gitops" | "kasm";
/** What becomes of a managed record whose Workspace left Git. */
export type KasmRemoved = "disable" | "delete" | "keep";

export type KasmServerSpec = {
  url: string;
  apiKey: SecretRef;
  apiKeySecret: SecretRef;
  tls?: { ca?: SecretRef };
  pulls?: KasmPulls;
  removed?: KasmRemoved;
  /** Deadline of one API call, a duration (default 30s). */
  timeout?: string;
  /** The Kasm user smoke sessions run as. */
  smoke?: { user: string };
};

export type SettingsSpec = {
  interval?: string;
  refreshSchedule?: string;
  maxConcurrentPulls?: number;
  promotionBranch?: string;
  prune?: PruneSpec;
};

/** What a Notification can be sent for (its `spec.events`). */
export type NotificationEventKind =
  | "rollout-done"
  | "rollout-failed"
  | "promoted"
  | "drift"
  | "degraded"
  | "recovered"
  | "revision-refused"
  | "smoke-failed"
  | "update-proposed"
  | "promotion-proposed";
export const NOTIFICATION_EVENTS: readonly NotificationEventKind[] = [
  "rollout-done",
  "rollout-failed",
  "promoted",
  "drift",
  "degraded",
  "recovered",
  "revision-refused",
  "smoke-failed",
  "update-proposed",
  "promotion-proposed",
];

export type NotificationSpec = {
  type: "webhook" | "slack" | "discord";
  /** The endpoint is a secret: chat webhook URLs carry their token. */
  url: SecretRef;
  events: NotificationEventKind[];
};

type Doc<K extends Kind, S> = {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: Metadata;
  spec: S;
  /** Where the document starts; `positions` maps JSON pointers inside it to their place. */
  source: Position;
};
export type RegistryManifest = Doc<"Registry", RegistrySpec>;
export type AgentManifest = Doc<"Agent", AgentSpec>;
export type WorkspaceManifest = Doc<"Workspace", WorkspaceSpec>;
export type SettingsManifest = Doc<"Settings", SettingsSpec>;
export type KasmServerManifest = Doc<"KasmServer", KasmServerSpec>;
export type NotificationManifest = Doc<"Notification", NotificationSpec>;
export type Manifest =
  | RegistryManifest
  | AgentManifest
  | WorkspaceManifest
  | SettingsManifest
  | KasmServerManifest
  | NotificationManifest;

/** A validated manifest repo, split by kind. */
export type ManifestSet = {
  registries: RegistryManifest[];
  agents: AgentManifest[];
  workspaces: WorkspaceManifest[];
  settings?: SettingsManifest;
  kasmServer?: KasmServerManifest;
  /** Optional so sets built before the kind existed (and by other tools) stay valid. */
  notifications?: NotificationManifest[];
};

/** Stable codes of `validate`'s findings, so editors, CI and tests switch on them, not on text. */
export type ProblemCode =
  | "alias-limit"
  | "auto-promotion-without-smoke"
  | "credentials-in-url"
  | "duplicate-image-id"
  | "duplicate-item"
  | "duplicate-key"
  | "duplicate-name"
  | "file-too-large"
  | "image-missing-tag"
  | "insecure-kasm-url"
  | "invalid-cron"
  | "invalid-docker-host"
  | "invalid-duration"
  | "invalid-format"
  | "invalid-image"
  | "invalid-quantity"
  | "invalid-registry-host"
  | "invalid-secret-ref"
  | "invalid-update-policy"
  | "invalid-url"
  | "invalid-value"
  | "kasm-placement"
  | "kasm-server-missing"
  | "literal-secret"
  | "missing-property"
  | "moving-tag-is-image-tag"
  | "multiple-kasm-servers"
  | "multiple-settings"
  | "nesting-limit"
  | "not-a-mapping"
  | "out-of-range"
  | "promotion-cycle"
  | "promotion-other-repository"
  | "promotion-self"
  | "refresh-too-often"
  | "registry-host-mismatch"
  | "schema-violation"
  | "secret-not-allowed"
  | "selector-matches-nothing"
  | "smoke-without-user"
  | "tab-indent"
  | "tls-on-unix-socket"
  | "too-long"
  | "too-many-documents"
  | "too-short"
  | "unknown-kind"
  | "unknown-property"
  | "unknown-registry"
  | "unknown-workspace"
  | "unreadable-file"
  | "unresolved-alias"
  | "unsupported-api-version"
  | "wrong-type"
  | "yaml-syntax"
  | "yaml-warning";

/** One finding of `validate`, always with a real position. */
export type Problem = Position & {
  severity: "error" | "warning";
  /** Stable code, e.g. `unknown-property`, `duplicate-name`, `literal-secret`. */
  code: ProblemCode;
  message: string;
  /** The parser's own words, when the message rewrites them. */
  detail?: string;
};

/** Defaults written in the schemas and applied when a field is absent. */
export const DEFAULTS = {
  branch: "main",
  interval: "30s",
  refreshSchedule: "0 * * * *",
  maxConcurrentPulls: 2,
  promotionBranch: "main",
  kasmPulls: "kasm-gitops",
  kasmRemoved: "disable",
  pruneMode: "off",
  keepPrevious: 1,
  pruneRemovedAfter: "24h",
} as const;

/** Code-point order: the same on every machine and locale, so plans are byte-for-byte reproducible. */
export const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
