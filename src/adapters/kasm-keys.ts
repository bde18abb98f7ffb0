/**
 * Kasm 1.15's key lists for image records, in one place: what `get_images` returns, and the exact parameters
 * of the one function `create_image`/`update_image` pass `target_image` to as keyword arguments. Any key
 * outside that set is an unhandled exception (HTTP 500), so writes are built from this allowlist only, and
 * nothing else in the client spells a Kasm key.
 */
import type { KasmOwnedFields } from "../core/kasm/types.js";

/** The parameters of Kasm's image write function: the only keys a `target_image` may carry. */
export const IMAGE_WRITE_KEYS = [
  "image_id",
  "image_name",
  "cores",
  "description",
  "docker_registry",
  "docker_token",
  "docker_user",
  "enabled",
  "friendly_name",
  "hash",
  "memory",
  "name",
  "x_res",
  "y_res",
  "run_config",
  "restrict_to_network",
  "restrict_network_names",
  "restrict_to_server",
  "server_id",
  "persistent_profile_path",
  "volume_mappings",
  "image_src",
  "exec_config",
  "restrict_to_zone",
  "zone_id",
  "filter_policy_id",
  "filter_policy_force_disabled",
  "session_time_limit",
  "categories",
  "allow_network_selection",
  "require_gpu",
  "gpu_count",
  "hidden",
  "notes",
  "image_type",
  "server_pool_id",
  "link_url",
  "cpu_allocation_method",
  "uncompressed_size_mb",
  "launch_config",
] as const;

export type ImageWriteKey = (typeof IMAGE_WRITE_KEYS)[number];

const WRITABLE: ReadonlySet<string> = new Set(IMAGE_WRITE_KEYS);

/** Whether Kasm's write function takes `key`; every other key is an HTML 500. */
export const isWriteKey = (key: string): key is ImageWriteKey => WRITABLE.has(key);

/** Keys Kasm wants as JSON text on write (it returns them as objects). */
export const JSON_TEXT_KEYS: ReadonlySet<ImageWriteKey> = new Set([
  "run_config",
  "exec_config",
  "volume_mappings",
  "launch_config",
]);

/** Keys Kasm wants as one newline-joined string on write (it returns a list). */
export const NEWLINE_LIST_KEYS: ReadonlySet<ImageWriteKey> = new Set(["categories"]);

/** Keys Kasm converts to numbers: anything else there is an HTML 500. */
export const NUMBER_KEYS: ReadonlySet<ImageWriteKey> = new Set(["cores", "memory", "x_res", "y_res"]);

/** Keys where Kasm keeps the stored value when given null, and stores null for an empty string. */
export const EMPTY_CLEARS_KEYS: ReadonlySet<ImageWriteKey> = new Set(["session_time_limit"]);

/** The record's id, which a write names and a read always carries. */
export const IMAGE_ID = "image_id" satisfies ImageWriteKey;
/** The registry token: masked on read, kept when the mask is sent back, cleared by an empty value. */
export const TOKEN_KEY = "docker_token" satisfies ImageWriteKey;
/** How Kasm shows a stored registry token; sent back unchanged, it keeps the token. */
export const MASKED_TOKEN = "**********";
/** Kasm's own view of whether an agent can launch the record (read-only, derived). */
export const AVAILABLE_KEY = "available";

/** Each field kasm-gitops owns, as Kasm's key. */
export const FIELD_KEYS = {
  name: "name",
  friendlyName: "friendly_name",
  description: "description",
  thumbnail: "image_src",
  categories: "categories",
  cores: "cores",
  memory: "memory",
  enabled: "enabled",
  hidden: "hidden",
  runConfig: "run_config",
  execConfig: "exec_config",
  volumeMappings: "volume_mappings",
  dockerRegistry: "docker_registry",
  dockerUser: "docker_user",
  notes: "notes",
  xRes: "x_res",
  yRes: "y_res",
  gpuCount: "gpu_count",
  persistentProfilePath: "persistent_profile_path",
  sessionTimeLimit: "session_time_limit",
  launchConfig: "launch_config",
  restrictToNetwork: "restrict_to_network",
  restrictNetworkNames: "restrict_network_names",
  allowNetworkSelection: "allow_network_selection",
  cpuAllocationMethod: "cpu_allocation_method",
  restrictToZone: "restrict_to_zone",
  zoneId: "zone_id",
  restrictToServer: "restrict_to_server",
  serverId: "server_id",
  hash: "hash",
} as const satisfies Record<keyof KasmOwnedFields, ImageWriteKey>;

/** What import reads of a record beyond the fields kasm-gitops owns: its kind, and where Kasm runs it. */
export const PLACEMENT_KEYS = {
  imageType: "image_type",
  restrictToZone: "restrict_to_zone",
  zoneId: "zone_id",
  zoneName: "zone_name",
  serverId: "server_id",
} as const;

/** The keys of a group and of a group's image row, as get_groups and get_images_group answer them. */
export const GROUP_KEYS = { id: "group_id", name: "name", description: "description", isSystem: "is_system" };
export const GROUP_ROW_KEYS = { id: "group_image_id", groupId: "group_id", imageId: "image_id" };

/** The keys of a get_servers entry and of a get_zones entry (Kasm's agents and zones). */
export const SERVER_KEYS = {
  id: "server_id",
  type: "server_type",
  hostname: "hostname",
  enabled: "enabled",
  status: "operational_status",
  zoneId: "zone_id",
  zoneName: "zone_name",
  images: "docker_images",
  imageTags: "tags",
  imageDigests: "RepoDigests",
  lastReported: "last_reported",
} as const;
export const ZONE_KEYS = { id: "zone_id", name: "zone_name" } as const;

/** Where each answer keeps what it returns. */
export const ANSWER_KEYS = {
  get_servers: "servers",
  get_zones: "zones",
  get_images: "images",
  create_image: "image",
  update_image: "image",
  get_groups: "groups",
  get_images_group: "images",
} as const;

/** The session calls (smoke tests) and the keys of their bodies and answers. */
export const SESSION_FUNCTIONS = {
  findUser: "get_user",
  request: "request_kasm",
  status: "get_kasm_status",
  destroy: "destroy_kasm",
  list: "get_kasms",
} as const;
export const SESSION_KEYS = {
  targetUser: "target_user",
  user: "user",
  username: "username",
  userId: "user_id",
  imageId: "image_id",
  kasmId: "kasm_id",
  kasm: "kasm",
  kasms: "kasms",
  serverId: "server_id",
  containerId: "container_id",
  status: "operational_status",
} as const;
/** The permissions a key needs to start, watch and destroy a session as another user. */
export const SESSION_PERMISSIONS = ["USER", "USERS_AUTH_SESSION"] as const;
/** What get_kasm_status says until a session runs: `This session is currently <status>.` */
export const NOT_RUNNING_PATTERN = /^This session is currently (\w+)\.$/;

/** The bodies of the calls that name a record or a group. */
export const targetImage = (imageId: string) => ({ target_image: { [IMAGE_ID]: imageId } });
export const targetGroup = (groupId: string) => ({ target_group: { [GROUP_KEYS.id]: groupId } });
