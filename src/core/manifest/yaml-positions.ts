import { isMap, isScalar, isSeq, type LineCounter, type Node, type Pair } from "yaml";
import type { Position } from "./types.js";

/** Where one node stands: its value, and the key that names it when it sits in a mapping. */
export type NodeSpot = { line: number; col: number; keyLine?: number; keyCol?: number };

/** JSON pointer (RFC 6901, "" = the document) → where that node is written, when it is. */
export type PositionIndex = { get(pointer: string): NodeSpot | undefined };

/** Escapes one pointer segment the way ajv writes instancePath. */
export const pointerSegment = (key: string | number) =>
  String(key).replaceAll("~", "~0").replaceAll("/", "~1");
const unescapeSegment = (segment: string) => segment.replaceAll("~1", "/").replaceAll("~0", "~");

/**
 * Looks pointers up in the document's syntax tree on demand: positions are needed only for the few nodes
 * with a problem, so nothing is computed for the thousands without one. Aliases are not followed; a node
 * inside one resolves to the alias itself in `spotAt`.
 */
export function treePositions(root: Node | null, lineCounter: LineCounter): PositionIndex {
  const at = (node: Node | null | undefined) => lineCounter.linePos(node?.range?.[0] ?? 0);
  return {
    get(pointer) {
      if (!root) return undefined;
      let node: Node | null = root;
      let key: Node | undefined;
      for (const raw of pointer === "" ? [] : pointer.slice(1).split("/")) {
        const segment = unescapeSegment(raw);
        if (isMap(node)) {
          const pair: Pair | undefined = node.items.find(
            (p) => isScalar(p.key) && String(p.key.value) === segment,
          );
          if (!pair) return undefined;
          key = pair.key as Node;
          node = (pair.value as Node | null) ?? null;
        } else if (isSeq(node)) {
          node = (node.items[Number(segment)] as Node | undefined) ?? null;
          key = undefined;
        } else return undefined;
        if (!node) return key ? { ...at(key), keyLine: at(key).line, keyCol: at(key).col } : undefined;
      }
      const value = at(node);
      if (!key) return value;
      const keyPos = at(key);
      return { ...value, keyLine: keyPos.line, keyCol: keyPos.col };
    },
  };
}

/** The same index over a tree obtained only when the first pointer is looked up (see laterTrees in load.ts). */
export function lazyPositions(tree: () => Node | null, lineCounter: LineCounter): PositionIndex {
  let index: PositionIndex | undefined;
  return {
    get(pointer) {
      index ??= treePositions(tree(), lineCounter);
      return index.get(pointer);
    },
  };
}

/** The first node nested deeper than `max` (aliases not followed), without allocating per node. */
export function tooDeep(root: Node | null, max: number, depth = 0): Node | undefined {
  if (!root) return undefined;
  if (depth > max) return root;
  if (isMap(root)) {
    for (const pair of root.items) {
      const found = tooDeep(pair.value as Node | null, max, depth + 1);
      if (found) return found;
    }
  } else if (isSeq(root)) {
    for (const item of root.items) {
      const found = tooDeep(item as Node | null, max, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
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
