import { describe, expect, it } from "vitest";
import { manifestSet, workspace } from "../../../test/helpers/manifests.js";
import { promotionCommitMessage, promotionTarget, retag, versionOf } from "./promote-target.js";

const H = "reg.test:5000";
const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;

describe("retag", () => {
  it.each([
    [`${H}/kasm/chrome:1`, { tag: "2" }, `${H}/kasm/chrome:2`],
    [`${H}/kasm/chrome@${A}`, { tag: "2" }, `${H}/kasm/chrome:2`],
    [`${H}/kasm/chrome:1@${A}`, { digest: B }, `${H}/kasm/chrome@${B}`],
    [`${H}/kasm/chrome:1`, { tag: "2", digest: B }, `${H}/kasm/chrome:2@${B}`],
    ["kasmweb/chrome:1.14", { tag: "1.15" }, "kasmweb/chrome:1.15"],
    ["localhost:5000/chrome", { tag: "2" }, "localhost:5000/chrome:2"],
  ])("%s with %j → %s", (written, version, expected) => {
    expect(retag(written, version)).toBe(expected);
  });
});

const testing = (image: string) => workspace("chrome-testing", { image, registry: "corp" });
const prod = (image: string, promotion: boolean | undefined = true) =>
  workspace("chrome", {
    image,
    registry: "corp",
    ...(promotion ? { promotion: { from: "chrome-testing", movingTags: ["latest"] } } : {}),
  });

describe("promotionTarget", () => {
  it.each([
    [
      "the tag promotion.from runs",
      `${H}/kasm/chrome:2`,
      `${H}/kasm/chrome:1`,
      undefined,
      `${H}/kasm/chrome:2`,
      false,
    ],
    [
      "its digest when it is pinned without a tag",
      `${H}/kasm/chrome@${B}`,
      `${H}/kasm/chrome:1`,
      undefined,
      `${H}/kasm/chrome@${B}`,
      false,
    ],
    [
      "tag and digest when it pins both",
      `${H}/kasm/chrome:2@${B}`,
      `${H}/kasm/chrome:1`,
      undefined,
      `${H}/kasm/chrome:2@${B}`,
      false,
    ],
    ["an explicit --tag", `${H}/kasm/chrome:2`, `${H}/kasm/chrome:1`, "3", `${H}/kasm/chrome:3`, false],
    ["up to date", `${H}/kasm/chrome:2`, `${H}/kasm/chrome:2`, undefined, `${H}/kasm/chrome:2`, true],
  ])("moves to %s", (_, fromImage, current, tag, image, upToDate) => {
    const set = manifestSet({ workspaces: [testing(fromImage), prod(current)] });
    const target = promotionTarget(set, "chrome", tag);
    expect({ image: target.image, upToDate: target.upToDate, from: target.from.metadata.name }).toEqual({
      image,
      upToDate,
      from: "chrome-testing",
    });
  });

  it.each([
    ["chrmoe", undefined, /no Workspace named "chrmoe" in the manifests \(did you mean "chrome"\?\)/],
    ["chrome-testing", undefined, /workspace "chrome-testing" \(synthetic.yaml:1:1\) has no promotion.from/],
    ["chrome", "not a tag!", /--tag "not a tag!" is not a valid image tag/],
  ])("%s with --tag %s is a clear usage error", (name, tag, message) => {
    const set = manifestSet({ workspaces: [testing(`${H}/kasm/chrome:2`), prod(`${H}/kasm/chrome:1`)] });
    expect(() => promotionTarget(set, name, tag)).toThrow(message);
  });
});

describe("promotionCommitMessage", () => {
  it.each([
    [
      `${H}/kasm/chrome:20261127`,
      ["latest"],
      "Promote chrome to 20261127 (sha256:bbbbbbbbbbbb verified on chrome-testing)",
    ],
    [
      `${H}/kasm/chrome@${B}`,
      [],
      "Promote chrome to sha256:bbbbbbbbbbbb (sha256:bbbbbbbbbbbb verified on chrome-testing)",
    ],
  ])("%s: subject names the version and the digest, body the evidence", (image, movingTags, subject) => {
    const message = promotionCommitMessage({
      workspace: "chrome",
      from: "chrome-testing",
      file: "manifests/chrome.yaml",
      previous: `${H}/kasm/chrome:1`,
      image,
      digest: B,
      verifiedOn: "agent a1",
      movingTags,
    });
    expect(message.subject).toBe(subject);
    expect(message.body).toContain(`Digest: ${B}`);
    expect(message.body).toContain("Verified on: workspace chrome-testing, agent a1");
    expect(message.body).toContain(
      movingTags.length ? "will follow once merged: latest" : "Moving tags: none",
    );
    expect(versionOf(image)).toBe(subject.split(" ")[3]);
  });
});
