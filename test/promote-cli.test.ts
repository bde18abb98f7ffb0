import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { createFileLedger } from "../src/adapters/ledger-file.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { kasmGitops } from "./helpers/cli.js";
import { prePull, promotionPairYaml, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, git, tempDir } from "./helpers/git-repos.js";

const lab = inject("lab");
const [e1, e2] = lab.engines as [(typeof lab.engines)[0], (typeof lab.engines)[0]];
const R = lab.registries.plain.host;
const IDENTITY = {
  GIT_AUTHOR_NAME: "Admin",
  GIT_AUTHOR_EMAIL: "admin@example.invalid",
  GIT_COMMITTER_NAME: "Admin",
  GIT_COMMITTER_EMAIL: "admin@example.invalid",
};

/** A manifest repo with a testing/production pair: chrome-testing on tag B, chrome on tag A. */
async function pair(options: { pullTestingTag?: boolean } = {}) {
  const name = uniqueRepo("chrome");
  const image = (tag: string) => `${R}/${name}:${tag}`;
  const pushed = {
    A: await pushRandomImage({ url: lab.registries.plain.url, repository: name, tag: "A" }),
    B: await pushRandomImage({ url: lab.registries.plain.url, repository: name, tag: "B" }),
  };
  if (options.pullTestingTag) await prePull(e1.host, image("B"));
  const repo = await createTestRepo();
  const yaml = promotionPairYaml({
    registryHost: R,
    testingHost: e1.host,
    productionHost: e2.host,
    testingImage: image("B"),
    productionImage: image("A"),
  });
  await repo.commit({ "manifests/a.yaml": `# Chrome: testing, then users\n${yaml}` }, "fleet");
  const state = await stateDir();
  const file = join(repo.work, "manifests", "a.yaml");
  const promote = (...args: string[]) =>
    kasmGitops(["promote", ...args, "--path", "manifests", "--state-dir", state], {
      cwd: repo.work,
      env: IDENTITY,
    });
  const head = () => git(repo.work, "rev-parse", "HEAD");
  return { name, image, pushed, repo, state, file, promote, head };
}

/** The changed lines of the last commit, without context. */
const lastDiff = async (work: string) =>
  (await git(work, "diff", "--unified=0", "HEAD~1", "HEAD"))
    .split("\n")
    .filter((line) => /^[-+]\s/.test(line));

describe("kasm-gitops promote on a real checkout, lab agents and registry", () => {
  it("promotes to the tag tested on promotion.from: one commit, only the image line, digest in the message", async () => {
    const p = await pair({ pullTestingTag: true });
    const before = await p.head();
    const result = await p.promote("chrome", "--json");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({
      workspace: "chrome",
      from: "chrome-testing",
      image: p.image("B"),
      digest: p.pushed.B.digest,
      verifiedOn: "agent a1",
      branch: "main",
      pushed: false,
    });
    expect(await git(p.repo.work, "rev-list", "--count", `${before}..HEAD`)).toBe("1");
    expect(out.commit).toBe(await p.head());
    expect(await git(p.repo.work, "show", "--name-only", "--format=", "HEAD")).toBe("manifests/a.yaml");
    expect(await lastDiff(p.repo.work)).toEqual([
      `-  image: "${p.image("A")}"`,
      `+  image: "${p.image("B")}"`,
    ]);
    const message = await git(p.repo.work, "log", "-1", "--format=%B");
    expect(message.split("\n")[0]).toBe(
      `Promote chrome to B (${p.pushed.B.digest.slice(0, 19)} verified on chrome-testing)`,
    );
    expect(message).toContain(`Digest: ${p.pushed.B.digest}`);
    expect(message).toContain("Moving tags that will follow once merged: latest");
    expect((await kasmGitops(["validate", join(p.repo.work, "manifests")])).code).toBe(0);
    expect(await git(p.repo.work, "status", "--porcelain")).toBe("");

    // Running it again: nothing to do, and no second commit.
    const again = await p.promote("chrome");
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("nothing to do");
    expect(await git(p.repo.work, "rev-list", "--count", `${before}..HEAD`)).toBe("1");
  });

  it("refuses an unverified digest with the planner's message; nothing edited or committed", async () => {
    const p = await pair();
    const [before, text] = [await p.head(), await readFile(p.file, "utf8")];
    const result = await p.promote("chrome");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `cannot promote workspace "chrome" to ${p.image("B")}: digest ${p.pushed.B.digest} was never verified on workspace "chrome-testing"`,
    );
    expect(await p.head()).toBe(before);
    expect(await readFile(p.file, "utf8")).toBe(text);
    expect(await git(p.repo.work, "status", "--porcelain")).toBe("");
  });

  it("accepts a digest verified through the ledger only", async () => {
    const p = await pair();
    await createFileLedger(p.state).append({
      time: new Date().toISOString(),
      agent: "a1",
      image: p.image("B"),
      digest: p.pushed.B.digest,
      revision: "0".repeat(40),
      workspaces: ["chrome-testing"],
    });
    const result = await p.promote("chrome");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`verified on workspace "chrome-testing" (ledger (pulled on a1))`);
    expect(await lastDiff(p.repo.work)).toEqual([
      `-  image: "${p.image("A")}"`,
      `+  image: "${p.image("B")}"`,
    ]);
  });

  it("--tag promotes to that tag once it is verified", async () => {
    const p = await pair();
    const C = await pushRandomImage({ url: lab.registries.plain.url, repository: p.name, tag: "C" });
    const unverified = await p.promote("chrome", "--tag", "C");
    expect(unverified.code).toBe(1);
    expect(unverified.stderr).toContain(`digest ${C.digest} was never verified`);
    await prePull(e1.host, p.image("C"));
    const result = await p.promote("chrome", "--tag", "C");
    expect(result.code).toBe(0);
    expect(await lastDiff(p.repo.work)).toEqual([
      `-  image: "${p.image("A")}"`,
      `+  image: "${p.image("C")}"`,
    ]);
  });

  it.each([
    [["chrom"], /no Workspace named "chrom" in the manifests \(did you mean "chrome"\?\)/],
    [["chrome-testing"], /workspace "chrome-testing" \(a\.yaml:\d+:\d+\) has no promotion\.from/],
    [["chrome", "--push"], /--push needs --branch NAME/],
    [["chrome", "--tag", "C"], /cannot read the digest of .*:C/],
  ])("promote %j is a clear error, exit 1, nothing committed", async (args, message) => {
    const p = await pair();
    const before = await p.head();
    const result = await p.promote(...args);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(await p.head()).toBe(before);
  });

  it("commits with the identity of the config file GIT_CONFIG_GLOBAL names (simple-git calls it unsafe)", async () => {
    const p = await pair({ pullTestingTag: true });
    const config = join(await tempDir("gitconfig"), "gitconfig");
    await writeFile(config, "[user]\n\tname = Config Admin\n\temail = config-admin@example.invalid\n");
    const result = await kasmGitops(["promote", "chrome", "--path", "manifests", "--state-dir", p.state], {
      cwd: p.repo.work,
      env: { GIT_CONFIG_GLOBAL: config, GIT_CONFIG_NOSYSTEM: "1" },
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(await git(p.repo.work, "log", "-1", "--format=%an <%ae>|%cn <%ce>")).toBe(
      "Config Admin <config-admin@example.invalid>|Config Admin <config-admin@example.invalid>",
    );
  });

  it("refuses to run when the manifest folder has uncommitted changes, and leaves them alone", async () => {
    const p = await pair({ pullTestingTag: true });
    const edited = `${await readFile(p.file, "utf8")}# work in progress\n`;
    await writeFile(p.file, edited);
    const result = await p.promote("chrome");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("the manifest folder manifests has uncommitted changes");
    expect(await readFile(p.file, "utf8")).toBe(edited);
  });

  it("--push --branch pushes a new branch to origin for a merge request; main stays where it was", async () => {
    const p = await pair({ pullTestingTag: true });
    const main = await p.head();
    const result = await p.promote("chrome", "--push", "--branch", "promote/x", "--json");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({ branch: "promote/x", pushed: true, digest: p.pushed.B.digest });
    expect(await git(p.repo.bare, "rev-parse", "refs/heads/promote/x")).toBe(out.commit);
    expect(await git(p.repo.bare, "rev-parse", "refs/heads/promote/x~1")).toBe(main);
    expect(await git(p.repo.bare, "rev-parse", "refs/heads/main")).toBe(main);
    expect(await git(p.repo.work, "rev-parse", "refs/heads/main")).toBe(main);
    expect(await git(p.repo.work, "symbolic-ref", "--short", "HEAD")).toBe("promote/x");
    // The branch exists now: a second run with the same name is refused before anything is edited.
    const again = await p.promote("chrome", "--tag", "A", "--push", "--branch", "promote/x");
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('branch "promote/x" already exists');
  });
});

describe("kasm-gitops promote when git fails", () => {
  it("a failing commit (a pre-commit hook) restores the file and drops the new branch", async () => {
    const p = await pair({ pullTestingTag: true });
    const [before, text] = [await p.head(), await readFile(p.file, "utf8")];
    await writeFile(
      join(p.repo.work, ".git", "hooks", "pre-commit"),
      "#!/bin/sh\necho hook says no >&2\nexit 1\n",
      {
        mode: 0o755,
      },
    );
    const result = await p.promote("chrome", "--branch", "promote/y");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("git commit failed: hook says no");
    expect(await readFile(p.file, "utf8")).toBe(text);
    expect(await git(p.repo.work, "symbolic-ref", "--short", "HEAD")).toBe("main");
    expect(await git(p.repo.work, "branch", "--list", "promote/y")).toBe("");
    expect(await p.head()).toBe(before);
  });

  it("a failing push is git-failed without the remote's credentials, and says where the commit is", async () => {
    const p = await pair({ pullTestingTag: true });
    await git(
      p.repo.work,
      "remote",
      "set-url",
      "origin",
      "http://ci-bot:s3cret-token@127.0.0.1:9/kasm/images.git",
    );
    const result = await p.promote("chrome", "--push", "--branch", "promote/z");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'pushing branch "promote/z" to origin (http://127.0.0.1:9/kasm/images.git) failed',
    );
    expect(result.stderr).toMatch(/commit [0-9a-f]{12} is on local branch "promote\/z"/);
    expect(result.stderr).not.toContain("s3cret-token");
    expect(await git(p.repo.work, "log", "-1", "--format=%s", "promote/z")).toMatch(/^Promote chrome to B /);
  });
});
