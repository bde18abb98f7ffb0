import { describe, expect, it } from "vitest";
import type { AutoPromotionDecision } from "../update/auto-promotion.js";
import type { UpdateFinding } from "../update/finding.js";
import { promotionLine, updateLine } from "./render-automation.js";

const plain = (_: unknown, text: string) => text;
const IMAGE = "reg:5000/kasm/chrome";
const D1 = `sha256:${"1".repeat(64)}`;
const base = { workspace: "chrome-testing", current: `${IMAGE}:20261201` };
const candidate = {
  image: `${IMAGE}:20261206`,
  tag: "20261206",
  previousTag: "20261201",
  digest: D1,
  considered: 2,
  listed: 5,
};

describe("updateLine", () => {
  it.each<[UpdateFinding, string]>([
    [
      { ...base, status: "candidate", ...candidate },
      "+ update available: chrome-testing 20261201 → 20261206  (sha256:111111111111)",
    ],
    [
      { ...base, status: "skipped", reason: "reverted", detail: "a person undid it", ...candidate },
      "- update skipped [reverted]: chrome-testing 20261201 → 20261206: a person undid it",
    ],
    [
      { ...base, status: "up-to-date", newest: "20261201", considered: 2, listed: 5 },
      "up to date: chrome-testing 20261201 is the newest its policy allows; 3 of 5 tags filtered out",
    ],
    [
      { ...base, status: "no-match", considered: 0, listed: 5 },
      "- update skipped [filtered-out]: chrome-testing: none of 5 tags passes its filter and policy",
    ],
    [
      { ...base, status: "error", code: "registry-unauthorized", error: "401 from reg:5000" },
      "! update check failed: chrome-testing [registry-unauthorized]: 401 from reg:5000",
    ],
  ])("%j", (finding, line) => {
    expect(updateLine(finding, plain).trim()).toBe(line);
  });
});

describe("promotionLine", () => {
  const d = { workspace: "chrome", from: "chrome-testing", current: `${IMAGE}:20261201` };
  it.each<[AutoPromotionDecision, string | undefined]>([
    [
      { ...d, status: "due", digest: D1, image: `${IMAGE}:20261206` },
      `+ promotion available: chrome → ${IMAGE}:20261206  (sha256:111111111111 passed its smoke test on chrome-testing)`,
    ],
    [
      { ...d, status: "waiting", reason: "smoke-failed", digest: D1 },
      "- promotion skipped [smoke-failed]: chrome ← chrome-testing sha256:111111111111: its smoke test failed",
    ],
    [
      { ...d, status: "waiting", reason: "reverted", digest: D1, commit: "abcdef0123456789" },
      "- promotion skipped [reverted]: chrome ← chrome-testing sha256:111111111111: a person undid its automated promotion (abcdef012345)",
    ],
    [{ ...d, status: "waiting", reason: "up-to-date", digest: D1 }, undefined],
  ])("%j", (decision, line) => {
    expect(promotionLine(decision, plain)?.trim()).toBe(line);
  });
});
