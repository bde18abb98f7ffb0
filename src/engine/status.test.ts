import { describe, expect, it } from "vitest";
import type { CycleResult } from "../ports.js";
import { agentCounts, type DaemonStatus, initialStatus, reduceStatus, type StatusEvent } from "./status.js";

const T0 = new Date("2026-11-27T10:00:00.000Z");
const T1 = new Date("2026-11-27T10:00:05.000Z");
const A = "a".repeat(40);
const B = "b".repeat(40);
const agent = { reachable: true, converged: false, pending: 2 };
const kasm = { url: "https://kasm.test", reachable: true, managed: 3, drift: 1, pending: 0 };
const start = (id: string): StatusEvent => ({ type: "cycle-started", id, trigger: "webhook", at: T0 });
const finish = (id: string, result: CycleResult, error?: string): StatusEvent => ({
  type: "cycle-finished",
  id,
  result,
  at: T1,
  ...(error ? { error } : {}),
});

const unknownAgent = { kind: "agent" as const, name: "a2", reason: "agent-unreachable", message: "ENOENT" };

describe("reduceStatus", () => {
  it.each<[string, StatusEvent[], Partial<DaemonStatus>]>([
    ["nothing yet", [], { branch: "main", agents: {}, ready: false, state: "starting", reasons: [] }],
    [
      "restored from the state dir on an invalid tip: the saved revision is in force, the tip is not",
      [
        { type: "revision-refused", revision: B, reason: "invalid-revision", error: "bad", at: T1 },
        { type: "revision-restored", revision: A },
      ],
      { revision: B, lastGoodRevision: A },
    ],
    [
      "something unknown: degraded with the reasons",
      [{ type: "health", reasons: ["agent a2 unreachable: ENOENT"], unknown: [unknownAgent] }],
      { state: "degraded", reasons: ["agent a2 unreachable: ENOENT"], unknown: [unknownAgent] },
    ],
    [
      "nothing wrong any more: converged",
      [
        { type: "health", reasons: ["x"], unknown: [unknownAgent] },
        { type: "health", reasons: [], unknown: [] },
      ],
      { state: "converged", reasons: [], unknown: [] },
    ],
    [
      "the same tip refused every interval: counted since it was first refused, cleared by a good revision",
      [
        { type: "revision-refused", revision: B, reason: "invalid-revision", error: "bad", at: T0 },
        { type: "revision-refused", revision: B, reason: "invalid-revision", error: "bad", at: T1 },
        { type: "revision-refused", revision: B, reason: "invalid-revision", error: "bad", at: T1 },
      ],
      { refusal: { revision: B, reason: "invalid-revision", count: 3, since: T0.toISOString() } },
    ],
    [
      "a different tip refused: the count starts again",
      [
        { type: "revision-refused", revision: A, reason: "untrusted-revision", error: "bad", at: T0 },
        { type: "revision-refused", revision: B, reason: "invalid-revision", error: "bad", at: T1 },
      ],
      { refusal: { revision: B, reason: "invalid-revision", count: 1, since: T1.toISOString() } },
    ],
    [
      "a good revision ends the refusal",
      [
        { type: "revision-refused", revision: B, reason: "invalid-revision", error: "bad", at: T0 },
        { type: "revision-applied", revision: A },
      ],
      { refusal: undefined, lastGoodRevision: A },
    ],
    [
      "a refusal keeps its problems in lastError",
      [
        start("c1"),
        {
          type: "revision-refused",
          revision: B,
          reason: "invalid-revision",
          error: "1 error(s)",
          problems: ["a.yaml:3:1: unknown field"],
          at: T1,
        },
        finish("c1", "invalid-revision", "x"),
      ],
      { lastError: expect.objectContaining({ problems: ["a.yaml:3:1: unknown field"] }) },
    ],
    [
      "failed actions are listed in lastError",
      [
        start("c1"),
        {
          type: "cycle-finished",
          id: "c1",
          result: "failed",
          error: "1 action(s) failed: pull r/a:1 on a1 failed: 404",
          failed: [{ type: "pull", agent: "a1", image: "r/a:1", error: "404" }],
          at: T1,
        },
      ],
      {
        lastError: {
          at: T1.toISOString(),
          message: "1 action(s) failed: pull r/a:1 on a1 failed: 404",
          cycleId: "c1",
          failed: [{ type: "pull", agent: "a1", image: "r/a:1", error: "404" }],
        },
      },
    ],
    [
      "a running cycle",
      [start("c1")],
      { running: { id: "c1", trigger: "webhook", startedAt: T0.toISOString() }, ready: false },
    ],
    [
      "a first good cycle makes the daemon ready",
      [start("c1"), { type: "revision-applied", revision: A }, finish("c1", "ok")],
      {
        revision: A,
        lastGoodRevision: A,
        running: undefined,
        lastCycle: {
          id: "c1",
          trigger: "webhook",
          startedAt: T0.toISOString(),
          finishedAt: T1.toISOString(),
          result: "ok",
        },
        ready: true,
      },
    ],
    [
      "an invalid first revision: not ready, the refusal is the error",
      [
        start("c1"),
        {
          type: "revision-refused",
          revision: B,
          reason: "invalid-revision",
          error: "chrome.yaml:3:1: unknown field",
          at: T1,
        },
        finish("c1", "invalid-revision", "manifests invalid"),
      ],
      {
        revision: B,
        lastGoodRevision: undefined,
        ready: false,
        lastError: {
          at: T1.toISOString(),
          message: `revision ${B} refused: chrome.yaml:3:1: unknown field`,
          cycleId: "c1",
          reason: "invalid-revision",
        },
      },
    ],
    [
      "an invalid later revision keeps the last good one and readiness",
      [
        start("c1"),
        { type: "revision-applied", revision: A },
        finish("c1", "ok"),
        start("c2"),
        { type: "revision-refused", revision: B, reason: "invalid-revision", error: "bad", at: T1 },
        finish("c2", "invalid-revision"),
      ],
      {
        revision: B,
        lastGoodRevision: A,
        ready: true,
        lastCycle: expect.objectContaining({ id: "c2", result: "invalid-revision" }),
      },
    ],
    [
      "an unsigned later revision keeps the last good one; the refusal says why",
      [
        start("c1"),
        { type: "revision-applied", revision: A },
        finish("c1", "ok"),
        start("c2"),
        { type: "revision-refused", revision: B, reason: "untrusted-revision", error: "unsigned", at: T1 },
        finish("c2", "untrusted-revision", "unsigned"),
      ],
      {
        revision: B,
        lastGoodRevision: A,
        ready: true,
        lastCycle: expect.objectContaining({ id: "c2", result: "untrusted-revision" }),
        lastError: {
          at: T1.toISOString(),
          message: `revision ${B} refused: unsigned`,
          cycleId: "c2",
          reason: "untrusted-revision",
        },
      },
    ],
    [
      "a restart on a refused tip: ready once the last good revision read back is reconciled cleanly",
      [
        { type: "revision-restored", revision: A },
        start("c1"),
        { type: "revision-refused", revision: B, reason: "untrusted-revision", error: "unsigned", at: T1 },
        { ...finish("c1", "untrusted-revision", "unsigned"), inForce: true } as StatusEvent,
      ],
      {
        revision: B,
        lastGoodRevision: A,
        ready: true,
        lastCycle: expect.objectContaining({ id: "c1", result: "untrusted-revision" }),
        lastError: expect.objectContaining({ reason: "untrusted-revision" }),
      },
    ],
    [
      "a restart on a refused tip whose last good revision failed to reconcile: not ready",
      [
        { type: "revision-restored", revision: A },
        start("c1"),
        { type: "revision-refused", revision: B, reason: "invalid-revision", error: "bad", at: T1 },
        finish("c1", "invalid-revision", "bad"),
      ],
      { revision: B, lastGoodRevision: A, ready: false },
    ],
    [
      "a failed cycle records its error",
      [start("c1"), finish("c1", "failed", "agent-1 unreachable")],
      {
        ready: false,
        lastCycle: expect.objectContaining({ result: "failed", error: "agent-1 unreachable" }),
        lastError: { at: T1.toISOString(), message: "agent-1 unreachable", cycleId: "c1" },
      },
    ],
    [
      "a finish without a matching start still records the cycle",
      [finish("c9", "ok")],
      { lastCycle: expect.objectContaining({ id: "c9", startedAt: T1.toISOString() }), ready: true },
    ],
    [
      "Kasm: the last error stays until a newer one replaces it",
      [
        { type: "kasm-observed", kasm: { ...kasm, reachable: false }, error: "401 expired key", at: T0 },
        { type: "kasm-observed", kasm, at: T1 },
      ],
      { kasm: { ...kasm, lastError: { at: T0.toISOString(), message: "401 expired key" } } },
    ],
    [
      "Kasm: a revision without a KasmServer drops the section",
      [
        { type: "kasm-observed", kasm, at: T0 },
        { type: "kasm-observed", at: T1 },
      ],
      { kasm: undefined },
    ],
    [
      "observed agents replace the previous set",
      [
        { type: "agents-observed", agents: { old: agent } },
        { type: "agents-observed", agents: { "agent-1": agent } },
      ],
      { agents: { "agent-1": agent } },
    ],
    [
      "an agent update merges, and clears an error explicitly set to undefined",
      [
        { type: "agents-observed", agents: { "agent-1": { ...agent, error: "timeout" } } },
        {
          type: "agent-updated",
          agent: "agent-1",
          status: { pending: 0, converged: true, error: undefined },
        },
      ],
      { agents: { "agent-1": { reachable: true, converged: true, pending: 0 } } },
    ],
    [
      "an update for an unknown agent starts from unreachable",
      [{ type: "agent-updated", agent: "agent-2", status: { pending: 1 } }],
      { agents: { "agent-2": { reachable: false, converged: false, pending: 1 } } },
    ],
  ])("%s", (_, events, expected) => {
    const status = events.reduce(reduceStatus, initialStatus("main"));
    const absent = Object.keys(expected).filter((key) => expected[key as keyof DaemonStatus] === undefined);
    const present = Object.fromEntries(Object.entries(expected).filter(([key]) => !absent.includes(key)));
    expect(status).toMatchObject(present);
    for (const key of absent) expect(status).not.toHaveProperty(key);
  });

  it("never mutates the snapshot it was given", () => {
    const before = reduceStatus(initialStatus("main"), {
      type: "agents-observed",
      agents: { "agent-1": agent },
    });
    const frozen = structuredClone(before);
    reduceStatus(before, { type: "agent-updated", agent: "agent-1", status: { pending: 0 } });
    reduceStatus(before, finish("c1", "ok"));
    expect(before).toEqual(frozen);
  });

  it.each([
    [{}, { reachable: 0, total: 0 }],
    [
      { a: agent, b: { ...agent, reachable: false }, c: agent },
      { reachable: 2, total: 3 },
    ],
  ])("agentCounts(%j)", (agents, expected) => {
    expect(agentCounts({ ...initialStatus("main"), agents })).toEqual(expected);
  });
});
