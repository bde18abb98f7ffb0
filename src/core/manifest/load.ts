import { Composer, type Document, isAlias, LineCounter, type Node, Parser, visit } from "yaml";
import type { Position, Problem, ProblemCode } from "./types.js";
import { lazyPositions, type PositionIndex, positionIn, tooDeep, treePositions } from "./yaml-positions.js";
import { syntaxProblems } from "./yaml-syntax.js";

/**
 * One manifest file as read from disk; `size` is set instead of `text` when the file was too large to read,
 * `unreadable` (why, e.g. "is a named pipe") when it was not read at all.
 */
export type ManifestFile = { file: string; text: string; size?: number; unreadable?: string };

/** One YAML document of a manifest file, as plain data, with where each of its nodes is written. */
export type LoadedDocument = {
  file: string;
  /** 0-based index of the document in its file. */
  index: number;
  data: Record<string, unknown>;
  /** Where the document's content starts. */
  source: Position;
  /** JSON pointer inside `data` → line:col; see positionIn() in yaml-positions.ts. */
  positions: PositionIndex;
};

/** Limits that keep hostile or broken input from costing more than a moment. */
export const LOAD_LIMITS = {
  maxFileBytes: 1 << 20,
  maxDocumentsPerFile: 5000,
  /** yaml's own guard against "billion laughs": aliased nodes expanded per document. */
  maxAliasCount: 100,
  /** Manifests nest five levels; anything past this is an attack or an accident. */
  maxDepth: 64,
} as const;
export type LoadLimits = { [K in keyof typeof LOAD_LIMITS]: number };

const mib = (bytes: number) => `${(bytes / (1 << 20)).toFixed(bytes < 1 << 20 ? 2 : 1)} MiB`;
const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);

/**
 * Offset where `[`/`{` nesting first exceeds `max`, outside quotes and comments. yaml's composer recurses per
 * level, and a megabyte of `[` exhausts memory inside V8 before any error can be caught, so this runs first.
 */
export function flowNestingOverflow(text: string, max: number): number | undefined {
  let depth = 0;
  let quote: string | undefined;
  let previous = "\n";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (quote === '"' && c === "\\") i++;
      else if (c === quote && quote === "'" && text[i + 1] === "'") i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === "#" && (i === 0 || /\s/.test(text[i - 1]!))) {
      const end = text.indexOf("\n", i);
      i = end === -1 ? text.length : end - 1;
      continue;
    }
    if ((c === '"' || c === "'") && "\n:,[{-?".includes(previous)) quote = c;
    else if (c === "[" || c === "{") {
      if (++depth > max) return i;
    } else if (c === "]" || c === "}") depth = Math.max(0, depth - 1);
    if (c !== " " && c !== "\t" && c !== "\r") previous = c;
  }
  return undefined;
}

/** How every manifest file is composed, the first time and when its syntax trees are needed again. */
const COMPOSE_OPTIONS = { uniqueKeys: true, merge: true } as const;

/**
 * The syntax tree of a file's document `index`, from composing the same text again with the same options
 * on first use (then kept for the file's other documents). The first parse's trees are not kept: a valid
 * repository needs no position at all, and holding 10,000 trees until validation ends cost the collector
 * more than the rest of validation.
 */
function laterTrees(text: string, maxDocuments: number): (index: number) => Node | null {
  let trees: (Node | null)[] | undefined;
  return (index) => {
    if (!trees) {
      trees = [];
      for (const doc of new Composer(COMPOSE_OPTIONS).compose(new Parser().parse(text), true)) {
        trees.push(doc.contents as Node | null);
        if (trees.length >= maxDocuments) break;
      }
    }
    return trees[index] ?? null;
  };
}

/** The position of the first alias in a document, where an alias problem is best shown. */
function firstAliasOffset(doc: Document.Parsed): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_, node) {
      if (isAlias(node)) offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}

/** Parses manifest files into documents with positions; every YAML-level problem comes back, none is thrown. */
export function parseManifestFiles(
  files: readonly ManifestFile[],
  limits: LoadLimits = LOAD_LIMITS,
): { documents: LoadedDocument[]; problems: Problem[] } {
  const documents: LoadedDocument[] = [];
  const problems: Problem[] = [];
  for (const input of files) parseFile(input, limits, documents, problems);
  return { documents, problems };
}

function parseFile(
  input: ManifestFile,
  limits: LoadLimits,
  documents: LoadedDocument[],
  problems: Problem[],
) {
  const { file, text } = input;
  const error = (line: number, col: number, code: ProblemCode, message: string) =>
    problems.push({ file, line, col, severity: "error", code, message });
  if (input.unreadable) {
    error(1, 1, "unreadable-file", `not read: the path ${input.unreadable}`);
    return;
  }
  const size = input.size ?? (text.length * 3 > limits.maxFileBytes ? Buffer.byteLength(text) : text.length);
  if (size > limits.maxFileBytes) {
    error(
      1,
      1,
      "file-too-large",
      `file is ${mib(size)}; a manifest file may hold at most ${mib(limits.maxFileBytes)}: split it into several files`,
    );
    return;
  }
  const lineCounter = new LineCounter();
  const overflow = flowNestingOverflow(text, limits.maxDepth);
  if (overflow !== undefined) {
    lineCounter.addNewLine(0);
    for (let i = 0; i <= overflow; i++) if (text[i] === "\n") lineCounter.addNewLine(i + 1);
    const { line, col } = lineCounter.linePos(overflow);
    error(
      line,
      col,
      "nesting-limit",
      `brackets nest deeper than ${limits.maxDepth} levels; the file was not read further`,
    );
    return;
  }
  const composer = new Composer(COMPOSE_OPTIONS);
  const trees = laterTrees(text, limits.maxDocumentsPerFile);
  let index = 0;
  for (const doc of composer.compose(new Parser(lineCounter.addNewLine).parse(text), true)) {
    const start = lineCounter.linePos(doc.contents?.range[0] ?? doc.range[0]);
    if (index >= limits.maxDocumentsPerFile) {
      error(
        start.line,
        start.col,
        "too-many-documents",
        `more than ${limits.maxDocumentsPerFile} documents in one file: split it into several files`,
      );
      return;
    }
    const loaded = parseDocument(doc, { file, index: index++, text, lineCounter, limits, problems, trees });
    if (loaded) documents.push(loaded);
  }
}

type DocContext = {
  file: string;
  index: number;
  text: string;
  lineCounter: LineCounter;
  limits: LoadLimits;
  problems: Problem[];
  /** The file's syntax trees, composed again when a position is first asked for. */
  trees: (index: number) => Node | null;
};

function parseDocument(doc: Document.Parsed, ctx: DocContext): LoadedDocument | undefined {
  const { file, problems } = ctx;
  problems.push(...syntaxProblems(doc.errors, "error", ctx), ...syntaxProblems(doc.warnings, "warning", ctx));
  // A duplicate key still leaves a readable document; any other error leaves guesses, not data.
  if (doc.errors.some((e) => e.code !== "DUPLICATE_KEY")) return undefined;
  const deep = tooDeep(doc.contents, ctx.limits.maxDepth);
  if (deep) {
    const { line, col } = ctx.lineCounter.linePos(deep.range?.[0] ?? 0);
    problems.push({
      file,
      line,
      col,
      severity: "error",
      code: "nesting-limit",
      message: `the document nests deeper than ${ctx.limits.maxDepth} levels`,
    });
    return undefined;
  }
  const source = positionIn(file, treePositions(doc.contents, ctx.lineCounter), "");
  const positions = lazyPositions(() => ctx.trees(ctx.index), ctx.lineCounter);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: ctx.limits.maxAliasCount });
  } catch (error) {
    const offset = firstAliasOffset(doc);
    const at = offset === undefined ? source : { file, ...ctx.lineCounter.linePos(offset) };
    const text = (error as Error).message;
    const [code, message]: [ProblemCode, string] = /excessive alias/i.test(text)
      ? [
          "alias-limit",
          `aliases expand to more than ${ctx.limits.maxAliasCount} nodes (an alias bomb?): the document was not read`,
        ]
      : /unresolved alias/i.test(text)
        ? ["unresolved-alias", `${lowerFirst(text)}`]
        : ["yaml-syntax", lowerFirst(text)];
    problems.push({ ...at, severity: "error", code, message });
    return undefined;
  }
  if (data === null || data === undefined) return undefined; // an empty document (comments, trailing ---)
  if (typeof data !== "object" || Array.isArray(data)) {
    const got = Array.isArray(data) ? "a list" : `the ${typeof data} ${JSON.stringify(data)}`;
    problems.push({
      ...source,
      severity: "error",
      code: "not-a-mapping",
      message: `a manifest document is a mapping of apiVersion, kind, metadata and spec; this one is ${got}`,
    });
    return undefined;
  }
  return { file, index: ctx.index, data: data as Record<string, unknown>, source, positions };
}
