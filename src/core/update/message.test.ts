import { describe, expect, it } from "vitest";
import { automationOf, updateBranch, updateCommitMessage } from "./message.js";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;
const record = {
  workspace: "chrome-testing",
  previous: "reg:5000/kasm/chrome:20261201",
  image: "reg:5000/kasm/chrome:20261206",
  previousTag: "20261201",
  tag: "20261206",
  previousDigest: A,
  digest: B,
  policy: { policy: "numerical" as const, filter: { pattern: "^(?<ts>\\d{8})$", extract: "$<ts>" } },
};

describe("updateCommitMessage", () => {
  it("names both tags and digests, the policy, and ends with the trailer", () => {
    const message = updateCommitMessage(record);
    const lines = message.split("\n");
    expect(lines[0]).toBe("Update chrome-testing to 20261206 (20261201 -> 20261206, sha256:bbbbbbbbbbbb)");
    expect(lines).toContain(`Digest: ${A} -> ${B}`);
    expect(lines).toContain("Policy: numerical, filter ^(?<ts>\\d{8})$ extract $<ts>");
    expect(lines.at(-1)).toBe("Kasm-Gitops-Automation: update");
    expect(automationOf(message)).toBe("update");
  });
  it.each([
    [{ previousDigest: undefined }, "Digest: unknown -> "],
    [{ previousTag: undefined }, "Tag: (no tag) -> 20261206"],
  ])("%j says what it does not know", (change, line) => {
    expect(updateCommitMessage({ ...record, ...change })).toContain(line);
  });
});

describe("automationOf", () => {
  it.each([
    ["Update x\n\nbody\n\nKasm-Gitops-Automation: update\n", "update"],
    ["Promote x\n\nKasm-Gitops-Automation: promote", "promote"],
    ["Revert x\n\nKasm-Gitops-Automation: update\n\nSigned-off-by: a person", undefined],
    ["Fix typo\n\nmentions Kasm-Gitops-Automation: update in passing", undefined],
    ["one line", undefined],
  ])("%j → %s", (message, kind) => {
    expect(automationOf(message)).toBe(kind);
  });
});

describe("updateBranch", () => {
  it("is one branch per workspace and tag", () => {
    expect(updateBranch("chrome-testing", "20261206")).toBe("kasm-gitops/update/chrome-testing/20261206");
  });
});
