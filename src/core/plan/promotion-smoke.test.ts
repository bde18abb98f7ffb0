import { describe, expect, it } from "vitest";
import { agent, manifestSet, registry, workspace } from "../../../test/helpers/manifests.js";
import { indexLocalImages } from "../image/local.js";
import { EMPTY_SMOKE_STATE, resultKey, type SmokeState } from "../kasm/smoke.js";
import { planPromotions } from "./promotion.js";

const H = "reg.test:5000";
const chrome = `${H}/kasm/chrome`;
const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;

const set = (smoke: boolean) =>
  manifestSet({
    registries: [registry("corp", H)],
    agents: [agent("a1", { ring: "testing" }), agent("a2", { ring: "production" })],
    workspaces: [
      workspace("chrome-testing", {
        image: `${chrome}:new`,
        registry: "corp",
        agents: { matchLabels: { ring: "testing" } },
        ...(smoke ? { smoke: true as const } : {}),
      }),
      workspace("chrome", {
        image: `${chrome}:new`,
        registry: "corp",
        agents: { matchLabels: { ring: "production" } },
        promotion: { from: "chrome-testing", movingTags: ["latest"] },
      }),
    ],
  });

const result = (verdict: "pass" | "fail", digest = B, workspace = "chrome-testing"): SmokeState => ({
  pending: [],
  results: {
    [resultKey(workspace, digest)]: {
      digest,
      workspace,
      result: verdict,
      message: verdict === "pass" ? "ran for 30s on Kasm agent k1" : "the session stopped before it ran",
      startedAt: "2024-01-01T00:00:00.000Z",
      finishedAt: "2024-01-01T00:00:31.000Z",
      spec: "x",
    },
  },
});

describe("planPromotions: the smoke gate beside the verification", () => {
  it.each<[string, boolean, SmokeState | undefined, string]>([
    ["no smoke tests asked: verified is enough", false, undefined, "promote"],
    ["smoke tests, no state read: smoke-missing", true, undefined, "smoke-missing"],
    ["smoke tests, no result: smoke-missing", true, EMPTY_SMOKE_STATE, "smoke-missing"],
    ["a pass of another digest does not count", true, result("pass", A), "smoke-missing"],
    ["a pass of another workspace does not count", true, result("pass", B, "chrome"), "smoke-missing"],
    ["a failed smoke: smoke-failed, with Kasm's words", true, result("fail"), "smoke-failed"],
    ["a passed smoke of that digest: promoted", true, result("pass"), "promote"],
  ])("%s", (_name, smoke, state, expected) => {
    const plan = planPromotions({
      set: set(smoke),
      branch: "main",
      digests: new Map([
        [`${chrome}:new`, { digest: B }],
        [`${chrome}:latest`, { digest: A }],
      ]),
      agents: new Map([
        ["a1", indexLocalImages([{ id: "i", repoTags: [`${chrome}:new`], repoDigests: [`${chrome}@${B}`] }])],
      ]),
      ledger: [],
      ...(state ? { smoke: state } : {}),
    });
    const outcome = plan.actions.length > 0 ? "promote" : plan.blocked[0]?.reason;
    expect(outcome).toBe(expected);
    if (expected === "smoke-failed")
      expect(plan.blocked[0]!.message).toContain("the session stopped before it ran");
    if (expected === "smoke-missing") expect(plan.blocked[0]!.message).toContain(`has no smoke test`);
  });

  it("an unverified digest is blocked as not verified first, smoke or not", () => {
    const plan = planPromotions({
      set: set(true),
      branch: "main",
      digests: new Map([[`${chrome}:new`, { digest: B }]]),
      agents: new Map(),
      ledger: [],
      smoke: result("pass"),
    });
    expect(plan.blocked.map((b) => b.reason)).toEqual(["not-verified"]);
  });
});
