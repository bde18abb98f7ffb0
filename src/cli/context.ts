import { resolve } from "node:path";
import {
  type AppOptions,
  createDeps,
  createLogger,
  defaultStateDir,
  type GitAuthOptions,
  LOG_FORMATS,
  type LogFormat,
  lockStateDir,
  manifestSubpath,
  openCheckout,
  redact,
  repoKind,
} from "../app.js";
import { parseDuration } from "../core/duration.js";
import { hasCode, KasmGitopsError } from "../core/errors.js";
import { type SecretPolicy, secretPolicy } from "../core/manifest/secret-policy.js";
import { formatProblem } from "../core/manifest/validate.js";
import type { Plan } from "../core/plan/types.js";
import { VERIFY_MODES, type VerifyMode } from "../core/revision/trust.js";
import { closest } from "../core/suggest.js";
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
  /** `--log-format`: JSON lines for machines, or pretty lines for people. */
  logFormat: LogFormat;
  registryTimeoutMs?: number;
  /** --verify-commits with its key file; absent: revisions are used unsigned. */
  verifyCommits?: { mode: VerifyMode; file: string };
};

/** `--secret-dir` (relative to the working folder) and `--secret-env`, or the defaults. */
export function secretPolicyFlag(args: ParsedArgs, io: CliIo): SecretPolicy {
  const dirs = ((args.values["secret-dir"] as string[] | undefined) ?? []).map((d) => resolve(io.cwd, d));
  const envNames = (args.values["secret-env"] as string[] | undefined) ?? [];
  return secretPolicy({ dirs, envNames }, io.env);
}

/** A duration flag (`--interval`, `--grace`, `--registry-timeout`): at least one second, like 30s or 2m. */
export function durationFlag(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(String(value));
  if (ms === undefined || ms < 1000) {
    throw new KasmGitopsError(
      "usage",
      `--${flag} ${String(value)} is not a duration of at least 1s, like 30s, 2m or 1h`,
    );
  }
  return ms;
}

/** The key file flag each --verify-commits mode needs. */
const KEY_FLAG: Record<VerifyMode, string> = { ssh: "allowed-signers", openpgp: "trusted-keys" };

/** --verify-commits and its key file; a key file without the mode, or the other mode's file, is refused. */
export function trustFlags(args: ParsedArgs, io: CliIo): RepoFlags["verifyCommits"] {
  const mode = args.values["verify-commits"] as string | undefined;
  const given = VERIFY_MODES.filter((m) => args.values[KEY_FLAG[m]] !== undefined);
  if (mode === undefined) {
    if (given.length === 0) return undefined;
    throw new KasmGitopsError(
      "usage",
      `--${KEY_FLAG[given[0]!]} needs --verify-commits ${given[0]} (or KASM_GITOPS_VERIFY_COMMITS=${given[0]}); without it nothing is verified`,
    );
  }
  if (!VERIFY_MODES.includes(mode as VerifyMode)) {
    throw new KasmGitopsError("usage", `--verify-commits ${mode}: use ssh or openpgp`);
  }
  const flag = KEY_FLAG[mode as VerifyMode];
  const other = given.find((m) => m !== mode);
  if (other)
    throw new KasmGitopsError("usage", `--${KEY_FLAG[other]} is for --verify-commits ${other}, not ${mode}`);
  const file = args.values[flag] as string | undefined;
  if (!file) throw new KasmGitopsError("usage", `--verify-commits ${mode} needs --${flag} FILE`);
  return { mode: mode as VerifyMode, file: resolve(io.cwd, file) };
}

export function repoFlags(args: ParsedArgs, io: CliIo): RepoFlags {
  const repo = args.values.repo as string | undefined;
  if (!repo) throw new KasmGitopsError("usage", "--repo URL|PATH is required (or KASM_GITOPS_REPO)");
  const verifyCommits = trustFlags(args, io);
  const looksLocal = !/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) && !/^[^/]+@[^/]+:/.test(repo);
  return {
    repo: looksLocal ? resolve(io.cwd, repo) : repo,
    branch: (args.values.branch as string | undefined) ?? "main",
    ...(args.values.path ? { path: args.values.path as string } : {}),
    stateDir: stateDirFlag(args, io),
    agents: (args.values.agent as string[] | undefined) ?? [],
    secrets: secretPolicyFlag(args, io),
    ...logFlags(args),
    ...(args.values["registry-timeout"] !== undefined
      ? { registryTimeoutMs: durationFlag("registry-timeout", args.values["registry-timeout"]) }
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
    ...(verifyCommits ? { verifyCommits } : {}),
  };
}

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

/** One of `allowed`, or a usage error naming the flag, the choices and what a typo most likely meant. */
function choice(flag: string, value: string, allowed: readonly string[]): string {
  if (allowed.includes(value)) return value;
  const guess = closest(value, allowed);
  throw new KasmGitopsError(
    "usage",
    `--${flag} ${value}: use ${allowed.join(", ")}${guess ? `; did you mean ${guess}?` : ""}`,
  );
}

/** `--log-level` and `--log-format`, checked before anything runs. */
export function logFlags(args: ParsedArgs): Pick<RepoFlags, "logLevel" | "logFormat"> {
  const level = choice("log-level", (args.values["log-level"] as string | undefined) ?? "info", LOG_LEVELS);
  const format = choice(
    "log-format",
    (args.values["log-format"] as string | undefined) ?? "json",
    LOG_FORMATS,
  );
  return { logLevel: level, logFormat: format as LogFormat };
}

/** The command's logger: on stderr, in the chosen format, coloured only on a terminal without NO_COLOR. */
export function cliLogger(flags: Pick<RepoFlags, "logLevel" | "logFormat">, io: CliIo) {
  return createLogger(flags.logLevel, {
    format: flags.logFormat,
    color: Boolean(io.stderrTTY) && !io.env.NO_COLOR,
  });
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
    debugLog: cliLogger(flags, io),
    ...(flags.registryTimeoutMs ? { registryTimeoutMs: flags.registryTimeoutMs } : {}),
    ...(flags.verifyCommits ? { verifyCommits: flags.verifyCommits } : {}),
    ...extra,
  });
}

/** Reads the trusted keys before anything is fetched: a malformed file stops the command at once. */
export async function checkTrustedKeys(deps: ReconcileDeps, io: CliIo): Promise<string[]> {
  return deps.verifier ? deps.verifier.check(io.stopSignal) : [];
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
export async function loadOrReport(
  deps: ReconcileDeps,
  io: CliIo,
  flags?: Pick<RepoFlags, "agents" | "branch">,
): Promise<Snapshot | undefined> {
  let snapshot: Snapshot;
  try {
    snapshot = await loadSnapshot(deps, io.stopSignal);
  } catch (error) {
    if (reportInvalid(error, io)) return undefined;
    throw error;
  }
  if (flags) checkAgentNames(flags, snapshot);
  return snapshot;
}

/** `--agent` must name agents of the revision: a typo would otherwise plan nothing and look converged. */
export function checkAgentNames(flags: Pick<RepoFlags, "agents" | "branch">, snapshot: Snapshot): void {
  const known = snapshot.set.agents.map((a) => a.metadata.name);
  const unknown = flags.agents.filter((name) => !known.includes(name));
  if (unknown.length === 0) return;
  const hints = unknown.map((name) => closest(name, known)).filter(Boolean);
  throw new KasmGitopsError(
    "usage",
    `--agent ${unknown.join(", ")}: no such agent on branch ${flags.branch} (agents: ${known.join(", ") || "none"})${
      hints.length ? `; did you mean ${hints.join(", ")}?` : ""
    }`,
  );
}

/** Where a plan was read from, without credentials, for the plan file (`apply PLANFILE` reads it back). */
export function planSource(flags: RepoFlags): NonNullable<Plan["source"]> {
  return { repo: redact(flags.repo), ...(flags.path ? { path: flags.path } : {}) };
}

/**
 * Only commits are planned: when `--repo` is a local working tree with uncommitted or untracked files under
 * the manifest path, says so on stderr, naming them. A bare repo or no checkout at all says nothing.
 */
export async function warnUncommitted(flags: RepoFlags, io: CliIo): Promise<void> {
  if (repoKind(flags.repo) !== "local") return;
  let lines: string[];
  try {
    const checkout = await openCheckout(flags.repo, io.env);
    lines = await checkout.changes(manifestSubpath(flags.path) || ".");
  } catch {
    return;
  }
  if (lines.length === 0) return;
  const files = lines.map((line) => line.slice(3).replace(/^.* -> /, ""));
  io.stderr(
    `kasm-gitops: warning: uncommitted changes were not planned (only commits on branch ${flags.branch} are): ${files.join(", ")}\n`,
  );
}
