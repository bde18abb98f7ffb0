import { describe, expect, it } from "vitest";
import { describeError, isTransient, KasmGitopsError } from "./errors.js";
import { ImageReferenceError, parseImageReference } from "./image/reference.js";

describe("ImageReferenceError", () => {
  it.each([
    ["Ubuntu:22.04", "repository"],
    ["ubuntu:-bad", "tag"],
    ["ubuntu@sha256:abc", "digest"],
  ])("%s is a KasmGitopsError about its %s", (input, part) => {
    const error = (() => {
      try {
        parseImageReference(input);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ImageReferenceError);
    expect(error).toBeInstanceOf(KasmGitopsError);
    expect(error).toMatchObject({ code: "invalid-image-reference", context: { input, part } });
  });
});

describe("isTransient", () => {
  it.each([
    [new KasmGitopsError("registry-rate-limited", "x"), true],
    [new KasmGitopsError("registry-unavailable", "x"), true],
    [new KasmGitopsError("pull-failed", "HTTP 503", { transient: true }), true],
    [new KasmGitopsError("pull-failed", "manifest unknown", { transient: false }), false],
    [new KasmGitopsError("registry-unauthorized", "x"), false],
    [new KasmGitopsError("registry-not-found", "x"), false],
    [new KasmGitopsError("registry-error", "x"), false],
    [new Error("registry-unavailable"), false],
    ["registry-unavailable", false],
  ])("%s → %s", (error, expected) => {
    expect(isTransient(error)).toBe(expected);
  });
});

describe("describeError", () => {
  const gitCause = new Error(
    "fatal: '/nope' does not appear to be a git repository\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n",
  );
  it.each([
    [
      "git's words already in the message are not printed again",
      new KasmGitopsError(
        "git-failed",
        "git fetch of /nope failed: '/nope' does not appear to be a git repository; Could not read from remote repository; Please make sure you have the correct access rights; and the repository exists",
        {},
        { cause: gitCause },
      ),
      "git fetch of /nope failed: '/nope' does not appear to be a git repository; Could not read from remote repository; Please make sure you have the correct access rights; and the repository exists",
    ],
    [
      "a cause the message does not say is appended",
      new KasmGitopsError("git-failed", "git fetch of r failed", {}, { cause: new Error("ECONNREFUSED") }),
      "git fetch of r failed: ECONNREFUSED",
    ],
    ["a plain error", new Error("x"), "x"],
  ])("%s", (_name, error, expected) => {
    expect(describeError(error)).toBe(expected);
  });
});
