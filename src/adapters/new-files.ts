/** Writes files that must not exist yet: a file already there is never replaced, and never half written. */
import { randomBytes } from "node:crypto";
import { link, mkdir, open, readdir, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export type NewFilesResult = { written: string[]; existing: string[] };

/** Names in a folder; none when it does not exist yet. */
export async function folderEntries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/**
 * Writes each file under `dir` only where no file is: the content goes to a temp file, then a hard link
 * gives it its name, which fails when the name is taken, so a file someone else wrote is never replaced.
 */
export async function writeNewFiles(
  dir: string,
  files: readonly { path: string; text: string }[],
): Promise<NewFilesResult> {
  const result: NewFilesResult = { written: [], existing: [] };
  for (const file of files) {
    const target = join(dir, file.path);
    const folder = dirname(target);
    await mkdir(folder, { recursive: true });
    const temp = join(folder, `.${basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
    const handle = await open(temp, "wx", 0o644);
    try {
      await handle.writeFile(file.text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temp, target);
      result.written.push(file.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      result.existing.push(file.path);
    } finally {
      await rm(temp, { force: true });
    }
  }
  return result;
}
