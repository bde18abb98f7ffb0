import { describe, expect, it } from "vitest";
import { formatMemoryQuantity, parseMemoryQuantity } from "./quantity.js";

describe("parseMemoryQuantity", () => {
  it.each([
    ["2768M", 2_768_000_000],
    ["2G", 2_000_000_000],
    ["1.5G", 1_500_000_000],
    ["1.1G", 1_100_000_000],
    ["512Mi", 536_870_912],
    ["1Gi", 1_073_741_824],
    ["0.5Gi", 536_870_912],
    ["64k", 64_000],
    ["4Ki", 4096],
    ["1T", 1e12],
    ["1Ti", 2 ** 40],
    [" 2G ", 2_000_000_000],
  ])("%s → %i bytes", (text, bytes) => {
    expect(parseMemoryQuantity(text)).toBe(bytes);
  });

  it.each([
    ["lots", "no number"],
    ["2048", "no unit"],
    ["2 G", "a space inside"],
    ["2GB", "an unknown unit"],
    ["2g", "a lower-case unit"],
    ["2m", "milli is not a memory unit"],
    ["-1G", "a negative number"],
    ["0M", "zero"],
    ["0.5", "no unit"],
    ["0.1Ki", "not a whole number of bytes"],
    ["1.G", "a dot without decimals"],
    ["99999999999T", "beyond a safe integer"],
    ["", "empty"],
  ])("%j is not a quantity (%s)", (text) => {
    expect(parseMemoryQuantity(text)).toBeUndefined();
  });
});

describe("formatMemoryQuantity", () => {
  it.each([
    [2_768_000_000, "2768M"],
    [2_147_483_648, "2Gi"],
    [1_000_000_000, "1G"],
    [536_870_912, "512Mi"],
    [1_500_000_000, "1500M"],
    [4096, "4Ki"],
    [64_000, "64k"],
    [2 ** 40, "1Ti"],
    [1234, "1.234k"],
    [1_000_001, "1000.001k"],
    [5, "0.005k"],
    [1_073_741_825, "1073741.825k"],
  ])("%i bytes → %s, which parses back to the same bytes", (bytes, text) => {
    expect(formatMemoryQuantity(bytes)).toBe(text);
    expect(parseMemoryQuantity(text)).toBe(bytes);
  });

  it.each([[0], [-1], [1.5], [Number.MAX_SAFE_INTEGER + 2]])("%d bytes has no quantity", (bytes) => {
    expect(formatMemoryQuantity(bytes)).toBeUndefined();
  });
});
