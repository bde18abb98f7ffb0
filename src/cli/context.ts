import { resolve } from "node:path";
import {
  type AppOptions,
  createDeps,
  createLogger,
  defaultStateDir,
  type GitAuthOptions,
  lockStateDir,
} from "../app.js";
import { parseDuration } from "../core/duration.js";
import { hasCode, KasmGitopsError } from "../core/errors.js";
import { type SecretPolicy, secretPolicy } from "../core/secret-policy.js";
import { formatProblem } from "../core/validate.js";
import { loadSnapshot, type ReconcileDeps, type Snapshot } from "../engine/reconcile.js";
import type { ParsedArgs } from "./args.js";
import type { CliIo } from "./io.js";

/** The repo flags every reconciling command shares, resolved against the environment. */
export type RepoFlags = {
  repo: string;
  branch: string;
  path?: string;
  stateDir: string;
  agents: string[];
  git: GitAuthOptions;
  secrets: SecretPolicy;
  /** `--log-level`: debug shows registry requests, agent calls and plan decisions on stderr. */
  logLevel: string;
  registryTimeoutMs?: number;
};

/** `--secret-dir` (relative to the working folder) and `--secret-env`, or the defaults. */
export function secretPolicyFlag(args: ParsedArgs, io: CliIo): SecretPolicy {
  const dirs = ((args.values["secret-dir"] as string[] | undefined) ?? []).map((d) => resolve(io.cwd, d));
  const envNames = (args.values["secret-env"] as string[] | undefined) ?? [];
  return secretPolicy({ dirs, envNames }, io.env);
}

/** `--registry-timeout`: a duration of at least one second. */
function registryTimeout(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(String(value));
  if (ms === undefined || ms < 1000) {
    throw new KasmGitopsError(
      "usage",
      `--registry-timeout ${String(value)} is not a duration of at least 1s, like 30s or 2m`,
    );
  }
  return ms;
}

export function repoFlags(args: ParsedArgs, io: CliIo): RepoFlags {
  const repo = args.values.repo as string | undefined;
  if (!repo) throw new KasmGitopsError("usage", "--repo URL|PATH is required (or KASM_GITOPS_REPO)");
  const looksLocal = !/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) && !/^[^/]+@[^/]+:/.test(repo);
  return {
    repo: looksLocal ? resolve(io.cwd, repo) : repo,
    branch: (args.values.branch as string | undefined) ?? "main",
    ...(args.values.path ? { path: args.values.path as string } : {}),
    stateDir: stateDirFlag(args, io),
    agents: (args.values.agent as string[] | undefined) ?? [],
    secrets: secretPolicyFlag(args, io),
    logLevel: (args.values["log-level"] as string | undefined) ?? "info",
    ...(args.values["registry-timeout"] !== undefined
      ? { registryTimeoutMs: registryTimeout(args.values["registry-timeout"]) }
      : {}),
    git: {
      ...(args.values["git-token-env"] ? { tokenEnv: args.values["git-token-env"] as string } : {}),
      ...(args.values["git-ssh-key-file"]
        ? { sshKeyFile: resolve(io.cwd, args.values["git-ssh-key-file"] as string) }
        : {}),
      ...(args.values["git-known-hosts-file"]
        ? { knownHostsFile: resolve(io.cwd, args.values["git-known-hosts-file"] as string) }
        : {}),
    },
  };
}

/** `--state-dir`, or the default state folder, as an absolute path. */
export function stateDirFlag(args: ParsedArgs, io: CliIo): string {
  return resolve(io.cwd, (args.values["state-dir"] as string | undefined) ?? defaultStateDir(io.env));
}

export function depsFor(
  flags: RepoFlags,
  io: CliIo,
  extra: Pick<AppOptions, "onRegistryRequest" | "debugLog" | "onStateWarning"> = {},
): ReconcileDeps {
  return createDeps({
    onStateWarning: ({ message }) => io.stderr(`kasm-gitops: warning: ${message}\n`),
    repo: flags.repo,
    branch: flags.branch,
    ...(flags.path ? { path: flags.path } : {}),
    stateDir: flags.stateDir,
    env: io.env,
    git: flags.git,
    secrets: flags.secrets,
    debugLog: createLogger(flags.logLevel),
    ...(flags.registryTimeoutMs ? { registryTimeoutMs: flags.registryTimeoutMs } : {}),
    ...extra,
  });
}

/**
 * Runs `task` holding the state dir's lock: two commands on one state dir would pull twice and write the
 * ledger twice. A second command waits (saying for whom on stderr) or, with --no-wait, fails at once.
 */
export async function withStateLock<T>(
  stateDir: string,
  context: { args: ParsedArgs; io: CliIo; command: string },
  task: () => Promise<T>,
): Promise<T> {
  const { args, io, command } = context;
  const lock = await lockStateDir(stateDir, {
    command,
    noWait: args.values["no-wait"] === true,
    onWait: (message) => io.stderr(`kasm-gitops: ${message}\n`),
    ...(io.stopSignal ? { signal: io.stopSignal } : {}),
  });
  try {
    return await task();
  } finally {
    await lock.release();
  }
}

/** Prints an invalid revision's problems to stderr; other errors propagate to the CLI's handler. */
export function reportInvalid(error: unknown, io: CliIo, outcome = "nothing was planned"): boolean {
  if (!hasCode(error, "invalid-manifest")) return false;
  for (const problem of error.context.problems ?? []) io.stderr(`${formatProblem(problem)}\n`);
  io.stderr(`kasm-gitops: error: ${error.message}; ${outcome}\n`);
  return true;
}

/** Fetches and validates the branch; undefined (problems printed) when the revision is invalid. */
export async function loadOrReport(deps: ReconcileDeps, io: CliIo): Promise<Snapshot | undefined> {
  try {
    return await loadSnapshot(deps, io.stopSignal);
  } catch (error) {
    if (reportInvalid(error, io)) return undefined;
    throw error;
  }
}
