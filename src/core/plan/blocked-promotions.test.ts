import { describe, expect, it } from "vitest";
import { planOf } from "../../../test/helpers/plans.js";
import { blockedPromotions, blockedReasons, type PromotionSources } from "./blocked-promotions.js";
import type { BlockedPromotion, Plan, PullAction, SmokeAction } from "./types.js";

const blocked = (reason: BlockedPromotion["reason"]): BlockedPromotion => ({
  type: "promote",
  image: "r.test/app:latest",
  workspace: "app",
  source: "r.test/app:1.0",
  targetDigest: "sha256:aaa",
  reason,
  message: "app:latest → sha256:aaa: never verified",
});
const pullFor = (workspace: string, targetDigest: string): PullAction => ({
  type: "pull",
  agent: "a1",
  image: "r.test/app:1.0",
  workspaces: [workspace],
  reason: "missing",
  targetDigest,
});
const smokeOf = (workspace: string, digest: string): SmokeAction => ({
  type: "smoke",
  workspace,
  digest,
  imageId: "img1",
  reason: "untested",
  after: [],
});
const testingPull = (targetDigest: string) => pullFor("app-testing", targetDigest);
/** `app` is promoted from `app-testing`. */
const sources = {
  workspaces: [
    { metadata: { name: "app" }, spec: { promotion: { from: "app-testing" } } },
    { metadata: { name: "app-testing" }, spec: {} },
  ],
} as unknown as PromotionSources;
const plan = planOf;

describe("blockedPromotions", () => {
  it.each<[string, Plan, number, number]>([
    ["nothing blocked", plan({}), 0, 0],
    ["a digest nobody tests blocks convergence", plan({ blocked: [blocked("not-verified")] }), 1, 0],
    [
      "a digest this plan pulls on the testing ring waits for it",
      plan({ blocked: [blocked("not-verified")], actions: [testingPull("sha256:aaa")] }),
      0,
      1,
    ],
    [
      "a pull of another digest does not test it",
      plan({ blocked: [blocked("not-verified")], actions: [testingPull("sha256:bbb")] }),
      1,
      0,
    ],
    ["no smoke test of the digest blocks convergence", plan({ blocked: [blocked("smoke-missing")] }), 1, 0],
    [
      "a smoke test this plan starts of that digest waits for it",
      plan({ blocked: [blocked("smoke-missing")], actions: [smokeOf("app-testing", "sha256:aaa")] }),
      0,
      1,
    ],
    [
      "a smoke test of another digest or workspace does not",
      plan({
        blocked: [blocked("smoke-missing")],
        actions: [smokeOf("app-testing", "sha256:bbb"), smokeOf("app", "sha256:aaa")],
      }),
      1,
      0,
    ],
    [
      "a failed smoke test blocks, whatever the plan pulls",
      plan({ blocked: [blocked("smoke-failed")], actions: [testingPull("sha256:aaa")] }),
      1,
      0,
    ],
    [
      "off the promotion branch: by design, neither",
      plan({ blocked: [blocked("not-on-promotion-branch")] }),
      0,
      0,
    ],
  ])("%s", (_, p, blocking, waiting) => {
    const split = blockedPromotions(p, sources);
    expect([split.blocking.length, split.waiting.length]).toEqual([blocking, waiting]);
    expect(blockedReasons(p, sources)).toHaveLength(blocking);
  });

  it("names the workspace and the planner's reason", () => {
    expect(blockedReasons(plan({ blocked: [blocked("not-verified")] }), sources)).toEqual([
      "promotion blocked (workspace app): app:latest → sha256:aaa: never verified",
    ]);
  });
});
