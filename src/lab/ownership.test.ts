import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { mountsUnder, ownedByLab, parseStartTime, processStartTime } from "./ownership.js";

describe("what lab down may touch", () => {
  it.each([
    ["1071 (cat) R 1069 1069 27941 0 -1 4194304 126 0 0 0 0 0 0 0 20 0 1 0 544958 3133440", "544958"],
    ["7 (a b) c)) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0", "99"],
  ])("reads the start time of %j", (stat, expected) => {
    expect(parseStartTime(stat)).toBe(expected);
  });

  it.each([
    [
      "/dev/vda /tmp/kl/engine-1/data ext4 rw 0 0\n/dev/vda /tmp/kl/engine-1/data/vfs/x ext4 rw 0 0\n/dev/vda /tmp/kl2/data ext4 rw 0 0\nproc /proc proc rw 0 0\n",
      "/tmp/kl",
      ["/tmp/kl/engine-1/data/vfs/x", "/tmp/kl/engine-1/data"],
    ],
    ["/dev/vda /tmp/kl/a\\040b ext4 rw 0 0\n", "/tmp/kl/", ["/tmp/kl/a b"]],
    ["/dev/vda /tmp/klx ext4 rw 0 0\n", "/tmp/kl", []],
  ])("finds the mounts under the lab folder, deepest first", (mounts, dir, expected) => {
    expect(mountsUnder(mounts, dir)).toEqual(expected);
  });

  it("owns a process only with the recorded start time and a path in the lab folder on its command line", async () => {
    const child = spawn(
      process.execPath,
      ["-e", "setTimeout(() => {}, 30_000)", "/tmp/kl-owned/state.json"],
      {
        stdio: "ignore",
      },
    );
    try {
      const pid = child.pid!;
      const startTime = processStartTime(pid);
      expect(startTime).toMatch(/^\d+$/);
      expect(ownedByLab({ pid, startTime }, "/tmp/kl-other")).toBe(false); // not named on its command line
      expect(ownedByLab({ pid, startTime }, "/tmp/kl")).toBe(false); // a folder whose name only starts alike
      expect(ownedByLab({ pid, startTime }, "/tmp/kl-owned")).toBe(true);
      expect(ownedByLab({ pid, startTime }, "/tmp/kl-owned/")).toBe(true);
      expect(ownedByLab({ pid, startTime: "1" }, "/tmp/kl-owned")).toBe(false); // the pid was reused
      expect(ownedByLab({ pid }, "/tmp/kl-owned")).toBe(true);
    } finally {
      child.kill();
    }
  });
});
