/** What Linux reports about a process: resident memory from /proc/<pid>/status, CPU ticks from /proc/<pid>/stat. */
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { sleep } from "./lab-fleet.js";

export type Memory = { rssMB: number; peakMB: number };
export type CpuTicks = { self: number; children: number };

/** VmRSS (resident now) and VmHWM (resident at its peak), in MB. */
export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { rssMB: kb("VmRSS") / 1024, peakMB: kb("VmHWM") / 1024 };
}

/** utime+stime of the process, and cutime+cstime of the children it waited for (git, for the daemon). */
export function cpuTicksOf(pid: number): CpuTicks {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after "pid (comm) ": state is the first, utime the 12th, stime, cutime, cstime follow.
  const fields = stat
    .slice(stat.lastIndexOf(")") + 2)
    .split(" ")
    .map(Number);
  return { self: fields[11]! + fields[12]!, children: fields[13]! + fields[14]! };
}

/** Clock ticks per second, the unit of /proc/<pid>/stat times. */
export function clockTicks(): number {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** CPU used over a window, as % of one core, for the process and for its children. */
export function cpuPercent(before: CpuTicks, after: CpuTicks, windowMs: number, ticks = clockTicks()) {
  const pct = (t: number) => (t / ticks / (windowMs / 1000)) * 100;
  return { self: pct(after.self - before.self), children: pct(after.children - before.children) };
}

/** Resident memory of an idle node process with nothing loaded: the floor any Node.js daemon pays. */
export async function bareNodeMemory(): Promise<Memory> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  try {
    await sleep(1000);
    return memoryOf(child.pid!);
  } finally {
    child.kill("SIGTERM");
  }
}
