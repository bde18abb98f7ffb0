import { describe, expect, inject, it } from "vitest";
import type { Plan } from "../src/core/plan/types.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { inRepo } from "./helpers/cli.js";
import { localDigests, promotionPairYaml, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo } from "./helpers/git-repos.js";

const lab = inject("lab");
const [e1, e2] = lab.engines as [(typeof lab.engines)[0], (typeof lab.engines)[0]];
const R = lab.registries.plain.host;

/** A new fleet whose moving tag was never pushed: the first verified promotion creates it, no pull of it fails first. */
describe("a moving tag that does not exist yet", () => {
  it("is not pulled before the first verified promotion creates it; apply exits 0 and says why", async () => {
    const name = uniqueRepo("newfleet");
    const { digest } = await pushRandomImage({ url: lab.registries.plain.url, repository: name, tag: "1.0" });
    const repo = await createTestRepo();
    const state = await stateDir();
    await repo.commit(
      {
        "manifests/a.yaml": promotionPairYaml({
          registryHost: R,
          testingHost: e1.host,
          productionHost: e2.host,
          testingImage: `${R}/${name}:1.0`,
          productionImage: `${R}/${name}:1.0`,
        }),
      },
      "a new fleet",
    );
    const planned = await inRepo("plan", repo.bare, state, ["--json"]);
    expect(planned.code).toBe(0);
    const plan = JSON.parse(planned.stdout) as Plan;
    expect(plan.actions.map((a) => `${a.type} ${"image" in a ? a.image : ""}`).sort()).toEqual([
      `pull ${R}/${name}:1.0`,
      `pull ${R}/${name}:1.0`,
    ]);
    expect(plan.blocked.map((b) => b.reason)).toEqual(["not-verified"]);
    expect(plan.warnings).toEqual([
      expect.objectContaining({
        code: "moving-tag-not-created",
        image: `${R}/${name}:latest`,
        workspace: "chrome",
      }),
    ]);

    const first = await inRepo("apply", repo.bare, state, ["--json"]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("moving-tag-not-created");
    expect(first.stdout).toContain('"converged":true');

    // Now tested on the testing agent: the promotion creates latest and production pulls it.
    const second = await inRepo("apply", repo.bare, state, ["--json"]);
    expect(second.code).toBe(0);
    expect(await localDigests(e2.host, `${R}/${name}:latest`)).toContain(digest);
    const last = JSON.parse((await inRepo("plan", repo.bare, state, ["--json"])).stdout) as Plan;
    expect([last.actions, last.blocked, last.warnings]).toEqual([[], [], []]);
  });
});
