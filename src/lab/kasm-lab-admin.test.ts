import { describe, expect, it } from "vitest";
import { isLoopback } from "./kasm-lab-admin.js";

describe("isLoopback", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.3.2.1", true],
    ["::1", true],
    ["::ffff:127.0.0.1", true],
    ["10.0.0.5", false],
    ["::ffff:192.168.1.2", false],
    ["fe80::1", false],
    [undefined, false],
  ])("%s → %s", (address, expected) => {
    expect(isLoopback(address)).toBe(expected);
  });
});
