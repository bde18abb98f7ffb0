import { describe, expect, it } from "vitest";
import { setWorkspaceImage } from "./edit-image.js";

const file = `# Production Chrome: users see this one.
apiVersion: kasm-gitops/v1
kind: Workspace
metadata: {name: chrome}   # keep me
spec:
  friendlyName: Chrome
  image: reg:5000/kasm/chrome:20261120 # the tested tag
  registry: corp
---
apiVersion: kasm-gitops/v1
kind: Workspace
metadata:
  name: firefox
spec:
  image: "reg:5000/kasm/firefox:1"
  registry: corp
---
kind: Workspace
metadata: {name: quoted}
spec: {image: 'reg:5000/kasm/q:1', registry: corp}
`;

const changedLines = (before: string, after: string) => {
  const a = before.split("\n");
  const b = after.split("\n");
  expect(b.length).toBe(a.length);
  return a.flatMap((line, i) => (line === b[i] ? [] : [`${i + 1}: ${b[i]}`]));
};

describe("setWorkspaceImage", () => {
  it.each([
    [
      "chrome",
      "reg:5000/kasm/chrome:20261127",
      ["7:   image: reg:5000/kasm/chrome:20261127 # the tested tag"],
    ],
    ["firefox", "reg:5000/kasm/firefox:2", ['15:   image: "reg:5000/kasm/firefox:2"']],
    ["quoted", "reg:5000/kasm/q:2", ["20: spec: {image: 'reg:5000/kasm/q:2', registry: corp}"]],
  ])("%s → %s changes only the image line", (name, image, lines) => {
    expect(changedLines(file, setWorkspaceImage(file, name, image))).toEqual(lines);
  });

  it.each([["missing", /no Workspace named "missing"/]])("%s is a clear error", (name, message) => {
    expect(() => setWorkspaceImage(file, name, "x:1")).toThrow(message);
  });
});
