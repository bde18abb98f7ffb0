import { describe, expect, it } from "vitest";
import { manifestSet, workspace } from "../../../test/helpers/manifests.js";
import { resultKey, type SmokeResult, type SmokeState, specFingerprint } from "../kasm/smoke.js";
import type { WorkspaceManifest } from "../manifest/types.js";
import {
  autoPromotionKey,
  autoPromotionMessage,
  autoPromotionsDue,
  promoteBranch,
} from "./auto-promotion.js";
import { type AutomatedCommit, readAutomationHistory } from "./history.js";
import { automationOf } from "./message.js";

const IMAGE = "reg:5000/kasm/chrome";
const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;

const testing = (tag = "20261206", smoke = true) =>
  workspace("chrome-testing", {
    image: `${IMAGE}:${tag}`,
    registry: "lab",
    ...(smoke ? { smoke: true } : {}),
  });
const production = (tag = "20261201", extra: Partial<WorkspaceManifest["spec"]> = {}) =>
  workspace("chrome", {
    image: `${IMAGE}:${tag}`,
    registry: "lab",
    promotion: { from: "chrome-testing", auto: "commit" },
    ...extra,
  });

/** A smoke result of `w`, under its manifest as it is (or as `spec` says). */
const result = (
  w: WorkspaceManifest,
  digest: string,
  verdict: "pass" | "fail",
  finishedAt = "2026-12-06T10:00:00.000Z",
  spec = specFingerprint(w),
): SmokeResult => ({
  digest,
  workspace: w.metadata.name,
  result: verdict,
  message: verdict === "pass" ? "running for 30s" : "container exited",
  startedAt: finishedAt,
  finishedAt,
  spec,
});
const state = (...results: SmokeResult[]): SmokeState => ({
  results: Object.fromEntries(results.map((r) => [resultKey(r.workspace, r.digest), r])),
  pending: [],
});

describe("autoPromotionsDue", () => {
  const t = testing();
  it.each([
    [
      "a passed smoke of what testing runs now: due, to testing's tag",
      [t, production()],
      state(result(t, D1, "pass")),
      [],
      [{ status: "due", digest: D1, image: `${IMAGE}:20261206` }],
    ],
    [
      "no smoke result yet: waiting",
      [t, production()],
      state(),
      [],
      [{ status: "waiting", reason: "smoke-missing" }],
    ],
    [
      "a failed smoke: waiting, naming the digest",
      [t, production()],
      state(result(t, D1, "fail")),
      [],
      [{ status: "waiting", reason: "smoke-failed", digest: D1 }],
    ],
    [
      "a pass under another manifest of testing (an older tag) says nothing of today's",
      [t, production()],
      state(result(t, D1, "pass", undefined, "0123456789abcdef")),
      [],
      [{ status: "waiting", reason: "smoke-missing" }],
    ],
    [
      "the newest result under the current manifest counts: a later failure blocks",
      [t, production()],
      state(result(t, D1, "pass"), result(t, D2, "fail", "2026-12-06T11:00:00.000Z")),
      [],
      [{ status: "waiting", reason: "smoke-failed", digest: D2 }],
    ],
    [
      "a digest proposed before is never proposed again (a person may have reverted it)",
      [t, production()],
      state(result(t, D1, "pass")),
      [autoPromotionKey("chrome", D1)],
      [{ status: "waiting", reason: "already-proposed", digest: D1 }],
    ],
    [
      "another digest proposed before does not stop this one",
      [t, production()],
      state(result(t, D1, "pass")),
      [autoPromotionKey("chrome", D2)],
      [{ status: "due", digest: D1 }],
    ],
    [
      "production already runs testing's tag: nothing to write",
      [t, production("20261206")],
      state(result(t, D1, "pass")),
      [],
      [{ status: "waiting", reason: "up-to-date", digest: D1 }],
    ],
    [
      "its own auto-promotion landed: up to date, not proposed before",
      [t, production("20261206")],
      state(result(t, D1, "pass")),
      [autoPromotionKey("chrome", D1)],
      [{ status: "waiting", reason: "up-to-date", digest: D1 }],
    ],
    [
      "a disabled production workspace is left alone",
      [t, production(undefined, { enabled: false })],
      state(result(t, D1, "pass")),
      [],
      [],
    ],
    [
      "a promotion without auto is left to promote by hand",
      [t, production(undefined, { promotion: { from: "chrome-testing" } })],
      state(result(t, D1, "pass")),
      [],
      [],
    ],
  ])("%s", (_, workspaces, smoke, proposed, expected) => {
    const decisions = autoPromotionsDue(manifestSet({ workspaces }), smoke, new Set(proposed));
    expect(decisions).toHaveLength(expected.length);
    decisions.forEach((d, i) => {
      expect(d).toMatchObject({ workspace: "chrome", from: "chrome-testing", ...expected[i] });
    });
  });
});

describe("autoPromotionsDue reads the branch's automated promotions back", () => {
  const t = testing();
  const promoted = (digest: string, image = `${IMAGE}:20261206`): AutomatedCommit => ({
    commit: "c0ffee".padEnd(40, "0"),
    kind: "promote",
    workspace: "chrome",
    previous: `${IMAGE}:20261201`,
    image,
    digest,
  });
  it.each([
    [
      "a person undid the automated promotion of this digest: reverted, naming the commit",
      [promoted(D1)],
      [{ status: "waiting", reason: "reverted", digest: D1, commit: "c0ffee".padEnd(40, "0") }],
    ],
    [
      "an earlier automated promotion of this digest, Git since moved on by another: proposed already",
      [promoted(D2, `${IMAGE}:20261203`), promoted(D1)],
      [{ status: "waiting", reason: "already-proposed", digest: D1 }],
    ],
    [
      "a person undid another digest's promotion: this one is due",
      [promoted(D2)],
      [{ status: "due", digest: D1 }],
    ],
    ["no automated commit: due", [], [{ status: "due", digest: D1 }]],
  ])("%s", (_, commits, expected) => {
    const set = manifestSet({ workspaces: [t, production()] });
    const history = readAutomationHistory(set, commits);
    const decisions = autoPromotionsDue(set, state(result(t, D1, "pass")), new Set(), history);
    expect(decisions).toHaveLength(expected.length);
    decisions.forEach((d, i) => {
      expect(d).toMatchObject({ workspace: "chrome", from: "chrome-testing", ...expected[i] });
    });
  });
});

describe("the auto-promotion commit", () => {
  it("is promote's message with the promote trailer, which automationOf reads back", () => {
    const message = autoPromotionMessage({
      workspace: "chrome",
      from: "chrome-testing",
      file: "manifests/a.yaml",
      previous: `${IMAGE}:20261201`,
      image: `${IMAGE}:20261206`,
      digest: D1,
      verifiedOn: "ledger (pulled on agent-1)",
      movingTags: [],
    });
    expect(message.split("\n")[0]).toBe(
      `Promote chrome to 20261206 (sha256:111111111111 verified on chrome-testing)`,
    );
    expect(message).toContain(`Digest: ${D1}`);
    expect(message.trim().split("\n").at(-1)).toBe("Kasm-Gitops-Automation: promote");
    expect(automationOf(message)).toBe("promote");
  });
  it.each([
    ["chrome", "20261206", "kasm-gitops/promote/chrome/20261206"],
    ["chrome", D1, `kasm-gitops/promote/chrome/sha256-${"1".repeat(64)}`],
  ])("branch of %s at %s", (w, version, branch) => {
    expect(promoteBranch(w, version)).toBe(branch);
  });
});
