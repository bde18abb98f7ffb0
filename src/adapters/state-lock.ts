/**
 * One command at a time per state dir: an O_EXCL lock file naming its holder (pid, process start time,
 * boot id, host). A holder that is gone (killed, rebooted, a container restarted with the same pid) is
 * detected exactly on the same host, and its lock is broken under a second O_EXCL file so that two
 * waiters never both break it.
 */
import { readFileSync } from "node:fs";
import { mkdir, readFile, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { KasmGitopsError } from "../core/errors.js";
import { writeNewFile } from "./atomic-file.js";

export const lockPath = (stateDir: string) => join(stateDir, "lock");

/** Who holds a state dir, as written in the lock file. */
export type LockHolder = {
  pid: number;
  /** Kernel start time of the process (clock ticks since boot), so a reused pid is not mistaken for it. */
  start?: string;
  boot?: string;
  host: string;
  command: string;
  since: string;
};

export type StateLock = { holder: LockHolder; release(): Promise<void> };

export type LockOptions = {
  /** e.g. "apply": shown to whoever waits. */
  command: string;
  /** Fail at once with `state-locked` instead of waiting. */
  noWait?: boolean;
  /** Told once when this call starts waiting, and when it breaks a stale lock. */
  onWait?: (message: string) => void;
  signal?: AbortSignal;
  pollMs?: number;
};

const readProc = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

/** Field 22 of /proc/PID/stat (after the parenthesised name, which may hold spaces). */
function startTime(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

const BOOT = readProc("/proc/sys/kernel/random/boot_id")?.trim();

function self(command: string): LockHolder {
  const start = startTime(process.pid);
  return {
    pid: process.pid,
    ...(start ? { start } : {}),
    ...(BOOT ? { boot: BOOT } : {}),
    host: hostname(),
    command,
    since: new Date().toISOString(),
  };
}

/** State dirs this process holds: a lock with our pid is ours only if we took it. */
const heldHere = new Set<string>();

/**
 * Whether the holder is certainly gone; a holder on another host, or one we cannot inspect, is alive.
 * `ours`: this process took the lock (a lock with our pid that we did not take was left by a restarted
 * container, where the daemon is pid 1 every time).
 */
export function holderIsGone(holder: LockHolder, me: LockHolder = self(""), ours = false): boolean {
  if (holder.host !== me.host) return false;
  if (holder.boot && me.boot && holder.boot !== me.boot) return true;
  // Our own pid in a lock we did not take: a previous container (pid 1) or process that was killed.
  if (holder.pid === me.pid) return !ours;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return true;
  }
  const start = startTime(holder.pid);
  return Boolean(holder.start && start && start !== holder.start);
}

export const describeHolder = (h: LockHolder) =>
  `pid ${h.pid} on ${h.host} (kasm-gitops ${h.command}, since ${h.since})`;

/** The holder in the lock file; undefined when there is no file. A file that is not a lock is gone too. */
async function readHolder(path: string): Promise<LockHolder | "garbage" | undefined> {
  const text = await readFile(path, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as LockHolder;
    return typeof value.pid === "number" && typeof value.host === "string" ? value : "garbage";
  } catch {
    return "garbage";
  }
}

/** Creates the file only if absent; false when someone holds it. */
async function tryCreate(path: string, content: string): Promise<boolean> {
  try {
    await writeNewFile(path, content);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/** A breaker older than this was left by a process killed while breaking: it is itself stale. */
const BREAKER_STALE_MS = 10_000;

/**
 * Removes the lock when its holder is gone, under `lock.break` so that of several waiters only one
 * removes it and none removes a fresh lock taken meanwhile. True when it was removed.
 */
async function breakIfStale(path: string, seen: string): Promise<boolean> {
  const breaker = `${path}.break`;
  if (!(await tryCreate(breaker, String(process.pid)))) {
    const age = await stat(breaker).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > BREAKER_STALE_MS) await unlink(breaker).catch(() => undefined);
    return false;
  }
  try {
    const now = await readFile(path, "utf8").catch(() => undefined);
    if (now !== seen) return false;
    await unlink(path);
    return true;
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}

/** A pause that a stop ends early; its listener goes with it, so a long wait for the lock adds none. */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const stop = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", stop);
      resolve();
    }, ms);
    signal?.addEventListener("abort", stop, { once: true });
  });

/** Takes the state dir's lock, waiting for its holder (or failing with `state-locked` under `noWait`). */
export async function lockStateDir(stateDir: string, options: LockOptions): Promise<StateLock> {
  await mkdir(stateDir, { recursive: true });
  const path = lockPath(stateDir);
  const me = self(options.command);
  const content = `${JSON.stringify(me)}\n`;
  let told = false;
  for (;;) {
    if (await tryCreate(path, content)) {
      heldHere.add(path);
      return {
        holder: me,
        async release() {
          heldHere.delete(path);
          // Only our own lock: never one a stale-breaker gave to someone else.
          if ((await readFile(path, "utf8").catch(() => undefined)) === content) await unlink(path);
        },
      };
    }
    const seen = await readFile(path, "utf8").catch(() => undefined);
    if (seen === undefined) continue;
    const holder = await readHolder(path);
    if (holder === undefined) continue;
    if (holder === "garbage" || holderIsGone(holder, me, heldHere.has(path))) {
      if (await breakIfStale(path, seen)) {
        options.onWait?.(
          `removed a stale lock on ${stateDir} (${holder === "garbage" ? "unreadable" : `${describeHolder(holder)}, no longer running`})`,
        );
      }
      continue;
    }
    const who = describeHolder(holder);
    if (options.noWait)
      throw new KasmGitopsError(
        "state-locked",
        `the state dir ${stateDir} is in use by ${who}; run again when it is done, or without --no-wait to wait`,
        { stateDir, pid: holder.pid, host: holder.host },
      );
    if (!told) options.onWait?.(`waiting for the state dir ${stateDir}: it is in use by ${who}`);
    told = true;
    if (options.signal?.aborted)
      throw new KasmGitopsError(
        "state-locked",
        `stopped while waiting for the state dir ${stateDir} (${who})`,
        {
          stateDir,
        },
      );
    await sleep(options.pollMs ?? 250, options.signal);
  }
}
