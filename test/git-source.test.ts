import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { createGitSource, type GitSourceOptions } from "../src/adapters/git-source.js";
import { failure } from "./helpers/errors.js";
import { createTestRepo, git, serveGitHttp, tempDir } from "./helpers/git-repos.js";

async function source(options: Partial<GitSourceOptions> & { repo: string }) {
  // A hostile environment (a hook's GIT_DIR, an EDITOR) must neither leak into git nor trip simple-git.
  const env = { ...process.env, GIT_DIR: "/nonexistent", EDITOR: "vi", PAGER: "less" };
  return createGitSource({ branch: "main", stateDir: await tempDir("state"), env, ...options });
}

describe("Git source", () => {
  it("clones shallow, then fetches a new commit on the next sync", async () => {
    const repo = await createTestRepo();
    const first = await git(repo.work, "rev-parse", "HEAD");
    const src = await source({ repo: repo.bare });
    const a = await src.sync();
    expect(a.revision).toBe(first);
    expect(a.revision).toMatch(/^[0-9a-f]{40}$/);
    expect(await readFile(join(a.manifestDir, "manifests/a.yaml"), "utf8")).toBe("a: 1\n");
    expect(await git(a.checkoutDir, "rev-parse", "--is-shallow-repository")).toBe("true");

    const second = await repo.commit({ "manifests/b.yaml": "b: 2\n" }, "second");
    const b = await src.sync();
    expect(b.revision).toBe(second);
    expect(b.checkoutDir).toBe(a.checkoutDir);
    expect(existsSync(join(b.checkoutDir, "manifests/b.yaml"))).toBe(true);
    expect(await git(b.checkoutDir, "rev-list", "--count", "HEAD")).toBe("1");
  });

  it("follows the branch it is given, and sees a merge into main", async () => {
    const repo = await createTestRepo();
    await git(repo.work, "checkout", "--quiet", "-b", "feature");
    const feature = await repo.commit({ "manifests/f.yaml": "f: 1\n" }, "feature work", "feature");
    await repo.commit({ "manifests/m.yaml": "m: 1\n" }, "main moves on", "main");

    const featureSync = await (await source({ repo: repo.bare, branch: "feature" })).sync();
    expect(featureSync).toMatchObject({ revision: feature, branch: "feature" });
    expect(existsSync(join(featureSync.checkoutDir, "manifests/f.yaml"))).toBe(true);
    expect(existsSync(join(featureSync.checkoutDir, "manifests/m.yaml"))).toBe(false);

    await git(repo.work, "merge", "--quiet", "--no-ff", "-m", "merge feature", "feature");
    await git(repo.work, "push", "--quiet", "origin", "main");
    const merge = await git(repo.work, "rev-parse", "HEAD");
    const mainSync = await (await source({ repo: repo.bare })).sync();
    expect(mainSync.revision).toBe(merge);
    expect(existsSync(join(mainSync.checkoutDir, "manifests/f.yaml"))).toBe(true);
    expect(existsSync(join(mainSync.checkoutDir, "manifests/m.yaml"))).toBe(true);
  });

  it("points manifestDir at --path, and names a path that is missing", async () => {
    const repo = await createTestRepo();
    const good = await (await source({ repo: repo.bare, path: "./manifests/" })).sync();
    expect(good.manifestDir).toBe(join(good.checkoutDir, "manifests"));
    const error = await failure((await source({ repo: repo.bare, path: "deploy/prod" })).sync());
    expect(error.code).toBe("git-failed");
    expect(error.message).toContain('"deploy/prod"');
    expect(() => createGitSource({ repo: repo.bare, branch: "main", stateDir: "/x", path: "../up" })).toThrow(
      /inside the repository/,
    );
  });

  it("syncs a force-pushed branch and discards local edits in the checkout", async () => {
    const repo = await createTestRepo();
    const src = await source({ repo: repo.bare });
    const before = await src.sync();
    await writeFile(join(before.checkoutDir, "manifests/a.yaml"), "edited locally\n");
    await writeFile(join(before.checkoutDir, "stray.yaml"), "x: 1\n");

    await git(repo.work, "checkout", "--quiet", "--orphan", "rewritten");
    const rewritten = await repo.commit(
      { "manifests/a.yaml": "a: rewritten\n" },
      "history rewritten",
      "rewritten",
    );
    await git(repo.work, "push", "--quiet", "--force", "origin", "rewritten:main");
    const after = await src.sync();
    expect(after.revision).toBe(rewritten);
    expect(after.revision).not.toBe(before.revision);
    expect(await readFile(join(after.checkoutDir, "manifests/a.yaml"), "utf8")).toBe("a: rewritten\n");
    expect(existsSync(join(after.checkoutDir, "stray.yaml"))).toBe(false);
  });

  it("fails with git-failed for a repository that does not exist", async () => {
    const missing = join(await tempDir("nothing"), "absent.git");
    const error = await failure((await source({ repo: missing })).sync());
    expect(error.code).toBe("git-failed");
    expect(error.message).toContain(missing);
  });

  it("keeps the previous checkout and revision when the remote goes away", async () => {
    const repo = await createTestRepo();
    const src = await source({ repo: repo.bare });
    const good = await src.sync();
    await rename(repo.bare, `${repo.bare}.moved`);
    const error = await failure(src.sync());
    expect(error.code).toBe("git-failed");
    expect(error.context).toMatchObject({ reason: "fetch-failed", branch: "main" });
    expect(await git(good.checkoutDir, "rev-parse", "HEAD")).toBe(good.revision);
    expect(await readFile(join(good.manifestDir, "manifests/a.yaml"), "utf8")).toBe("a: 1\n");
  });

  it("names a branch that does not exist", async () => {
    const repo = await createTestRepo();
    const error = await failure(
      (await source({ repo: repo.bare, branch: "release/9" })).sync(),
      "git-failed",
    );
    expect(error.code).toBe("git-failed");
    expect(error.context.reason).toBe("branch-not-found");
    expect(error.message).toContain('branch "release/9"');
  });

  it.each([
    ["a plain path to a working checkout", (r: { work: string }) => r.work],
    ["a file:// URL", (r: { bare: string }) => pathToFileURL(r.bare).href],
  ])("accepts %s", async (_, repoOf) => {
    const repo = await createTestRepo();
    const head = await git(repo.work, "rev-parse", "HEAD");
    expect((await (await source({ repo: repoOf(repo) })).sync()).revision).toBe(head);
  });

  it("hands the SSH key file to ssh for an SSH remote", async () => {
    const repo = "ssh://git@127.0.0.1:1/kasm/manifests.git";
    const error = await failure(
      (await source({ repo, sshKeyFile: "/no such/deploy key", timeoutMs: 20_000 })).sync(),
    );
    expect(error.code).toBe("git-failed");
    expect(error.message).toContain(repo);
    // ssh itself complains about the key, so GIT_SSH_COMMAND reached it with the path quoted intact.
    expect(error.message).toContain("/no such/deploy key");
  });

  it("serialises concurrent syncs of one clone", async () => {
    const repo = await createTestRepo();
    const head = await repo.commit({ "manifests/c.yaml": "c: 1\n" }, "third");
    const stateDir = await tempDir("state");
    const a = createGitSource({ repo: repo.bare, branch: "main", stateDir, env: {} });
    const b = createGitSource({ repo: repo.bare, branch: "main", stateDir, env: {} });
    const results = await Promise.all([a.sync(), b.sync(), a.sync(), b.sync()]);
    expect(results.map((r) => r.revision)).toEqual([head, head, head, head]);
    expect(await git(results[0]!.checkoutDir, "status", "--porcelain")).toBe("");
  });

  describe("over HTTP with a token from the environment", () => {
    const TOKEN = "tok-3f9c2a7e51d04b8b";
    const basic = `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString("base64")}`;

    it.each([
      ["basic", basic],
      ["bearer", `Bearer ${TOKEN}`],
    ] as const)("syncs with the right token (%s) and keeps it out of .git/config", async (scheme, header) => {
      const repo = await createTestRepo();
      const server = await serveGitHttp(join(repo.bare, ".."), [header]);
      try {
        const src = await source({
          repo: `${server.url}/origin.git`,
          env: { MY_GIT_TOKEN: TOKEN },
          tokenEnv: "MY_GIT_TOKEN",
          tokenScheme: scheme,
        });
        const synced = await src.sync();
        expect(synced.revision).toBe(await git(repo.work, "rev-parse", "HEAD"));
        expect(server.requests.some((line) => line.endsWith(header))).toBe(true);
        expect(await readFile(join(synced.checkoutDir, ".git/config"), "utf8")).not.toContain(TOKEN);
      } finally {
        await server.close();
      }
    });

    it("fails with a wrong token or URL credentials, and no message carries a secret", async () => {
      const repo = await createTestRepo();
      const server = await serveGitHttp(join(repo.bare, ".."), [basic]);
      try {
        const wrongToken = await failure(
          (
            await source({
              repo: `${server.url}/origin.git`,
              env: { KASM_GITOPS_GIT_TOKEN: "wrong-token-1234" },
            })
          ).sync(),
        );
        expect(wrongToken.code).toBe("git-failed");
        expect(server.requests.length).toBeGreaterThan(0);
        const withUserInfo = server.url.replace("://", "://ci:hunter2-pass@");
        const inUrl = await failure((await source({ repo: `${withUserInfo}/origin.git` })).sync());
        expect(inUrl.code).toBe("git-failed");
        for (const error of [wrongToken, inUrl]) {
          const text = `${error.message} ${JSON.stringify(error.context)}`;
          expect(text).toContain(server.url);
          for (const secret of ["wrong-token-1234", "hunter2-pass", TOKEN])
            expect(text).not.toContain(secret);
        }
        const unset = await failure(
          (await source({ repo: `${server.url}/origin.git`, tokenEnv: "NOT_SET_ANYWHERE" })).sync(),
        );
        expect(unset.code).toBe("secret-unresolved");
        expect(unset.message).toContain("NOT_SET_ANYWHERE");
      } finally {
        await server.close();
      }
    });
  });
});
