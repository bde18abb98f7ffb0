import { describe, expect, it } from "vitest";
import { managedBy, memoryBytes, withMarker } from "./kasm-types.js";

describe("memoryBytes", () => {
  it.each([
    ["2768M", 2_768_000_000],
    ["2G", 2_000_000_000],
    ["512Mi", 536_870_912],
    ["1Gi", 1_073_741_824],
    ["1.5G", 1_500_000_000],
    ["lots", undefined],
    ["2 GB", undefined],
    ["", undefined],
  ])("%s → %s", (quantity, bytes) => {
    expect(memoryBytes(quantity)).toBe(bytes);
  });
});

describe("the managed-by marker", () => {
  it.each([
    [null, undefined],
    ["", undefined],
    ["managed-by: kasm-gitops/chrome", "chrome"],
    ["Owner: IT\n  managed-by: kasm-gitops/chrome-testing  \nmore", "chrome-testing"],
    ["managed-by: someone-else/chrome", undefined],
  ])("%j → %s", (notes, owner) => {
    expect(managedBy(notes)).toBe(owner);
  });

  it.each([
    [null, "chrome", "managed-by: kasm-gitops/chrome"],
    ["Owner: IT", "chrome", "Owner: IT\nmanaged-by: kasm-gitops/chrome"],
    ["managed-by: kasm-gitops/old\nOwner: IT", "chrome", "Owner: IT\nmanaged-by: kasm-gitops/chrome"],
  ])("withMarker(%j, %s)", (notes, workspace, result) => {
    expect(withMarker(notes, workspace)).toBe(result);
    expect(managedBy(withMarker(notes, workspace))).toBe(workspace);
  });
});
