/**
 * The automation's own clone of the manifest repo, in the state dir apart from the reconciler's: it fetches the
 * followed branch, commits one file on its tip as the configured identity (signed when asked) and pushes it,
 * never forced. A push the remote refuses is an answer (PushOutcome), not an error: the caller retries it once.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { GitError, GitPluginError, type SimpleGit } from "simple-git";
import { KasmGitopsError } from "../core/errors.js";
import { AUTOMATION_TRAILER } from "../core/update/message.js";
import type { GitIdentity, GitWriter } from "../ports.js";
import { fetchUrl, type GitAuthOptions, gitEnvironment, gitErrorDetail, redact } from "./git-auth.js";
import { client } from "./git-checkout.js";
import { cloneSlug } from "./git-source.js";

export type GitWriterOptions = GitAuthOptions & {
  repo: string;
  stateDir: string;
  identity: GitIdentity;
  env?: NodeJS.ProcessEnv;
};

/** What git prints for a push the remote turned down, as opposed to one that never reached it. */
const REFUSED =
  /\[(?:remote )?rejected\]|pre-receive hook declined|protected branch|non-fast-forward|fetch first/i;

/** Creates the writer; nothing touches the disk or the network until `checkout`. */
export function createGitWriter(options: GitWriterOptions): GitWriter {
  const url = fetchUrl(options.repo);
  const dir = join(options.stateDir, "authoring", cloneSlug(url, "automation"));
  const shown = redact(options.repo);
  const base = options.env ?? process.env;
  // The user's git configuration (signing key, gpg program) is read from GIT_CONFIG_GLOBAL when it is set.
  const environment = () => {
    const { env, secrets } = gitEnvironment(options.repo, options, base);
    if (base.GIT_CONFIG_GLOBAL) env.GIT_CONFIG_GLOBAL = base.GIT_CONFIG_GLOBAL;
    Object.assign(env, {
      GIT_AUTHOR_NAME: options.identity.name,
      GIT_AUTHOR_EMAIL: options.identity.email,
      GIT_COMMITTER_NAME: options.identity.name,
      GIT_COMMITTER_EMAIL: options.identity.email,
      // git's own words tell a refused push from one that never arrived: keep them untranslated.
      LC_ALL: "C",
    });
    return { env, secrets };
  };
  const open = (signal?: AbortSignal): { git: SimpleGit; secrets: string[] } => {
    const { env, secrets } = environment();
    const git = client(dir, env, signal);
    return { git, secrets };
  };
  const detail = (error: unknown) =>
    error instanceof GitPluginError && error.plugin === "timeout"
      ? "timed out with no output from git"
      : gitErrorDetail(
          error instanceof GitError ? error.message : String((error as Error)?.message ?? error),
        );
  const run = async (args: string[], what: string, signal?: AbortSignal) => {
    const { git, secrets } = open(signal);
    try {
      return await git.raw(args);
    } catch (error) {
      throw new KasmGitopsError(
        "git-failed",
        redact(`${what} (${shown}) failed: ${detail(error)}`, secrets),
        { repo: shown },
        { cause: error },
      );
    }
  };
  /** Fetches `branch` (its whole history: automation reads it back) and returns its tip. */
  const fetch = async (branch: string, signal?: AbortSignal) => {
    await mkdir(dir, { recursive: true });
    if (!existsSync(join(dir, ".git"))) await run(["init", "--quiet"], "git init", signal);
    const ref = `refs/remotes/origin/${branch}`;
    await run(
      ["fetch", "--quiet", "--no-tags", url, `+refs/heads/${branch}:${ref}`],
      `git fetch of branch "${branch}"`,
      signal,
    );
    return (await run(["rev-parse", "--verify", `${ref}^{commit}`], "git rev-parse", signal)).trim();
  };

  return {
    async checkout(branch, signal) {
      const commit = await fetch(branch, signal);
      await run(["checkout", "--quiet", "--force", "--detach", commit], "git checkout", signal);
      await run(["clean", "-ffdxq"], "git clean", signal);
      return { commit, root: dir };
    },
    async automatedCommits(branch, limit, signal) {
      const tip = await fetch(branch, signal);
      // Records end in RS, fields in US: a message may hold any other character.
      const out = await run(
        ["log", `-n${limit}`, "-E", "-i", `--grep=^${AUTOMATION_TRAILER}:`, "--format=%H%x1f%B%x1e", tip],
        "git log",
        signal,
      );
      return out
        .split("\x1e")
        .map((record) => record.replace(/^\s+/, ""))
        .filter((record) => record.includes("\x1f"))
        .map((record) => {
          const [commit, message = ""] = record.split("\x1f");
          return { commit: commit!.trim(), message };
        });
    },
    async remoteBranchExists(branch, signal) {
      await mkdir(dir, { recursive: true });
      const out = await run(["ls-remote", "--heads", url, `refs/heads/${branch}`], "git ls-remote", signal);
      return out.trim() !== "";
    },
    async commitFile(path, text, message, { sign }) {
      await writeFile(join(dir, path), text);
      await run(["add", "--", path], "git add");
      await run(
        ["commit", "--quiet", sign ? "-S" : "--no-gpg-sign", "-m", message, "--", path],
        sign ? "git commit -S (signing with the configured key)" : "git commit",
      );
      return (await run(["rev-parse", "HEAD"], "git rev-parse")).trim();
    },
    async push(branch, signal) {
      const { git, secrets } = open(signal);
      try {
        await git.raw(["push", "--quiet", url, `HEAD:refs/heads/${branch}`]);
        return { pushed: true };
      } catch (error) {
        const text = error instanceof GitError ? error.message : String((error as Error)?.message ?? error);
        if (REFUSED.test(text)) return { pushed: false, refused: redact(detail(error), secrets) };
        throw new KasmGitopsError(
          "git-failed",
          redact(`pushing to branch "${branch}" of ${shown} failed: ${detail(error)}`, secrets),
          { repo: shown, branch },
          { cause: error },
        );
      }
    },
  };
}
