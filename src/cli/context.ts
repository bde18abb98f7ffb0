import { resolve } from "node:path";
import {
  type AppOptions,
  createDeps,
  defaultStateDir,
  type GitAuthOptions,
  manifestSubpath,
  openCheckout,
  redact,
  repoKind,
} from "../app.js";
import { hasCode, KasmGitopsError } from "../core/errors.js";
import type { Plan } from "../core/plan-types.js";
import { closest } from "../core/suggest.js";
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
};

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
  extra: Pick<AppOptions, "onRegistryRequest"> = {},
): ReconcileDeps {
  return createDeps({
    repo: flags.repo,
    branch: flags.branch,
    ...(flags.path ? { path: flags.path } : {}),
    stateDir: flags.stateDir,
    env: io.env,
    git: flags.git,
    ...extra,
  });
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
