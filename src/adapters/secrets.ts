/**
 * Resolves `{env: NAME}` and `{file: /path}` references at the moment of use, so secrets never sit in Git,
 * in plans or in logs; errors name the reference, never a value.
 */
import { readFile, realpath, stat } from "node:fs/promises";
import { KasmGitopsError } from "../core/errors.js";
import { type SecretPolicy, secretRefRefusal } from "../core/manifest/secret-policy.js";
import type { RegistrySpec, SecretRef, ValueOrRef } from "../core/manifest/types.js";
import type { Credentials } from "../ports.js";

/** How a reference reads in a message: `{env: NAME}` or `{file: /path}`, as the manifest writes it. */
export function describeSecretRef(ref: SecretRef): string {
  return "env" in ref ? `{env: ${ref.env}}` : `{file: ${ref.file}}`;
}

function unresolved(ref: SecretRef, why: string, cause?: unknown): KasmGitopsError {
  return new KasmGitopsError(
    "secret-unresolved",
    `secret reference ${describeSecretRef(ref)} cannot be resolved: ${why}`,
    { reference: describeSecretRef(ref) },
    cause === undefined ? {} : { cause },
  );
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: "the file does not exist",
  EACCES: "the file is not readable by this process",
  EPERM: "the file is not readable by this process",
  EISDIR: "the path is a directory, not a file",
};

/** Certificates and tokens are small; anything larger is not what the reference meant. */
const MAX_SECRET_BYTES = 1 << 20;

function notAllowed(ref: SecretRef, why: string): KasmGitopsError {
  return new KasmGitopsError("secret-not-allowed", `secret reference ${why}`, {
    reference: describeSecretRef(ref),
  });
}

/** The secret folders with their links resolved, so a folder given through a link still matches. */
async function resolvedPolicy(policy: SecretPolicy): Promise<SecretPolicy> {
  const dirs = await Promise.all(policy.dirs.map((dir) => realpath(dir).catch(() => dir)));
  return { ...policy, dirs: [...new Set([...policy.dirs, ...dirs])] };
}

/**
 * A literal is returned as is; a reference is read from the environment or a file, only when `policy`
 * allows it (a file is checked after its links are resolved, so a link in a secret folder cannot reach out).
 */
export async function resolveSecret(
  value: ValueOrRef,
  env: NodeJS.ProcessEnv,
  policy: SecretPolicy,
): Promise<string> {
  if (typeof value === "string") return value;
  const lexical = secretRefRefusal(value, policy);
  if (lexical) throw notAllowed(value, lexical);
  if ("env" in value) {
    const resolved = env[value.env];
    if (resolved === undefined) throw unresolved(value, `environment variable ${value.env} is not set`);
    if (resolved === "") throw unresolved(value, `environment variable ${value.env} is empty`);
    return resolved;
  }
  let content: string;
  try {
    const real = await realpath(value.file);
    const refusal = secretRefRefusal(value, await resolvedPolicy(policy), real);
    if (refusal) throw notAllowed(value, refusal);
    const info = await stat(real);
    if (info.isDirectory()) throw Object.assign(new Error("directory"), { code: "EISDIR" });
    if (!info.isFile()) throw unresolved(value, "the path is not a regular file");
    if (info.size > MAX_SECRET_BYTES) throw unresolved(value, "the file is larger than 1 MiB");
    content = await readFile(real, "utf8");
  } catch (error) {
    if (error instanceof KasmGitopsError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? "";
    // The fs error names only the path, so it is safe as a cause.
    throw unresolved(value, FILE_ERRORS[code] ?? `the file cannot be read (${code || "error"})`, error);
  }
  // Files written by `echo` or editors end with a newline that is not part of the secret.
  const secret = content.replace(/\r?\n$/, "");
  if (secret === "") throw unresolved(value, "the file is empty");
  return secret;
}

/** A Registry's `spec.auth` with both fields resolved; undefined when the Registry has no auth. */
export async function resolveCredentials(
  auth: RegistrySpec["auth"] | undefined,
  env: NodeJS.ProcessEnv,
  policy: SecretPolicy,
): Promise<Credentials | undefined> {
  if (!auth) return undefined;
  const [username, password] = await Promise.all([
    resolveSecret(auth.username, env, policy),
    resolveSecret(auth.password, env, policy),
  ]);
  return { username, password };
}
