import { describe, expect, it } from "vitest";
import { parseManifestFiles } from "./load.js";
import { formatProblem } from "./validate.js";

const messages = (text: string) =>
  parseManifestFiles([{ file: "f.yaml", text }]).problems.map((p) => formatProblem(p));

describe("YAML syntax errors, one clear message per mistake", () => {
  it.each([
    [
      "a key indented deeper than its siblings",
      "apiVersion: v\nkind: Workspace\nspec:\n  registry: corp\n    image: x\n",
      [
        "f.yaml:5:5: error: check the indentation: `image` is indented 4 spaces, its siblings 2 (YAML parser: Nested mappings are not allowed in compact mappings)",
      ],
    ],
    [
      "a key indented less than its siblings",
      "apiVersion: v\nspec:\n  image: x\n registry: y\n",
      [
        "f.yaml:4:2: error: check the indentation: `registry` is indented 1 space, its siblings 2 (YAML parser: All mapping items must start at the same column)",
      ],
    ],
    [
      "a tab, however many errors it causes",
      "apiVersion: v\nspec:\n  a: 1\n\timage: y\n  b: 2\n",
      ["f.yaml:4:1: error: tabs are not allowed as indentation in YAML: indent with spaces"],
    ],
    [
      "tabs on several lines",
      "apiVersion: v\nspec:\n\timage: y\n\tname: z\n",
      ["f.yaml:3:1: error: tabs are not allowed as indentation in YAML: indent with spaces (also line 4)"],
    ],
    [
      "a quote left open, in the parser's words",
      'a: "x\nb: 3\n',
      ['f.yaml:3:1: error: missing closing "quote'],
    ],
    [
      "two mistakes in one document",
      "spec:\n  a: 1\n    b: 2\n  c: 3\n d: 4\n",
      [
        "f.yaml:3:5: error: check the indentation: `b` is indented 4 spaces, its siblings 2 (YAML parser: Nested mappings are not allowed in compact mappings)",
        "f.yaml:5:2: error: check the indentation: `d` is indented 1 space, its siblings 2 (YAML parser: All mapping items must start at the same column)",
      ],
    ],
  ])("%s", (_name, text, expected) => {
    expect(messages(text)).toEqual(expected);
  });
});
