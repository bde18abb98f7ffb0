import type { Finding } from "./schema-errors.js";
import type { Kind, ProblemCode } from "./types.js";

/** What the rules may do with a document: say where a pointer is written, and add a finding to it. */
export type DocRef = {
  where: (pointer: string, part?: "key" | "value") => string;
  add: (finding: Finding) => void;
};

/**
 * A document of a known kind, valid or not: the rules read its fields through `field`, which yields only
 * well-typed values the schema did not already complain about, so one run reports every problem once.
 */
export type Identified = {
  kind: Kind;
  name?: string;
  data: Record<string, unknown>;
  /** Pointers the schema check reported. */
  flagged: ReadonlySet<string>;
  ref: DocRef;
};

/** Each pointer's keys, split once: the rules read the same dozen pointers from thousands of documents. */
const KEYS = new Map<string, string[]>();
const keysOf = (pointer: string): string[] => {
  const known = KEYS.get(pointer);
  if (known) return known;
  const keys = pointer.slice(1).split("/");
  KEYS.set(pointer, keys);
  return keys;
};

/** The value at a pointer, unless the schema check already reported it. */
export function field(item: Identified, pointer: string): unknown {
  if (item.flagged.size > 0 && item.flagged.has(pointer)) return undefined;
  let value: unknown = item.data;
  for (const key of keysOf(pointer)) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
/** A string field, or undefined when absent, mistyped or already reported. */
export const text = (item: Identified, pointer: string): string | undefined => {
  const value = field(item, pointer);
  return typeof value === "string" ? value : undefined;
};
/** Labels as a string map, or undefined when any value is not a string. */
export const stringMap = (value: unknown): Record<string, string> | undefined =>
  value !== null &&
  typeof value === "object" &&
  !Array.isArray(value) &&
  Object.values(value).every((v) => typeof v === "string")
    ? (value as Record<string, string>)
    : undefined;

/** An error finding at a pointer. */
export const error = (
  pointer: string,
  code: ProblemCode,
  message: string,
  part: Finding["part"] = "value",
): Finding => ({
  pointer,
  part,
  code,
  message,
});
