import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { Plan } from "../src/core/plan/types.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { kasmGitops } from "./helpers/cli.js";
import { fleetYaml, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, git, type TestRepo, tempDir } from "./helpers/git-repos.js";

const lab = inject("lab");
const [e1] = lab.engines as [(typeof lab.engines)[0]];
const R = lab.registries.plain.host;

/** `--repo .` in an administrator's checkout: what is planned is the commit, and the plan file says where from. */
describe("plan and apply on a local checkout", () => {
  let repo: TestRepo;
  let state: string;
  const name = uniqueRepo("checkout");
  const fleet = (tag: string) =>
    fleetYaml({
      registries: [{ name: "corp", host: R }],
      agents: [{ name: "a1", host: e1.host, labels: { ring: "testing" } }],
      workspaces: [{ name: "desk", image: `${R}/${name}:${tag}`, registry: "corp" }],
    });

  beforeAll(async () => {
    for (const tag of ["v1", "v2"])
      await pushRandomImage({ url: lab.registries.plain.url, repository: name, tag });
    repo = await createTestRepo();
    state = await stateDir();
    await repo.commit({ "manifests/a.yaml": fleet("v1") }, "fleet on v1");
    await git(repo.work, "checkout", "--quiet", "-b", "try-v2");
    await repo.commit({ "manifests/a.yaml": fleet("v2") }, "v2", "try-v2");
    await git(repo.work, "checkout", "--quiet", "main");
  });

  it("warns that uncommitted and untracked files under the path were not planned, naming them", async () => {
    await writeFile(join(repo.work, "manifests", "a.yaml"), fleet("v2"));
    await writeFile(join(repo.work, "manifests", "b.yaml"), "# new\n");
    await writeFile(join(repo.work, "README.txt"), "outside the manifest path\n");
    try {
      const result = await kasmGitops(["plan", "--repo", ".", "--path", "manifests", "--state-dir", state], {
        cwd: repo.work,
      });
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(
        /warning: uncommitted changes were not planned \(only commits on branch main/,
      );
      expect(result.stderr).toContain("manifests/a.yaml");
      expect(result.stderr).toContain("manifests/b.yaml");
      expect(result.stderr).not.toContain("README.txt");
      expect(result.stdout).toContain(`${name}:v1`);
    } finally {
      await git(repo.work, "checkout", "--quiet", "--", ".");
      await git(repo.work, "clean", "--quiet", "-f");
    }
  });

  it("says nothing about a clean checkout", async () => {
    const result = await kasmGitops(["plan", "--repo", ".", "--path", "manifests", "--state-dir", state], {
      cwd: repo.work,
    });
    expect(result).toMatchObject({ code: 0, stderr: "" });
  });

  it("records repo, branch and path in the plan file, and apply PLANFILE reads that branch", async () => {
    const dir = await tempDir("planfile");
    const out = join(dir, "p.json");
    const planned = await kasmGitops(
      [
        "plan",
        "--repo",
        repo.work,
        "--branch",
        "try-v2",
        "--path",
        "manifests",
        "--state-dir",
        state,
        "--out",
        out,
      ],
      { cwd: dir },
    );
    expect(planned.code).toBe(0);
    const plan = JSON.parse(await readFile(out, "utf8")) as Plan;
    expect(plan).toMatchObject({ branch: "try-v2", source: { repo: repo.work, path: "manifests" } });
    expect(plan.actions.map((a) => ("image" in a ? a.image : a.type))).toEqual([`${R}/${name}:v2`]);
    // No --branch and no --path: both come from the plan file.
    const applied = await kasmGitops(["apply", out, "--repo", repo.work, "--state-dir", state, "--json"], {
      cwd: dir,
    });
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('"converged":true');
  });

  it("names a missing plan file in one line, without a raw ENOENT", async () => {
    const result = await kasmGitops(["apply", "nosuch.json", "--repo", repo.work, "--state-dir", state]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "kasm-gitops: usage error: plan file nosuch.json does not exist (make one with plan --out FILE)\n",
    );
  });

  it.each([
    ["plan", ["--agent", "nosuch"], "--agent nosuch: no such agent on branch main (agents: a1)\n"],
    [
      "apply",
      ["--agent", "a1", "--agent", "A1x"],
      "--agent A1x: no such agent on branch main (agents: a1); did you mean a1?\n",
    ],
  ])("%s %j is a usage error listing the known agents", async (command, extra, message) => {
    const result = await kasmGitops([
      command,
      "--repo",
      repo.bare,
      "--path",
      "manifests",
      "--state-dir",
      state,
      ...extra,
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(`kasm-gitops: usage error: ${message}`);
  });

  it("reads a misspelt KASM_GITOPS_AGENT the same way", async () => {
    const result = await kasmGitops(
      ["plan", "--repo", repo.bare, "--path", "manifests", "--state-dir", state],
      {
        env: { KASM_GITOPS_AGENT: "a2" },
      },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("--agent a2: no such agent on branch main (agents: a1)");
  });
});
