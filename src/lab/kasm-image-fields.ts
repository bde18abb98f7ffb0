/**
 * The Kasm image record as the stand-in stores, validates and reads it back: one table of writable keys
 * with their wire kind, so create, update (which resets every key it is not given) and reads agree.
 */

/** How a writable key travels on the wire, which decides its validation and its default. */
export type FieldKind =
  | "string"
  | "nullable-string"
  | "bool"
  | "int"
  | "cores"
  | "categories"
  | "json"
  | "token"
  | "image-type";

/** Every key create_image and update_image accept inside `target_image` (image_id only identifies). */
export const WRITABLE_FIELDS = {
  name: "string",
  friendly_name: "string",
  description: "string",
  image_src: "string",
  categories: "categories",
  cores: "cores",
  memory: "int",
  gpu_count: "int",
  enabled: "bool",
  hidden: "bool",
  run_config: "json",
  exec_config: "json",
  volume_mappings: "json",
  launch_config: "json",
  docker_registry: "nullable-string",
  docker_user: "nullable-string",
  docker_token: "token",
  notes: "nullable-string",
  persistent_profile_path: "nullable-string",
  restrict_to_network: "bool",
  restrict_to_zone: "bool",
  zone_id: "nullable-string",
  server_id: "nullable-string",
  image_type: "image-type",
  x_res: "int",
  y_res: "int",
  uncompressed_size_mb: "int",
} as const satisfies Record<string, FieldKind>;

export type WritableKey = keyof typeof WRITABLE_FIELDS;

/** Keys a read carries that Kasm derives itself; sending one back is an unknown key (HTML 500). */
export const READ_ONLY_KEYS = ["available", "zone_name", "image_attributes", "created"] as const;

/** The masked value reads show for a stored docker_token; sent back on update it keeps the stored one. */
export const MASKED_TOKEN = "**********";

/** An image as the stand-in keeps it (categories a list, the token in clear). */
export type StoredImage = {
  image_id: string;
  name: string;
  friendly_name: string;
  description: string;
  image_src: string;
  categories: string[];
  cores: number;
  memory: number;
  gpu_count: number;
  enabled: boolean;
  hidden: boolean;
  run_config: string;
  exec_config: string;
  volume_mappings: string;
  launch_config: string;
  docker_registry: string | null;
  docker_user: string | null;
  docker_token: string | null;
  notes: string | null;
  persistent_profile_path: string | null;
  restrict_to_network: boolean;
  restrict_to_zone: boolean;
  zone_id: string | null;
  server_id: string | null;
  image_type: string;
  x_res: number;
  y_res: number;
  uncompressed_size_mb: number;
  available: boolean;
  created: string;
};

const DEFAULTS: Record<FieldKind, () => unknown> = {
  string: () => "",
  "nullable-string": () => null,
  bool: () => false,
  int: () => 0,
  cores: () => 0,
  categories: () => [],
  json: () => "{}",
  token: () => null,
  "image-type": () => "Container",
};

/** A record with every writable key at the default an update gives a key it is not sent. */
export function defaultImage(imageId: string, created: string): StoredImage {
  const record: Record<string, unknown> = { image_id: imageId, available: true, created };
  for (const [key, kind] of Object.entries(WRITABLE_FIELDS)) record[key] = DEFAULTS[kind]();
  return record as StoredImage;
}

/** Why a value is refused for its key, or undefined when it is fine. */
export function fieldProblem(key: WritableKey, value: unknown): string | undefined {
  const kind: FieldKind = WRITABLE_FIELDS[key];
  switch (kind) {
    case "string":
      return typeof value === "string" ? undefined : `${key} must be a string`;
    case "nullable-string":
    case "token":
      return value === null || typeof value === "string" ? undefined : `${key} must be a string or null`;
    case "bool":
      return typeof value === "boolean" ? undefined : `${key} must be true or false`;
    case "int":
      return Number.isInteger(value) && (value as number) >= 0
        ? undefined
        : `${key} must be a whole number of at least 0`;
    case "cores":
      return typeof value === "number" && Number.isFinite(value) && value > 0
        ? undefined
        : "cores must be a number greater than 0";
    case "categories":
      return typeof value === "string" ? undefined : "categories must be a newline-separated string";
    case "json":
      return jsonProblem(key, value);
    case "image-type":
      return value === "Container" ? undefined : "image_type must be Container";
  }
}

function jsonProblem(key: string, value: unknown): string | undefined {
  if (typeof value !== "string") return `${key} must be a JSON-encoded string`;
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      return `${key} must encode a JSON object`;
    }
    return undefined;
  } catch {
    return `${key} is not valid JSON`;
  }
}

/** The stored form of a valid wire value (categories split on newlines). */
export function storedValue(key: WritableKey, value: unknown): unknown {
  if (WRITABLE_FIELDS[key] === "categories") {
    return (value as string)
      .split("\n")
      .map((c) => c.trim())
      .filter((c) => c !== "");
  }
  return value;
}

/** The record as get_images and the write answers show it: token masked, derived keys filled in. */
export function readImage(image: StoredImage, zoneName: string | null = null): Record<string, unknown> {
  return {
    ...structuredClone(image),
    docker_token: image.docker_token === null ? null : MASKED_TOKEN,
    zone_name: zoneName,
    image_attributes: [],
  };
}
