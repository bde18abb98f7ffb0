/**
 * Writes files that must not exist yet, only inside the output folder: a file already there is never
 * replaced, never half written, and nothing is written through a symbolic link (which could lead outside).
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, lstat, mkdir, open, readdir, readlink, realpath, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { KasmGitopsError } from "../core/errors.js";

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

const code = (error: unknown) => (error as NodeJS.ErrnoException).code;

async function lstatOrNothing(path: string) {
  try {
    return await lstat(path);
  } catch (error) {
    if (code(error) === "ENOENT") return undefined;
    throw error;
  }
}

async function linkRefusal(shown: string, path: string): Promise<KasmGitopsError> {
  const to = await readlink(path).catch(() => "?");
  return new KasmGitopsError(
    "usage",
    `${shown} is a symbolic link (to ${to}): import never writes through a link, which could lead outside the output folder; remove the link or choose another --out`,
    { path: shown },
  );
}

/**
 * Checks each part of `rel` under `root` with lstat (no link followed): a link anywhere is refused, a file
 * where a folder must be is refused; parts that do not exist yet end the walk. With `create`, missing
 * folders are made one at a time (never through a link). Returns the real folder that holds the file.
 */
async function walk(root: string, shownRoot: string, rel: string, create: boolean): Promise<string> {
  const parts = rel.split("/");
  let path = root;
  for (const [i, part] of parts.entries()) {
    path = join(path, part);
    const shown = join(shownRoot, ...parts.slice(0, i + 1));
    const last = i === parts.length - 1;
    let stats = await lstatOrNothing(path);
    if (!stats && !last && create) {
      await mkdir(path).catch((error: unknown) => {
        if (code(error) !== "EEXIST") throw error;
      });
      stats = await lstat(path);
    }
    if (!stats) break;
    if (stats.isSymbolicLink()) throw await linkRefusal(shown, path);
    if (!last && !stats.isDirectory())
      throw new KasmGitopsError("usage", `${shown} is not a folder: import cannot write ${rel} there`, {
        path: shown,
      });
  }
  return dirname(path);
}

/**
 * Writes each file under `dir` only where no file is: the content goes to a temp file in the real folder,
 * then a hard link gives it its name, which fails when the name is taken, so a file someone else wrote is
 * never replaced. Every path is checked for links before anything is written: one refusal writes nothing.
 */
export async function writeNewFiles(
  dir: string,
  files: readonly { path: string; text: string }[],
): Promise<NewFilesResult> {
  await mkdir(dir, { recursive: true });
  // `dir` itself is the operator's choice (a link there is theirs); below it, nothing may lead elsewhere.
  const root = await realpath(dir);
  for (const file of files) await walk(root, dir, file.path, false);
  const result: NewFilesResult = { written: [], existing: [] };
  for (const file of files) {
    const folder = await walk(root, dir, file.path, true);
    const target = join(folder, basename(file.path));
    const temp = join(folder, `.${basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const handle = await open(temp, flags, 0o644);
    try {
      try {
        await handle.writeFile(file.text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      // A folder swapped for a link since the walk would put the file elsewhere: its real path tells.
      if ((await realpath(folder)) !== folder) {
        await walk(root, dir, file.path, false);
        throw new KasmGitopsError("usage", `${dirname(join(dir, file.path))} moved while import wrote it`);
      }
      await link(temp, target);
      result.written.push(file.path);
    } catch (error) {
      if (code(error) !== "EEXIST") throw error;
      result.existing.push(file.path);
    } finally {
      await rm(temp, { force: true });
    }
  }
  return result;
}
