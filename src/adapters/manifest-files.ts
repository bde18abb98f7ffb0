import { constants, type Dirent } from "node:fs";
import { open, readdir, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, sep } from "node:path";
import { KasmGitopsError } from "../core/errors.js";
import { LOAD_LIMITS, type ManifestFile } from "../core/manifest/load.js";

const MANIFEST_FILE = /\.ya?ml$/i;
/** Files read at the same time: enough to hide disk latency, few enough to stay clear of EMFILE. */
const PARALLEL_READS = 32;
/** Never follows a last symlink (checked already) and never blocks on a FIFO swapped in after the check. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Relative paths of every *.yaml/*.yml below `dir` that is not a folder (regular files, links, FIFOs,
 * devices: the reader decides), skipping hidden files and folders (.git, .github, .gitlab-ci.yml) and
 * node_modules (a package's own examples and lock files are no manifests of this repo).
 */
async function listManifestFiles(dir: string, prefix = ""): Promise<string[]> {
  const entries: Dirent[] = await readdir(join(dir, prefix), { withFileTypes: true });
  const found: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith(".") || (entry.name === "node_modules" && entry.isDirectory())) continue;
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    // Symlinked folders are not followed: a link back up the tree would never end.
    if (entry.isDirectory()) found.push(...(await listManifestFiles(dir, relative)));
    else if (MANIFEST_FILE.test(entry.name)) found.push(relative);
  }
  return found;
}

const isInside = (path: string, root: string) => path === root || path.startsWith(root + sep);

const KINDS: [keyof import("node:fs").Stats, string][] = [
  ["isDirectory", "a folder"],
  ["isFIFO", "a named pipe (FIFO)"],
  ["isCharacterDevice", "a device"],
  ["isBlockDevice", "a device"],
  ["isSocket", "a socket"],
];

/** Why a path is not a readable manifest, or undefined when it is a regular file inside `root`. */
async function refusal(path: string, root: string): Promise<string | undefined> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR"
      ? "is a symbolic link whose target does not exist"
      : `cannot be resolved (${code ?? "error"})`;
  }
  if (!isInside(real, root))
    return "resolves outside the manifest repository; only files inside it are read (a symbolic link may point only inside the repository)";
  const info = await stat(real);
  const kind = KINDS.find(([test]) => (info[test] as () => boolean).call(info));
  return kind ? `is ${kind[1]}, not a regular file` : undefined;
}

/**
 * Reads one manifest safely: only a regular file inside `root`, opened without following a last link and
 * without blocking, and never more than the size limit (over it, only the size is reported).
 */
async function readManifestFile(path: string, file: string, root: string): Promise<ManifestFile> {
  const refused = await refusal(path, root);
  if (refused) return { file, text: "", unreadable: refused };
  const handle = await open(await realpath(path), OPEN_FLAGS);
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { file, text: "", unreadable: "is not a regular file" };
    if (info.size > LOAD_LIMITS.maxFileBytes) return { file, text: "", size: info.size };
    // Bounded even if the file grows after the stat: at most one byte past the limit is ever read.
    const buffer = Buffer.alloc(LOAD_LIMITS.maxFileBytes + 1);
    let length = 0;
    let bytesRead = 1;
    while (bytesRead > 0 && length < buffer.length) {
      ({ bytesRead } = await handle.read(buffer, length, buffer.length - length, length));
      length += bytesRead;
    }
    if (length > LOAD_LIMITS.maxFileBytes) return { file, text: "", size: length };
    return { file, text: buffer.subarray(0, length).toString("utf8") };
  } finally {
    await handle.close();
  }
}

/**
 * Every manifest file under a folder, sorted by path, with paths relative to it for messages; a path naming
 * a single file gives that file. Files must resolve inside `root` (the checkout; the folder itself when
 * unset). A folder that does not exist is an error that says which.
 */
export async function readManifestDir(dir: string, root?: string): Promise<ManifestFile[]> {
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
  if (!info.isDirectory()) {
    const boundary = await realpath(root ?? dirname(dir));
    return [await readManifestFile(dir, basename(dir), boundary)];
  }
  const boundary = await realpath(root ?? dir);
  const files = (await listManifestFiles(dir)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const result: ManifestFile[] = [];
  for (let i = 0; i < files.length; i += PARALLEL_READS) {
    const batch = files.slice(i, i + PARALLEL_READS);
    result.push(
      ...(await Promise.all(batch.map((file) => readManifestFile(join(dir, file), file, boundary)))),
    );
  }
  return result;
}
