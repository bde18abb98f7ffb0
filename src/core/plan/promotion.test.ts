import { describe, expect, it } from "vitest";
import { shortDigest } from "./promotion.js";

const hex = (n: number) => "0123456789abcdef".repeat(8).slice(0, n);

describe("shortDigest", () => {
  it.each([
    [`sha256:${hex(64)}`, "sha256:0123456789ab"],
    [`sha384:${hex(96)}`, "sha384:0123456789ab"],
    [`sha512:${hex(128)}`, "sha512:0123456789ab"],
    [hex(64), "0123456789ab"],
    ["sha256:0123", "sha256:0123"],
    ["not a digest", "not a digest"],
    [undefined, "?"],
  ])("%s → %s", (digest, expected) => {
    expect(shortDigest(digest)).toBe(expected);
  });
});
