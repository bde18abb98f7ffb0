import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { BIN } from "./helpers/cli.js";
import { GIT_ENV, tempDir } from "./helpers/git-repos.js";

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const GUIDE = join(ROOT, "docs", "first-fleet.md");
const lab = inject("lab");

/** The guide's ```sh run blocks, in order: the commands a reader types, run as one shell script. */
function runnableBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh run\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** docs/first-fleet.md, run against the lab: a reader's home folder, the built command on PATH (as npm link leaves it). */
describe("the first-fleet guide", () => {
  it("runs from start to end against the lab", async () => {
    const blocks = runnableBlocks(await readFile(GUIDE, "utf8"));
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    const home = await tempDir("guide");
    const bin = join(home, "bin");
    await mkdir(bin);
    // What `npm link` leaves on the PATH: the built command, run by node.
    await writeFile(join(bin, "kasm-gitops"), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, {
      mode: 0o755,
    });
    const script = ["set -euo pipefail", ...blocks].join("\n");
    const env = {
      ...GIT_ENV,
      HOME: home,
      XDG_STATE_HOME: join(home, "state"),
      PATH: `${bin}:${process.env.PATH}`,
      KASM_GITOPS_LAB_DIR: lab.dir,
    };
    const result = await exec("bash", ["-c", script], { cwd: ROOT, env, maxBuffer: 64 << 20 }).catch(
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(result.stderr).not.toMatch(/error/i);
    expect("code" in result ? `${result.code}: ${result.stderr}` : 0).toBe(0);
    // The rollback is in force: production back on 1.0, testing still on 1.1.
    expect(result.stdout).toMatch(/desktop-testing\.yaml: {2}image: \S+\/kasm\/desktop-\d+:1\.1/);
    expect(result.stdout).toMatch(/desktop\.yaml: {2}image: \S+\/kasm\/desktop-\d+:1\.0/);
    expect(result.stdout).toContain("moving-tag-not-created");
    // The release came in as a merge commit, and the guide's rollback reverted that merge.
    const fleet = join(home, "my-fleet");
    const log = await exec("git", ["log", "-2", "--format=%P|%s"], { cwd: fleet, env });
    const [revert, merge] = log.stdout.trim().split("\n");
    expect(revert).toMatch(/^[0-9a-f]{40}\|Revert "Merge branch 'promote\/desktop-1\.1'"$/);
    expect(merge!.split("|")[0]!.split(" ")).toHaveLength(2);
  });
});
