/** Git source on simple-git: a shallow single-branch clone in the state dir, fetched and checked out per sync. */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, posix } from "node:path";
import { GitError, GitPluginError, simpleGit } from "simple-git";
import { KasmGitopsError } from "../core/errors.js";
import type { GitRevision, GitSource } from "../ports.js";
import { fetchUrl, type GitAuthOptions, gitEnvironment, gitErrorDetail, redact } from "./git-auth.js";

export type GitSourceOptions = GitAuthOptions & {
  /** A Git URL (https, ssh, scp-like, file://) or a path to a checkout or bare repository. */
  repo: string;
  branch: string;
  /** Manifest folder inside the repository; the root when unset. */
  path?: string;
  stateDir: string;
  /** Where the token variable is read and what git inherits; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
  /** Kill a git command after this long without output (fetch runs quiet, so this bounds a whole fetch); default 2 min. */
  timeoutMs?: number;
};

const DEFAULT_TIMEOUT_MS = 120_000;
/** Syncs of one clone folder run one at a time, even across GitSource instances in this process. */
const locks = new Map<string, Promise<unknown>>();

function serialise<T>(key: string, task: () => Promise<T>): Promise<T> {
  const run = (locks.get(key) ?? Promise.resolve()).then(task, task);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  locks.set(key, settled);
  void settled.then(() => locks.get(key) === settled && locks.delete(key));
  return run;
}

/** A readable, unique, credential-free folder name for a repo and branch. */
export function cloneSlug(repo: string, branch: string): string {
  const clean = redact(repo)
    .replace(/\/+$/, "")
    .replace(/\.git$/, "");
  const hash = createHash("sha256").update(`${clean}\0${branch}`).digest("hex").slice(0, 10);
  const readable = `${clean
    .split(/[/:\\]/)
    .filter(Boolean)
    .slice(-2)
    .join("-")}-${branch}`
    .replace(/[^\w.-]+/g, "-")
    .slice(-60);
  return `${readable}-${hash}`;
}

/** Validates `--path` and turns it into a repository-relative POSIX path (`""` for the root). */
export function manifestSubpath(path: string | undefined): string {
  const normal = posix.normalize((path ?? "").replace(/\\/g, "/")).replace(/\/+$/, "");
  if (posix.isAbsolute(normal) || normal === ".." || normal.startsWith("../")) {
    throw new KasmGitopsError("usage", `--path "${path}" must be a folder inside the repository`, { path });
  }
  return normal === "." ? "" : normal;
}

/** Checks the branch name before it goes into a refspec, with git's own ref-name rules in spirit. */
export function checkBranch(branch: string): void {
  if (!branch || /[\s:~^?*[\\]|\.\.|@\{|^[-/]|\/$|\.lock$|\.$/.test(branch)) {
    throw new KasmGitopsError("usage", `"${branch}" is not a valid Git branch name`, { branch });
  }
}

/** Creates the Git source; nothing touches the network or disk until `sync()`. */
export function createGitSource(options: GitSourceOptions): GitSource {
  const { repo, branch } = options;
  checkBranch(branch);
  const subpath = manifestSubpath(options.path);
  const checkoutDir = join(options.stateDir, "repos", cloneSlug(fetchUrl(repo), branch));
  const remoteRef = `refs/remotes/origin/${branch}`;
  const shownRepo = redact(repo);

  async function sync(signal?: AbortSignal): Promise<GitRevision> {
    let environment: ReturnType<typeof gitEnvironment>;
    try {
      environment = gitEnvironment(repo, options, options.env ?? process.env);
    } catch (error) {
      throw new KasmGitopsError("secret-unresolved", (error as Error).message, { repo: shownRepo });
    }
    const { env, secrets } = environment;
    const fail = (reason: string, message: string, cause?: unknown): KasmGitopsError =>
      new KasmGitopsError(
        "git-failed",
        redact(message, secrets),
        { repo: shownRepo, branch, reason },
        { cause },
      );

    await mkdir(checkoutDir, { recursive: true });
    const git = simpleGit({
      baseDir: checkoutDir,
      timeout: { block: options.timeoutMs ?? DEFAULT_TIMEOUT_MS },
      ...(signal ? { abort: signal } : {}),
      allowEnvironment: Object.keys(env).filter((key) => key.toUpperCase().startsWith("GIT_")),
      unsafe: { allowUnsafeConfigEnvCount: true, allowUnsafeSshCommand: true },
    }).env(env);

    /** Runs one git command; any failure becomes `git-failed` with git's own words, credentials removed. */
    const run = async (args: string[], what: string): Promise<string> => {
      try {
        return await git.raw(args);
      } catch (error) {
        throw describeFailure(error, what);
      }
    };
    const describeFailure = (error: unknown, what: string): KasmGitopsError => {
      if (error instanceof GitPluginError && error.plugin === "abort") {
        return fail("aborted", `${what} of ${shownRepo} was aborted`, error);
      }
      if (error instanceof GitPluginError && error.plugin === "timeout") {
        return fail("timeout", `${what} of ${shownRepo} timed out with no output from git`, error);
      }
      const text = error instanceof GitError ? error.message : String((error as Error)?.message ?? error);
      if (/couldn't find remote ref/i.test(text)) {
        return fail("branch-not-found", `branch "${branch}" does not exist in ${shownRepo}`, error);
      }
      const detail = gitErrorDetail(text);
      return fail("fetch-failed", `${what} of ${shownRepo} (branch "${branch}") failed: ${detail}`, error);
    };

    if (!existsSync(join(checkoutDir, ".git"))) await run(["init", "--quiet"], "git init");
    await run(
      [
        "fetch",
        "--depth=1",
        "--no-tags",
        "--no-recurse-submodules",
        "--quiet",
        fetchUrl(repo),
        `+refs/heads/${branch}:${remoteRef}`,
      ],
      "git fetch",
    );
    const revision = (await run(["rev-parse", "--verify", `${remoteRef}^{commit}`], "git rev-parse")).trim();
    if (subpath) {
      const type = await git.raw(["cat-file", "-t", `${revision}:${subpath}`]).catch(() => "missing");
      if (type.trim() !== "tree") {
        throw fail(
          "path-not-found",
          `manifest path "${subpath}" is not a folder in ${shownRepo} at ${branch}@${revision.slice(0, 12)}`,
        );
      }
    }
    // Detached and forced, then cleaned: local edits, stray files and force-pushes never block a sync.
    await run(["checkout", "--quiet", "--force", "--detach", revision], "git checkout");
    await run(["clean", "-ffdxq"], "git clean");
    return { revision, branch, checkoutDir, manifestDir: subpath ? join(checkoutDir, subpath) : checkoutDir };
  }

  return { sync: (signal) => serialise(checkoutDir, () => sync(signal)) };
}
