import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "./duration.js";

describe("parseDuration", () => {
  it.each([
    ["30s", 30_000],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1h30m", 5_400_000],
    ["500ms", 500],
    [" 5s ", 5000],
    ["", undefined],
    ["30", undefined],
    ["-5s", undefined],
    ["1.5s", undefined],
    ["5 s", undefined],
    ["1d", undefined],
  ])("%j → %j", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});

describe("formatDuration", () => {
  it.each([
    [250, "250ms"],
    [30_000, "30s"],
    [90_000, "1m30s"],
    [3_600_000, "1h"],
  ])("%d → %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
