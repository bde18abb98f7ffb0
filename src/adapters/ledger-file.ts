/**
 * The ledger in `<stateDir>/ledger.jsonl`: a header line once it has one (the agents whose history it holds
 * whole, the workspaces that left Git), then one JSON line per entry. A pull is appended with O_APPEND and an
 * fsync before its append resolves (appends arriving together share one), so a completed pull stays proof of
 * verification (docs/plan-format.md, Promotion) even after a crash. It is compacted (rewritten atomically
 * with what promotion and prune need, core/plan/ledger-history.ts) once the lines appended since the last
 * compaction outnumber both `compactAfter` and the entries it kept, and held in memory between reads: a
 * cycle reads the file's stat, and the whole file only when something else changed or removed it.
 */
import { mkdir, open, readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { compactLedger, type Departure, KEPT_PER_WORKSPACE } from "../core/plan/ledger-history.js";
import type { Ledger, LedgerEntry, LedgerState, LedgerUpdate } from "../ports.js";
import { writeFileAtomic } from "./atomic-file.js";
import { moveAside, type StateFileOptions, stateFileError, stateFileKind } from "./state-file.js";

export const ledgerPath = (stateDir: string) => join(stateDir, "ledger.jsonl");

/**
 * Unreadable lines (a torn write after a crash) are reported through `onWarning` and repaired once.
 * `compactAfter` (default 1000) and `keepPerWorkspace` (default 128) size the compaction.
 */
export type FileLedgerOptions = StateFileOptions & { compactAfter?: number; keepPerWorkspace?: number };

const STRING_FIELDS = ["time", "agent", "image", "digest", "revision"] as const;
const HEADER_KEY = "kasmGitopsLedger";

/** The first line: `kept` entries followed it when it was written, so a restart knows when to compact. */
type Header = {
  kasmGitopsLedger: 2;
  kept: number;
  covered: Record<string, string>;
  departed: Record<string, Departure>;
};

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
  if (record.rebuilt !== undefined && record.rebuilt !== true) return '"rebuilt" is not true';
  const [time, agent, image, digest, revision] = STRING_FIELDS.map((field) => record[field] as string);
  return {
    time: time!,
    agent: agent!,
    image: image!,
    digest: digest!,
    revision: revision!,
    workspaces,
    ...(record.rebuilt ? { rebuilt: true as const } : {}),
  };
}

const isStringMap = (value: unknown): value is Record<string, string> =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  Object.values(value).every((v) => typeof v === "string");

/** The header a first line holds, or why it is not one. */
export function parseLedgerHeader(text: string): Header | string {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return "not JSON (a torn write?)";
  }
  const departed = value.departed as Record<string, unknown> | undefined;
  const departures =
    typeof departed === "object" && departed !== null && !Array.isArray(departed)
      ? Object.values(departed).every(
          (d) => isStringMap(d) && typeof d.since === "string" && typeof d.revision === "string",
        )
      : false;
  if (value[HEADER_KEY] !== 2 || !Number.isInteger(value.kept) || !isStringMap(value.covered) || !departures)
    return "not a ledger header this version writes";
  return value as unknown as Header;
}

/** The file as last read or written: a different one (another writer, a deletion) is read again. */
type Stamp = { ino: number; size: number; mtimeMs: number };
const sameFile = (a?: Stamp, b?: Stamp) =>
  a?.ino === b?.ino && a?.size === b?.size && a?.mtimeMs === b?.mtimeMs;

/** The ledger in memory; `kept`: entries the file held after its last rewrite, `appended`: lines since. */
type Loaded = Omit<LedgerState, "entries"> & {
  entries: LedgerEntry[];
  kept: number;
  appended: number;
  stamp?: Stamp;
};

export function createFileLedger(stateDir: string, options: FileLedgerOptions = {}): Ledger {
  const path = ledgerPath(stateDir);
  const compactAfter = options.compactAfter ?? 1000;
  const keepPerWorkspace = options.keepPerWorkspace ?? KEPT_PER_WORKSPACE;
  let cache: Loaded | undefined;
  /** Reads and writes in this process run one at a time, so a repair or compaction never races an append. */
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work);
    tail = run.catch(() => undefined);
    return run;
  };

  async function stampOf(): Promise<Stamp | undefined> {
    try {
      const { ino, size, mtimeMs } = await stat(path);
      return { ino, size, mtimeMs };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw stateFileError("inspect", path, error);
    }
  }

  /** A folder (or anything but a file) where the ledger belongs is moved aside; true when a file is there. */
  async function present(): Promise<boolean> {
    const kind = await stateFileKind(path);
    if (kind === "other") await moveAside(path, "is not a regular file; the ledger starts empty", options);
    return kind === "file";
  }

  /** Writes the whole ledger atomically; the header only when it says something. */
  async function rewrite(state: Loaded, header: boolean): Promise<void> {
    const head: Header = {
      kasmGitopsLedger: 2,
      kept: state.entries.length,
      covered: state.covered,
      departed: state.departed,
    };
    const says = header || Object.keys(state.covered).length > 0 || Object.keys(state.departed).length > 0;
    const lines = [...(says ? [head] : []), ...state.entries].map((e) => `${JSON.stringify(e)}\n`);
    await writeFileAtomic(path, lines.join(""));
    state.kept = state.entries.length;
    state.appended = 0;
    state.stamp = await stampOf();
  }

  async function compact(state: Loaded): Promise<void> {
    state.entries = compactLedger(state.entries, keepPerWorkspace);
    try {
      await rewrite(state, true);
    } catch (error) {
      throw stateFileError("compact", path, error);
    }
  }

  /**
   * Keeps the good lines; the original, bad lines and all, is moved aside once with a warning. A lost line
   * may be a previous release, so the ledger then covers no agent until it is rebuilt from their images.
   */
  async function repair(state: Loaded, bad: string[]): Promise<void> {
    const movedTo = await moveAside(
      path,
      `has ${bad.length} unreadable line(s) (${bad.slice(0, 3).join("; ")})`,
      {
        ...options,
        onWarning: (warning) =>
          options.onWarning?.({
            ...warning,
            message: `${warning.message}; the ${state.entries.length} readable entries are kept in ${basename(path)}`,
          }),
      },
    );
    state.covered = {};
    try {
      await rewrite(state, false);
    } catch (error) {
      throw stateFileError(`rewrite (the original is ${movedTo})`, path, error);
    }
  }

  async function readWhole(): Promise<Loaded> {
    const state: Loaded = { entries: [], covered: {}, departed: {}, kept: 0, appended: 0 };
    if (!(await present())) return state;
    let text: string;
    try {
      text = await readFile(path, "utf8");
      state.stamp = await stampOf();
    } catch (error) {
      throw stateFileError("read", path, error);
    }
    const bad: string[] = [];
    text.split("\n").forEach((line, index) => {
      if (line.trim() === "") return;
      if (index === 0 && line.includes(`"${HEADER_KEY}"`)) {
        const header = parseLedgerHeader(line);
        if (typeof header === "string") bad.push(`line 1: ${header}`);
        else Object.assign(state, { kept: header.kept, covered: header.covered, departed: header.departed });
        return;
      }
      const parsed = parseLedgerLine(line);
      if (typeof parsed === "string") bad.push(`line ${index + 1}: ${parsed}`);
      else state.entries.push(parsed);
    });
    state.appended = Math.max(0, state.entries.length - state.kept);
    if (bad.length > 0) await repair(state, bad);
    if (state.appended >= Math.max(compactAfter, state.kept)) await compact(state);
    return state;
  }

  /** The ledger as this process last knew it, or read again when the file is not the one it knew. */
  async function load(): Promise<Loaded> {
    if (cache && sameFile(cache.stamp, await stampOf())) return cache;
    cache = await readWhole();
    return cache;
  }

  async function write(entries: readonly LedgerEntry[]): Promise<void> {
    await mkdir(stateDir, { recursive: true });
    const state = await load();
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
        const { ino, size: after, mtimeMs } = await file.stat();
        state.stamp = { ino, size: after, mtimeMs };
      } finally {
        await file.close();
      }
    } catch (error) {
      cache = undefined;
      throw stateFileError("append to", path, error);
    }
    state.entries.push(...entries);
    state.appended += entries.length;
    if (state.appended >= Math.max(compactAfter, state.kept)) await compact(state);
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

  const read = () =>
    serial(async (): Promise<LedgerState> => {
      const state = await load();
      return {
        entries: state.entries.slice(),
        covered: { ...state.covered },
        departed: { ...state.departed },
      };
    });

  /** A rebuild or new departures: rare, so the ledger is compacted and rewritten whole with them. */
  const update = (change: LedgerUpdate) =>
    serial(async () => {
      await mkdir(stateDir, { recursive: true });
      const state = await load();
      const time = (options.now?.() ?? new Date()).toISOString();
      state.entries.push(...(change.rebuilt ?? []));
      for (const agent of change.covered ?? []) state.covered[agent] = time;
      if (change.departed) state.departed = change.departed;
      await compact(state);
    });

  return { append, entries: async () => (await read()).entries, read, update };
}
