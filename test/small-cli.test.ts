import { stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { kasmGitops } from "./helpers/cli.js";
import { fleetYaml, stateDir } from "./helpers/fleet.js";
import { createTestRepo, tempDir } from "./helpers/git-repos.js";

const lab = inject("lab");

/** The small things a first-time user met (issue: the first hour), each as the user saw it. */
describe("the command line's small courtesies", () => {
  it("prints git's error once", async () => {
    const state = await stateDir();
    const result = await kasmGitops(["plan", "--repo", "/nonexistent-kasm-repo", "--state-dir", state]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr.match(/does not appear to be a git repository/g)).toHaveLength(1);
  });

  it.each([
    [["plan", "--brnch", "x"], "plan: unknown option '--brnch'; did you mean --branch?"],
    [["run", "--stat-dir", "x"], "run: unknown option '--stat-dir'; did you mean --state-dir?"],
    [["plna"], "unknown command 'plna'; did you mean plan?"],
    [["--verison"], "unknown flag '--verison'; did you mean --version?"],
  ])("%j suggests what was meant", async (args, message) => {
    const result = await kasmGitops(args);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`kasm-gitops: usage error: ${message}`);
  });

  it("help texts write every default the same way", async () => {
    const lines: string[] = [];
    for (const command of ["validate", "plan", "apply", "run", "promote", "import"])
      lines.push(...(await kasmGitops([command, "--help"])).stdout.split("\n"));
    const defaults = lines.filter(
      (line) => /\(default/.test(line) || /\((\d+s|[\d*]+ [\d* ]+)\)$/.test(line),
    );
    expect(defaults.length).toBeGreaterThan(5);
    for (const line of defaults) expect(line).toMatch(/\(default: [^)]+\)$/);
    // The column depends on the longest flag of the command, so only the words are pinned.
    expect(
      lines.some((l) =>
        /^ {2}--interval DURATION +git check-in and missing-image pulls \(default: 30s\)$/.test(l),
      ),
    ).toBe(true);
  });

  it("plan --out says where it wrote the plan and how to apply it", async () => {
    const repo = await createTestRepo();
    await repo.commit(
      {
        "manifests/a.yaml": fleetYaml({
          registries: [{ name: "corp", host: lab.registries.plain.host }],
          agents: [{ name: "a1", host: lab.engines[0]!.host }],
          workspaces: [],
        }),
      },
      "an empty fleet",
    );
    const dir = await tempDir("out");
    const result = await kasmGitops(
      [
        "plan",
        "--repo",
        repo.bare,
        "--path",
        "manifests",
        "--state-dir",
        await stateDir(),
        "--out",
        "p.json",
      ],
      { cwd: dir },
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      `kasm-gitops: plan written to ${join(dir, "p.json")}; carry it out with: kasm-gitops apply p.json\n`,
    );
    expect((await stat(join(dir, "p.json"))).isFile()).toBe(true);
  });
});
