import type { Dirent } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { KasmGitopsError } from "../core/errors.js";
import { LOAD_LIMITS, type ManifestFile } from "../core/load.js";

const MANIFEST_FILE = /\.ya?ml$/i;
/** Files read at the same time: enough to hide disk latency, few enough to stay clear of EMFILE. */
const PARALLEL_READS = 32;

/**
 * Relative paths of every *.yaml/*.yml below `dir`, skipping hidden files and folders (.git, .github,
 * .gitlab-ci.yml) and node_modules (a package's own examples and lock files are no manifests of this repo).
 */
async function listManifestFiles(dir: string, prefix = ""): Promise<string[]> {
  const entries: Dirent[] = await readdir(join(dir, prefix), { withFileTypes: true });
  const found: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith(".") || (entry.name === "node_modules" && entry.isDirectory())) continue;
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    // Symlinked folders are not followed: a link back up the tree would never end.
    if (entry.isDirectory()) found.push(...(await listManifestFiles(dir, relative)));
    else if (MANIFEST_FILE.test(entry.name) && (entry.isFile() || entry.isSymbolicLink()))
      found.push(relative);
  }
  return found;
}

/** Reads one file, or only its size when it is over the limit (the loader reports it; nothing is read whole). */
async function readManifestFile(path: string, file: string): Promise<ManifestFile> {
  const { size } = await stat(path);
  if (size > LOAD_LIMITS.maxFileBytes) return { file, text: "", size };
  return { file, text: await readFile(path, "utf8") };
}

/**
 * Every manifest file under a folder, sorted by path, with paths relative to it for messages; a path naming
 * a single file gives that file. A folder that does not exist is an error that says which.
 */
export async function readManifestDir(dir: string): Promise<ManifestFile[]> {
  const info = await stat(dir).catch((cause: NodeJS.ErrnoException) => {
    const reason =
      cause.code === "ENOENT" ? "does not exist" : `cannot be read (${cause.code ?? cause.message})`;
    throw new KasmGitopsError(
      "manifest-path-not-found",
      `manifest folder ${dir} ${reason}`,
      { dir },
      { cause },
    );
  });
  if (info.isFile()) return [await readManifestFile(dir, basename(dir))];
  const files = (await listManifestFiles(dir)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const result: ManifestFile[] = [];
  for (let i = 0; i < files.length; i += PARALLEL_READS) {
    const batch = files.slice(i, i + PARALLEL_READS);
    result.push(...(await Promise.all(batch.map((file) => readManifestFile(join(dir, file), file)))));
  }
  return result;
}
