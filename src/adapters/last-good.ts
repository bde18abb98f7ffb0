/** The last revision that validated and was applied, kept across restarts so the daemon resumes from it. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { RevisionStore, SavedRevision } from "../ports.js";
import { writeFileAtomic } from "./atomic-file.js";

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

/** The recorded last good revision; undefined when none was recorded or the file is not one we wrote. */
export async function readLastGood(stateDir: string): Promise<SavedRevision | undefined> {
  let text: string;
  try {
    text = await readFile(lastGoodPath(stateDir), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return isLastGood(parsed)
      ? { revision: parsed.revision, branch: parsed.branch, time: parsed.time, files: parsed.files }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Records `lastGood` atomically (temp file + rename), so a crash leaves the previous record intact. */
export async function writeLastGood(stateDir: string, lastGood: SavedRevision): Promise<void> {
  await writeFileAtomic(lastGoodPath(stateDir), `${JSON.stringify(lastGood, null, 2)}\n`);
}

/** The daemon's view of the record: read and write, bound to one state dir. */
export function createRevisionStore(stateDir: string): RevisionStore {
  return {
    read: () => readLastGood(stateDir),
    write: (saved: SavedRevision) => writeLastGood(stateDir, saved),
  };
}
