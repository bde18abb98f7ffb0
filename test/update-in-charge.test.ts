/**
 * People stay in charge of image automation (docs/automation.md): a tag a person reverted is not proposed
 * again until a newer one appears, `update.suspend` holds a Workspace, and `plan` says what automation would
 * propose next and why it holds a candidate. A real bare repo, the lab registry, the CLI.
 */
import { describe, expect, it } from "vitest";
import { inRepo } from "./helpers/cli.js";
import { bareLog, datedFleet, pushDated } from "./helpers/dated-fleet.js";
import { uniqueRepo } from "./helpers/fleet.js";
import { git } from "./helpers/git-repos.js";

const commitsSince = (bare: string, since: string) => git(bare, "rev-list", "--count", `${since}..main`);

describe("people stay in charge of image automation", () => {
  it("a tag a person reverted is not proposed again (update and plan say why), until a newer tag appears", async () => {
    const name = uniqueRepo("reverted");
    const f = await datedFleet(name, await pushDated(name, ["20261201", "20261206"]));
    const pushed = await f.update();
    expect(pushed.stdout).toContain("update pushed: chrome-testing → 20261206 on main");

    // A person undoes the automated commit with git revert, as one would after a bad build.
    await git(f.repo.work, "pull", "--quiet", "--ff-only", "origin", "main");
    await git(f.repo.work, "revert", "--no-edit", "HEAD");
    await git(f.repo.work, "push", "--quiet", "origin", "main");
    const reverted = await bareLog(f.repo);

    const again = await f.update();
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(
      "update skipped (reverted): chrome-testing 20261201 → 20261206: a person undid the automated update to 20261206",
    );
    expect(await commitsSince(f.repo.bare, reverted)).toBe("0");

    const plan = await inRepo("plan", f.repo.bare, f.state);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain("image automation (proposed by run, as commits)");
    expect(plan.stdout).toMatch(
      /- update skipped \[reverted\]: chrome-testing 20261201 → 20261206: a person undid the automated update to 20261206 \([0-9a-f]{12}\): waits for a tag newer than 20261206/,
    );
    const json = JSON.parse((await inRepo("plan", f.repo.bare, f.state, ["--json"])).stdout);
    expect(json.automation.updates).toEqual([
      expect.objectContaining({
        workspace: "chrome-testing",
        status: "skipped",
        reason: "reverted",
        tag: "20261206",
      }),
    ]);

    // CI pushes a newer build: that one is proposed, and pushed.
    await pushDated(name, ["20261210"]);
    const preview = await inRepo("plan", f.repo.bare, f.state);
    expect(preview.stdout).toContain("+ update available: chrome-testing 20261201 → 20261210");
    const newer = await f.update();
    expect(newer.stdout).toContain("update pushed: chrome-testing → 20261210 on main");
    expect(await commitsSince(f.repo.bare, reverted)).toBe("1");
  });

  it("update.suspend: true checks and shows the candidate but proposes nothing", async () => {
    const name = uniqueRepo("suspended");
    const f = await datedFleet(name, await pushDated(name, ["20261201", "20261206", "nightly"]), {
      update: ["suspend: true"],
    });
    const before = await bareLog(f.repo);
    const result = await f.update();
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("update skipped (suspended): chrome-testing 20261201 → 20261206");
    expect(await bareLog(f.repo)).toBe(before);
    const plan = await inRepo("plan", f.repo.bare, f.state);
    expect(plan.stdout).toContain(
      "- update skipped [suspended]: chrome-testing 20261201 → 20261206: update.suspend is true",
    );
  });
});
