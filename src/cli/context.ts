import { resolve } from "node:path";
import { type AppOptions, createDeps, defaultStateDir, type GitAuthOptions } from "../app.js";
import { hasCode, KasmGitopsError } from "../core/errors.js";
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
export async function loadOrReport(deps: ReconcileDeps, io: CliIo): Promise<Snapshot | undefined> {
  try {
    return await loadSnapshot(deps, io.stopSignal);
  } catch (error) {
    if (reportInvalid(error, io)) return undefined;
    throw error;
  }
}
