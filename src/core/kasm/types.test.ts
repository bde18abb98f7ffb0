import { describe, expect, it } from "vitest";
import { managedBy, withMarker } from "./types.js";

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
