import { describe, expect, it } from "vitest";
import { virtualClock } from "../../test/helpers/virtual-clock.js";
import { KasmGitopsError } from "../core/errors.js";
import type { KasmServerReport } from "../core/kasm/agents.js";
import type { Plan, PullAction } from "../core/plan/types.js";
import type { DockerAgent, LedgerEntry, RegistryClient } from "../ports.js";
import { type ExecutorEvent, executePlan } from "./executor.js";

/** A session call the executor never makes. */
const unused = async (): Promise<never> => {
  throw new Error("the executor makes no session calls");
};

const D = (c: string) => `sha256:${c.repeat(64)}`;
const H = "reg.test:5000";

/** An agent whose pulls take a few event-loop turns and fail as `failures` says. */
function fakeAgent(name: string, failures: Record<string, KasmGitopsError[]> = {}) {
  const state = { inFlight: 0, maxInFlight: 0, pulls: [] as string[] };
  const agent: DockerAgent = {
    name,
    listImages: async () => [],
    listContainers: async () => [],
    removeImage: async () => ({ status: "gone" }),
    imageBytes: async () => 0,
    pull: async (reference) => {
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      state.pulls.push(reference);
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      state.inFlight--;
      const error = failures[reference]?.shift();
      if (error) throw error;
      return { digest: D("d") };
    },
  };
  return { agent, state };
}

/** The executor's deps for one agent `a1` and no registry: each test adds what it is about. */
const oneAgent = (agent: DockerAgent) => ({
  agents: new Map([["a1", agent]]),
  limits: new Map<string, number>(),
  registryFor: () => undefined,
  ledger: memoryLedger(),
  clock: virtualClock(),
  revision: "r",
});

function memoryLedger() {
  const recorded: LedgerEntry[] = [];
  return { recorded, append: async (e: LedgerEntry) => void recorded.push(e), entries: async () => recorded };
}

const pull = (agent: string, tag: string): PullAction => ({
  type: "pull",
  agent,
  image: `${H}/kasm/app:${tag}`,
  workspaces: ["w"],
  reason: "missing",
  targetDigest: D("d"),
});

const plan = (actions: Plan["actions"]): Plan => ({
  version: 1,
  revision: "r".repeat(40),
  branch: "main",
  actions,
  blocked: [],
  warnings: [],
  unknown: [],
  summary: { pull: 0, promote: 0, blocked: 0, unknown: 0, incomplete: false },
});

function registryStub(put: () => Promise<string>): RegistryClient {
  return {
    host: H,
    headDigest: async () => ({ digest: D("e"), mediaType: "x" }),
    getManifest: async () => ({
      digest: D("b"),
      mediaType: "application/vnd.oci.image.index.v1+json",
      body: Buffer.from("{}"),
    }),
    putManifest: put,
    rateLimit: () => ({ retryAfterMs: 7000 }),
  };
}

const transient = () => new KasmGitopsError("pull-failed", "HTTP 503", { transient: true });
const rateLimited = () =>
  new KasmGitopsError("pull-failed", "toomanyrequests", { transient: true, reason: "rate-limited" });
const fatal = () => new KasmGitopsError("pull-failed", "manifest unknown");

describe("executePlan", () => {
  it.each([
    [1, 6, 1],
    [2, 6, 2],
    [3, 2, 2],
    [4, 9, 4],
  ])("limit %d with %d pulls → at most %d in flight", async (limit, count, expected) => {
    const { agent, state } = fakeAgent("a1");
    const actions = Array.from({ length: count }, (_, i) => pull("a1", `t${i}`));
    const results = await executePlan(plan(actions), {
      ...oneAgent(agent),
      limits: new Map([["a1", limit]]),
    });
    expect(state.maxInFlight).toBe(expected);
    expect(results.map((r) => r.status)).toEqual(Array(count).fill("ok"));
  });

  it.each([
    ["a fatal error fails one action and not the others", [fatal()], ["failed", "ok", "ok"], 1],
    ["a transient error is retried", [transient()], ["ok", "ok", "ok"], 2],
    [
      "transient errors until the attempts run out",
      [transient(), transient(), transient(), transient()],
      ["failed", "ok", "ok"],
      4,
    ],
  ])("%s", async (_, errors, statuses, attempts) => {
    const { agent } = fakeAgent("a1", { [`${H}/kasm/app:t0`]: errors });
    const ledger = memoryLedger();
    const results = await executePlan(plan([pull("a1", "t0"), pull("a1", "t1"), pull("a1", "t2")]), {
      ...oneAgent(agent),
      limits: new Map([["a1", 2]]),
      ledger,
      revision: "rev",
      retry: { attempts: 4, baseMs: 10, maxMs: 100 },
    });
    const byImage = new Map(results.map((r) => [(r.action as PullAction).image, r]));
    expect([0, 1, 2].map((i) => byImage.get(`${H}/kasm/app:t${i}`)!.status)).toEqual(statuses);
    expect(byImage.get(`${H}/kasm/app:t0`)!.attempts).toBe(attempts);
    expect(ledger.recorded.map((e) => e.revision)).toEqual(
      Array(statuses.filter((s) => s === "ok").length).fill("rev"),
    );
  });

  it("a rate limit pauses the registry for its Retry-After, for every agent", async () => {
    const a1 = fakeAgent("a1", { [`${H}/kasm/app:t0`]: [rateLimited()] });
    const a2 = fakeAgent("a2");
    const clock = virtualClock();
    const events: ExecutorEvent[] = [];
    const results = await executePlan(plan([pull("a1", "t0"), pull("a2", "t1")]), {
      agents: new Map([
        ["a1", a1.agent],
        ["a2", a2.agent],
      ]),
      limits: new Map(),
      registryFor: () => ({ client: registryStub(async () => D("b")) }),
      ledger: memoryLedger(),
      clock,
      revision: "r",
      retry: { attempts: 3, baseMs: 10, maxMs: 100 },
      onEvent: (e) => events.push(e),
    });
    expect(results.every((r) => r.status === "ok")).toBe(true);
    expect(events.filter((e) => e.type === "registry-paused")).toEqual([
      { type: "registry-paused", registry: H, ms: 7000 },
    ]);
    expect(clock.slept.some((ms) => ms >= 6990)).toBe(true);
  });

  it.each([
    ["promotion ok → moving tag pulled after it", async () => D("b"), ["ok", "ok"]],
    [
      "promotion to a different digest → failed, moving tag skipped",
      async () => D("c"),
      ["failed", "skipped"],
    ],
    [
      "promotion refused (403) → failed, moving tag skipped",
      async () => Promise.reject(new KasmGitopsError("registry-forbidden", "403")),
      ["failed", "skipped"],
    ],
  ])("%s", async (_, put, statuses) => {
    const { agent, state } = fakeAgent("a1");
    const promote = {
      type: "promote" as const,
      image: `${H}/kasm/app:latest`,
      workspace: "w",
      source: `${H}/kasm/app:new`,
      targetDigest: D("b"),
    };
    const results = await executePlan(plan([promote, pull("a1", "latest")]), {
      ...oneAgent(agent),
      registryFor: () => ({ client: registryStub(put) }),
      retry: { attempts: 1, baseMs: 1, maxMs: 1 },
    });
    expect(results.map((r) => r.status)).toEqual(statuses);
    expect(state.pulls.length).toBe(statuses[1] === "ok" ? 1 : 0);
  });

  it.each(["signal", "drain"] as const)("an aborted run (%s) starts no new pull", async (which) => {
    const { agent, state } = fakeAgent("a1");
    const controller = new AbortController();
    controller.abort();
    const results = await executePlan(plan([pull("a1", "t0"), pull("a1", "t1")]), {
      ...oneAgent(agent),
      [which]: controller.signal,
    });
    expect(state.pulls).toEqual([]);
    expect(results.map((r) => r.status)).toEqual(["skipped", "skipped"]);
  });

  it.each([
    ["a stop that cuts a pull off: stopped, not an internal error", true, "stopped"],
    ["the same failure without a stop is an internal error", false, "internal"],
  ])("%s", async (_, stop, code) => {
    const controller = new AbortController();
    const { agent } = fakeAgent("a1");
    agent.pull = async () => {
      if (stop) controller.abort();
      throw new DOMException("This operation was aborted", "AbortError");
    };
    const [result] = await executePlan(plan([pull("a1", "t0")]), {
      ...oneAgent(agent),
      retry: { attempts: 1, baseMs: 1, maxMs: 1 },
      signal: controller.signal,
    });
    expect(result).toMatchObject({ status: "failed", error: { code } });
  });
});

describe("executePlan: Kasm actions", () => {
  /** A Kasm API that records its calls; the record it creates gets id `new-id`. */
  function kasmRecorder(fail: Record<string, Error> = {}) {
    const calls: string[] = [];
    const step = async (call: string) => {
      calls.push(call);
      const error = fail[call.split(" ")[0]!];
      if (error) throw error;
    };
    const api = {
      url: "https://kasm.test",
      listImages: async () => [],
      readImages: async () => ({ records: [], unreadable: [] }),
      listGroups: async () => [],
      listGroupImages: async () => [],
      listServers: async (): Promise<KasmServerReport[]> => [],
      listZones: async () => [],
      findUserId: unused,
      requestSession: unused,
      sessionState: unused,
      destroySession: unused,
      listSessions: unused,
      createImage: async (r: { name: string }) => {
        await step(`create ${r.name}`);
        return { imageId: "new-id" } as never;
      },
      updateImage: async (id: string, fields: object) => {
        await step(`update ${id} ${JSON.stringify(fields)}`);
        return {} as never;
      },
      deleteImage: async (id: string) => step(`delete ${id}`),
      addImageToGroup: async (g: string, id: string) => {
        await step(`add ${g} ${id}`);
        return true;
      },
      removeImageFromGroup: async (g: string, id: string) => {
        await step(`remove ${g} ${id}`);
        return true;
      },
    };
    return { api, calls };
  }
  const record = { name: `${H}/kasm/app:t1`, friendlyName: "App" } as never;
  const group = (type: "kasm-group-add" | "kasm-group-remove", after: number[], imageId?: string) => ({
    type,
    workspace: "w",
    group: "qa",
    groupId: "g1",
    after,
    ...(imageId ? { imageId } : {}),
  });

  it.each([
    {
      name: "create after its pull, then its group with the new id",
      failures: {},
      statuses: ["ok", "ok", "ok"],
      calls: [`create ${H}/kasm/app:t1`, "add g1 new-id"],
    },
    {
      name: "a failed pull holds the create and the group change after it; other changes go on",
      failures: { [`${H}/kasm/app:t1`]: [new KasmGitopsError("pull-failed", "manifest unknown")] },
      statuses: ["failed", "skipped", "skipped"],
      calls: [],
    },
  ])("$name", async ({ failures, statuses, calls }) => {
    const { agent } = fakeAgent("a1", failures as Record<string, KasmGitopsError[]>);
    const kasm = kasmRecorder();
    const update = {
      type: "kasm-update" as const,
      workspace: "other",
      imageId: "r2",
      reason: "drift" as const,
      changes: [{ field: "cores" as const, from: 4, to: 2 }],
      after: [],
    };
    const results = await executePlan(
      plan([
        pull("a1", "t1"),
        { type: "kasm-create", workspace: "w", after: [0], record },
        group("kasm-group-add", [1]),
        update,
      ]),
      {
        ...oneAgent(agent),
        limits: new Map([["a1", 2]]),
        revision: "rev",
        retry: { attempts: 1, baseMs: 1, maxMs: 1 },
        kasm: { api: kasm.api, credentialsFor: () => undefined },
      },
    );
    const byType = (type: string) => results.find((r) => r.action.type === type)!;
    expect([byType("pull"), byType("kasm-create"), byType("kasm-group-add")].map((r) => r.status)).toEqual(
      statuses,
    );
    expect(byType("kasm-update").status).toBe("ok");
    expect(kasm.calls.filter((c) => !c.startsWith("update"))).toEqual(calls);
    expect(kasm.calls).toContain('update r2 {"cores":2}');
    if (statuses[1] === "skipped")
      expect(byType("kasm-create").error?.message).toMatch(/^held: the pull of .*:t1 on a1 did not succeed/);
  });

  it.each([
    { name: "removals run after the Kasm switch", fail: {}, statuses: ["ok", "ok"], removed: true },
    {
      name: "a Kasm switch that failed keeps the removals (a record may still use the image)",
      fail: { update: new KasmGitopsError("kasm-refused", "HTTP 500") },
      statuses: ["failed", "skipped"],
      removed: false,
    },
  ])("$name", async ({ fail, statuses, removed }) => {
    const kasm = kasmRecorder(fail as Record<string, Error>);
    const { agent } = fakeAgent("a1");
    const old = `${H}/kasm/app:t0`;
    agent.listImages = async () => [{ id: D("0"), repoTags: [old], repoDigests: [] }] as never;
    agent.removeImage = async (name) => {
      kasm.calls.push(`rmi ${name}`);
      return { status: "gone" };
    };
    const results = await executePlan(
      plan([
        { type: "remove", agent: "a1", image: old, id: D("0"), bytes: 10, reason: "unused", tags: [old] },
        {
          type: "kasm-update",
          workspace: "w",
          imageId: "r1",
          reason: "changed",
          changes: [{ field: "name", from: old, to: `${H}/kasm/app:t1` }],
          after: [],
        },
      ]),
      {
        ...oneAgent(agent),
        limits: new Map([["a1", 2]]),
        revision: "rev",
        kasm: { api: kasm.api, credentialsFor: () => undefined },
      },
    );
    expect(results.map((r) => [r.action.type, r.status])).toEqual([
      ["kasm-update", statuses[0]],
      ["remove", statuses[1]],
    ]);
    expect(kasm.calls.map((c) => c.split(" ")[0])).toEqual(removed ? ["update", "rmi"] : ["update"]);
    if (!removed) expect(results[1]!.error?.message).toMatch(/^kept: kasm-update w did not succeed/);
  });

  it("a failed Kasm action is not retried and never stops the others", async () => {
    const kasm = kasmRecorder({ delete: new KasmGitopsError("kasm-refused", "in use by a session") });
    const results = await executePlan(
      plan([
        { type: "kasm-delete", workspace: "gone", imageId: "r1" },
        { type: "kasm-disable", workspace: "old", imageId: "r2" },
        group("kasm-group-remove", [], "r3"),
      ]),
      {
        agents: new Map(),
        limits: new Map(),
        registryFor: () => undefined,
        ledger: memoryLedger(),
        clock: virtualClock(),
        revision: "rev",
        kasm: { api: kasm.api, credentialsFor: () => undefined },
      },
    );
    expect(results.map((r) => [r.action.type, r.status, r.attempts])).toEqual([
      ["kasm-delete", "failed", 1],
      ["kasm-disable", "ok", 1],
      ["kasm-group-remove", "ok", 1],
    ]);
    expect(kasm.calls.filter((c) => c.startsWith("delete"))).toHaveLength(1);
  });

  it("switches waiting for Kasm's reports hold no write slot: the other changes are made meanwhile", async () => {
    const kasm = kasmRecorder();
    const image = `${H}/kasm/app:t1`;
    // The agent reports the image only once the group change (no wait) has been written.
    kasm.api.listServers = async () => [
      {
        serverId: "s1",
        hostname: "k1",
        serverType: "host",
        enabled: true,
        operationalStatus: "running",
        zoneId: "z",
        zoneName: "default",
        imageTags: kasm.calls.some((c) => c.startsWith("add")) ? [image] : [],
        imageDigests: [],
        lastReported: new Date(0).toISOString(),
      },
    ];
    const awaitReports = { servers: [{ serverId: "s1", hostname: "k1" }], image };
    // More waiting switches than Kasm write slots (4), then a change that waits for nothing.
    const switches = Array.from({ length: 5 }, (_, i) => ({
      type: "kasm-update" as const,
      workspace: `w${i}`,
      imageId: `r${i}`,
      reason: "changed" as const,
      changes: [{ field: "name" as const, from: `${H}/kasm/app:t0`, to: image }],
      after: [],
      awaitReports,
    }));
    const results = await executePlan(plan([...switches, group("kasm-group-add", [], "r9")]), {
      ...oneAgent(fakeAgent("a1").agent),
      kasm: { api: kasm.api, credentialsFor: () => undefined, reportWaitMs: 10_000 },
    });
    expect(results.map((r) => r.status)).toEqual(["ok", "ok", "ok", "ok", "ok", "ok"]);
    expect(kasm.calls[0]).toBe("add g1 r9");
    expect(kasm.calls.filter((c) => c.startsWith("update"))).toHaveLength(5);
  });
});
