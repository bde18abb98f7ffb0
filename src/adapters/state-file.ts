/** Files in the state dir that are not what we wrote: moved aside with a warning, never trusted or lost. */
import { lstat, rename } from "node:fs/promises";
import { basename } from "node:path";
import { KasmGitopsError } from "../core/errors.js";

/** What was found wrong with a state file, and what was done about it. */
export type StateWarning = { file: string; message: string; movedTo?: string };
export type StateFileOptions = {
  /** Told about every state file found corrupt and moved aside (the daemon logs it, the CLI prints it). */
  onWarning?: (warning: StateWarning) => void;
  now?: () => Date;
};

/** `missing`, a regular `file`, or `other` (a folder, socket, FIFO… where a file belongs). */
export async function stateFileKind(path: string): Promise<"missing" | "file" | "other"> {
  try {
    return (await lstat(path)).isFile() ? "file" : "other";
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw stateFileError("inspect", path, error);
  }
}

/** A state file that could not be read or written, naming it. */
export function stateFileError(action: string, path: string, cause: unknown): KasmGitopsError {
  const detail = (cause as NodeJS.ErrnoException)?.code ?? (cause as Error)?.message ?? String(cause);
  return new KasmGitopsError(
    "state-file",
    `cannot ${action} state file ${path} (${detail})`,
    { file: path },
    { cause },
  );
}

/** Renames `path` to `<path>.corrupt-<time>` and warns with `why`; returns the new name. */
export async function moveAside(path: string, why: string, options: StateFileOptions): Promise<string> {
  const stamp = (options.now?.() ?? new Date()).toISOString().replace(/:/g, "-");
  const movedTo = `${path}.corrupt-${stamp}`;
  try {
    await rename(path, movedTo);
  } catch (error) {
    throw stateFileError(`move aside (${why})`, path, error);
  }
  options.onWarning?.({
    file: path,
    movedTo,
    message: `state file ${path} ${why}: moved aside as ${basename(movedTo)}`,
  });
  return movedTo;
}
