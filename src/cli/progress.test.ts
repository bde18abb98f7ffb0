import { describe, expect, it } from "vitest";
import { formatBytes } from "./progress.js";

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [160, "160 B"],
    [1536, "1.5 kB"],
    [5 * 1024 * 1024, "5.0 MB"],
    [3.2 * 1024 ** 3, "3.2 GB"],
  ])("%d → %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
