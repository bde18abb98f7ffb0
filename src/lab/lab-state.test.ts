import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadState, pidFileProcesses, saveState, track, uniqueByPid } from "./lab-state.js";

const children: ChildProcess[] = [];
/** A live process whose command line names `path`, as a lab service's names its folder. */
function serviceNaming(path: string): number {
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30_000)", path], { stdio: "ignore" });
  children.push(child);
  return child.pid!;
}
afterEach(() => {
  for (const child of children.splice(0)) child.kill();
});

describe("lab.json keeps track of every process a lab command started", () => {
  it.each([
    [
      "the first record of a pid is kept (services, with start times, are listed before pid files)",
      [1, 2, 1],
      ["a", "b"],
    ],
    ["distinct pids all stay", [1, 2, 3], ["a", "b", "c"]],
  ])("%s", (_, pids, names) => {
    const records = pids.map((pid, i) => ({ name: "abc"[i]!, pid }));
    expect(uniqueByPid(records).map((r) => r.name)).toEqual(names);
  });

  it("finds the dockerd and containerd of every engine folder through their pid files", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kg-labstate-"));
    try {
      await mkdir(join(dir, "engine-3", "exec", "containerd"), { recursive: true });
      await mkdir(join(dir, "swarm-ab12"));
      await mkdir(join(dir, "registry-plain"));
      await writeFile(join(dir, "engine-3", "docker.pid"), "101\n");
      await writeFile(join(dir, "engine-3", "exec", "containerd", "containerd.pid"), "102");
      await writeFile(join(dir, "swarm-ab12", "docker.pid"), "not a pid");
      expect(pidFileProcesses(dir)).toEqual([
        { name: "engine-3", pid: 101 },
        { name: "engine-3/containerd", pid: 102 },
      ]);
      expect(pidFileProcesses(join(dir, "missing"))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a save keeps what another lab command tracks meanwhile, and drops what stopped or is not the lab's", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kg-labstate-"));
    try {
      const mine = track("engine-1", serviceNaming(join(dir, "engine-1", "data")));
      const theirs = track("engine-3", serviceNaming(join(dir, "engine-3", "data")));
      const elsewhere = track("engine-9", serviceNaming("/tmp/kg-not-this-lab/engine-9"));
      const gone = track("engine-2", serviceNaming(join(dir, "engine-2", "data")));
      // The demo wrote lab.json with its third engine while this command ran.
      await writeFile(
        join(dir, "lab.json"),
        JSON.stringify({ engines: [], registries: {}, processes: [theirs] }),
      );
      children[3]!.kill();
      await new Promise((resolve) => children[3]!.once("exit", resolve));
      saveState(dir, { engines: [], registries: {} }, [mine, gone, elsewhere]);
      expect(loadState(dir).processes).toEqual([mine, theirs]);
      expect(JSON.parse(await readFile(join(dir, "lab.json"), "utf8"))).toMatchObject({ engines: [] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reads a lab.json an older version wrote, or none, as tracking nothing more", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kg-labstate-"));
    try {
      expect(loadState(dir)).toEqual({ engines: [], registries: {}, processes: [] });
      await writeFile(
        join(dir, "lab.json"),
        JSON.stringify({ engines: [{ name: "engine-1" }], registries: {} }),
      );
      expect(loadState(dir)).toEqual({ engines: [{ name: "engine-1" }], registries: {}, processes: [] });
      await writeFile(join(dir, "lab.json"), "{ torn");
      expect(loadState(dir).processes).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
