/**
 * An administrator's own checkout of the manifest repo, on simple-git: what `promote` needs to commit one
 * edited file and push a branch for a merge request. Failures are `git-failed` with git's words, no secrets.
 */
import { readFile, writeFile } from "node:fs/promises";
import { GitError, GitPluginError, type SimpleGit, simpleGit } from "simple-git";
import { KasmGitopsError } from "../core/errors.js";
import type { LocalCheckout } from "../ports.js";
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

function environment(repo: string, env: Record<string, string | undefined>) {
  const { env: base, secrets } = gitEnvironment(repo, {}, env);
  for (const key of IDENTITY_VARS) if (env[key] !== undefined) base[key] = env[key]!;
  return { env: base, secrets };
}

/**
 * simple-git refuses config-path variables unless allowed. The only one forwarded is the user's own
 * GIT_CONFIG_GLOBAL (environment() drops every other GIT_*, and our git arguments name no -C or
 * --git-dir), so config paths are allowed exactly when it is set, and for nothing else.
 */
export function client(dir: string, env: Record<string, string>, signal?: AbortSignal): SimpleGit {
  return simpleGit({
    baseDir: dir,
    timeout: { block: TIMEOUT_MS },
    ...(signal ? { abort: signal } : {}),
    allowEnvironment: Object.keys(env).filter((key) => key.toUpperCase().startsWith("GIT_")),
    unsafe: {
      allowUnsafeConfigEnvCount: true,
      allowUnsafeSshCommand: true,
      allowUnsafeConfigPaths: env.GIT_CONFIG_GLOBAL !== undefined,
    },
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
    readFile: (path) => readFile(path, "utf8"),
    writeFile: (path, text) => writeFile(path, text),
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
