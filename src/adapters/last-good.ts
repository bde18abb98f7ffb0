/** The last revision that validated and was applied, kept across restarts so the daemon resumes from it. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { RevisionStore, SavedRevision } from "../ports.js";
import { writeFileAtomic } from "./atomic-file.js";
import { moveAside, type StateFileOptions, stateFileError, stateFileKind } from "./state-file.js";

export const lastGoodPath = (stateDir: string) => join(stateDir, "last-good.json");

const isLastGood = (value: unknown): value is SavedRevision => {
  const v = value as Partial<SavedRevision> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.revision === "string" &&
    /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(v.revision) &&
    typeof v.branch === "string" &&
    typeof v.time === "string" &&
    Array.isArray(v.files) &&
    v.files.every((f) => typeof f?.file === "string" && typeof f?.text === "string")
  );
};

/** Why parsed JSON is not a record we wrote, or undefined when it is one. */
function notLastGood(text: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return "is not JSON (a torn or foreign write?)";
  }
  return isLastGood(parsed) ? undefined : "is not a last good revision record";
}

/**
 * The recorded last good revision; undefined when none was recorded. Anything else at its path (garbage,
 * another shape, a folder) is moved aside with a warning, so it is never taken for a revision in force.
 */
export async function readLastGood(
  stateDir: string,
  options: StateFileOptions = {},
): Promise<SavedRevision | undefined> {
  const path = lastGoodPath(stateDir);
  const kind = await stateFileKind(path);
  if (kind === "missing") return undefined;
  if (kind === "other") {
    await moveAside(path, "is not a regular file", options);
    return undefined;
  }
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw stateFileError("read", path, error);
  }
  const why = notLastGood(text);
  if (why) {
    await moveAside(path, `${why}; no last good revision is recorded now`, options);
    return undefined;
  }
  const parsed = JSON.parse(text) as SavedRevision;
  return {
    revision: parsed.revision,
    branch: parsed.branch,
    time: parsed.time,
    files: parsed.files,
    ...(typeof parsed.signedBy === "string" ? { signedBy: parsed.signedBy } : {}),
  };
}

/** Records `lastGood` atomically (temp file + rename), so a crash leaves the previous record intact. */
export async function writeLastGood(
  stateDir: string,
  lastGood: SavedRevision,
  options: StateFileOptions = {},
): Promise<void> {
  const path = lastGoodPath(stateDir);
  if ((await stateFileKind(path)) === "other") await moveAside(path, "is not a regular file", options);
  try {
    await writeFileAtomic(path, `${JSON.stringify(lastGood, null, 2)}\n`);
  } catch (error) {
    throw stateFileError("write", path, error);
  }
}

/** The daemon's view of the record: read and write, bound to one state dir. */
export function createRevisionStore(stateDir: string, options: StateFileOptions = {}): RevisionStore {
  return {
    read: () => readLastGood(stateDir, options),
    write: (saved: SavedRevision) => writeLastGood(stateDir, saved, options),
  };
}
