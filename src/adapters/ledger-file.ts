/**
 * The ledger of completed pulls as JSON lines in `<stateDir>/ledger.jsonl`: appended with O_APPEND and an
 * fsync per entry, so a completed pull stays proof of verification (docs/plan-format.md, Promotion) even after a crash.
 */
import { mkdir, open, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Ledger, LedgerEntry } from "../ports.js";

export const ledgerPath = (stateDir: string) => join(stateDir, "ledger.jsonl");

export type FileLedgerOptions = {
  /** Called for each line that is not a ledger entry (a torn write after a crash), which is then skipped. */
  onSkippedLine?: (line: number, reason: string) => void;
};

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
  /** Appends in this process run one at a time, so the newline check below sees the previous write. */
  let tail: Promise<void> = Promise.resolve();

  async function write(entry: LedgerEntry): Promise<void> {
    await mkdir(stateDir, { recursive: true });
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
      await file.write(`${prefix}${JSON.stringify(entry)}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
  }

  return {
    append(entry) {
      const run = tail.then(() => write(entry));
      tail = run.catch(() => undefined);
      return run;
    },
    async entries() {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw error;
      }
      const entries: LedgerEntry[] = [];
      text.split("\n").forEach((line, index) => {
        if (line.trim() === "") return;
        const parsed = parseLedgerLine(line);
        if (typeof parsed === "string") options.onSkippedLine?.(index + 1, parsed);
        else entries.push(parsed);
      });
      return entries;
    },
  };
}
