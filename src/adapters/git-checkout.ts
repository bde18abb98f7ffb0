/**
 * An administrator's own checkout of the manifest repo, on simple-git: what `promote` needs to commit one
 * edited file and push a branch for a merge request. Failures are `git-failed` with git's words, no secrets.
 */
import { GitError, GitPluginError, type SimpleGit, simpleGit } from "simple-git";
import { KasmGitopsError } from "../core/errors.js";
import { gitEnvironment, gitErrorDetail, redact } from "./git-auth.js";

/** Variables of the user's shell that git commit should still see: who is committing, and their config. */
const IDENTITY_VARS = [
  "GIT_AUTHOR_NAME",
  "GIT_AUTHOR_EMAIL",
  "GIT_COMMITTER_NAME",
  "GIT_COMMITTER_EMAIL",
  "GIT_CONFIG_GLOBAL",
  "GIT_CONFIG_NOSYSTEM",
];
const TIMEOUT_MS = 120_000;

export type LocalCheckout = {
  /** The working tree's top folder. */
  root: string;
  /** `git status --porcelain` lines for uncommitted (or untracked) changes under `path`. */
  changes(path: string): Promise<string[]>;
  /** The checked-out branch, or undefined on a detached HEAD. */
  currentBranch(): Promise<string | undefined>;
  /** The commit HEAD points at. */
  head(): Promise<string>;
  branchExists(name: string): Promise<boolean>;
  remoteUrl(name: string): Promise<string | undefined>;
  /** Creates `name` at HEAD and checks it out (uncommitted changes elsewhere come along, as with `git switch -c`). */
  createBranch(name: string): Promise<void>;
  /** Undoes createBranch after a failed commit: back to `previous` (a branch or commit), `name` deleted. */
  dropBranch(name: string, previous: string): Promise<void>;
  /**
   * Commits exactly this file (other staged changes stay staged) and returns the new commit; `sign` signs it
   * with the user's configured key (`git commit -S`: user.signingkey, gpg.format), failing when git cannot.
   */
  commitFile(path: string, subject: string, body: string, sign?: boolean): Promise<string>;
  /** Pushes the local branch to `origin` under the same name, setting it as upstream. */
  push(branch: string): Promise<void>;
};

function environment(repo: string, env: Record<string, string | undefined>) {
  const { env: base, secrets } = gitEnvironment(repo, {}, env);
  for (const key of IDENTITY_VARS) if (env[key] !== undefined) base[key] = env[key]!;
  return { env: base, secrets };
}

function client(dir: string, env: Record<string, string>): SimpleGit {
  return simpleGit({
    baseDir: dir,
    timeout: { block: TIMEOUT_MS },
    allowEnvironment: Object.keys(env).filter((key) => key.toUpperCase().startsWith("GIT_")),
    unsafe: { allowUnsafeConfigEnvCount: true, allowUnsafeSshCommand: true },
  }).env(env);
}

/** Opens the checkout that holds `dir`; an error says when `dir` is no Git working tree. */
export async function openCheckout(
  dir: string,
  processEnv: Record<string, string | undefined>,
): Promise<LocalCheckout> {
  const local = environment(dir, processEnv);
  const fail = (what: string, error: unknown, secrets = local.secrets) => {
    const text =
      error instanceof GitPluginError && error.plugin === "timeout"
        ? "timed out with no output from git"
        : gitErrorDetail(
            error instanceof GitError ? error.message : String((error as Error)?.message ?? error),
          );
    return new KasmGitopsError(
      "git-failed",
      redact(`${what} failed: ${text}`, secrets),
      { dir },
      { cause: error },
    );
  };
  let git: SimpleGit;
  let root: string;
  try {
    git = client(dir, local.env);
    root = (await git.raw(["rev-parse", "--show-toplevel"])).trim();
  } catch (error) {
    throw fail(`opening the Git checkout at ${dir}`, error);
  }
  const run = async (args: string[], what: string) => {
    try {
      return await git.raw(args);
    } catch (error) {
      throw fail(what, error);
    }
  };
  const remoteUrl = async (name: string) => {
    const out = await git.raw(["remote", "get-url", name]).catch(() => "");
    return out.trim() || undefined;
  };

  return {
    root,
    async changes(path) {
      const out = await run(["status", "--porcelain", "--untracked-files=all", "--", path], "git status");
      return out.split("\n").filter((line) => line.trim() !== "");
    },
    async currentBranch() {
      const out = await git.raw(["symbolic-ref", "--quiet", "--short", "HEAD"]).catch(() => "");
      return out.trim() || undefined;
    },
    head: async () => (await run(["rev-parse", "HEAD"], "git rev-parse")).trim(),
    // Not `rev-parse --verify --quiet`: simple-git resolves a failing command that writes no stderr.
    branchExists: async (name) => (await run(["branch", "--list", name], "git branch")).trim() !== "",
    remoteUrl,
    async createBranch(name) {
      await run(["checkout", "--quiet", "-b", name], `creating branch "${name}"`);
    },
    async dropBranch(name, previous) {
      await run(["checkout", "--quiet", previous], `switching back to "${previous}"`);
      await run(["branch", "--quiet", "-D", name], `deleting branch "${name}"`);
    },
    async commitFile(path, subject, body, sign = false) {
      const signing = sign ? ["-S"] : [];
      await run(
        ["commit", "--quiet", ...signing, "-m", subject, "-m", body, "--only", "--", path],
        sign ? "git commit -S (signing with your configured key)" : "git commit",
      );
      return (await run(["rev-parse", "HEAD"], "git rev-parse")).trim();
    },
    async push(branch) {
      const url = (await remoteUrl("origin")) ?? "origin";
      const remote = environment(url, processEnv);
      try {
        await client(root, remote.env).raw([
          "push",
          "--quiet",
          "--set-upstream",
          "origin",
          `refs/heads/${branch}:refs/heads/${branch}`,
        ]);
      } catch (error) {
        throw fail(
          `pushing branch "${branch}" to origin (${redact(url, remote.secrets)})`,
          error,
          remote.secrets,
        );
      }
    },
  };
}
