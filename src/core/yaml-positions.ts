import { isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from "yaml";
import type { Position } from "./manifest.js";

/** Where one node stands: its value, and the key that names it when it sits in a mapping. */
export type NodeSpot = { line: number; col: number; keyLine?: number; keyCol?: number };

/** JSON pointer (RFC 6901, "" = the document) → where that node is written. */
export type PositionIndex = ReadonlyMap<string, NodeSpot>;

/** Escapes one pointer segment the way ajv writes instancePath. */
export const pointerSegment = (key: string | number) =>
  String(key).replaceAll("~", "~0").replaceAll("/", "~1");

/** Result of indexing: the pointer map, or the pointer that nests deeper than `maxDepth`. */
export type IndexResult = { positions: Map<string, NodeSpot>; tooDeep?: { line: number; col: number } };

/**
 * Records a position for every node reachable without following aliases, so the walk stays linear
 * even for alias-heavy input; nodes inside an alias fall back to the alias itself in `positionAt`.
 */
export function indexPositions(root: Node | null, lineCounter: LineCounter, maxDepth: number): IndexResult {
  const positions = new Map<string, NodeSpot>();
  const at = (offset: number) => lineCounter.linePos(offset);
  let tooDeep: IndexResult["tooDeep"];
  const walk = (node: Node, pointer: string, depth: number, key?: { line: number; col: number }) => {
    const start = at(node.range?.[0] ?? 0);
    positions.set(pointer, key ? { ...start, keyLine: key.line, keyCol: key.col } : start);
    if (depth > maxDepth) {
      tooDeep ??= start;
      return;
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const keyPos = at(pair.key.range?.[0] ?? 0);
        const child = `${pointer}/${pointerSegment(String(pair.key.value))}`;
        if (pair.value) walk(pair.value as Node, child, depth + 1, keyPos);
        else positions.set(child, { ...keyPos, keyLine: keyPos.line, keyCol: keyPos.col });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        if (item && !isPair(item)) walk(item as Node, `${pointer}/${i}`, depth + 1);
      });
    }
  };
  if (root) walk(root, "", 0);
  return tooDeep ? { positions, tooDeep } : { positions };
}

/** Where a pointer is written; a pointer without its own node (defaults, aliases) resolves to its nearest ancestor. */
export function spotAt(
  positions: PositionIndex,
  pointer: string,
  part: "key" | "value",
): { line: number; col: number } {
  let current = pointer;
  for (;;) {
    const spot = positions.get(current);
    if (spot) {
      if (part === "key" && spot.keyLine !== undefined) return { line: spot.keyLine, col: spot.keyCol! };
      return { line: spot.line, col: spot.col };
    }
    if (current === "") return { line: 1, col: 1 };
    current = current.slice(0, current.lastIndexOf("/"));
  }
}

/** The same, as a Position in `file`. */
export const positionIn = (
  file: string,
  positions: PositionIndex,
  pointer: string,
  part: "key" | "value" = "value",
): Position => ({ file, ...spotAt(positions, pointer, part) });
