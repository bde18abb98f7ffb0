import { describe, expect, it } from "vitest";
import { manifestSet, workspace } from "../../../test/helpers/manifests.js";
import type { UpdateSpec } from "../manifest/types.js";
import { autoPromotionMessage } from "./auto-promotion.js";
import { type AutomatedCommit, parseAutomatedCommit, readAutomationHistory } from "./history.js";
import { updateCommitMessage } from "./message.js";

const IMAGE = "reg:5000/kasm/chrome";
const D1 = `sha256:${"1".repeat(64)}`;
const D0 = `sha256:${"0".repeat(64)}`;
const DATED: UpdateSpec = { policy: "numerical", filter: { pattern: "^(?<ts>\\d{8})$", extract: "$<ts>" } };

const updateMessage = updateCommitMessage({
  workspace: "chrome-testing",
  previous: `${IMAGE}:20261201`,
  image: `${IMAGE}:20261206`,
  previousTag: "20261201",
  tag: "20261206",
  previousDigest: D0,
  digest: D1,
  policy: DATED,
});
const promoteMessage = autoPromotionMessage({
  workspace: "chrome",
  from: "chrome-testing",
  file: "manifests/chrome.yaml",
  previous: `${IMAGE}:20261201`,
  image: `${IMAGE}:20261206`,
  digest: D1,
  verifiedOn: "pulled on agent-1",
  movingTags: [],
});

describe("parseAutomatedCommit", () => {
  it.each([
    [
      "an automated update",
      updateMessage,
      { kind: "update", workspace: "chrome-testing", image: `${IMAGE}:20261206`, digest: D1 },
    ],
    [
      "an automated promotion",
      promoteMessage,
      { kind: "promote", workspace: "chrome", previous: `${IMAGE}:20261201`, digest: D1 },
    ],
    [
      "a squash merge that folds the automated message into its own (trailer not last)",
      `Merge update (#12)\n\n* ${updateMessage}\n\nReviewed-by: Ada <ada@example.com>`,
      { kind: "update", workspace: "chrome-testing" },
    ],
    ["a person's commit", "Move chrome-testing back to 20261201\n\nImage: a -> b", undefined],
    [
      "a revert of an automated commit (git revert's message keeps no trailer)",
      'Revert "Update chrome-testing to 20261206 (20261201 -> 20261206, sha256:111111111111)"\n\nThis reverts commit 0123.',
      undefined,
    ],
    ["a trailer but no Workspace line", "x\n\nKasm-Gitops-Automation: update", undefined],
  ])("%s", (_, message, expected) => {
    const parsed = parseAutomatedCommit("abc", message);
    if (expected === undefined) expect(parsed).toBeUndefined();
    else expect(parsed).toMatchObject({ commit: "abc", ...expected });
  });
});

const testing = (tag: string, image = IMAGE) =>
  workspace("chrome-testing", { image: `${image}:${tag}`, registry: "lab", update: DATED });
const update = (tag: string, commit = `u-${tag}`, image = IMAGE): AutomatedCommit => ({
  commit,
  kind: "update",
  workspace: "chrome-testing",
  previous: `${image}:20261101`,
  image: `${image}:${tag}`,
});

describe("readAutomationHistory: updates a person undid", () => {
  it.each([
    ["Git holds the automated tag: nothing undone", "20261206", [update("20261206")], undefined],
    ["Git went back to an older tag: that tag is undone", "20261201", [update("20261206")], "20261206"],
    [
      "two updates, the newer one undone: the newest undone tag is kept",
      "20261201",
      [update("20261210"), update("20261206")],
      "20261210",
    ],
    [
      "an older automated tag Git has moved past was not undone",
      "20261210",
      [update("20261210"), update("20261206")],
      undefined,
    ],
    [
      "a person moved further than automation did: nothing undone",
      "20261220",
      [update("20261210")],
      undefined,
    ],
    [
      "an update of another repository (the image was renamed since) says nothing",
      "20261201",
      [update("20261206", "u", "reg:5000/kasm/old")],
      undefined,
    ],
    [
      "Git holds a tag the policy cannot order (latest): the automated tag is undone",
      "latest",
      [update("20261206")],
      "20261206",
    ],
  ])("%s", (_, tag, commits, undone) => {
    const history = readAutomationHistory(manifestSet({ workspaces: [testing(tag)] }), commits);
    expect(history.revertedUpdates.get("chrome-testing")?.tag).toBe(undone);
  });
});
