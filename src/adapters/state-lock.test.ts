import { getEventListeners } from "node:events";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { holderIsGone, type LockHolder, lockPath, lockStateDir } from "./state-lock.js";

const startOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]!;
};
const me: LockHolder = {
  pid: process.pid,
  start: startOf(process.pid),
  boot: "b1",
  host: hostname(),
  command: "",
  since: "",
};
const parent = {
  pid: process.ppid,
  start: startOf(process.ppid),
  boot: "b1",
  host: hostname(),
  command: "",
  since: "",
};

describe("holderIsGone", () => {
  it.each<[string, LockHolder, boolean]>([
    ["a live process with its start time", parent, false],
    ["a holder on another host (cannot be checked)", { ...parent, pid: 4_000_000, host: "elsewhere" }, false],
    ["a pid that does not exist", { ...parent, pid: 4_000_000 }, true],
    ["a reused pid (another start time)", { ...parent, start: "1" }, true],
    ["a holder from before a reboot", { ...parent, boot: "b0" }, true],
    ["our own pid in a lock we did not take (a restarted container)", { ...me, start: "1" }, true],
  ])("%s: %s", (_, holder, gone) => {
    expect(holderIsGone(holder, me)).toBe(gone);
  });
});

describe("lockStateDir", () => {
  it("gives the lock to one caller; --no-wait names the holder; release lets the next one in", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kg-lock-"));
    const first = await lockStateDir(dir, { command: "apply" });
    const refused = await lockStateDir(dir, { command: "plan", noWait: true }).catch((e: Error) => e);
    expect(refused).toMatchObject({ code: "state-locked" });
    expect((refused as Error).message).toContain(`pid ${process.pid} on ${hostname()} (kasm-gitops apply`);
    const said: string[] = [];
    const waiting = lockStateDir(dir, { command: "plan", pollMs: 10, onWait: (m) => said.push(m) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(said).toEqual([expect.stringMatching(/^waiting for the state dir .* in use by pid \d+/)]);
    await first.release();
    const second = await waiting;
    expect(JSON.parse(await readFile(lockPath(dir), "utf8"))).toMatchObject({ command: "plan" });
    await second.release();
  });

  it("a long wait for the lock leaves no abort listener behind per poll (no MaxListenersExceeded)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kg-lock-"));
    const first = await lockStateDir(dir, { command: "run" });
    const stop = new AbortController();
    const waiting = lockStateDir(dir, { command: "run", pollMs: 1, signal: stop.signal });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(getEventListeners(stop.signal, "abort").length).toBeLessThanOrEqual(1);
    await first.release();
    await (await waiting).release();
  });

  it("breaks a lock whose holder is gone, and one that is not a lock at all", async () => {
    for (const content of [JSON.stringify({ ...parent, pid: 4_000_000 }), "garbage"]) {
      const dir = await mkdtemp(join(tmpdir(), "kg-lock-"));
      await writeFile(lockPath(dir), content);
      const said: string[] = [];
      const lock = await lockStateDir(dir, { command: "run", noWait: true, onWait: (m) => said.push(m) });
      expect(said).toEqual([expect.stringMatching(/^removed a stale lock/)]);
      await lock.release();
    }
  });
});
