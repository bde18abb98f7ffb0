import { posix } from "node:path";
import { field, type Identified } from "./rule-context.js";
import type { Kind, SecretRef } from "./types.js";

/** Variables a manifest may read without being listed: named for the purpose, so no other secret leaks. */
export const SECRET_ENV_PREFIX = "KASM_SECRET_";

/**
 * Which secrets a manifest may reference: whoever can commit to the manifest repo must not be able to send
 * the daemon's other files or variables to a registry of their choosing.
 */
export type SecretPolicy = {
  /** Absolute folders a `{file:}` must resolve inside. */
  dirs: readonly string[];
  /** Variables allowed besides KASM_SECRET_*. */
  envNames: readonly string[];
};

/** `/run/secrets` (Docker, Swarm, Compose) and systemd's `$CREDENTIALS_DIRECTORY` when set. */
export function defaultSecretDirs(env: Record<string, string | undefined>): string[] {
  return ["/run/secrets", ...(env.CREDENTIALS_DIRECTORY ? [env.CREDENTIALS_DIRECTORY] : [])];
}

/** The policy from `--secret-dir`/`--secret-env` (or their variables); no folder given means the defaults. */
export function secretPolicy(
  flags: { dirs?: readonly string[]; envNames?: readonly string[] },
  env: Record<string, string | undefined>,
): SecretPolicy {
  const dirs = flags.dirs?.length ? flags.dirs : defaultSecretDirs(env);
  return {
    dirs: dirs.map((d) => posix.normalize(d).replace(/(.)\/+$/, "$1")),
    envNames: flags.envNames ?? [],
  };
}

/** True when `path` is `dir` or below it, compared as normalised absolute paths. */
export const isInsideDir = (path: string, dir: string): boolean =>
  path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);

/** Why a reference is not allowed (and how to allow it), or undefined when it is; `file` is the path to check. */
export function secretRefRefusal(ref: SecretRef, policy: SecretPolicy, file?: string): string | undefined {
  if ("env" in ref) {
    if (ref.env.startsWith(SECRET_ENV_PREFIX) || policy.envNames.includes(ref.env)) return undefined;
    return `{env: ${ref.env}} is not a secret variable: only variables named ${SECRET_ENV_PREFIX}* or listed with --secret-env ${ref.env} (KASM_GITOPS_SECRET_ENV) may be read; rename it to ${SECRET_ENV_PREFIX}${ref.env} or allow it`;
  }
  const path = posix.normalize(file ?? ref.file);
  if (posix.isAbsolute(path) && policy.dirs.some((dir) => isInsideDir(path, dir))) return undefined;
  const resolved = file && file !== ref.file ? ` (it resolves to ${file})` : "";
  return `{file: ${ref.file}}${resolved} is outside the secret folders (${policy.dirs.join(", ")}): move the file into one, or allow its folder with --secret-dir ${posix.dirname(path)} (KASM_GITOPS_SECRET_DIR, ':'-separated)`;
}

/** Where secret references sit in each kind. */
const SECRET_POINTERS: Partial<Record<Kind, string[]>> = {
  Registry: ["/spec/auth/username", "/spec/auth/password"],
  Agent: ["/spec/docker/tls/ca", "/spec/docker/tls/cert", "/spec/docker/tls/key"],
  KasmServer: ["/spec/apiKey", "/spec/apiKeySecret", "/spec/tls/ca"],
};

const asRef = (value: unknown): SecretRef | undefined =>
  value !== null && typeof value === "object" && ("env" in value || "file" in value)
    ? (value as SecretRef)
    : undefined;

/**
 * Adds a finding for every reference the policy refuses: an error where it will be resolved (plan, apply,
 * run), a warning for `validate`, which may run where the secrets and flags are not.
 */
export function checkSecretRefs(
  items: readonly Identified[],
  policy: SecretPolicy,
  severity: "error" | "warning",
): void {
  for (const item of items) {
    for (const pointer of SECRET_POINTERS[item.kind] ?? []) {
      const ref = asRef(field(item, pointer));
      const refusal = ref && secretRefRefusal(ref, policy);
      if (refusal)
        item.ref.add({
          pointer,
          part: "value",
          code: "secret-not-allowed",
          severity,
          message: `${pointer.slice(1).replaceAll("/", ".")}: ${refusal}`,
        });
    }
  }
}
