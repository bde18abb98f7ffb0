/**
 * What `lab down` may touch: only processes it can prove the lab started (the pid's start time as recorded
 * when it was started, and a command line naming the lab folder), and only mounts under the lab folder.
 * A pid reused by another process after a reboot or a crash is left alone.
 */
import { readFileSync } from "node:fs";
import { execFileAsync, isAlive } from "./processes.js";

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot); the command name may hold spaces or ")". */
export function parseStartTime(stat: string): string | undefined {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19];
}

/** When the process with this pid started, or undefined when there is none (or no /proc). */
export function processStartTime(pid: number): string | undefined {
  try {
    return parseStartTime(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** A service the lab recorded: its pid and, for services started since start times are kept, when it started. */
export type Recorded = { pid: number; startTime?: string };

/**
 * True only for a live process whose command line names a path inside the lab folder (`/tmp/kl/…`, never
 * `/tmp/kl-other/…`) and whose start time matches the record.
 */
export function ownedByLab(record: Recorded, dir: string): boolean {
  if (!isAlive(record.pid)) return false;
  if (record.startTime !== undefined && processStartTime(record.pid) !== record.startTime) return false;
  return commandLine(record.pid).includes(`${dir.replace(/\/+$/, "")}/`);
}

/** Mount points at or under `dir` in /proc/mounts text, deepest first (the order to unmount them in). */
export function mountsUnder(procMounts: string, dir: string): string[] {
  const root = dir.replace(/\/+$/, "");
  const points = procMounts
    .split("\n")
    .map((line) => line.split(" ")[1])
    .filter((p): p is string => Boolean(p))
    .map((p) => p.replace(/\\040/g, " "))
    .filter((p) => p === root || p.startsWith(`${root}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Unmounts what the lab's engines left mounted under `dir`; returns what could not be unmounted. */
export async function unmountUnder(dir: string): Promise<string[]> {
  let text = "";
  try {
    text = readFileSync("/proc/mounts", "utf8");
  } catch {
    return [];
  }
  const failed: string[] = [];
  for (const point of mountsUnder(text, dir)) {
    await execFileAsync("umount", [point]).catch(() => failed.push(point));
  }
  return failed;
}
