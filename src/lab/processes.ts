import { execFile, spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { promisify } from "node:util";

const run = promisify(execFile);

/** True when a process with this pid exists (signal 0 probes without touching it). */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Reads a pid file, or undefined when it is absent or garbage. */
export function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Starts a long-lived service detached from this process, its output appended to `logFile`. */
export function startDetached(command: string, args: string[], logFile: string): number {
  const out = openSync(logFile, "a");
  const child = spawn(command, args, { detached: true, stdio: ["ignore", out, out] });
  child.unref();
  if (!child.pid) throw new Error(`could not start ${command}`);
  return child.pid;
}

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILL: services get a chance to clean their sockets. */
export async function stopProcess(pid: number | undefined, graceMs = 15_000): Promise<void> {
  if (!pid || !isAlive(pid)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
  while (isAlive(pid)) await sleep(20);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns true or `timeoutMs` passes; the error names what never came up. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      last = error;
    }
    await sleep(100);
  }
  throw new Error(`${what} did not answer within ${timeoutMs} ms${last ? `: ${String(last)}` : ""}`);
}

/** A free TCP port on 127.0.0.1 (asks the kernel, then releases it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Path of an executable on PATH (or in the sbin folders apt uses), or undefined. */
export async function which(command: string): Promise<string | undefined> {
  try {
    const { stdout } = await run("sh", ["-c", `command -v ${command}`], {
      env: { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` },
    });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

export { run as execFileAsync };
