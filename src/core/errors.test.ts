import { describe, expect, it } from "vitest";
import { isTransient, KasmGitopsError } from "./errors.js";
import { ImageReferenceError, parseImageReference } from "./image-ref.js";

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
