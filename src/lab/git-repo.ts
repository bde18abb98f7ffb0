/**
 * Local Git repositories for tests, the demo and benchmarks: a bare repo to point `--repo` at and a working
 * clone to commit from, driven by the git CLI with no user configuration.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);

/** Environment for git commands: no user config, no hooks' GIT_DIR, a fixed identity. */
export const GIT_ENV = Object.fromEntries([
  ...Object.entries(process.env).filter(([key]) => !key.startsWith("GIT_")),
  ["GIT_CONFIG_NOSYSTEM", "1"],
  ["GIT_AUTHOR_NAME", "Test"],
  ["GIT_AUTHOR_EMAIL", "test@example.invalid"],
  ["GIT_COMMITTER_NAME", "Test"],
  ["GIT_COMMITTER_EMAIL", "test@example.invalid"],
]);

/** Runs the git CLI and returns trimmed stdout. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec("git", args, { cwd, env: GIT_ENV });
  return stdout.trim();
}

export const tempDir = (prefix: string) => mkdtemp(join(tmpdir(), `kg-${prefix}-`));

/** A bare repository plus a working clone to commit from; `commit` writes files and pushes the branch. */
export type TestRepo = {
  bare: string;
  work: string;
  commit(files: Record<string, string>, message: string, branch?: string): Promise<string>;
};

/** Creates a bare repo whose `main` has one commit with `manifests/a.yaml`. */
export async function createTestRepo(): Promise<TestRepo> {
  const root = await tempDir("repo");
  const bare = join(root, "origin.git");
  const work = join(root, "work");
  await git(root, "init", "--quiet", "--bare", "--initial-branch=main", bare);
  await git(root, "clone", "--quiet", bare, work);
  await git(work, "symbolic-ref", "HEAD", "refs/heads/main");
  const repo: TestRepo = {
    bare,
    work,
    async commit(files, message, branch = "main") {
      if ((await git(work, "symbolic-ref", "--short", "HEAD")) !== branch) {
        await git(work, "checkout", "--quiet", branch);
      }
      for (const [file, content] of Object.entries(files)) {
        await mkdir(dirname(join(work, file)), { recursive: true });
        await writeFile(join(work, file), content);
      }
      await git(work, "add", "--all");
      await git(work, "commit", "--quiet", "-m", message);
      await git(work, "push", "--quiet", "--force", "origin", `${branch}:${branch}`);
      return git(work, "rev-parse", "HEAD");
    },
  };
  await repo.commit({ "manifests/a.yaml": "a: 1\n" }, "first");
  return repo;
}
