import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { systemClock } from "../src/adapters/clock.js";
import { createRevisionStore } from "../src/adapters/last-good.js";
import { createFileLedger } from "../src/adapters/ledger-file.js";
import { createDaemon } from "../src/engine/daemon.js";
import { createMetrics } from "../src/http/metrics.js";

/** An empty fleet at one fixed revision: the cycle's only work is to record it in the state dir. */
async function daemonWithStateDir(stateDir: string) {
  const logs: { level: string; msg: string; obj: object }[] = [];
  const log =
    (level: string) =>
    (obj: object, msg = "") =>
      logs.push({ level, msg, obj });
  const daemon = createDaemon(
    {
      git: {
        sync: async () => ({
          revision: "c".repeat(40),
          branch: "main",
          checkoutDir: "/x",
          manifestDir: "/x/m",
        }),
      },
      readManifests: async () => [],
      agentFor: () => Promise.reject(new Error("no agents in this fleet")),
      registryFor: () => Promise.reject(new Error("no registries in this fleet")),
      // The ledger lives elsewhere, so only the last good record is affected.
      ledger: createFileLedger(await mkdtemp(join(tmpdir(), "kg-ledger-"))),
      clock: systemClock,
      store: createRevisionStore(stateDir),
      metrics: createMetrics(),
      logger: { info: log("info"), warn: log("warn"), error: log("error") },
    },
    { branch: "main", intervalMs: 3_600_000, graceMs: 1000 },
  );
  return { daemon, logs };
}

describe("daemon: a state file that cannot be written", () => {
  it.each([1, 2])(
    "makes cycle %i not ok, naming the file (the save is retried every cycle)",
    async (cycles) => {
      // A regular file where the state dir should be: every write under it fails (ENOTDIR), even as root.
      const parent = await mkdtemp(join(tmpdir(), "kg-daemon-"));
      const stateDir = join(parent, "state");
      await writeFile(stateDir, "not a folder");
      const { daemon, logs } = await daemonWithStateDir(stateDir);
      daemon.start();
      await daemon.idle();
      for (let n = 1; n < cycles; n++) {
        daemon.request("interval");
        await daemon.idle();
      }
      await daemon.stop();
      const status = daemon.status();
      expect(status.lastCycle?.result).toBe("failed");
      expect(status.lastCycle?.error).toContain(`state file ${join(stateDir, "last-good.json")}`);
      expect(status.lastCycle?.error).toMatch(/last good revision could not be saved/);
      expect(logs.filter((l) => l.level === "error" && /could not be saved/.test(l.msg))).toHaveLength(
        cycles,
      );
    },
  );

  it("a writable state dir: the cycle is ok and the revision is saved once", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "kg-daemon-"));
    const { daemon } = await daemonWithStateDir(stateDir);
    daemon.start();
    await daemon.idle();
    daemon.request("interval");
    await daemon.idle();
    await daemon.stop();
    expect(daemon.status().lastCycle?.result).toBe("ok");
    expect(await createRevisionStore(stateDir).read()).toMatchObject({ revision: "c".repeat(40) });
  });
});
