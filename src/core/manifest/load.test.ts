import { describe, expect, it } from "vitest";
import { flowNestingOverflow, LOAD_LIMITS, type LoadLimits, parseManifestFiles } from "./load.js";
import { positionIn } from "./yaml-positions.js";

const parse = (text: string, limits: LoadLimits = LOAD_LIMITS) =>
  parseManifestFiles([{ file: "f.yaml", text }], limits);
const codes = (text: string, limits: LoadLimits = LOAD_LIMITS) =>
  parse(text, limits).problems.map((p) => [p.code, p.line, p.col]);

/** Nine levels of nine aliases each: 9^9 nodes once expanded. */
function aliasBomb(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) {
    const name = String.fromCharCode(97 + i);
    const previous = `*${String.fromCharCode(96 + i)}`;
    lines.push(`${name}: &${name} [${Array(9).fill(previous).join(",")}]`);
  }
  return `${lines.join("\n")}\n`;
}

describe("parseManifestFiles", () => {
  it("reads several documents per file and skips empty ones", () => {
    const { documents, problems } = parse("---\n# only a comment\n---\na: 1\n---\nb: [x]\n---\n");
    expect(problems).toEqual([]);
    expect(documents.map((d) => [d.index, d.data, d.source.line])).toEqual([
      [1, { a: 1 }, 4],
      [2, { b: ["x"] }, 6],
    ]);
  });

  it("keeps a position for every node, keys included, and falls back to the nearest ancestor", () => {
    const text = "apiVersion: v\nspec:\n  groups:\n    - qa\n    - dev\n  auth: {user: x}\n";
    const [doc] = parse(text).documents;
    const at = (pointer: string, part?: "key" | "value") => {
      const p = positionIn(doc!.file, doc!.positions, pointer, part);
      return `${p.line}:${p.col}`;
    };
    expect(at("")).toBe("1:1");
    expect(at("/spec/groups/1")).toBe("5:7");
    expect(at("/spec/groups", "key")).toBe("3:3");
    expect(at("/spec/auth/user")).toBe("6:16");
    expect(at("/spec/auth/user", "key")).toBe("6:10");
    expect(at("/spec/auth/missing/deeper")).toBe("6:9");
  });

  it.each([
    ["the first document", 0, "/a", "2:4"],
    ["a document after an empty one", 2, "/c/d", "8:6"],
    ["a document after one that did not load", 4, "/e/1", "14:5"],
  ])("finds positions in %s of a file, the file's trees composed again", (_name, index, pointer, at) => {
    const text = "---\na: 1\n---\n# empty\n---\nc:\n  x: 1\n  d: 2\n---\n[broken: \n---\ne:\n  - 0\n  - 1\n";
    const doc = parse(text).documents.find((d) => d.index === index)!;
    const p = positionIn(doc.file, doc.positions, pointer);
    expect(`${p.line}:${p.col}`).toBe(at);
  });

  it("escapes '/' and '~' in keys like JSON pointers do", () => {
    const [doc] = parse("labels:\n  example.com/zone: a\n  x~y: b\n").documents;
    expect(doc!.positions.get("/labels/example.com~1zone")).toMatchObject({ line: 2, col: 21 });
    expect(doc!.positions.get("/labels/x~0y")).toMatchObject({ line: 3, col: 8 });
  });

  it.each([
    ["a duplicate key, keeping the document", "a: 1\nb: 2\na: 3\n", [["duplicate-key", 3, 1]], 1],
    ["a tab used as indentation", "a:\n\tb: 1\n", [["tab-indent", 2, 1]], 0],
    ["a syntax error", "a: [1, 2\nb: 3\n", [["yaml-syntax", 2, 1]], 0],
    ["an unresolved alias", "a: *nope\n", [["unresolved-alias", 1, 4]], 0],
    ["a scalar document", "just text\n", [["not-a-mapping", 1, 1]], 0],
    ["a list document", "- a\n", [["not-a-mapping", 1, 1]], 0],
    ["an unknown tag, as a warning", "a: !vault x\n", [["yaml-warning", 1, 4]], 1],
  ])("reports %s", (_name, text, expected, documentCount) => {
    const { documents, problems } = parse(text);
    expect(problems.map((p) => [p.code, p.line, p.col])).toEqual(expected);
    expect(documents).toHaveLength(documentCount);
  });

  it("rejects an alias bomb without expanding it", () => {
    const { documents, problems } = parse(aliasBomb());
    expect(documents).toEqual([]);
    expect(problems.map((p) => [p.code, p.line, p.col])).toEqual([["alias-limit", 2, 8]]);
    expect(problems[0]!.message).toContain("alias bomb");
  });

  it("accepts ordinary anchors, aliases and merge keys", () => {
    const { documents, problems } = parse(
      "base: &b {ring: testing}\nlabels: *b\nmerged:\n  <<: *b\n  zone: eu\n",
    );
    expect(problems).toEqual([]);
    expect(documents[0]!.data).toEqual({
      base: { ring: "testing" },
      labels: { ring: "testing" },
      merged: { ring: "testing", zone: "eu" },
    });
  });

  it.each([
    ["text over the limit", { file: "f.yaml", text: `a: "${"x".repeat(LOAD_LIMITS.maxFileBytes)}"\n` }],
    ["a size reported by the reader", { file: "f.yaml", text: "", size: 5 << 20 }],
  ])("rejects a file over 1 MiB given as %s", (_name, file) => {
    const { documents, problems } = parseManifestFiles([file]);
    expect(documents).toEqual([]);
    expect(problems.map((p) => [p.code, p.line, p.col])).toEqual([["file-too-large", 1, 1]]);
    expect(problems[0]!.message).toMatch(/at most 1\.0 MiB/);
  });

  it("reports a file the reader refused, with its reason and no content", () => {
    const { documents, problems } = parseManifestFiles([
      { file: "passwd.yaml", text: "", unreadable: "resolves outside the manifest repository" },
    ]);
    expect(documents).toEqual([]);
    expect(problems).toEqual([
      {
        file: "passwd.yaml",
        line: 1,
        col: 1,
        severity: "error",
        code: "unreadable-file",
        message: "not read: the path resolves outside the manifest repository",
      },
    ]);
  });

  it("counts multi-byte characters in bytes against the size limit", () => {
    const text = `a: "${"é".repeat((LOAD_LIMITS.maxFileBytes >> 1) + 1)}"\n`;
    expect(text.length).toBeLessThan(LOAD_LIMITS.maxFileBytes);
    expect(codes(text)).toEqual([["file-too-large", 1, 1]]);
  });

  it("stops at the document limit", () => {
    const { documents, problems } = parse("a: 1\n---\nb: 2\n---\nc: 3\n---\nd: 4\n", {
      ...LOAD_LIMITS,
      maxDocumentsPerFile: 2,
    });
    expect(documents).toHaveLength(2);
    expect(problems.map((p) => [p.code, p.line, p.col])).toEqual([["too-many-documents", 5, 1]]);
  });

  it.each([
    ["unclosed brackets", "[".repeat(200_000), 1, 65],
    ["closed brackets in a value", `a: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`, 1, 68],
    ["nested flow mappings", `a:\n  b: ${"{c: ".repeat(1000)}1${"}".repeat(1000)}\n`, 2, 6 + 4 * 64],
  ])("rejects %s nested past the limit before yaml sees them", (_name, text, line, col) => {
    expect(codes(text)).toEqual([["nesting-limit", line, col]]);
  });

  it("rejects block nesting past the limit", () => {
    const text = `${Array.from({ length: 80 }, (_, i) => `${" ".repeat(i)}k:`).join("\n")} 1\n`;
    expect(codes(text)).toEqual([["nesting-limit", 66, 66]]);
  });

  it("ignores brackets inside quotes and comments when measuring nesting", () => {
    const deep = "[".repeat(100);
    expect(
      flowNestingOverflow(`a: "${deep}"\nb: '${deep}'\n# ${deep}\nc: d#${"[".repeat(10)}`, 64),
    ).toBeUndefined();
    expect(flowNestingOverflow(`a: it's ${deep}`, 64)).toBe(72);
  });

  it("reports problems of several files with their own names", () => {
    const { problems } = parseManifestFiles([
      { file: "one.yaml", text: "a: 1\na: 2\n" },
      { file: "two.yaml", text: "- x\n" },
    ]);
    expect(problems.map((p) => [p.file, p.code])).toEqual([
      ["one.yaml", "duplicate-key"],
      ["two.yaml", "not-a-mapping"],
    ]);
  });
});
