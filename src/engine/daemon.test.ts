import { describe, expect, it } from "vitest";
import type { NotificationEvent } from "../core/notification.js";
import type { GitRevision, LedgerState, Metrics, SavedRevision } from "../ports.js";
import { createDaemon } from "./daemon.js";

const GOOD = "a".repeat(40);
const SAVED = "5".repeat(40);
const BAD = "b".repeat(40);
const VALID = [] as const;
const INVALID = [{ file: "workspace.yaml", text: "apiVersion: nope/v1\nkind: Workspace\n" }];

/** A branch whose tip and files a test moves by hand; `hold` keeps the next fetch waiting. */
function fakeBranch() {
  const branch = { tip: GOOD, files: [...VALID] as { file: string; text: string }[], fetches: 0 };
  let release: (() => void) | undefined;
  const git = {
    async sync(): Promise<GitRevision> {
      branch.fetches++;
      if (release) await new Promise<void>((resolve) => (release = resolve));
      return { revision: branch.tip, branch: "main", checkoutDir: "/x", manifestDir: "/x/m" };
    },
  };
  return {
    branch,
    git,
    hold: () => {
      release = () => {};
    },
    release: () => {
      const go = release;
      release = undefined;
      go?.();
    },
  };
}

/** Every port of the daemon as a fake that records what it was told; the clock moves a second per read. */
function fakeDaemon(options: { saved?: SavedRevision; onlyAgents?: string[] } = {}) {
  const source = fakeBranch();
  let t = Date.parse("2026-12-07T00:00:00Z");
  const logs: { level: string; msg: string }[] = [];
  const log =
    (level: string) =>
    (_: object, msg = "") =>
      logs.push({ level, msg });
  const notified: NotificationEvent[] = [];
  const metrics: string[] = [];
  const recorder = new Proxy({} as Metrics, {
    get: (_, name: string) => (first: unknown) => metrics.push(`${name} ${String(first)}`),
  });
  const ledger: LedgerState = { entries: [], covered: {}, departed: {} };
  let saved = options.saved;
  const daemon = createDaemon(
    {
      git: source.git,
      readManifests: async () => source.branch.files,
      agentFor: () => Promise.reject(new Error("no agents")),
      registryFor: () => Promise.reject(new Error("no registries")),
      ledger: {
        append: async () => {},
        entries: async () => [],
        read: async () => ledger,
        update: async () => {},
      },
      clock: {
        now: () => {
          t += 1000;
          return new Date(t);
        },
        sleep: async () => {},
      },
      store: {
        read: async () => saved,
        write: async (record) => {
          saved = record;
        },
      },
      metrics: recorder,
      logger: { info: log("info"), warn: log("warn"), error: log("error") },
      notifier: {
        configure: () => {},
        emit: (event) => notified.push(event),
        drain: async () => {},
        close: () => {},
      },
    },
    {
      branch: "main",
      intervalMs: 3_600_000,
      graceMs: 100,
      ...(options.onlyAgents ? { onlyAgents: options.onlyAgents } : {}),
    },
  );
  const cycle = async () => {
    daemon.request("interval");
    await daemon.idle();
  };
  return { daemon, source, logs, notified, metrics, cycle, saved: () => saved };
}

describe("daemon loop with fake ports", () => {
  it("restores the last good revision from the state dir when a restart finds an invalid tip", async () => {
    const f = fakeDaemon({ saved: { revision: SAVED, branch: "main", time: "t", files: [] } });
    f.source.branch.tip = BAD;
    f.source.branch.files = INVALID;
    f.daemon.start();
    await f.daemon.idle();
    const status = f.daemon.status();
    expect(status.lastGoodRevision).toBe(SAVED);
    expect(status.refusal).toMatchObject({ revision: BAD, reason: "invalid-revision", count: 1 });
    // The saved revision was reconciled cleanly: ready, though the tip is refused.
    expect(status.ready).toBe(true);
    expect(status.lastCycle?.result).toBe("invalid-revision");
    expect(f.logs.map((l) => l.msg)).toContain("using the last good revision from the state dir");
    expect(f.metrics).toContain(`setAppliedRevision ${SAVED}`);
    await f.daemon.stop();
  });

  it("coalesces requests made during a cycle into one more cycle, of the highest-ranked trigger", async () => {
    const f = fakeDaemon();
    f.source.hold();
    f.daemon.start();
    for (const trigger of ["interval", "webhook", "interval"] as const) f.daemon.request(trigger);
    f.source.release();
    await f.daemon.idle();
    expect(f.source.branch.fetches).toBe(2);
    expect(f.daemon.status().lastCycle?.trigger).toBe("webhook");
    expect(f.metrics.filter((m) => m.startsWith("cycleFinished"))).toEqual([
      "cycleFinished ok",
      "cycleFinished ok",
    ]);
    await f.daemon.stop();
  });

  it("goes degraded once and recovers once, with one notification each", async () => {
    const f = fakeDaemon();
    f.source.branch.tip = BAD;
    f.source.branch.files = INVALID;
    f.daemon.start();
    await f.daemon.idle();
    await f.cycle();
    expect(f.daemon.status().state).toBe("degraded");
    f.source.branch.tip = GOOD;
    f.source.branch.files = [];
    await f.cycle();
    await f.cycle();
    expect(f.daemon.status()).toMatchObject({ state: "converged", reasons: [], lastGoodRevision: GOOD });
    expect(f.notified.map((n) => n.event)).toEqual(["revision-refused", "degraded", "recovered"]);
    expect(f.metrics.filter((m) => m.startsWith("setConverged"))).toEqual([
      "setConverged false",
      "setConverged false",
      "setConverged true",
      "setConverged true",
    ]);
    expect(f.saved()?.revision).toBe(GOOD);
    await f.daemon.stop();
  });

  it("logs and notifies a refused tip once, and counts every cycle that refuses it", async () => {
    const f = fakeDaemon();
    f.daemon.start();
    await f.daemon.idle();
    f.source.branch.tip = BAD;
    f.source.branch.files = INVALID;
    for (let n = 0; n < 3; n++) await f.cycle();
    const status = f.daemon.status();
    expect(status.refusal).toMatchObject({ revision: BAD, count: 3 });
    expect(status.lastGoodRevision).toBe(GOOD);
    expect(f.logs.filter((l) => l.msg.startsWith("revision refused"))).toHaveLength(1);
    expect(f.notified.filter((n) => n.event === "revision-refused")).toHaveLength(1);
    expect(f.metrics.filter((m) => m === "cycleFinished invalid-revision")).toHaveLength(3);
    // A new tip that is refused too is said again.
    f.source.branch.tip = "c".repeat(40);
    await f.cycle();
    expect(f.logs.filter((l) => l.msg.startsWith("revision refused"))).toHaveLength(2);
    await f.daemon.stop();
  });

  it("an --agent name the revision lacks: degraded every cycle, logged once per revision", async () => {
    const f = fakeDaemon({ onlyAgents: ["ghost"] });
    f.daemon.start();
    await f.daemon.idle();
    await f.cycle();
    const status = f.daemon.status();
    expect(status.state).toBe("degraded");
    expect(status.reasons).toEqual([
      `agent ghost (--agent / KASM_GITOPS_AGENT) is not defined in revision ${GOOD.slice(0, 12)} (agents: none): nothing is reconciled there`,
    ]);
    expect(f.logs.filter((l) => l.msg.startsWith("agent ghost"))).toHaveLength(1);
    await f.daemon.stop();
  });
});
