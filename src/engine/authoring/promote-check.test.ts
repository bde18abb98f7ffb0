import { describe, expect, it } from "vitest";
import { manifestSet, workspace } from "../../../test/helpers/manifests.js";
import { promotionTarget } from "../../core/authoring/promote-target.js";
import { KasmGitopsError } from "../../core/errors.js";
import { resultKey, type SmokeState } from "../../core/kasm/smoke.js";
import { type PromoteDeps, verifyPromotion } from "./promote-check.js";

const D1 = `sha256:${"1".repeat(64)}`;
const IMAGE = `reg:5000/kasm/chrome:20261206@${D1}`;

/** The syncer's deps: it has no engines and no ledger, so asking either is a failure of the test. */
const syncerDeps = (smoke: SmokeState): PromoteDeps =>
  ({
    agentFor: () => {
      throw new Error("the syncer opened an engine");
    },
    ledger: {
      entries: () => {
        throw new Error("the syncer read a ledger");
      },
    },
    smoke: { read: async () => smoke },
  }) as unknown as PromoteDeps;

const smoked = (result: "pass" | "fail" | undefined): SmokeState => ({
  results: result
    ? {
        [resultKey("chrome-testing", D1)]: {
          digest: D1,
          workspace: "chrome-testing",
          result,
          message: result === "pass" ? "running for 3s" : "the session stopped before it ran",
          server: "srv-1",
          startedAt: "2026-12-06T10:00:00.000Z",
          finishedAt: "2026-12-06T10:00:05.000Z",
          spec: "0123456789abcdef",
        },
      }
    : {},
  pending: [],
});

describe("verifyPromotion on the Kasm syncer (kasmOnly): a passed smoke session in Kasm is the proof", () => {
  it.each([
    [
      "a pass: verified on the Kasm agent the session ran on",
      true,
      "pass",
      "Kasm agent srv-1 (a passed smoke session of chrome-testing in Kasm)",
    ],
    ["a failed smoke: refused as smoke-failed", true, "fail", "smoke-failed"],
    ["no result yet: not-verified, never promoted blind", true, undefined, "not-verified"],
    ["a testing ring without smoke tests: not-verified, there is no proof", false, undefined, "not-verified"],
  ] as const)("%s", async (_, withSmoke, result, expected) => {
    const set = manifestSet({
      workspaces: [
        workspace("chrome-testing", { image: IMAGE, registry: "lab", ...(withSmoke ? { smoke: true } : {}) }),
        workspace("chrome", {
          image: "reg:5000/kasm/chrome:20261201",
          registry: "lab",
          promotion: { from: "chrome-testing", auto: "commit" },
        }),
      ],
    });
    const verifying = verifyPromotion(set, promotionTarget(set, "chrome"), syncerDeps(smoked(result)), {
      kasmOnly: true,
    });
    if (expected.startsWith("Kasm")) {
      await expect(verifying).resolves.toEqual({ digest: D1, verifiedOn: expected, warnings: [] });
    } else {
      const error = await verifying.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KasmGitopsError);
      expect(error).toMatchObject({ code: expected });
      expect((error as Error).message).toContain("verifies a promotion by a passed smoke session in Kasm");
    }
  });
});
