/** A command's session: its logger, its dependencies, the state dir's lock, and loading a revision with a report. */
import {
  type AppOptions,
  createDeps,
  createLogger,
  lockStateDir,
  manifestSubpath,
  openCheckout,
  redact,
  repoKind,
} from "../app.js";
import { hasCode, KasmGitopsError } from "../core/errors.js";
import { formatProblem } from "../core/manifest/validate.js";
import type { Plan } from "../core/plan/types.js";
import { closest } from "../core/suggest.js";
import type { ReconcileDeps } from "../engine/cycle.js";
import { loadSnapshot, type Snapshot } from "../engine/snapshot.js";
import type { ParsedArgs } from "./args.js";
import type { Command } from "./command.js";
import { type RepoFlags, stateDirFlag } from "./flags.js";
import type { CliIo } from "./io.js";

/** The command's logger: on stderr, in the chosen format, coloured only on a terminal without NO_COLOR. */
export function cliLogger(flags: Pick<RepoFlags, "logLevel" | "logFormat">, io: CliIo) {
  return createLogger(flags.logLevel, {
    format: flags.logFormat,
    color: Boolean(io.stderrTTY) && !io.env.NO_COLOR,
  });
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
    ...(flags.kasmReportWaitMs ? { kasmReportWaitMs: flags.kasmReportWaitMs } : {}),
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

/** A command that uses the state dir runs holding its lock, the daemon for its whole life. */
export const locked =
  (name: string, run: Command["run"]): Command["run"] =>
  (context) =>
    withStateLock(stateDirFlag(context.args, context.io), { ...context, command: name }, () => run(context));
