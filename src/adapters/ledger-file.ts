/**
 * The ledger of completed pulls as JSON lines in `<stateDir>/ledger.jsonl`: appended with O_APPEND and an
 * fsync before an append resolves (appends arriving together share one), so a completed pull stays proof of verification (docs/plan-format.md, Promotion) even after a crash.
 */
import { mkdir, open, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Ledger, LedgerEntry } from "../ports.js";
import { writeFileAtomic } from "./atomic-file.js";
import { moveAside, type StateFileOptions, stateFileError, stateFileKind } from "./state-file.js";

export const ledgerPath = (stateDir: string) => join(stateDir, "ledger.jsonl");

/** Unreadable lines (a torn write after a crash) are reported through `onWarning` and repaired once. */
export type FileLedgerOptions = StateFileOptions;

const STRING_FIELDS = ["time", "agent", "image", "digest", "revision"] as const;

/** The entry a line holds, or why it is not one. */
export function parseLedgerLine(text: string): LedgerEntry | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "not JSON (a torn write?)";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not an object";
  const record = value as Record<string, unknown>;
  for (const field of STRING_FIELDS) {
    if (typeof record[field] !== "string") return `"${field}" is missing or not a string`;
  }
  const workspaces = record.workspaces ?? [];
  if (!Array.isArray(workspaces) || !workspaces.every((w) => typeof w === "string")) {
    return '"workspaces" is not a list of names';
  }
  const [time, agent, image, digest, revision] = STRING_FIELDS.map((field) => record[field] as string);
  return { time: time!, agent: agent!, image: image!, digest: digest!, revision: revision!, workspaces };
}

export function createFileLedger(stateDir: string, options: FileLedgerOptions = {}): Ledger {
  const path = ledgerPath(stateDir);
  /** Reads and appends in this process run one at a time, so a repair never races an append. */
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work);
    tail = run.catch(() => undefined);
    return run;
  };

  /** A folder (or anything but a file) where the ledger belongs is moved aside; true when a file is there. */
  async function present(): Promise<boolean> {
    const kind = await stateFileKind(path);
    if (kind === "other") await moveAside(path, "is not a regular file; the ledger starts empty", options);
    return kind === "file";
  }

  async function write(entries: readonly LedgerEntry[]): Promise<void> {
    await mkdir(stateDir, { recursive: true });
    await present();
    try {
      const file = await open(path, "a+", 0o600);
      try {
        // After a crash mid-write the file may end inside a line: start on a fresh one so this entry survives.
        const { size } = await file.stat();
        let prefix = "";
        if (size > 0) {
          const last = Buffer.alloc(1);
          await file.read(last, 0, 1, size - 1);
          if (last[0] !== 0x0a) prefix = "\n";
        }
        await file.write(`${prefix}${entries.map((e) => `${JSON.stringify(e)}\n`).join("")}`);
        await file.sync();
      } finally {
        await file.close();
      }
    } catch (error) {
      throw stateFileError("append to", path, error);
    }
  }

  /** Keeps the good lines; the original, bad lines and all, is moved aside once with a warning. */
  async function repair(entries: LedgerEntry[], bad: string[]): Promise<void> {
    const movedTo = await moveAside(
      path,
      `has ${bad.length} unreadable line(s) (${bad.slice(0, 3).join("; ")})`,
      {
        ...options,
        onWarning: (warning) =>
          options.onWarning?.({
            ...warning,
            message: `${warning.message}; the ${entries.length} readable entries are kept in ${basename(path)}`,
          }),
      },
    );
    const text = entries.map((e) => `${JSON.stringify(e)}\n`).join("");
    try {
      await writeFileAtomic(path, text);
    } catch (error) {
      throw stateFileError(`rewrite (the original is ${movedTo})`, path, error);
    }
  }

  async function read(): Promise<LedgerEntry[]> {
    if (!(await present())) return [];
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      throw stateFileError("read", path, error);
    }
    const entries: LedgerEntry[] = [];
    const bad: string[] = [];
    text.split("\n").forEach((line, index) => {
      if (line.trim() === "") return;
      const parsed = parseLedgerLine(line);
      if (typeof parsed === "string") bad.push(`line ${index + 1}: ${parsed}`);
      else entries.push(parsed);
    });
    if (bad.length > 0) await repair(entries, bad);
    return entries;
  }

  /**
   * Appends that arrive while a write is under way wait for the next one and share it: one write and one
   * fsync for the batch (group commit), so hundreds of pulls ending at once do not queue one fsync each.
   * Each append still resolves only once its line is on disk.
   */
  let batch: { entries: LedgerEntry[]; done: Promise<void> } | undefined;
  function append(entry: LedgerEntry): Promise<void> {
    if (!batch) {
      const next: { entries: LedgerEntry[]; done?: Promise<void> } = { entries: [] };
      next.done = serial(() => {
        if (batch === next) batch = undefined;
        return write(next.entries);
      });
      batch = next as { entries: LedgerEntry[]; done: Promise<void> };
    }
    batch.entries.push(entry);
    return batch.done;
  }

  return { append, entries: () => serial(read) };
}
