/**
 * The YAML parser's errors rewritten for people: one problem per mistake, in the words of the mistake
 * ("check the indentation: `image` is indented 4 spaces, its siblings 2"), the parser's own text kept as
 * `detail`. A tab used as indentation gives one problem, not one plus the errors it causes.
 */
import type { LineCounter, YAMLError } from "yaml";
import type { Problem, ProblemCode } from "./types.js";

const YAML_CODES: Record<string, ProblemCode> = {
  DUPLICATE_KEY: "duplicate-key",
  TAB_AS_INDENT: "tab-indent",
  RESOURCE_EXHAUSTION: "nesting-limit",
};

/** Parser errors that mean a line is indented differently from the lines around it. */
const INDENT_CODES = new Set(["BLOCK_AS_IMPLICIT_KEY", "MULTILINE_IMPLICIT_KEY"]);

const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);
const spaces = (n: number) => `${n} space${n === 1 ? "" : "s"}`;

type Source = { file: string; text: string; lineCounter: LineCounter };

/** The lines of a text, 1-based, with what helps to describe indentation; split on first use, as most errors need none. */
function lineInfo(text: string) {
  let split: string[] | undefined;
  const lines = () => (split ??= text.split("\n"));
  const at = (line: number) => lines()[line - 1] ?? "";
  const isContent = (line: number) => !/^\s*(#.*)?$/.test(at(line));
  const indent = (line: number) => /^ */.exec(at(line))![0].length;
  const key = (line: number) => {
    const body = at(line).trim();
    const match = /^(?:-\s+)?("[^"]*"|'[^']*'|[^:#\s][^:#]*?)\s*:(\s|$)/.exec(body);
    return match ? match[1]! : body.slice(0, 30);
  };
  const previousContent = (line: number) => {
    for (let l = line - 1; l >= 1; l--) if (isContent(l)) return l;
    return undefined;
  };
  const nextContent = (line: number) => {
    for (let l = line + 1; l <= lines().length; l++) if (isContent(l)) return l;
    return undefined;
  };
  return { at, indent, key, previousContent, nextContent };
}

/** The line that is out of place and the indentation its siblings have, for an indentation error. */
function misplacedLine(e: YAMLError, line: number, lines: ReturnType<typeof lineInfo>) {
  if (INDENT_CODES.has(e.code)) {
    // Reported on the line before: a line indented deeper than its siblings reads as a nested value.
    const next = lines.nextContent(line);
    if (next !== undefined && lines.indent(next) > lines.indent(line))
      return { line: next, siblings: lines.indent(line) };
    return undefined;
  }
  if (e.code === "BAD_INDENT" && /^All mapping items/i.test(e.message)) {
    const previous = lines.previousContent(line);
    return previous === undefined ? undefined : { line, siblings: lines.indent(previous) };
  }
  return undefined;
}

/** One problem per mistake for a document's parser errors (or warnings). */
export function syntaxProblems(
  errors: readonly YAMLError[],
  severity: Problem["severity"],
  source: Source,
): Problem[] {
  // Most documents have no errors: nothing to rewrite, and the file's text is not split for them.
  if (errors.length === 0) return [];
  const { file, text, lineCounter } = source;
  const lines = lineInfo(text);
  // Errors on a line indented with a tab are that tab's consequences: the tab's own message says it all.
  const tabLines = new Set(
    errors.filter((e) => e.code === "TAB_AS_INDENT").map((e) => lineCounter.linePos(e.pos[0]).line),
  );
  const problems: Problem[] = [];
  const taken = new Set<number>();
  for (const e of errors) {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    const detail = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    const code = severity === "warning" ? "yaml-warning" : (YAML_CODES[e.code] ?? "yaml-syntax");
    if (code === "tab-indent") continue;
    if (code === "duplicate-key") {
      const name = JSON.stringify(text.slice(e.pos[0], e.pos[1]));
      problems.push({
        file,
        line,
        col,
        severity,
        code,
        message: `duplicate key ${name}: YAML would keep only one of them`,
      });
      continue;
    }
    if (code !== "yaml-syntax") {
      problems.push({ file, line, col, severity, code, message: lowerFirst(detail) });
      continue;
    }
    const misplaced = misplacedLine(e, line, lines);
    const at = misplaced?.line ?? line;
    if (taken.has(at) || tabLines.has(line)) continue;
    taken.add(at);
    const message = misplaced
      ? `check the indentation: \`${lines.key(at)}\` is indented ${spaces(lines.indent(at))}, its siblings ${misplaced.siblings}`
      : lowerFirst(detail);
    problems.push({
      file,
      line: at,
      col: misplaced ? lines.indent(at) + 1 : col,
      severity,
      code,
      message,
      ...(misplaced ? { detail } : {}),
    });
  }
  if (tabLines.size > 0) {
    const [first, ...more] = [...tabLines];
    const where = more.length ? ` (also line${more.length > 1 ? "s" : ""} ${more.join(", ")})` : "";
    problems.unshift({
      file,
      line: first!,
      col: 1,
      severity,
      code: "tab-indent",
      message: `tabs are not allowed as indentation in YAML: indent with spaces${where}`,
    });
  }
  return problems.sort((a, b) => a.line - b.line || a.col - b.col);
}
