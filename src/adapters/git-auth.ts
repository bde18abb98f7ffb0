/**
 * How git is told to authenticate and never prompt: pure helpers for the Git source, so the environment
 * handed to git (and what is redacted from its messages) can be checked without running git.
 */
import { isAbsolute, resolve } from "node:path";

export type RepoKind = "http" | "ssh" | "file" | "local";

/** Auth settings of a Git source; the token itself is read from `env[tokenEnv]` when used. */
export type GitAuthOptions = {
  tokenEnv?: string;
  tokenScheme?: "basic" | "bearer";
  sshKeyFile?: string;
  knownHostsFile?: string;
};

export const DEFAULT_TOKEN_ENV = "KASM_GITOPS_GIT_TOKEN";
/** GIT_* variables worth inheriting (custom CA bundles); every other GIT_* is dropped so a hook's GIT_DIR cannot leak in. */
const INHERITED_GIT_VARS = new Set(["GIT_SSL_CAINFO", "GIT_SSL_CAPATH"]);
/** Variables that make git run another program; a fetch never needs them, and simple-git refuses them. */
const DROPPED_VARS = new Set(["EDITOR", "VISUAL", "PAGER", "PREFIX", "SSH_ASKPASS"]);

/** Classifies `repo` the way git does: URL schemes, scp-like `user@host:path`, or a path on disk. */
export function repoKind(repo: string): RepoKind {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(repo)?.[1]?.toLowerCase();
  if (scheme === "http" || scheme === "https") return "http";
  if (scheme === "file") return "file";
  if (scheme) return "ssh";
  const colon = repo.indexOf(":");
  const slash = repo.indexOf("/");
  if (colon > 0 && (slash === -1 || colon < slash) && !isAbsolute(repo)) return "ssh";
  return "local";
}

/** The URL or absolute path git fetches from; local paths are resolved because git runs inside the clone. */
export function fetchUrl(repo: string, cwd = process.cwd()): string {
  return repoKind(repo) === "local" ? resolve(cwd, repo) : repo;
}

/**
 * Removes `user:password@` from every URL in `text` (and any user from HTTP URLs, where it is often a token)
 * and masks each secret, so messages are safe to log. SSH's `git@` stays: it is no secret and helps debugging.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s:]*:[^/@\s]*@/gi, "$1")
    .replace(/(https?:\/\/)[^/@\s]+@/gi, "$1");
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join("***");
  return out;
}

/** Quotes one word for the POSIX shell git runs GIT_SSH_COMMAND with. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

/** `ssh` that never prompts, with an optional dedicated key and known_hosts file. */
export function sshCommand(options: Pick<GitAuthOptions, "sshKeyFile" | "knownHostsFile">): string {
  const words = ["ssh"];
  if (options.sshKeyFile) words.push("-i", shellQuote(options.sshKeyFile), "-o", "IdentitiesOnly=yes");
  words.push("-o", "StrictHostKeyChecking=accept-new", "-o", "BatchMode=yes");
  if (options.knownHostsFile) words.push("-o", shellQuote(`UserKnownHostsFile=${options.knownHostsFile}`));
  return words.join(" ");
}

/** The `Authorization` header value for a token (Basic with GitHub's `x-access-token` user, or Bearer). */
export function authorizationHeader(token: string, scheme: "basic" | "bearer" = "basic"): string {
  return scheme === "bearer"
    ? `Bearer ${token}`
    : `Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`;
}

export type GitEnvironment = {
  env: Record<string, string>;
  /** Values to mask in any message: the token and its encoded header. */
  secrets: string[];
};

/**
 * Environment for git: no prompts, SSH key for SSH remotes, and the token as an `http.<origin>/.extraHeader`
 * passed through GIT_CONFIG_* variables, so it lands in neither argv, the remote URL nor .git/config.
 * Throws for an HTTP(S) remote when `tokenEnv` was named explicitly but is unset: a silent anonymous fetch would hide the mistake.
 */
export function gitEnvironment(
  repo: string,
  options: GitAuthOptions,
  baseEnv: NodeJS.ProcessEnv = process.env,
): GitEnvironment {
  const tokenEnv = options.tokenEnv ?? DEFAULT_TOKEN_ENV;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(baseEnv)) {
    // The token reaches git only as the header below, never as a variable its children inherit.
    if (value === undefined || key === tokenEnv) continue;
    const upper = key.toUpperCase();
    if (DROPPED_VARS.has(upper) || (upper.startsWith("GIT_") && !INHERITED_GIT_VARS.has(key))) continue;
    env[key] = value;
  }
  env.GIT_TERMINAL_PROMPT = "0";
  const kind = repoKind(repo);
  if (kind === "ssh") env.GIT_SSH_COMMAND = sshCommand(options);
  const secrets: string[] = [];
  const token = baseEnv[tokenEnv];
  if (kind === "http" && options.tokenEnv && !token) {
    throw new Error(`environment variable ${tokenEnv} (the Git token) is not set or empty`);
  }
  if (kind === "http" && token) {
    const header = authorizationHeader(token, options.tokenScheme);
    env.GIT_CONFIG_COUNT = "1";
    env.GIT_CONFIG_KEY_0 = `http.${new URL(repo).origin}/.extraHeader`;
    env.GIT_CONFIG_VALUE_0 = `Authorization: ${header}`;
    secrets.push(token, header.replace(/^\w+ /, ""));
  }
  return { env, secrets };
}

/** git's error output as one line: `fatal:`/`error:` prefixes and hints dropped, lines joined with `; `. */
export function gitErrorDetail(text: string): string {
  return text
    .split("\n")
    .map((line) =>
      line
        .trim()
        .replace(/^(fatal|error):\s*/, "")
        .replace(/\.$/, ""),
    )
    .filter((line) => line && !/^hint:/.test(line))
    .join("; ");
}
